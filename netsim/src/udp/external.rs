//! `netsim relay SCENARIO`: the scenario's network on the wall clock between external UDP
//! programs (the reference library's peer, `udt-send`/`udt-recv`, any UDP application).
//!
//! Mapping: the relay binds one loopback socket per scenario host, its *face*, and prints
//! the faces as `host=127.0.0.1:PORT` lines on stdout. An application playing host A sends to
//! the face of host B; the relay knows A's application by its address (given with
//! `--host A=127.0.0.1:PORT`, or learnt from its first datagram when exactly one host other
//! than B has no application yet), carries the datagram through the model from A to B
//! (routes, links, queues, loss, captures, scheduled changes) and, when the model delivers it,
//! sends it to B's application from A's face, so that B answers A by replying to where the
//! datagram came from. Inside the model, host X's application has the address
//! `X's scenario address : X's face port`, which is what captures show.
//!
//! Threads: one reads every face (a current-thread tokio runtime; `recvmmsg` with GRO via
//! `quinn-udp`, each datagram stamped with the kernel's receive time) and passes batches on;
//! this thread runs the model and sends what it delivers at the model's time, blocking on the
//! arrivals channel until shortly before the next departure and spinning the rest
//! ([`SPIN_NS`]). The relay never looks inside a datagram.

use super::batch::{Datagram, Receiver, Sender};
use super::wall::{write_report, WallNet};
use super::{bind_loopback, check_supported};
use crate::net::NodeKind;
use crate::output::{md5_hex, Provenance};
use crate::run::RunOptions;
use crate::scenario::Scenario;
use crate::summary::Summary;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Closer than this to the next departure, the model thread spins instead of blocking (a
/// blocked thread wakes up to ~60 µs late: the kernel's default timer slack plus scheduling).
pub const SPIN_NS: u64 = 150_000;
/// The model thread looks at the clock at least this often when idle.
const IDLE_NS: u64 = 5_000_000;
/// A segmented send carries at most this many bytes (a UDP payload is at most 65 507).
const MAX_GSO_BYTES: usize = 65_000;
/// A face's reader hands what it has read to the model at least this often while datagrams
/// keep coming. A datagram the model takes late enters it in the past, and what it causes
/// falls due at once: reading a sender's burst into one batch of thousands for milliseconds
/// handed the receiver the burst's next hop in a clump.
const READ_BATCH_NS: u128 = 50_000;
/// Lateness histogram: 1 µs buckets up to this, then one overflow bucket.
const HIST_US: usize = 10_000;

/// How to run the relay: the run's options (`duration` defaults to the scenario's; `out` to
/// `out/<scenario>-relay-seed<N>`; `quiet` silences stderr) and the applications known in
/// advance, `host=ADDR` each.
#[derive(Clone, Debug, Default)]
pub struct RelayOptions {
    /// Seed, duration, output folder, quiet, plots, command line.
    pub run: RunOptions,
    /// Applications known in advance: `host=ADDR` each.
    pub hosts: Vec<String>,
    /// CPUs for the relay's threads, taken once `on_faces` has run (programs it starts keep
    /// the caller's); `None` leaves them to the scheduler. See [`super::cpus`].
    pub cpus: Option<Vec<usize>>,
}

/// What a relay run did.
pub struct RelayOutcome {
    /// The run's summary (per-link counters in `links`).
    pub summary: Summary,
    /// Where the report went.
    pub dir: PathBuf,
    /// Wall time, s.
    pub wall_s: f64,
    /// Why it stopped.
    pub stopped: String,
    /// Per host: its face, its application, what went through.
    pub hosts: BTreeMap<String, HostCounters>,
    /// Datagrams whose sender could not be told (see the module documentation).
    pub strays: u64,
}

/// What went through one host's face.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct HostCounters {
    /// The face: the relay's socket that stands for this host.
    pub face: String,
    /// The application playing this host, once known.
    pub app: Option<String>,
    /// Datagrams the application sent into the network.
    pub from_app: u64,
    /// Datagrams the network delivered to the application.
    pub to_app: u64,
    /// Datagrams that reached this host before its application was known.
    pub undeliverable: u64,
    /// Datagrams the kernel refused to send to the application.
    pub send_errors: u64,
    /// The last such refusal.
    pub last_send_error: Option<String>,
}

