//! The relay: one loopback socket standing for the scenario's network. It runs the
//! simulator's [`Net`](crate::net::Net) on the wall clock, samples the flows, applies the
//! scheduled link changes, decides when the run ends and writes the results.

use super::flows::{self, FlowObs};
use super::{bind_loopback, world};
use crate::capture::CaptureSink;
use crate::host::conn_stats;
use crate::metrics::QueueSample;
use crate::net::loss_model;
use crate::output::{pcap_sinks, product, Provenance};
use crate::packet::Packet;
use crate::run::RunOutcome;
use crate::scenario::{Direction, Scenario};
use crate::sim::{Ev, EventQueue};
use crate::world::World;
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::UdpSocket;

/// What a udp run needs.
pub(super) struct Setup {
    pub scenario: Scenario,
    pub seed: u64,
    pub end: u64,
    pub dir: PathBuf,
    pub prov: Provenance,
    pub plots: bool,
    pub quiet: bool,
}

/// A capture sink that stamps packets with wall-clock time: the run's origin (UNIX epoch) plus
/// the model time.
struct WallClockSink {
    inner: Box<dyn CaptureSink>,
    origin_unix_ns: u64,
}

impl CaptureSink for WallClockSink {
    fn write_udp(
        &mut self,
        time_ns: u64,
        src: SocketAddr,
        dst: SocketAddr,
        payload: &[u8],
    ) -> io::Result<()> {
        self.inner
            .write_udp(self.origin_unix_ns + time_ns, src, dst, payload)
    }
    fn finish(&mut self) -> io::Result<()> {
        self.inner.finish()
    }
}

/// How often flow observations are copied into the world (for `stop_when_done`).
const SYNC_NS: u64 = 5_000_000;
/// The relay wakes at least this often.
const IDLE_NS: u64 = 5_000_000;
/// Waits longer than this use tokio's millisecond timer (and wake on arrivals).
const COARSE_NS: u64 = 2_000_000;
/// Shorter waits sleep the thread precisely, polling the socket at least this often.
const FINE_NS: u64 = 200_000;

struct Relay {
    w: World,
    q: EventQueue,
    sock: UdpSocket,
    origin: Instant,
    /// Real address of each world endpoint.
    real: Vec<SocketAddr>,
    /// Real address → world endpoint.
    by_real: HashMap<SocketAddr, usize>,
    /// The other endpoint of each endpoint's flow.
    peer: Vec<usize>,
    obs: Vec<Arc<Mutex<FlowObs>>>,
    local: Vec<(usize, Packet)>,
    /// Datagrams the relay could not hand to the kernel (socket buffer full).
    send_drops: u64,
    /// Datagrams from unknown sources.
    strays: u64,
}

impl Relay {
    fn now(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }

    /// Runs the network's deliveries due by `now`.
    fn run_due(&mut self, now: u64) {
        while let Some(t) = self.q.peek_time() {
            if t > now {
                break;
            }
            let (t, ev) = self.q.pop().expect("peeked above");
            if let Ev::LinkDeliver(ld) = ev {
                self.w.events_processed += 1;
                let mut local = std::mem::take(&mut self.local);
                self.w.net.deliver(&mut self.q, t, ld as usize, &mut local);
                self.hand_out(&mut local);
                self.local = local;
            }
        }
    }

    /// Sends packets that reached their destination host to the endpoint's real socket.
    fn hand_out(&mut self, local: &mut Vec<(usize, Packet)>) {
        for (ep, p) in local.drain(..) {
            match self.sock.try_send_to(&p.payload, self.real[ep]) {
                Ok(_) => {}
                Err(_) => self.send_drops += 1,
            }
            self.w.net.pool.recycle(p.payload);
        }
    }

    /// A datagram from a real endpoint enters the network at its host.
    fn inject(&mut self, now: u64, from: SocketAddr, bytes: &[u8]) {
        let Some(&ep) = self.by_real.get(&from) else {
            self.strays += 1;
            return;
        };
        self.w.datagrams_sent += 1;
        let payload = self.w.net.pool.make(bytes);
        let e = &self.w.endpoints[ep];
        let p = Packet {
            src: e.addr,
            dst: self.w.endpoints[self.peer[ep]].addr,
            payload,
        };
        let node = e.node;
        let mut local = std::mem::take(&mut self.local);
        self.w.net.send_from(&mut self.q, now, node, p, &mut local);
        self.hand_out(&mut local);
        self.local = local;
    }

    /// Scheduled link change `i` (as the simulator's `World::link_change`).
    fn link_change(&mut self, now: u64, i: usize) {
        let e = self.w.scenario.events[i].clone();
        let Some(link) = self.w.net.links.iter().position(|l| l.name == e.link) else {
            return;
        };
        let dirs: &[usize] = match e.direction {
            Direction::Both => &[0, 1],
            Direction::Forward => &[0],
            Direction::Reverse => &[1],
        };
        for &d in dirs {
            let mut p = self.w.net.links[link].dirs[d].params().clone();
            if let Some(up) = e.up {
                p.up = up;
            }
            if let Some(r) = e.rate {
                p.rate = Some(r.0);
            }
            if let Some(delay) = e.delay {
                p.delay = delay.0;
            }
            if let Some(l) = &e.loss {
                p.loss = loss_model(l);
            }
            self.w.net.set_link(&mut self.q, now, link, d, p);
        }
    }

