//! The relay: one loopback socket standing for the scenario's network. It runs the
//! simulator's [`Net`](crate::net::Net) on the wall clock, samples the flows, applies the
//! scheduled link changes, decides when the run ends and writes the results.

use super::bind_loopback;
use super::flows::{self, FlowObs};
use super::wall::{write_report, WallNet};
use crate::output::Provenance;
use crate::run::RunOutcome;
use crate::scenario::Scenario;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
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

/// How often flow observations are copied into the world (for `stop_when_done`).
const SYNC_NS: u64 = 5_000_000;
/// The relay wakes at least this often.
const IDLE_NS: u64 = 5_000_000;
/// Waits longer than this use tokio's millisecond timer (and wake on arrivals).
const COARSE_NS: u64 = 2_000_000;
/// Shorter waits sleep the thread precisely, polling the socket at least this often.
const FINE_NS: u64 = 200_000;

struct Relay {
    net: WallNet,
    sock: UdpSocket,
    /// Real address of each world endpoint.
    real: Vec<SocketAddr>,
    /// Real address → world endpoint.
    by_real: HashMap<SocketAddr, usize>,
    /// The other endpoint of each endpoint's flow.
    peer: Vec<usize>,
    obs: Vec<Arc<Mutex<FlowObs>>>,
    /// Datagrams the relay could not hand to the kernel (socket buffer full).
    send_drops: u64,
    /// Datagrams from unknown sources.
    strays: u64,
}

impl Relay {
    /// Runs the network's deliveries due by `now` and hands them out.
    fn run_due(&mut self, now: u64) {
        self.net.run_due(now);
        self.hand_out();
    }

    /// Sends packets that reached their destination host to the endpoint's real socket.
    fn hand_out(&mut self) {
        let mut local = std::mem::take(&mut self.net.local);
        for (ep, p) in local.drain(..) {
            match self.sock.try_send_to(&p.bytes(), self.real[ep]) {
                Ok(_) => {}
                Err(_) => self.send_drops += 1,
            }
            self.net.recycle(p);
        }
        self.net.local = local;
        self.net.local_due.clear();
    }

    /// A datagram from a real endpoint enters the network at its host.
    fn inject(&mut self, now: u64, from: SocketAddr, bytes: &[u8]) {
        let Some(&ep) = self.by_real.get(&from) else {
            self.strays += 1;
            return;
        };
        let w = &self.net.w;
        let (node, src, dst) = (
            w.endpoints[ep].node,
            w.endpoints[ep].addr,
            w.endpoints[self.peer[ep]].addr,
        );
        self.net.inject(now, node, src, dst, bytes);
        self.hand_out();
    }

    /// Copies what the applications observed into the world's flow states.
    fn sync(&mut self) {
        for (i, o) in self.obs.iter().enumerate() {
            let o = o.lock().expect("flow state lock");
            flows::copy_observations(&mut self.net.w.flows[i], &o.state);
        }
    }

    /// The metrics samples due by `now`, of the flows as their applications observed them.
    fn sample_due(&mut self, now: u64) {
        if self.net.next_sample > now {
            return;
        }
        self.sync();
        let obs = &self.obs;
        self.net.sample_due(now, |i, _| sender_stats(&obs[i]));
    }

    /// Keeps each flow's last sender statistics (the flows are about to stop).
    fn keep_last_stats(&mut self) {
        for (f, o) in self.net.w.flows.iter_mut().zip(&self.obs) {
            f.last_stats = sender_stats(o).or(f.last_stats);
        }
    }
}

/// Flow `o`'s sender statistics now; `None` before it connects or once it is gone.
fn sender_stats(o: &Mutex<FlowObs>) -> Option<udt::Stats> {
    let h = o.lock().expect("flow state lock").stats.clone();
    h.and_then(|h| h.stats())
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
    let net = WallNet::new(s, setup.seed, setup.end, &setup.dir)?;
    let bind = |what: &str| bind_loopback().map_err(|e| format!("cannot bind {what}: {e}"));
    let relay_std = bind("the relay socket")?;
    let relay_addr = relay_std
        .local_addr()
        .map_err(|e| format!("relay socket: {e}"))?;
    let sock = UdpSocket::from_std(relay_std).map_err(|e| format!("relay socket: {e}"))?;
    let w = &net.w;
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
    let origin = net.origin;
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
        net,
        sock,
        real,
        by_real,
        peer,
        obs,
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
    r.keep_last_stats();
    drop(guard);
    let _ = supervisor.await;
    let wall_s = wall.elapsed().as_secs_f64();
    let w = &r.net.w;
    let details = serde_json::json!({
        "relay": relay_addr.to_string(),
        "endpoints": w.endpoints.iter().zip(&r.real).map(|(e, a)| {
            (format!("{}:{}", w.net.nodes[e.node].name, e.addr.port()), a.to_string())
        }).collect::<std::collections::BTreeMap<_, _>>(),
        "relay_send_drops": r.send_drops,
        "stray_datagrams": r.strays,
    });
    let out = write_report(
        &mut r.net,
        finished_at,
        &setup.dir,
        &setup.prov,
        setup.plots,
        "udp",
        details,
    )?;
    Ok(RunOutcome {
        data: out.data,
        summary: out.summary,
        sim: out.sim,
        dir: setup.dir.clone(),
        wall_s,
        plot_s: out.plot_s,
        report_files: out.files,
    })
}

/// Relays until the scenario's duration has passed (or every flow is done, with
/// `stop_when_done`); returns the end time (ns since the origin).
async fn relay_loop(r: &mut Relay, quiet: bool) -> u64 {
    let end = r.net.w.end;
    let stop_when_done = r.net.w.scenario.stop_when_done;
    let mut next_sync = 0;
    let mut buf = vec![0u8; 65_536];
    let start = tokio::time::Instant::from_std(r.net.origin);
    let bar = (!quiet).then(|| progress_bar(end, "on real sockets"));
    let finished = loop {
        let now = r.net.now();
        r.run_due(now);
        r.net.apply_changes(now);
        r.sample_due(now);
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
        if stop_when_done && r.net.w.all_done() {
            break now;
        }
        let wake = [
            r.net.next_due(),
            Some(r.net.next_sample),
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
                        let now = r.net.now();
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
                    let now = r.net.now();
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

/// A progress bar over the run's `end` (ns), in ms of wall time.
pub(super) fn progress_bar(end: u64, what: &str) -> indicatif::ProgressBar {
    let b = indicatif::ProgressBar::new(end / 1_000_000);
    b.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{spinner}} [{{bar:40}}] {{pos}}/{{len}} ms {what} ({{elapsed}})"
        ))
        .expect("static template is valid"),
    );
    b
}