/// Told the faces, (host, address) each, once they are bound.
pub type FacesCallback<'a> = dyn FnMut(&[(String, SocketAddr)]) + 'a;

/// Parses `host=ADDR` mappings against the scenario.
fn parse_hosts(s: &Scenario, specs: &[String]) -> Result<BTreeMap<String, SocketAddr>, String> {
    let mut out = BTreeMap::new();
    for spec in specs {
        let Some((name, addr)) = spec.split_once('=') else {
            return Err(format!(
                "--host `{spec}`: expected HOST=ADDR, for example client=127.0.0.1:5000"
            ));
        };
        if !s.hosts.contains_key(name) {
            let known: Vec<&str> = s.hosts.keys().map(|k| k.as_str()).collect();
            return Err(format!(
                "--host `{spec}`: scenario `{}` has no host `{name}` (hosts: {})",
                s.name,
                known.join(", ")
            ));
        }
        let addr: SocketAddr = addr.parse().map_err(|_| {
            format!("--host `{spec}`: `{addr}` is not an address like 127.0.0.1:5000")
        })?;
        if !addr.is_ipv4() || addr.port() == 0 {
            return Err(format!(
                "--host `{spec}`: the application's address must be IPv4 with a port (the faces are IPv4 loopback sockets)"
            ));
        }
        if let Some((other, _)) = out.iter().find(|(_, a)| **a == addr) {
            return Err(format!(
                "--host `{spec}`: {addr} already plays host `{other}`"
            ));
        }
        if out.insert(name.to_string(), addr).is_some() {
            return Err(format!("--host `{spec}`: host `{name}` is mapped twice"));
        }
    }
    Ok(out)
}

/// Loads a scenario and relays its network for external applications. `on_faces` gets the
/// faces (`host`, address) once they are bound, before anything is relayed.
pub fn relay_file(
    path: &Path,
    opts: &RelayOptions,
    on_faces: &mut FacesCallback<'_>,
) -> Result<RelayOutcome, String> {
    let s = Scenario::load(path).map_err(|e| e.to_string())?;
    let digest = std::fs::read(path)
        .map(|b| md5_hex(&b))
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    relay(&s, opts, digest, on_faces)
}

/// Data buffers the model thread has finished with, for the reading thread to fill again
/// (no allocation per batch in the steady state).
type Spent = Arc<std::sync::Mutex<Vec<Batch>>>;

/// Datagrams read from one face: their bytes end to end, and each one's place and model
/// arrival time.
#[derive(Default)]
struct Batch {
    data: Vec<u8>,
    items: Vec<(Datagram, u64)>,
}

