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
        ..opts(&["sim", "reference"], &out)
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
    assert_eq!(got.differences.len(), 1);
    let md = std::fs::read_to_string(got.dir.join("summary.md")).unwrap();
    assert!(md.contains("| run |"), "{md}");
    let _ = std::fs::remove_dir_all(&out);
}