    /// Copies what the applications observed into the world's flow states.
    fn sync(&mut self) {
        for (i, o) in self.obs.iter().enumerate() {
            let o = o.lock().expect("flow state lock");
            flows::copy_observations(&mut self.w.flows[i], &o.state);
        }
    }

    /// Reads each sender connection's statistics now (the last seen ones once it is gone).
    fn stats(&mut self) -> Vec<Option<crate::transport::ConnStats>> {
        let mut out = vec![];
        for (i, o) in self.obs.iter().enumerate() {
            let h = o.lock().expect("flow state lock").stats.clone();
            let st = h.and_then(|h| h.stats()).map(|s| conn_stats(&s));
            if st.is_some() {
                self.w.flows[i].last_stats = st;
            }
            out.push(st);
        }
        out
    }

    /// One metrics sample at model time `t` (as the simulator's `World::sample`).
    fn sample(&mut self, t: u64) {
        self.sync();
        let st = self.stats();
        for (i, st) in st.into_iter().enumerate() {
            let name = self.w.flows[i].spec().name.clone();
            let recv = self.w.flows[i].bytes_recv;
            self.w.metrics.sample_flow(t, i, &name, recv, st);
        }
        for l in &mut self.w.net.links {
            for (d, arrow) in [(0, '>'), (1, '<')] {
                if l.dirs[d].params().rate.is_none() {
                    continue;
                }
                let (packets, bytes) = l.dirs[d].occupancy(t);
                let c = l.dirs[d].counters();
                self.w.metrics.queues.push(QueueSample {
                    t_ns: t,
                    link: format!("{}{arrow}", l.name),
                    packets,
                    bytes,
                    dropped_queue: c.dropped_queue,
                    dropped_loss: c.dropped_loss,
                });
            }
        }
    }
}

/// Wakes the flows' supervisor when dropped (also on an early return or a panic), so that the
/// run never waits for flows that nobody relays for any more.
struct StopOnDrop(Arc<tokio::sync::Notify>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.notify_one();
    }
}