/// Messages from the reading thread.
enum RxMsg {
    /// Datagrams read from face `face`.
    Data { face: usize, batch: Batch },
    /// Ctrl-C or SIGTERM.
    Signal(&'static str),
    /// A face cannot be read any more.
    Failed(String),
}

struct Face {
    host: String,
    node: usize,
    sock: UdpSocket,
    addr: SocketAddr,
    /// The host's address in the model.
    model: SocketAddr,
    app: Option<SocketAddr>,
    counters: HostCounters,
}

/// A histogram of µs lateness.
struct Hist(Vec<u64>);

impl Hist {
    fn new() -> Self {
        Hist(vec![0; HIST_US + 1])
    }
    fn add(&mut self, ns: u64) {
        let us = ((ns / 1_000) as usize).min(HIST_US);
        self.0[us] += 1;
    }
    fn json(&self) -> serde_json::Value {
        let n: u64 = self.0.iter().sum();
        let q = |p: f64| -> Option<usize> {
            let want = ((n as f64) * p).ceil().max(1.0) as u64;
            let mut acc = 0;
            self.0.iter().position(|c| {
                acc += c;
                acc >= want
            })
        };
        serde_json::json!({
            "count": n,
            "p50_us": q(0.5), "p90_us": q(0.9), "p99_us": q(0.99),
            "max_us": self.0.iter().rposition(|&c| c > 0),
            "note": "the last bucket holds everything from 10 ms on",
        })
    }
}

struct Relay {
    net: WallNet,
    faces: Vec<Face>,
    /// Face port → face.
    by_port: HashMap<u16, usize>,
    /// Application address → face of the host it plays.
    by_app: HashMap<SocketAddr, usize>,
    senders: Vec<Sender>,
    strays: u64,
    warned: bool,
    /// Departure lateness: send time minus the model's delivery time.
    late: Hist,
    /// Arrival lag: from the kernel's receive time to the model taking the datagram.
    lag: Hist,
    out: Vec<u8>,
    quiet: bool,
}

impl Relay {
    /// The host a datagram from `from` to face `to` comes from, learning it if it can be told.
    fn attribute(&mut self, to: usize, from: SocketAddr) -> Option<usize> {
        if let Some(&f) = self.by_app.get(&from) {
            return Some(f);
        }
        let free: Vec<usize> = (0..self.faces.len())
            .filter(|&i| i != to && self.faces[i].app.is_none())
            .collect();
        if let [only] = free[..] {
            self.faces[only].app = Some(from);
            self.faces[only].counters.app = Some(from.to_string());
            self.by_app.insert(from, only);
            if !self.quiet {
                eprintln!(
                    "netsim relay: {from} plays host `{}`",
                    self.faces[only].host
                );
            }
            return Some(only);
        }
        if !self.warned && !self.quiet {
            self.warned = true;
            eprintln!(
                "netsim relay: a datagram from {from} to the face of `{}` cannot be told apart \
                 (it is not a known application, and {} hosts have none yet); map it with \
                 --host HOST={from}. Such datagrams are counted as strays",
                self.faces[to].host,
                free.len()
            );
        }
        None
    }

    fn take(&mut self, face: usize, data: &[u8], items: &[(Datagram, u64)]) {
        for (d, t) in items {
            let Some(src) = self.attribute(face, d.from) else {
                self.strays += 1;
                continue;
            };
            if src == face {
                self.strays += 1; // an application sending to its own face
                continue;
            }
            self.faces[src].counters.from_app += 1;
            let (node, s_addr, d_addr) = (
                self.faces[src].node,
                self.faces[src].model,
                self.faces[face].model,
            );
            self.net
                .inject(*t, node, s_addr, d_addr, &data[d.off..d.off + d.len]);
        }
    }

    /// Sends what the model delivered, grouping runs of equal-sized datagrams from one face
    /// to one application into segmented sends.
    fn hand_out(&mut self) {
        let mut local = std::mem::take(&mut self.net.local);
        let now = self.net.now();
        for &due in &self.net.local_due {
            self.late.add(now.saturating_sub(due));
        }
        self.net.local_due.clear();
        // (from face, to face, segment, count) of the run being built in `out`.
        let mut run: Option<(usize, usize, usize, usize)> = None;
        for (node_to, p) in local.drain(..) {
            let to = self.by_port.get(&p.dst.port()).copied();
            let from = self.by_port.get(&p.src.port()).copied();
            let (Some(to), Some(from)) = (to, from) else {
                self.net.recycle(p);
                continue;
            };
            debug_assert_eq!(self.faces[to].node, node_to);
            if self.faces[to].app.is_none() {
                self.faces[to].counters.undeliverable += 1;
                self.net.recycle(p);
                continue;
            }
            let bytes = p.bytes();
            let len = bytes.len();
            let joins = run.is_some_and(|(f, t, seg, n)| {
                f == from
                    && t == to
                    && len > 0
                    && len <= seg
                    && n < self.senders[from].max_segments()
                    && self.out.len().is_multiple_of(seg)
                    && self.out.len() + len <= MAX_GSO_BYTES
            });
            if !joins {
                self.flush(run.take());
            }
            self.out.extend_from_slice(&bytes);
            drop(bytes);
            run = Some(match run {
                Some((f, t, seg, n)) => (f, t, seg, n + 1),
                None => (from, to, len, 1),
            });
            self.net.recycle(p);
        }
        self.flush(run);
        self.net.local = local;
    }

