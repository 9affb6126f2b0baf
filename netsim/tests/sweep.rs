//! Comparisons and sweeps end to end: parallel runs write the same bytes as sequential ones,
//! shards merge into the unsharded output.

use netsim::output::digests;
use netsim::run::RunOptions;
use netsim::scenario::Scenario;
use netsim::sweep::{merge, run_grid, GridOptions};
use std::path::{Path, PathBuf};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("netsim-sweep-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

const GRID: &str = r#"
name: tiny_sweep
duration: 1s
hosts:
  a: { address: 10.0.0.1 }
  b: { address: 10.0.0.2 }
links:
  - { name: wan, between: [a, b], rate: 5Mbps, delay: 10ms, queue: 50 packets }
flows:
  - { name: bulk, from: a, to: "b:9000", send_for: 1s }
sweep: { link: wan, loss: [0.1%, 2%], rtt: [20ms, 60ms], cc: [udt, newreno], seeds: [1] }
"#;

fn grid(out: &Path, jobs: usize, shard: Option<(usize, usize)>, plots: bool) {
    let s = Scenario::parse("tiny.yaml", GRID).unwrap();
    let o = run_grid(
        &s,
        &GridOptions {
            base: RunOptions {
                out: Some(out.to_path_buf()),
                quiet: true,
                no_plots: !plots,
                command_line: Some("netsim run tiny.yaml".into()),
                ..Default::default()
            },
            jobs,
            shard,
            progress: false,
        },
    )
    .unwrap();
    assert!(o.runs.iter().all(|r| r.1.is_ok()));
}

#[test]
fn parallel_sequential_and_merged_shards_write_identical_bytes() {
    let (seq, par) = (tmp("seq"), tmp("par"));
    grid(&seq, 1, None, true);
    grid(&par, 3, None, true);
    let a = digests(&seq).unwrap();
    assert_eq!(a, digests(&par).unwrap());
    // 8 runs, each a folder with its report, plus the grid's report and plots.
    let runs = a.iter().filter(|f| f.0.ends_with("/summary.json")).count();
    assert_eq!(runs, 8);
    for f in [
        "grid.json",
        "summary.md",
        "summary.json",
        "runs.csv",
        "index.html",
        "goodput_vs_loss.png",
        "throughput_delay.svg",
        "goodput.png",
    ] {
        assert!(a.iter().any(|x| x.0 == f), "{f} missing");
    }
    let csv = std::fs::read_to_string(seq.join("runs.csv")).unwrap();
    assert!(
        csv.starts_with("run,cc,rtt,loss,seed,flow,flow_cc,goodput_mbps"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 9);

    // Shards and merges without plots (they are slow to draw in debug builds).
    let (flat, s1, s2, merged) = (tmp("flat"), tmp("s1"), tmp("s2"), tmp("merged"));
    grid(&flat, 2, None, false);
    let a = digests(&flat).unwrap();
    grid(&s1, 2, Some((1, 3)), false);
    grid(&s2, 1, Some((2, 3)), false);
    // A missing shard is an error unless partial.
    assert!(merge(&[s1.clone(), s2.clone()], &merged, false, false)
        .unwrap_err()
        .to_string()
        .contains("missing run indices 2, 5"));
    let s3 = tmp("s3");
    grid(&s3, 1, Some((3, 3)), false);
    // Overlapping folders are an error.
    assert!(merge(&[s1.clone(), s1.clone()], &tmp("dup"), false, true)
        .unwrap_err()
        .to_string()
        .contains("in both"));
    let _ = std::fs::remove_dir_all(&merged);
    let m = merge(&[s3.clone(), s1.clone(), s2.clone()], &merged, false, false).unwrap();
    assert_eq!(m.runs.len(), 8);
    assert_eq!(
        a,
        digests(&merged).unwrap(),
        "merged shards = one unsharded run"
    );
    for d in [seq, par, flat, s1, s2, s3, merged] {
        let _ = std::fs::remove_dir_all(d);
    }
}
