//! Running the shipped scenarios with the simulator library to get its captures.

use std::path::{Path, PathBuf};

use netsim::run::{run, RunOptions};
use netsim::scenario::{CaptureSpec, Scenario};

/// `scenarios/` at the workspace root.
pub fn scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

/// Every scenario file, sorted by name.
pub fn scenario_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(scenarios_dir())
        .expect("scenarios/")
        .filter_map(|e| {
            let p = e.ok()?.path();
            if p.extension()? != "yaml" {
                return None;
            }
            Some(p.file_stem()?.to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    names
}

/// The host of a flow's client (or first rendezvous peer).
fn first_host(s: &Scenario) -> Option<String> {
    let f = s.flows.first()?;
    let spec = f
        .from
        .clone()
        .or_else(|| f.rendezvous.as_ref().map(|r| r[0].clone()))?;
    Some(spec.split(':').next()?.to_string())
}

/// Runs scenario `name` for at most `max_ns` of simulated time into `out` and returns
/// the captures written. A scenario without capture points gets one at its first
/// flow's client, limited to `max_packets`; with `max_packets`, every capture point
/// is limited to that many packets.
pub fn run_scenario(name: &str, max_ns: u64, max_packets: Option<u64>, out: &Path) -> Vec<PathBuf> {
    let path = scenarios_dir().join(format!("{name}.yaml"));
    let mut s = Scenario::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    if s.capture.is_empty() {
        let host = first_host(&s).expect("a flow");
        s.capture.push(CaptureSpec::Limited {
            at: host,
            until: None,
            max_packets: Some(max_packets.unwrap_or(3000)),
        });
    } else if let Some(n) = max_packets {
        for c in &mut s.capture {
            *c = match c {
                CaptureSpec::Point(at) => CaptureSpec::Limited {
                    at: at.clone(),
                    until: None,
                    max_packets: Some(n),
                },
                CaptureSpec::Limited { at, until, .. } => CaptureSpec::Limited {
                    at: at.clone(),
                    until: *until,
                    max_packets: Some(n),
                },
            };
        }
    }
    let opts = RunOptions {
        seed: None,
        out: Some(out.to_path_buf()),
        duration: Some(s.duration.0.min(max_ns)),
        quiet: true,
        // Only the captures matter here.
        no_plots: true,
        command_line: None,
    };
    run(&s, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut pcaps: Vec<PathBuf> = std::fs::read_dir(out)
        .expect("output folder")
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "pcap").then_some(p)
        })
        .collect();
    pcaps.sort();
    assert!(!pcaps.is_empty(), "{name}: no capture written");
    pcaps
}