    fn flush(&mut self, run: Option<(usize, usize, usize, usize)>) {
        let Some((from, to, seg, n)) = run else {
            return;
        };
        let app = self.faces[to]
            .app
            .expect("checked before the run was built");
        let r = self.senders[from].send(&self.faces[from].sock, app, &self.out, seg.max(1));
        match r {
            Ok(()) => self.faces[to].counters.to_app += n as u64,
            Err(e) => {
                let c = &mut self.faces[to].counters;
                c.send_errors += n as u64;
                c.last_send_error = Some(format!("{e} (a run of {n} datagrams of {seg} bytes)"));
            }
        }
        self.out.clear();
    }
}

/// Reads every face until told to stop, passing batches to the model thread.
fn read_faces(
    socks: Vec<UdpSocket>,
    origin: Instant,
    origin_unix_ns: u64,
    tx: mpsc::Sender<RxMsg>,
    spent: Spent,
    stop: Arc<tokio::sync::Notify>,
) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = tx.send(RxMsg::Failed(format!(
                "cannot start the reading thread: {e}"
            )));
            return;
        }
    };
    rt.block_on(async move {
        let mut tasks = tokio::task::JoinSet::new();
        for (face, s) in socks.into_iter().enumerate() {
            let tx = tx.clone();
            let spent = spent.clone();
            tasks.spawn(async move {
                if let Err(e) = read_face(face, s, origin, origin_unix_ns, &tx, &spent).await {
                    let _ = tx.send(RxMsg::Failed(e));
                }
            });
        }
        let signals = {
            let tx = tx.clone();
            async move {
                let what = wait_for_signal().await;
                let _ = tx.send(RxMsg::Signal(what));
                std::future::pending::<()>().await
            }
        };
        tokio::select! {
            _ = stop.notified() => {}
            _ = signals => {}
            _ = async { while tasks.join_next().await.is_some() {} } => {}
        }
    });
}

#[cfg(unix)]
async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return "interrupted";
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "interrupted",
        _ = term.recv() => "terminated",
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> &'static str {
    let _ = tokio::signal::ctrl_c().await;
    "interrupted"
}

async fn read_face(
    face: usize,
    s: UdpSocket,
    origin: Instant,
    origin_unix_ns: u64,
    tx: &mpsc::Sender<RxMsg>,
    spent: &Spent,
) -> Result<(), String> {
    let sock = tokio::net::UdpSocket::from_std(s).map_err(|e| format!("face {face}: {e}"))?;
    let mut rx = Receiver::new(&sock).map_err(|e| format!("face {face}: {e}"))?;
    let mut got = vec![];
    loop {
        sock.readable()
            .await
            .map_err(|e| format!("face {face}: {e}"))?;
        let mut batch = spent
            .lock()
            .ok()
            .and_then(|mut v| v.pop())
            .unwrap_or_default();
        batch.data.clear();
        batch.items.clear();
        got.clear();
        let reading = Instant::now();
        loop {
            let r = sock.try_io(tokio::io::Interest::READABLE, || {
                rx.recv(&sock, &mut batch.data, &mut got)
            });
            match r {
                Ok(_) if got.len() < 4096 && reading.elapsed().as_nanos() < READ_BATCH_NS => {
                    continue
                }
                Ok(_) => break,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                // ICMP reports about an application that went away, or a signal.
                Err(e) if transient(&e) => continue,
                Err(e) => return Err(format!("face {face}: cannot read: {e}")),
            }
        }
        if got.is_empty() {
            continue;
        }
        let read_at = origin.elapsed().as_nanos() as u64;
        // The kernel's receive time where it gave one (clamped to the last second: a clock
        // step must not move packets far), else the time of the read.
        batch.items.extend(got.iter().map(|d| {
            let t = d
                .kernel_unix_ns
                .and_then(|k| k.checked_sub(origin_unix_ns))
                .filter(|&t| t <= read_at && read_at - t < 1_000_000_000)
                .unwrap_or(read_at);
            (*d, t)
        }));
        if tx.send(RxMsg::Data { face, batch }).is_err() {
            return Ok(()); // the model thread is gone
        }
    }
}