/// Runs the whole udp backend: sockets, flows, relay loop, results.
pub(super) async fn run(setup: Setup) -> Result<RunOutcome, String> {
    let s = &setup.scenario;
    let wall = Instant::now();
    // The layout (endpoints and their scenario addresses) comes from the simulator's own
    // world, built with captures into the output folder stamped with wall-clock time.
    let origin_unix_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut pcap = pcap_sinks(&setup.dir);
    let mut sinks = |name: &str| -> io::Result<Box<dyn CaptureSink>> {
        Ok(Box::new(WallClockSink {
            inner: pcap(name)?,
            origin_unix_ns,
        }))
    };
    let w = world(s, setup.seed, setup.end, &mut sinks)?;
    let bind = |what: &str| bind_loopback().map_err(|e| format!("cannot bind {what}: {e}"));
    let relay_std = bind("the relay socket")?;
    let relay_addr = relay_std
        .local_addr()
        .map_err(|e| format!("relay socket: {e}"))?;
    let sock = UdpSocket::from_std(relay_std).map_err(|e| format!("relay socket: {e}"))?;
    let mut ep_socks = vec![];
    for e in &w.endpoints {
        let name = &w.net.nodes[e.node].name;
        ep_socks.push(Some(bind(&format!(
            "the endpoint of {name}:{}",
            e.addr.port()
        ))?));
    }
    let real: Vec<SocketAddr> = ep_socks
        .iter()
        .map(|s| {
            s.as_ref()
                .and_then(|s| s.local_addr().ok())
                .expect("bound above")
        })
        .collect();
    let mut peer = vec![0; w.endpoints.len()];
    for f in &w.flows {
        peer[f.sender_ep] = f.receiver_ep;
        peer[f.receiver_ep] = f.sender_ep;
    }
    let stop = Arc::new(tokio::sync::Notify::new());
    let origin = Instant::now();
    let mut obs = vec![];
    let mut tasks = tokio::task::JoinSet::new();
    for f in &w.flows {
        let o = Arc::new(Mutex::new(FlowObs::new(f.spec().clone())));
        obs.push(o.clone());
        let setup = flows::FlowSetup {
            spec: f.spec().clone(),
            sender: ep_socks[f.sender_ep]
                .take()
                .expect("one socket per endpoint"),
            receiver: ep_socks[f.receiver_ep]
                .take()
                .expect("one socket per endpoint"),
            relay: relay_addr,
            origin,
            obs: o,
        };
        tasks.spawn(flows::run_flow(setup));
    }
    let by_real = real.iter().enumerate().map(|(i, a)| (*a, i)).collect();
    let mut r = Relay {
        w,
        q: EventQueue::default(),
        sock,
        origin,
        real,
        by_real,
        peer,
        obs,
        local: vec![],
        send_drops: 0,
        strays: 0,
    };
    let guard = StopOnDrop(stop.clone());
    let supervisor = {
        let stop = stop.clone();
        tokio::spawn(async move {
            stop.notified().await;
            tasks.shutdown().await;
        })
    };
    let finished_at = relay_loop(&mut r, setup.quiet).await;
    // Final observations, then stop the flows.
    r.sync();
    r.stats();
    drop(guard);
    let _ = supervisor.await;
    let wall_s = wall.elapsed().as_secs_f64();
    r.w.now = finished_at;
    r.w.end = finished_at;
    r.w.finish_captures()?;
    let (mut data, sim) = product(&mut r.w, s, &setup.prov);
    data.meta.backend = "udp".into();
    data.details["udp"] = serde_json::json!({
        "relay": relay_addr.to_string(),
        "endpoints": r.w.endpoints.iter().zip(&r.real).map(|(e, a)| {
            (format!("{}:{}", r.w.net.nodes[e.node].name, e.addr.port()), a.to_string())
        }).collect::<std::collections::BTreeMap<_, _>>(),
        "relay_send_drops": r.send_drops,
        "stray_datagrams": r.strays,
        "capture_origin_unix_ns": origin_unix_ns,
    });
    let dir = &setup.dir;
    let metrics = serde_json::json!({
        "interval_s": r.w.metrics.interval as f64 / 1e9,
        "flows": r.w.metrics.flows,
        "queues": r.w.metrics.queues,
    });
    let path = dir.join("metrics.json");
    let text = serde_json::to_string(&metrics).map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::write(&path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    let written = reports::write_run(dir, &data, reports::ReportOptions { plots: setup.plots })
        .map_err(|e| format!("{}: cannot write results: {e}", dir.display()))?;
    Ok(RunOutcome {
        data,
        summary: written.summary,
        sim,
        dir: dir.clone(),
        wall_s,
        plot_s: written.plot_seconds,
        report_files: written.files,
    })
}

/// Relays until the scenario's duration has passed (or every flow is done, with
/// `stop_when_done`); returns the end time (ns since the origin).
async fn relay_loop(r: &mut Relay, quiet: bool) -> u64 {
    let end = r.w.end;
    let interval = r.w.metrics.interval;
    let stop_when_done = r.w.scenario.stop_when_done;
    let mut changes: Vec<(u64, usize)> =
        r.w.scenario
            .events
            .iter()
            .enumerate()
            .map(|(i, e)| (e.at.0, i))
            .collect();
    changes.sort_by_key(|c| c.0);
    let mut next_change = 0;
    let mut next_sample = interval;
    let mut next_sync = 0;
    let mut buf = vec![0u8; 65_536];
    let start = tokio::time::Instant::from_std(r.origin);
    let bar = (!quiet).then(|| {
        let b = indicatif::ProgressBar::new(end / 1_000_000);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{bar:40}] {pos}/{len} ms on real sockets ({elapsed})",
            )
            .expect("static template is valid"),
        );
        b
    });
    let finished = loop {
        let now = r.now();
        r.run_due(now);
        while next_change < changes.len() && changes[next_change].0 <= now {
            r.link_change(now, changes[next_change].1);
            next_change += 1;
        }
        while next_sample <= now && next_sample <= end {
            r.sample(next_sample);
            next_sample += interval;
        }
        if now >= next_sync {
            r.sync();
            next_sync = now + SYNC_NS;
            if let Some(b) = &bar {
                b.set_position(now.min(end) / 1_000_000);
            }
        }
        if now >= end {
            break end;
        }
        if stop_when_done && r.w.all_done() {
            break now;
        }
        let wake = [
            r.q.peek_time(),
            Some(next_sample),
            changes.get(next_change).map(|c| c.0),
            Some(end),
            Some(now + IDLE_NS),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(now + IDLE_NS);
        let wait = wake.saturating_sub(now);
        if wait > COARSE_NS {
            // Far from the next delivery: sleep on tokio's (millisecond) timer, waking early,
            // or as soon as a datagram arrives.
            tokio::select! {
                biased;
                got = r.sock.recv_from(&mut buf) => {
                    if let Ok((n, from)) = got {
                        let now = r.now();
                        r.run_due(now);
                        r.inject(now, from, &buf[..n]);
                    }
                }
                _ = tokio::time::sleep_until(start + Duration::from_nanos(wake - COARSE_NS / 2)) => {}
            }
        } else {
            // Close to it: tokio's timer is too coarse (a receiver estimates the link's
            // capacity from the spacing of packet pairs), so sleep precisely, in short steps
            // that keep polling the socket. This thread is not one of the runtime's workers.
            std::thread::sleep(Duration::from_nanos(wait.clamp(1_000, FINE_NS)));
        }
        // Take whatever is waiting without sleeping.
        for _ in 0..1024 {
            match r.sock.try_recv_from(&mut buf) {
                Ok((n, from)) => {
                    let now = r.now();
                    r.run_due(now);
                    r.inject(now, from, &buf[..n]);
                }
                Err(_) => break,
            }
        }
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    finished
}
