//! The udp backend (`netsim run --backend udp`): scenarios on real loopback sockets through the
//! in-process relay, in real time. Every socket is bound to port 0; runs are a few seconds and
//! one at a time (a shared lock), so that they do not compete for the CPU.

use netsim::run::{RunOptions, RunOutcome};
use netsim::scenario::Scenario;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A fresh output folder, removed when dropped.
struct OutDir(PathBuf);

impl OutDir {
    fn new(name: &str) -> Self {
        let d = std::env::temp_dir().join(format!("netsim-udp-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        OutDir(d)
    }
}

impl Drop for OutDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(yaml: &str, out: &OutDir, plots: bool) -> RunOutcome {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let s = Scenario::parse("test.yaml", yaml).expect("valid scenario");
    let opts = RunOptions {
        out: Some(out.0.clone()),
        quiet: true,
        no_plots: !plots,
        ..Default::default()
    };
    netsim::udp::run(&s, &opts).expect("the udp run works")
}

const LOSSY: &str = "
name: udp_lossy
duration: 10s
hosts:
  client: { address: 10.0.0.1 }
  server: { address: 10.0.1.1 }
links:
  - name: path
    between: [client, server]
    rate: 50Mbps
    delay: 20ms
    queue: 500 packets
    loss: { bernoulli: 1% }
flows:
  - { name: bulk, from: client, to: \"server:9000\", transfer: 3MiB }
capture: [client]
expect:
  - { flow: bulk, byte_exact: true }
  - { flow: bulk, connects_within: 1s }
";

#[test]
fn lossy_transfer_arrives_byte_exact_with_reports_and_a_udt_capture() {
    let out = OutDir::new("lossy");
    let o = run(LOSSY, &out, true);
    let f = &o.summary.flows[0];
    assert_eq!(f.bytes_received, 3 << 20);
    assert!(f.byte_exact, "{f:?}");
    let done = f.completion_time_s.expect("the transfer completes");
    assert!(done < 10.0, "completed after {done} s");
    // The handshake crosses the 20 ms link four times.
    let c = f.connect_time_s.expect("connected");
    assert!((0.04..1.0).contains(&c), "connected after {c} s");
    assert!(
        o.data.checks.iter().all(|c| c.passed),
        "{:?}",
        o.data.checks
    );
    // The link model decided losses in both directions' share of packets.
    let fwd = &o.sim.links[0].counters;
    assert!(fwd.dropped_loss > 0 && fwd.delivered > 2000, "{fwd:?}");
    assert!(f.retransmissions > 0);

    for file in [
        "metrics.json",
        "summary.json",
        "summary.md",
        "timeseries.csv",
        "queues.csv",
        "index.html",
        "client.pcap",
        "plots/goodput.png",
        "plots/rtt.svg",
    ] {
        let p = out.0.join(file);
        assert!(p.is_file(), "{} missing", p.display());
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.0.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["meta"]["backend"], "udp");
    let ts = std::fs::read_to_string(out.0.join("timeseries.csv")).unwrap();
    assert!(ts.lines().any(|l| l.contains(",bulk,rtt_ms,")));

    // The capture: UDT packets between the scenario's addresses, stamped with wall-clock time.
    let cap = conformance::capture::read_file(out.0.join("client.pcap")).unwrap();
    assert!(
        cap.datagrams.len() > 2000,
        "{} datagrams",
        cap.datagrams.len()
    );
    let client: std::net::SocketAddr = "10.0.0.1:40000".parse().unwrap();
    let server: std::net::SocketAddr = "10.0.1.1:9000".parse().unwrap();
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let (mut data, mut control) = (0, 0);
    for d in &cap.datagrams {
        assert!(
            (d.src, d.dst) == (client, server) || (d.src, d.dst) == (server, client),
            "{} -> {}",
            d.src,
            d.dst
        );
        assert!(d.time_ns < now_ns && now_ns - d.time_ns < 120_000_000_000);
        match udt::packet::Packet::parse(&d.payload) {
            Ok(udt::packet::Packet::Data(_)) => data += 1,
            Ok(_) => control += 1,
            Err(e) => panic!("frame {}: not UDT: {e}", d.frame),
        }
    }
    assert!(
        data > 2000 && control > 10,
        "{data} data, {control} control"
    );
    let times: Vec<u64> = cap.datagrams.iter().map(|d| d.time_ns).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "time goes forward");
}

const CAPPED: &str = "
name: udp_capped
duration: 3s
hosts:
  client: { address: 10.0.0.1 }
  server: { address: 10.0.1.1 }
links:
  - name: path
    between: [client, server]
    rate: 20Mbps
    delay: 5ms
    queue: 100 packets
flows:
  - { name: bulk, from: client, to: \"server:9000\", send_for: 2500ms }
";

#[test]
fn the_link_rate_caps_throughput() {
    let out = OutDir::new("capped");
    let o = run(CAPPED, &out, false);
    let f = &o.summary.flows[0];
    // Loopback alone carries hundreds of Mbit/s; the relay's 20 Mbit/s link holds the flow
    // below its rate (UDT's native control gets about half of it here, as in the simulator).
    assert!(
        (2.0..=20.5).contains(&f.goodput_mbps.mean.unwrap_or(0.0)),
        "goodput {} Mbit/s",
        f.goodput_mbps.mean.unwrap_or(0.0)
    );
    let fwd = &o.sim.links[0].counters;
    let carried_mbps = fwd.delivered_bytes as f64 * 8.0 / 1e6 / o.sim.simulated_s;
    assert!(
        carried_mbps <= 20.5,
        "the link carried {carried_mbps} Mbit/s"
    );
    assert!(fwd.max_queue_packets > 1, "{fwd:?}");
    assert!(f.byte_exact || f.completion_time_s.is_none(), "{f:?}");
    // The queue of the rate-limited link is sampled like the simulator's.
    let queues = std::fs::read_to_string(out.0.join("queues.csv")).unwrap();
    assert!(queues.lines().any(|l| l.contains(",path>,packets,")));
}

#[test]
fn rendezvous_through_a_router_completes() {
    let out = OutDir::new("rendezvous");
    let yaml = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/rendezvous.yaml"),
    )
    .unwrap();
    let o = run(&yaml, &out, false);
    let f = &o.summary.flows[0];
    assert!(f.byte_exact, "{f:?}");
    // The scenario's timing bounds are the simulator's (tens of ms of margin); real sockets
    // on a busy machine are judged on completing, within the run.
    assert!(f.completion_time_s.is_some(), "{f:?}");
    // Two 10 ms links each way: the path's delay is the sum along the route.
    let rtt = o.data.flows[0].totals.final_rtt_ms;
    assert!(rtt >= 39.0, "rtt {rtt} ms");
}

#[test]
fn a_nat_scenario_is_refused_with_a_clear_message() {
    let scenario =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/rendezvous_nat.yaml");
    let out = OutDir::new("nat");
    let o = Command::new(env!("CARGO_BIN_EXE_netsim"))
        .args(["run", "--backend", "udp", "--out"])
        .arg(&out.0)
        .arg(&scenario)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("udp backend does not support NAT boxes"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(!out.0.join("summary.json").exists());
}

#[test]
fn determinism_checks_are_refused_on_real_sockets() {
    let scenario =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/link_flap.yaml");
    let o = Command::new(env!("CARGO_BIN_EXE_netsim"))
        .args(["run", "--backend", "udp", "--check-determinism"])
        .arg(&scenario)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--check-determinism"));
}