fn transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionReset | HostUnreachable | NetworkUnreachable | Interrupted
    )
}

/// Relays the network of a loaded scenario (see the module documentation); `digest` is
/// recorded in the report as the scenario's MD5.
pub fn relay(
    s: &Scenario,
    opts: &RelayOptions,
    digest: String,
    on_faces: &mut FacesCallback<'_>,
) -> Result<RelayOutcome, String> {
    check_supported(s).map_err(|e| e.replace("the udp backend", "the relay"))?;
    let known = parse_hosts(s, &opts.hosts)?;
    let cpus = opts.cpus.clone();
    let opts = &opts.run;
    let seed = opts.seed.unwrap_or(s.seed);
    let end = opts.duration.unwrap_or(s.duration.0);
    let dir = opts
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("out/{}-relay-seed{seed}", s.name)));
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("{}: cannot create output folder: {e}", dir.display()))?;
    // The network only: the scenario's own flows and expectations are for the simulator.
    let mut net_only = s.clone();
    net_only.flows.clear();
    net_only.expect.clear();
    let wall = Instant::now();
    let mut net = WallNet::new(&net_only, seed, end, &dir)?;
    let mut faces = vec![];
    for name in s.hosts.keys() {
        let node = net.w.net.node(name).expect("every host is a node");
        let NodeKind::Host { ip } = net.w.net.nodes[node].kind else {
            unreachable!("hosts are host nodes")
        };
        let sock = bind_loopback().map_err(|e| format!("cannot bind the face of `{name}`: {e}"))?;
        sock.set_nonblocking(true)
            .map_err(|e| format!("face of `{name}`: {e}"))?;
        let addr = sock
            .local_addr()
            .map_err(|e| format!("face of `{name}`: {e}"))?;
        let model = SocketAddr::new(IpAddr::V4(ip), addr.port());
        net.w.net.nodes[node].ports.insert(addr.port(), node);
        let app = known.get(name).copied();
        faces.push(Face {
            host: name.clone(),
            node,
            sock,
            addr,
            model,
            app,
            counters: HostCounters {
                face: addr.to_string(),
                app: app.map(|a| a.to_string()),
                ..Default::default()
            },
        });
    }
    let mut senders = vec![];
    let mut socks = vec![];
    for f in &faces {
        senders.push(Sender::new(&f.sock).map_err(|e| format!("face of `{}`: {e}", f.host))?);
        socks.push(
            f.sock
                .try_clone()
                .map_err(|e| format!("face of `{}`: {e}", f.host))?,
        );
    }
    let listing: Vec<(String, SocketAddr)> =
        faces.iter().map(|f| (f.host.clone(), f.addr)).collect();
    on_faces(&listing);
    // Before the reading thread starts, so that it inherits the CPUs.
    let _pinned = cpus.as_deref().map(super::cpus::pin);
    let (tx, rx) = mpsc::channel();
    let stop = Arc::new(tokio::sync::Notify::new());
    let spent = Spent::default();
    let reader = {
        let (origin, unix, stop) = (net.origin, net.origin_unix_ns, stop.clone());
        let spent = spent.clone();
        std::thread::Builder::new()
            .name("relay-rx".into())
            .spawn(move || read_faces(socks, origin, unix, tx, spent, stop))
            .map_err(|e| format!("cannot start the reading thread: {e}"))?
    };
    let mut r = Relay {
        by_port: faces
            .iter()
            .enumerate()
            .map(|(i, f)| (f.addr.port(), i))
            .collect(),
        by_app: faces
            .iter()
            .enumerate()
            .filter_map(|(i, f)| Some((f.app?, i)))
            .collect(),
        net,
        faces,
        senders,
        strays: 0,
        warned: false,
        late: Hist::new(),
        lag: Hist::new(),
        out: Vec::with_capacity(65_536),
        quiet: opts.quiet,
    };
    let result = model_loop(&mut r, &rx, &spent, opts.quiet);
    stop.notify_one();
    drop(rx);
    let _ = reader.join();
    let (finished_at, stopped) = match &result {
        Ok(x) => x.clone(),
        Err(_) => (r.net.now().min(end), "failed".to_string()),
    };
    let hosts: BTreeMap<String, HostCounters> = r
        .faces
        .iter()
        .map(|f| (f.host.clone(), f.counters.clone()))
        .collect();
    let details = serde_json::json!({
        "hosts": hosts,
        "stray_datagrams": r.strays,
        "stopped": stopped,
        "departure_lateness": r.late.json(),
        "arrival_lag": r.lag.json(),
        "cpus": cpus,
    });
    let prov = Provenance {
        scenario_digest: digest,
        command_line: opts
            .command_line
            .clone()
            .unwrap_or_else(|| "(not recorded)".into()),
    };
    let out = write_report(
        &mut r.net,
        finished_at,
        &dir,
        &prov,
        !opts.no_plots,
        "relay",
        details,
    )?;
    result?;
    Ok(RelayOutcome {
        summary: out.sim,
        dir,
        wall_s: wall.elapsed().as_secs_f64(),
        stopped,
        hosts,
        strays: r.strays,
    })
}

