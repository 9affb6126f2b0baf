//! `netsim fidelity` end to end: the simulator and the reference library (through the relay)
//! on one short point, and the refusals. The 10% agreement itself is checked by CI's fidelity
//! step on a quiet machine (see `.ci/run`), not here: tests run in parallel, and a loaded
//! machine changes how real programs time their packets.

#[path = "../../udt/tests/peer/compile.rs"]
mod peer_compile;

use netsim::fidelity::{fidelity, FidelityOptions};
use netsim::scenario::Scenario;
use std::path::Path;

fn scenario(loss: &str) -> Scenario {
    let yaml = format!(
        "name: fid\nduration: 3s\nhosts:\n  client: {{ address: 10.0.0.1 }}\n  server: {{ address: 10.0.1.1 }}\nlinks:\n  - {{ name: path, between: [client, server], rate: 10Mbps, delay: 10ms, queue: 100 packets, loss: {{ bernoulli: {loss} }} }}\nflows:\n  - {{ name: bulk, from: client, to: \"server:9000\", send_for: 3s }}\n"
    );
    Scenario::parse("fid.yaml", &yaml).unwrap_or_else(|e| panic!("{e}"))
}

fn opts(ways: &[&str], out: &Path) -> FidelityOptions {
    FidelityOptions {
        ways: ways.iter().map(|w| w.to_string()).collect(),
        out: Some(out.to_path_buf()),
        no_plots: true,
        quiet: true,
        ..Default::default()
    }
}

#[test]
fn unknown_ways_and_a_missing_reference_are_refused() {
    let out = std::env::temp_dir().join(format!("fid-refuse-{}", std::process::id()));
    let e = fidelity(&scenario("0%"), &opts(&["sim", "bogus", "reference"], &out))
        .err()
        .unwrap();
    assert!(e.contains("unknown way `bogus`"), "{e}");
    let e = fidelity(&scenario("0%"), &opts(&["sim"], &out))
        .err()
        .unwrap();
    assert!(e.contains("`reference` must be among the ways"), "{e}");
    let mut two = scenario("0%");
    two.flows.push(two.flows[0].clone());
    let e = fidelity(&two, &opts(&["sim", "reference"], &out))
        .err()
        .unwrap();
    assert!(e.contains("exactly one flow"), "{e}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn the_reference_runs_through_the_relay_beside_the_simulator() {
    let out = std::env::temp_dir().join(format!("fid-run-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&out);
    let peer = match peer_compile::build_peer(&out) {
        Ok(p) => p,
        Err(why) => {
            peer_compile::cannot_build(&why);
            return;
        }
    };
    let o = FidelityOptions {
        peer: Some(peer),
        ..opts(&["sim", "reference", "reference-to-project"], &out)
    };
    let got = fidelity(&scenario("0%"), &o).unwrap();
    let cell = &got.cells[0];
    for t in &cell.traces {
        assert!(t.error.is_none(), "{}: {:?}", t.way, t.error);
        // A clean 10 Mbit/s path for 3 s: data flowed, and no more than the link carries.
        // (How closely the two agree is CI's fidelity step, run alone on the machine.)
        let g = t.goodput_mbps.unwrap();
        assert!(g > 1.0 && g < 10.5, "{}: {g} Mbit/s", t.way);
        assert!(
            t.series
                .iter()
                .any(|(m, p)| m == "goodput_mbps" && p.len() >= 20),
            "{}: no goodput series",
            t.way
        );
    }
    // The reference way really ran the reference library's peer (its statistics say so).
    let stats = std::fs::read_to_string(got.dir.join("runs/run/reference/recv_stats.csv")).unwrap();
    assert!(
        stats.lines().nth(1).unwrap().contains(",udt4_peer,"),
        "{stats:.200}"
    );
    // A mixed way: the reference library sent, the project's udt-recv received.
    let mixed = got.dir.join("runs/run/reference-to-project");
    for (file, program) in [
        ("send_stats.csv", "udt4_peer"),
        ("recv_stats.csv", "udt-recv"),
    ] {
        let stats = std::fs::read_to_string(mixed.join(file)).unwrap();
        assert!(
            stats
                .lines()
                .nth(1)
                .unwrap()
                .contains(&format!(",{program},")),
            "{file}: {stats:.200}"
        );
    }
    // With two CPUs or more, the relay ran on its own (netsim::udp::cpus).
    let relay: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(got.dir.join("runs/run/reference/relay/summary.json")).unwrap(),
    )
    .unwrap();
    let placed = netsim::udp::cpus::Placement::split().map(|c| vec![c.relay]);
    assert_eq!(
        relay["details"]["relay"]["cpus"],
        serde_json::json!(placed),
        "the relay's CPUs"
    );
    assert_eq!(got.differences.len(), 2);
    let md = std::fs::read_to_string(got.dir.join("summary.md")).unwrap();
    assert!(md.contains("| run |"), "{md}");
    let _ = std::fs::remove_dir_all(&out);
}

/// The outcome of a lossless point, and its reference way.
fn judge(o: &FidelityOptions) -> (netsim::fidelity::FidelityOutcome, reports::fidelity::Trace) {
    let got = fidelity(&scenario("0%"), o).unwrap_or_else(|e| panic!("{e}"));
    let reference = got.cells[0].traces.iter().find(|t| t.way == "reference");
    let reference = reference.expect("a reference way").clone();
    (got, reference)
}

#[test]
fn recorded_real_runs_are_read_instead_of_run_again() {
    let out = std::env::temp_dir().join(format!("fid-recorded-{}", std::process::id()));
    let rec = out.join("recorded");
    // A recorded reference run at twice the simulator's goodput: 3 s at 20 Mbit/s.
    let ways = rec.join("runs/run/reference");
    std::fs::create_dir_all(&ways).unwrap();
    let mut recv = String::from("time_s,flow,metric,value\n");
    let mut send = recv.clone();
    for i in 1..=30 {
        let t = f64::from(i) / 10.0;
        recv += &format!("{t},udt4_peer,goodput_mbps,20\n");
        send += &format!("{t},udt4_peer,send_period_us,600\n");
    }
    std::fs::write(ways.join("recv_stats.csv"), recv).unwrap();
    std::fs::write(ways.join("send_stats.csv"), send).unwrap();
    let mut o = opts(&["sim", "reference"], &out.join("report"));
    o.recorded = Some(rec.clone());
    let (got, reference) = judge(&o);
    assert_eq!(reference.goodput_mbps, Some(20.0));
    let d = &got.differences[0];
    assert!(!d.within, "{d:?}");
    let ratio = d.ratio.unwrap();
    assert!(
        (0.3..0.6).contains(&ratio),
        "sim / recorded reference = {ratio}"
    );

    // A point the recording lacks is a failed way, not a silent pass.
    std::fs::remove_dir_all(&ways).unwrap();
    let (got, reference) = judge(&o);
    let e = reference.error.as_deref().unwrap_or("");
    assert!(e.starts_with("recorded: the sender's statistics"), "{e}");
    assert!(!got.passed());
    let _ = std::fs::remove_dir_all(&out);
}
