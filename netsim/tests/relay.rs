//! `netsim relay` with external programs: the reference library's peer sending to `udt-recv`
//! through a lossy scenario (MD5 equal), the relay's counters against what plain UDP
//! applications saw, and the `--stats` files of the tools and of the reference peer.
//! Every socket is bound to port 0; children are killed when a test ends; output folders
//! are removed. `udt-send`/`udt-recv` are built with cargo on first use; the reference peer
//! with g++ (skipped, with the reason, where g++ or libudt-dev is missing, unless
//! `UDT_REQUIRE_TOOLS=1`; a compile failure always fails).

#[path = "../../udt/tests/peer/compile.rs"]
mod peer_compile;

use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Relay runs are real time: one at a time, so they do not compete for the CPU.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn netsim_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_netsim"))
}

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

/// `udt-send` / `udt-recv`, built next to the netsim binary (same profile).
fn tool(name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let dir = netsim_bin().parent().expect("a folder").to_path_buf();
    let built = BUILT.get_or_init(|| {
        let mut cmd = Command::new(option_env!("CARGO").unwrap_or("cargo"));
        cmd.args(["build", "-q", "-p", "udt", "--bins"]);
        if dir.ends_with("release") {
            cmd.arg("--release");
        }
        match cmd.status() {
            Ok(s) if s.success() => Ok(()),
            other => Err(format!("cargo build -p udt --bins: {other:?}")),
        }
    });
    built.as_ref().expect("the udt tools build");
    dir.join(name)
}

fn peer() -> Option<PathBuf> {
    static PEER: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match PEER.get_or_init(|| peer_compile::build_peer(Path::new(env!("CARGO_TARGET_TMPDIR")))) {
        Ok(p) => Some(p.clone()),
        Err(why) => {
            peer_compile::cannot_build(why);
            None
        }
    }
}

/// A temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let d = std::env::temp_dir().join(format!("netsim-relay-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("a temporary folder");
        TempDir(d)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process, killed when dropped; its stdout and stderr lines go to channels.
struct Proc {
    child: Child,
    out: mpsc::Receiver<String>,
    err: mpsc::Receiver<String>,
    name: String,
}

fn lines(r: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(r).lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

impl Proc {
    fn spawn(cmd: &mut Command) -> Proc {
        let name = format!("{cmd:?}");
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let out = lines(child.stdout.take().expect("piped"));
        let err = lines(child.stderr.take().expect("piped"));
        Proc {
            child,
            out,
            err,
            name,
        }
    }

    /// The first line of stdout (`err`: stderr) starting with `prefix`, without it.
    fn expect(&self, stderr: bool, prefix: &str, seen: &mut Vec<String>) -> String {
        let ch = if stderr { &self.err } else { &self.out };
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match ch.recv_timeout(left) {
                Ok(l) => {
                    if let Some(rest) = l.strip_prefix(prefix) {
                        return rest.to_string();
                    }
                    seen.push(l);
                }
                Err(_) => break,
            }
        }
        panic!("{}: no line `{prefix}…`; saw {seen:?}", self.name);
    }

    /// Waits for the exit (at most `limit`), then returns the rest of stderr.
    fn wait(&mut self, limit: Duration) -> (bool, Vec<String>) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                break Some(s);
            }
            if Instant::now() > deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        std::thread::sleep(Duration::from_millis(50));
        let rest: Vec<String> = self.err.try_iter().collect();
        (status.is_some_and(|s| s.success()), rest)
    }

    /// Ctrl-C: the relay writes its report and exits.
    fn interrupt(&self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `netsim relay` on `scenario` with the given mappings; returns it and its faces.
fn relay(scenario: &Path, hosts: &[String], out: &Path) -> (Proc, Vec<(String, SocketAddr)>) {
    let mut cmd = Command::new(netsim_bin());
    cmd.arg("relay").arg(scenario);
    for h in hosts {
        cmd.args(["--host", h]);
    }
    cmd.args(["--duration", "120s", "--quiet", "--no-plots", "--out"])
        .arg(out);
    let p = Proc::spawn(&mut cmd);
    let mut faces = vec![];
    for _ in 0..2 {
        let l = p
            .out
            .recv_timeout(Duration::from_secs(30))
            .expect("a face line");
        let (h, a) = l.split_once('=').expect("host=addr");
        faces.push((h.to_string(), a.parse().expect("an address")));
    }
    (p, faces)
}

fn face(faces: &[(String, SocketAddr)], host: &str) -> SocketAddr {
    faces.iter().find(|f| f.0 == host).expect("a face").1
}

/// Stops the relay with Ctrl-C and reads its report's summary.
fn stop(mut relay: Proc, out: &Path) -> Value {
    relay.interrupt();
    let (ok, err) = relay.wait(Duration::from_secs(30));
    assert!(ok, "the relay exits cleanly on Ctrl-C: {err:?}");
    let text = std::fs::read_to_string(out.join("summary.json")).expect("the relay's summary");
    serde_json::from_str(&text).expect("valid JSON")
}

fn link<'a>(summary: &'a Value, name: &str) -> &'a Value {
    summary["details"]["links"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["link"] == name)
        .map(|l| &l["counters"])
        .expect("the link's counters")
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("a count, got {v}"))
}