/// Runs the model on the wall clock until the end, a signal or a failure; returns the end
/// time and why it stopped.
fn model_loop(
    r: &mut Relay,
    rx: &mpsc::Receiver<RxMsg>,
    spent: &Spent,
    quiet: bool,
) -> Result<(u64, String), String> {
    let end = r.net.w.end;
    let bar = (!quiet).then(|| super::relay::progress_bar(end, "relayed"));
    let mut next_bar = 0;
    let mut msg: Option<RxMsg> = None;
    let outcome = loop {
        if let Some(m) = msg.take() {
            match m {
                RxMsg::Data { face, batch } => {
                    r.take(face, &batch.data, &batch.items);
                    r.hand_out();
                    let now = r.net.now();
                    for (_, t) in &batch.items {
                        r.lag.add(now.saturating_sub(*t));
                    }
                    if let Ok(mut v) = spent.lock() {
                        if v.len() < 4096 {
                            v.push(batch);
                        }
                    }
                }
                RxMsg::Signal(what) => break Ok((r.net.now().min(end), what.to_string())),
                RxMsg::Failed(e) => break Err(e),
            }
            // Take everything else that waits before looking at the clock.
            match rx.try_recv() {
                Ok(m) => {
                    msg = Some(m);
                    continue;
                }
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => break Err("the reading thread stopped".into()),
            }
        }
        let now = r.net.now();
        r.net.run_due(now);
        r.hand_out();
        r.net.apply_changes(now);
        r.net.sample_due(now, |_, _| None); // the network only: no flows
        if now >= next_bar {
            next_bar = now + 50_000_000;
            if let Some(b) = &bar {
                b.set_position(now.min(end) / 1_000_000);
            }
        }
        if now >= end {
            break Ok((end, "duration".to_string()));
        }
        let next = [r.net.next_due(), Some(r.net.next_sample), Some(end)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(end)
            .min(now + IDLE_NS);
        let wait = next.saturating_sub(now);
        if wait > SPIN_NS {
            match rx.recv_timeout(Duration::from_nanos(wait - SPIN_NS)) {
                Ok(m) => msg = Some(m),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    break Err("the reading thread stopped".into())
                }
            }
        } else {
            // The precise part of the wait: spin until the departure, taking arrivals.
            loop {
                match rx.try_recv() {
                    Ok(m) => {
                        msg = Some(m);
                        break;
                    }
                    Err(TryRecvError::Empty) => {}
                    Err(TryRecvError::Disconnected) => break,
                }
                if r.net.now() >= next {
                    break;
                }
                // Yield rather than burn: on a busy machine the reading thread and the
                // applications need the core more than this loop does.
                std::thread::yield_now();
            }
        }
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    outcome
}
