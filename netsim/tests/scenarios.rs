//! End-to-end runs of the simulator driving the real `udt` core.

use netsim::output::digests;
use netsim::run::{run, run_file, RunOptions};
use netsim::scenario::grid::is_grid;
use netsim::scenario::Scenario;
use netsim::sweep::{run_grid, GridOptions};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("netsim-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn opts(out: &Path) -> RunOptions {
    RunOptions {
        out: Some(out.to_path_buf()),
        quiet: true,
        ..Default::default()
    }
}

/// Runs a shipped scenario (or every run of its grid) and asserts that each of its
/// expectations holds.
fn expectations_hold(name: &str) {
    let path = root().join(format!("scenarios/{name}.yaml"));
    let out = tmp(name);
    let o = RunOptions {
        no_plots: true,
        ..opts(&out)
    };
    let s = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut checks = vec![];
    if is_grid(&s) {
        let g = run_grid(
            &s,
            &GridOptions {
                base: o,
                jobs: 1,
                shard: None,
                progress: false,
            },
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        for (label, r) in g.runs {
            let r = r.unwrap_or_else(|e| panic!("{name} {label}: {e}"));
            checks.extend(r.data.checks.into_iter().map(|c| (label.clone(), c)));
        }
        checks.extend(g.checks);
    } else {
        let r = run_file(&path, &o).unwrap_or_else(|e| panic!("{name}: {e}"));
        checks.extend(r.data.checks.into_iter().map(|c| (String::new(), c)));
    }
    assert!(!checks.is_empty(), "{name}: no expectations");
    for (label, c) in &checks {
        assert!(
            c.passed,
            "{name} {label}: {} (observed {})",
            c.what, c.observed
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// One test per shipped scenario, so that they run in parallel and a failure names it.
/// `fairness` and `dumbbell_100` (1 and 10 Gbit/s for minutes of simulated time) are
/// checked by the release-only `heavy_scenarios` test.
macro_rules! shipped {
    ($($name:ident),* $(,)?) => {
        const SHIPPED: &[&str] = &[$(stringify!($name)),*];
        mod shipped {
            $(#[test]
            fn $name() {
                super::expectations_hold(stringify!($name));
            })*
        }
    };
}

shipped!(
    bursty_loss,
    cc_compare,
    cc_sweep,
    cs_handshake,
    fidelity_ci,
    fidelity_grid,
    link_flap,
    long_fat_pipe,
    lossy_wan,
    message_ttl,
    rendezvous,
    rendezvous_nat,
    rtt_fairness,
    tcp_friendliness,
);

/// The scenarios `heavy_scenarios.rs` checks in release builds.
const HEAVY: &[&str] = &["dumbbell_100", "fairness"];

#[test]
fn every_shipped_scenario_is_checked_once() {
    let mut files: Vec<String> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut listed: Vec<String> = SHIPPED.iter().chain(HEAVY).map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(files, listed);
    let heavy = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/heavy_scenarios.rs"),
    )
    .unwrap();
    for h in HEAVY {
        assert!(
            heavy.contains(&format!("fn {h}()")),
            "{h} in heavy_scenarios.rs"
        );
    }
}

#[test]
fn every_shipped_scenario_loads() {
    for e in std::fs::read_dir(root().join("scenarios")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "yaml") {
            Scenario::load(&p).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

#[test]
fn same_seed_gives_identical_bytes_other_seed_differs() {
    let path = root().join("scenarios/cs_handshake.yaml");
    let (a, b, c) = (tmp("det-a"), tmp("det-b"), tmp("det-c"));
    run_file(&path, &opts(&a)).unwrap();
    run_file(&path, &opts(&b)).unwrap();
    run_file(
        &path,
        &RunOptions {
            seed: Some(2),
            ..opts(&c)
        },
    )
    .unwrap();
    let (da, db, dc) = (
        digests(&a).unwrap(),
        digests(&b).unwrap(),
        digests(&c).unwrap(),
    );
    assert!(da.iter().any(|(n, _)| n == "client.pcap"));
    assert_eq!(da, db);
    let pcap = |d: &Vec<(String, String)>| {
        d.iter()
            .find(|(n, _)| n == "client.pcap")
            .unwrap()
            .1
            .clone()
    };
    assert_ne!(
        pcap(&da),
        pcap(&dc),
        "another seed gives other ISNs and socket ids"
    );
    for d in [a, b, c] {
        let _ = std::fs::remove_dir_all(d);
    }
}

const PAIR: &str = "\
name: independence
duration: 3s
hosts:
  a: { address: 10.0.0.1 }
  b: { address: 10.0.0.2 }
links:
  - { name: ab, between: [a, b], rate: 20Mbps, delay: 10ms, loss: { bernoulli: 2% } }
flows:
  - { name: f, from: a, to: \"b:9000\", send_for: 3s }
capture: [a]
";

const EXTRA: &str = "
  c: { address: 10.0.0.3 }
  d: { address: 10.0.0.4 }
";

#[test]
fn adding_a_link_and_flow_does_not_change_another_links_losses() {
    let one = Scenario::parse("one.yaml", PAIR).unwrap();
    let two_text = PAIR
        .replace("  b: { address: 10.0.0.2 }\n", &format!("  b: {{ address: 10.0.0.2 }}{EXTRA}"))
        .replace(
            "flows:\n",
            "  - { name: cd, between: [c, d], rate: 20Mbps, delay: 10ms, loss: { bernoulli: 2% } }\nflows:\n",
        )
        .replace("capture:", "  - { name: g, from: c, to: \"d:9000\", send_for: 3s }\ncapture:");
    let two = Scenario::parse("two.yaml", &two_text).unwrap();
    let (x, y) = (tmp("ind-1"), tmp("ind-2"));
    let o1 = run(&one, &opts(&x)).unwrap();
    let o2 = run(&two, &opts(&y)).unwrap();
    let ab = |o: &netsim::run::RunOutcome| {
        o.sim
            .links
            .iter()
            .find(|l| l.link == "ab>")
            .unwrap()
            .counters
    };
    assert!(ab(&o1).dropped_loss > 0);
    assert_eq!(ab(&o1), ab(&o2));
    let pcap = |d: &Path| std::fs::read(d.join("a.pcap")).unwrap();
    assert_eq!(pcap(&x), pcap(&y));
    for d in [x, y] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn the_documented_example_parses_and_runs() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("SCENARIOS.md"))
        .unwrap();
    let start = doc.find("```yaml\n").unwrap() + 8;
    let end = start + doc[start..].find("```").unwrap();
    let s = Scenario::parse("SCENARIOS.md", &doc[start..end]).unwrap_or_else(|e| panic!("{e}"));
    let out = tmp("doc");
    run(
        &s,
        &RunOptions {
            duration: Some(3_000_000_000),
            ..opts(&out)
        },
    )
    .unwrap();
    let _ = std::fs::remove_dir_all(out);
}

/// summary.json with the machine-dependent metadata (command line, version) pinned.
fn pinned_summary(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let digest = v["meta"]["scenario_digest"].as_str().unwrap().to_string();
    assert_eq!(digest.len(), 32, "an MD5 in hex: {digest}");
    v["meta"]["scenario_digest"] = "[md5]".into();
    v["meta"]["project_version"] = "[version]".into();
    serde_json::to_string_pretty(&v).unwrap()
}

#[test]
fn summary_json_of_deterministic_scenarios() {
    let out = tmp("snap-cs");
    run_file(
        &root().join("scenarios/cs_handshake.yaml"),
        &RunOptions {
            no_plots: true,
            command_line: Some("netsim run scenarios/cs_handshake.yaml".into()),
            ..opts(&out)
        },
    )
    .unwrap();
    insta::assert_snapshot!("cs_handshake_summary_json", pinned_summary(&out));

    let out2 = tmp("snap-pair");
    run(
        &Scenario::parse("pair.yaml", PAIR).unwrap(),
        &RunOptions {
            no_plots: true,
            ..opts(&out2)
        },
    )
    .unwrap();
    insta::assert_snapshot!("lossy_pair_summary_json", pinned_summary(&out2));
    for d in [out, out2] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn a_run_writes_the_report() {
    let path = root().join("scenarios/cs_handshake.yaml");
    let out = tmp("report");
    let o = run_file(&path, &opts(&out)).unwrap();
    let names: Vec<String> = digests(&out).unwrap().into_iter().map(|d| d.0).collect();
    for want in [
        "summary.json",
        "summary.md",
        "metrics.json",
        "timeseries.csv",
        "queues.csv",
        "index.html",
        "plots/goodput.png",
        "plots/goodput.svg",
        "plots/sending.png",
        "plots/windows.svg",
        "plots/rtt.png",
        "plots/losses.png",
        "plots/queue_client-server-fwd.png",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }
    assert!(o.report_files.len() >= 17);
    let ts = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
    assert!(ts.starts_with("time_s,flow,metric,value\n"));
    assert!(ts.contains(",hello,goodput_mbps,"));
    let q = std::fs::read_to_string(out.join("queues.csv")).unwrap();
    assert!(q.starts_with("time_s,link,metric,value\n"));
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("plots/goodput.png") && html.contains("<td>hello</td>"));

    let bare = tmp("report-no-plots");
    run_file(
        &path,
        &RunOptions {
            no_plots: true,
            ..opts(&bare)
        },
    )
    .unwrap();
    assert!(!bare.join("plots").exists());
    assert!(bare.join("index.html").exists());
    for d in [out, bare] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// Jumbo frames: a flow with an MSS of 9000 bytes on a lossy link that carries them.
const JUMBO: &str = "\
name: jumbo
duration: 10s
hosts:
  a: { address: 10.0.0.1 }
  b: { address: 10.0.0.2 }
links:
  - { between: [a, b], rate: 100Mbps, delay: 10ms, mtu: 9000B, loss: { bernoulli: 1% } }
flows:
  - { name: f, from: a, to: \"b:9000\", transfer: 2MiB, options: { mss: 9000 } }
";

#[test]
fn an_mss_above_2048_bytes_moves_data_in_full_size_packets() {
    let out = tmp("jumbo");
    let s = Scenario::parse("jumbo.yaml", JUMBO).unwrap();
    let o = run(
        &s,
        &RunOptions {
            no_plots: true,
            ..opts(&out)
        },
    )
    .unwrap();
    let t = &o.data.flows[0].totals;
    assert!(t.byte_exact && t.completion_time_s.is_some(), "{t:?}");
    assert!(
        t.retransmissions > 0,
        "the loss exercises retransmission: {t:?}"
    );
    // A 9000-byte datagram carries up to 8956 bytes of data (less at the end of a write).
    let per_packet = t.bytes_sent / (t.packets_sent - t.retransmissions);
    assert!(per_packet > 8000, "{per_packet} bytes per packet: {t:?}");
    let _ = std::fs::remove_dir_all(out);
}