/// The bytes `udt-send --bytes N` and `udt4_peer --gen N` generate.
fn generated(len: usize) -> Vec<u8> {
    let mut state = 1u32;
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (state >> 16) as u8
        })
        .collect()
}

fn md5_hex(b: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(b).iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a `--stats` CSV: the simulator's header and metrics, rows at rising times, the
/// running byte count ending at `bytes`. Returns the number of intervals.
fn check_stats_csv(path: &Path, flow: &str, bytes: u64) -> usize {
    let text = std::fs::read_to_string(path).expect("the stats file");
    let mut it = text.lines();
    assert_eq!(
        it.next(),
        Some("time_s,flow,metric,value"),
        "{}",
        path.display()
    );
    let rows: Vec<Vec<&str>> = it.map(|l| l.split(',').collect()).collect();
    assert!(rows.iter().all(|r| r.len() == 4 && r[1] == flow), "{text}");
    let metrics = reports::csv::FLOW_METRICS;
    assert_eq!(rows.len() % metrics.len(), 0, "whole intervals: {text}");
    let mut last_t = -1.0;
    for group in rows.chunks(metrics.len()) {
        let names: Vec<&str> = group.iter().map(|r| r[2]).collect();
        assert_eq!(names, metrics, "the simulator's metrics, in its order");
        let t: f64 = group[0][0].parse().expect("a time");
        assert!(t > last_t, "rising times: {text}");
        last_t = t;
    }
    let goodput = reports::csv::read_metric(&text, "goodput_mbps");
    assert_eq!(goodput.len(), 1, "one flow");
    let last = rows.last().expect("rows");
    assert_eq!(last[2], "bytes_recv");
    assert_eq!(
        last[3].parse::<u64>().ok(),
        Some(bytes),
        "all bytes counted: {text}"
    );
    rows.len() / metrics.len()
}

#[test]
fn reference_peer_sends_to_udt_recv_through_a_lossy_relay() {
    let Some(peer) = peer() else { return };
    let recv_bin = tool("udt-recv");
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = TempDir::new("interop");
    let size = 3 << 20;
    let got = tmp.0.join("got.bin");
    let mut recv = Proc::spawn(
        Command::new(&recv_bin)
            .args(["--listen", "127.0.0.1:0", "--stats"])
            .arg(tmp.0.join("recv.json"))
            .args(["--stats-interval", "50"])
            .arg(&got),
    );
    let mut seen = vec![];
    let listening = recv.expect(true, "listening on ", &mut seen);
    let out = tmp.0.join("report");
    let (relay, faces) = relay(
        &scenario("relay_lossy.yaml"),
        &[format!("b={listening}")],
        &out,
    );
    let b = face(&faces, "b");
    let peer_stats = tmp.0.join("peer.csv");
    let mut send = Proc::spawn(
        Command::new(&peer)
            .args(["connect", "127.0.0.1", &b.port().to_string()])
            .args(["stream", "send", "--gen", &size.to_string()])
            .arg("--stats")
            .arg(&peer_stats)
            .args(["--stats-flow", "reference"]),
    );
    let (sent_ok, send_err) = send.wait(Duration::from_secs(120));
    assert!(sent_ok, "the reference peer sends: {send_err:?}");
    let (recv_ok, recv_err) = recv.wait(Duration::from_secs(30));
    assert!(recv_ok, "udt-recv finishes: {recv_err:?}");
    let md5 = recv_err
        .iter()
        .find_map(|l| l.strip_prefix("md5 "))
        .expect("udt-recv prints the MD5");
    assert_eq!(
        md5,
        md5_hex(&generated(size)),
        "byte-exact through the relay"
    );
    assert_eq!(std::fs::read(&got).expect("the file").len(), size);
    let summary = stop(relay, &out);
    // The lossy links did drop (both ways), and the relay carried the rest.
    let fwd = link(&summary, "path>");
    let rev = link(&summary, "path<");
    assert!(
        n(&fwd["dropped_loss"]) > 0,
        "data was lost on the way: {fwd}"
    );
    assert!(n(&fwd["delivered"]) > (size / 1500) as u64, "{fwd}");
    let hosts = &summary["details"]["relay"]["hosts"];
    assert_eq!(hosts["b"]["to_app"], fwd["delivered"], "{hosts}");
    assert_eq!(hosts["a"]["to_app"], rev["delivered"], "{hosts}");
    assert_eq!(hosts["a"]["from_app"], fwd["offered"], "{hosts}");
    assert_eq!(summary["details"]["relay"]["stray_datagrams"], 0);
    assert!(out.join("b.pcap").exists(), "the scenario's capture");
    // The reference peer's statistics: the simulator's columns, every byte acknowledged.
    let intervals = check_stats_csv(&peer_stats, "reference", size as u64);
    assert!(intervals >= 3, "{intervals} intervals");
    let retrans: f64 = reports::csv::read_metric(
        &std::fs::read_to_string(&peer_stats).expect("stats"),
        "retrans_pkts",
    )[0]
    .1
    .iter()
    .map(|p| p.1)
    .sum();
    assert!(
        retrans > 0.0,
        "the reference retransmitted what the relay's model dropped"
    );
    // udt-recv's JSON lines: one object per interval with the same metric keys.
    let json = std::fs::read_to_string(tmp.0.join("recv.json")).expect("udt-recv's stats");
    let rows: Vec<Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert!(rows.len() >= 3, "{json}");
    for r in &rows {
        for m in reports::csv::FLOW_METRICS {
            assert!(r[m].is_number(), "{m} in {r}");
        }
        assert_eq!(r["flow"], "udt-recv");
    }
    assert_eq!(rows.last().expect("rows")["bytes_recv"], size as u64);
}

#[test]
fn relay_counters_agree_with_what_the_applications_saw() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = TempDir::new("counters");
    let a = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let b = UdpSocket::bind("127.0.0.1:0").expect("bind");
    b.set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let out = tmp.0.join("report");
    // b is known in advance; a is learnt from its first datagram.
    let b_addr = b.local_addr().expect("addr");
    let (relay, faces) = relay(
        &scenario("relay_lossy.yaml"),
        &[format!("b={b_addr}")],
        &out,
    );
    let (face_a, face_b) = (face(&faces, "a"), face(&faces, "b"));
    let total = 3000u32;
    let mut got = vec![false; total as usize];
    let mut from_face_a = true;
    let sender = std::thread::spawn(move || {
        for i in 0..total {
            let mut d = vec![0u8; 1000];
            d[..4].copy_from_slice(&i.to_le_bytes());
            a.send_to(&d, face_b).expect("send");
            // 8 Mbit/s: well under the link's 50, so the queue never fills.
            std::thread::sleep(Duration::from_micros(1000));
        }
        a
    });
    let mut buf = [0u8; 2048];
    while let Ok((len, from)) = b.recv_from(&mut buf) {
        assert_eq!(len, 1000);
        from_face_a &= from == face_a;
        got[u32::from_le_bytes(buf[..4].try_into().expect("4 bytes")) as usize] = true;
    }
    let a = sender.join().expect("the sender");
    assert!(
        from_face_a,
        "datagrams come from the face of the sending host"
    );
    // Any UDP payload goes through as it is, an empty one and one that is no UDT included.
    for d in [&[][..], b"\xff not UDT at all"] {
        let mut got_it = false;
        for _ in 0..20 {
            a.send_to(d, face_b).expect("send");
            if let Ok((len, _)) = b.recv_from(&mut buf) {
                assert_eq!(&buf[..len], d);
                got_it = true;
                break;
            }
        }
        assert!(got_it, "{d:?} crosses the lossy path within 20 tries");
    }
    let summary = stop(relay, &out);
    let received = got.iter().filter(|g| **g).count() as u64;
    let fwd = link(&summary, "path>");
    // The two odd datagrams above, sent a few times each.
    let extra = n(&fwd["offered"]) - u64::from(total);
    assert!((2..=40).contains(&extra), "{fwd}");
    let hosts = &summary["details"]["relay"]["hosts"];
    assert_eq!(
        n(&hosts["a"]["from_app"]),
        u64::from(total) + extra,
        "{hosts}"
    );
    let dropped = n(&fwd["dropped_loss"]);
    assert!(
        (10..=80).contains(&dropped),
        "about 1% of {total} lost: {fwd}"
    );
    assert_eq!(n(&fwd["dropped_queue"]), 0, "{fwd}");
    // Exactly what the model let through arrived: no loss of the relay's own.
    let odd_arrived = 2;
    assert_eq!(received + odd_arrived, n(&fwd["delivered"]), "{fwd}");
    assert_eq!(
        n(&fwd["delivered"]) + dropped,
        u64::from(total) + extra,
        "{fwd}"
    );
    assert_eq!(n(&hosts["b"]["to_app"]), n(&fwd["delivered"]), "{hosts}");
}

