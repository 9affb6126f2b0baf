//! The shipped scenarios too heavy for a debug build: `fairness` (four flows on 1 Gbit/s for
//! 210 s, ~25 s of CPU in release) and `dumbbell_100` (100 flows on 10 Gbit/s for 60 s,
//! ~1 minute). This test binary exists only in optimised builds:
//! `cargo test --release -p netsim --test heavy_scenarios` (CI runs it); every other shipped
//! scenario is checked by `scenarios.rs` in every build.
#![cfg(not(debug_assertions))]

use netsim::run::{run_file, RunOptions};
use std::path::Path;

fn expectations_hold(name: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(format!("{name}.yaml"));
    let out = std::env::temp_dir().join(format!("netsim-heavy-{}-{name}", std::process::id()));
    let o = RunOptions {
        out: Some(out.clone()),
        quiet: true,
        no_plots: true,
        ..Default::default()
    };
    let r = run_file(&path, &o).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(!r.data.checks.is_empty(), "{name}: no expectations");
    for c in &r.data.checks {
        assert!(c.passed, "{name}: {} (observed {})", c.what, c.observed);
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn fairness() {
    expectations_hold("fairness");
}

#[test]
fn dumbbell_100() {
    expectations_hold("dumbbell_100");
}