#[test]
fn udt_send_and_recv_write_stats_with_the_simulators_columns() {
    let send_bin = tool("udt-send");
    let recv_bin = tool("udt-recv");
    let tmp = TempDir::new("stats");
    let size = 2 << 20;
    let mut recv = Proc::spawn(
        Command::new(&recv_bin)
            .args(["--listen", "127.0.0.1:0", "--stats"])
            .arg(tmp.0.join("recv.csv"))
            .args(["--stats-interval", "20", "--stats-flow", "bulk", "-q"])
            .arg(tmp.0.join("got.bin")),
    );
    let mut seen = vec![];
    let addr = recv.expect(true, "listening on ", &mut seen);
    let mut send = Proc::spawn(
        Command::new(&send_bin)
            .args(["--connect", &addr, "--bytes", &size.to_string()])
            .args(["--max-bw", "20000000", "-q", "--stats"])
            .arg(tmp.0.join("send.json")),
    );
    let (ok, err) = send.wait(Duration::from_secs(60));
    assert!(ok, "udt-send finishes: {err:?}");
    let (ok, err) = recv.wait(Duration::from_secs(30));
    assert!(ok, "udt-recv finishes: {err:?}");
    // 2 MiB at 160 Mbit/s at most: about 0.1 s, several 20 ms intervals.
    let intervals = check_stats_csv(&tmp.0.join("recv.csv"), "bulk", size as u64);
    assert!(intervals >= 3, "{intervals} intervals");
    let json = std::fs::read_to_string(tmp.0.join("send.json")).expect("udt-send's stats");
    let last: Value = serde_json::from_str(json.lines().last().expect("rows")).expect("JSON");
    assert_eq!(last["flow"], "udt-send");
    assert_eq!(
        last["bytes_recv"], size as u64,
        "the sender counts acknowledged bytes"
    );
    let keys: Vec<&str> = last
        .as_object()
        .expect("an object")
        .keys()
        .map(|k| k.as_str())
        .filter(|k| *k != "time_s" && *k != "flow")
        .collect();
    let mut want = reports::csv::FLOW_METRICS.to_vec();
    want.sort_unstable();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(keys, want);
}

#[test]
fn bad_mappings_are_refused_with_a_reason() {
    let s = scenario("relay_lossy.yaml");
    for (arg, want) in [
        ("nobody=127.0.0.1:5000", "has no host `nobody`"),
        ("a", "expected HOST=ADDR"),
        ("a=localhost", "is not an address"),
        ("a=[::1]:5000", "must be IPv4"),
    ] {
        let out = Command::new(netsim_bin())
            .args(["relay"])
            .arg(&s)
            .args(["--host", arg, "--duration", "1s", "--quiet"])
            .output()
            .expect("netsim runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{arg} is refused");
        assert!(err.contains(want), "{arg}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = Command::new(netsim_bin())
        .args(["relay", "no/such/scenario.yaml"])
        .output()
        .expect("netsim runs");
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}
