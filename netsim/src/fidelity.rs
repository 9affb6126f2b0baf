//! `netsim fidelity`: runs a scenario's flow several ways and says whether they agree.
//!
//! The ways (`--ways`, all by default):
//!
//! - `sim`: the simulator standing for the reference library: the flow in the
//!   [`reference`](udt::Profile::Reference) profile on hosts with the `udt4` timing preset;
//! - `sim-project`: the simulator standing for the project's tools over real UDP: the
//!   reference profile on hosts with the `tokio` timing preset;
//! - `project`: `udt-send` → `udt-recv` (reference profile) over `netsim relay`;
//! - `reference`: the reference library (Debian's libudt, through the project's peer program
//!   `udt/tests/peer/udt4_peer.cpp`) over `netsim relay`;
//! - `sim-improved` and `project-improved`: the same as `sim-project` and `project` in the
//!   project's improved profile, reported beside them;
//! - `reference-to-project` and `project-to-reference`: one program of each, the first
//!   named sending (the project in the reference profile), to tell whether a difference
//!   between `project` and `reference` lies with the sender or the receiver.
//!
//! Each point of the scenario's grid (its `sweep:`, or the scenario itself) runs every way
//! for the measurement window; the goodput of each way is compared with `reference`'s (a
//! grid with several seeds compares each way's median over the seeds of a point, see
//! [`reports::fidelity::judged`]), and the command fails when a ratio is further from 1
//! than the tolerance. Real runs take
//! real time: a grid of 24 points and 3 seeds with a 20 s window runs about 50 minutes.
//!
//! `--recorded DIR` reads the real ways from an earlier report folder instead of running
//! them, so a changed simulator is judged against the same real runs in seconds.
//!
//! The scenario must have exactly one flow, from one host to another, with a bulk
//! workload: the real programs send for the whole window.

// The one g++ step for the reference peer, shared with the tests of every crate.
#[path = "../../udt/tests/peer/compile.rs"]
#[allow(dead_code)] // its test helper is not used here
mod peer_compile;

use crate::run::{run, RunOptions};
use crate::scenario::timing::TimingSpec;
use crate::scenario::{ProfileSpec, Scenario};
use crate::udp::cpus::{self, Placement};
use reports::fidelity::{Cell, Trace};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The ways a point can run, by name (see the module documentation).
pub const WAYS: [&str; 8] = [
    "sim",
    "sim-project",
    "project",
    "reference",
    "sim-improved",
    "project-improved",
    "reference-to-project",
    "project-to-reference",
];

/// The ways run when `--ways` is not given.
pub const DEFAULT_WAYS: [&str; 4] = ["sim", "sim-project", "project", "reference"];

/// How to run the comparison.
#[derive(Clone, Debug)]
pub struct FidelityOptions {
    /// Largest accepted |goodput ratio − 1| against the reference (0.1 = 10%).
    pub tolerance: f64,
    /// The ways to run.
    pub ways: Vec<String>,
    /// The measurement window, ns (default: the scenario's duration).
    pub window: Option<u64>,
    /// Only this seed (replaces the grid's `seeds`).
    pub seed: Option<u64>,
    /// Output folder (default `out/<scenario>-fidelity`).
    pub out: Option<PathBuf>,
    /// Where `udt-send` and `udt-recv` are (default: beside this program).
    pub tools: Option<PathBuf>,
    /// The reference peer program (default: built from `udt/tests/peer/udt4_peer.cpp`).
    pub peer: Option<PathBuf>,
    /// An earlier report folder whose real ways' statistics files are read instead of
    /// running the programs again (`runs/<point>/<way>/{send,recv}_stats.csv`).
    pub recorded: Option<PathBuf>,
    /// Skip the plots.
    pub no_plots: bool,
    /// No progress lines.
    pub quiet: bool,
}

impl Default for FidelityOptions {
    fn default() -> Self {
        FidelityOptions {
            tolerance: 0.10,
            ways: DEFAULT_WAYS.iter().map(|w| w.to_string()).collect(),
            window: None,
            seed: None,
            out: None,
            tools: None,
            peer: None,
            recorded: None,
            no_plots: false,
            quiet: false,
        }
    }
}

/// What a comparison found.
pub struct FidelityOutcome {
    /// Every grid point and its traces.
    pub cells: Vec<Cell>,
    /// Every comparison with the reference.
    pub differences: Vec<reports::fidelity::Difference>,
    /// Where the report went.
    pub dir: PathBuf,
}

impl FidelityOutcome {
    /// True when every way is within the tolerance in every point.
    pub fn passed(&self) -> bool {
        self.differences.iter().all(|d| d.within)
    }
}

/// Runs `s` every way in `opts` and writes the report.
pub fn fidelity(s: &Scenario, opts: &FidelityOptions) -> Result<FidelityOutcome, String> {
    for w in &opts.ways {
        if !WAYS.contains(&w.as_str()) {
            return Err(format!(
                "--ways: unknown way `{w}`; expected some of {}",
                WAYS.join(", ")
            ));
        }
    }
    if !opts.ways.iter().any(|w| w == "reference") {
        return Err(
            "--ways: `reference` must be among the ways: it is what the others are compared with"
                .into(),
        );
    }
    if !(opts.tolerance.is_finite() && opts.tolerance >= 0.0) {
        return Err(format!(
            "--tolerance: {} is not a non-negative fraction",
            opts.tolerance
        ));
    }
    let window = opts.window.unwrap_or(s.duration.0);
    let dir = opts
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("out/{}-fidelity", s.name)));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let needs_real = opts.recorded.is_none() && opts.ways.iter().any(|w| !w.starts_with("sim"));
    let programs = if needs_real {
        Some(Programs::find(opts, &dir)?)
    } else {
        None
    };
    if let (Some(p), false) = (&programs, opts.quiet) {
        match &p.placement {
            Some(c) => eprintln!(
                "fidelity: the sending program runs on CPU {}, the receiving one on CPU {}, the relay on CPU {}",
                c.sender, c.receiver, c.relay
            ),
            None => eprintln!(
                "fidelity: one CPU: the relay and both programs share it (see netsim/SCENARIOS.md)"
            ),
        }
    }
    let mut cells = vec![];
    for point in crate::scenario::grid::expand(s, opts.seed) {
        let sc = point.scenario;
        single_flow(&sc)?;
        let mut cell = Cell {
            label: point.label.clone(),
            point: point.point.clone(),
            traces: vec![],
        };
        for way in &opts.ways {
            if !opts.quiet {
                eprintln!("fidelity: {} {way} …", point.label);
            }
            let wdir = dir.join("runs").join(&point.label).join(way);
            let trace = match way.as_str() {
                "sim" => simulate(&sc, "udt4", ProfileSpec::Reference, window, &wdir),
                "sim-project" => simulate(&sc, "tokio", ProfileSpec::Reference, window, &wdir),
                "sim-improved" => simulate(&sc, "tokio", ProfileSpec::Improved, window, &wdir),
                real if opts.recorded.is_some() => {
                    let rec = opts.recorded.as_deref().expect("checked");
                    let at = rec.join("runs").join(&point.label).join(real);
                    read_real(&at, window).map_err(|e| format!("recorded: {e}"))
                }
                real => {
                    let p = programs.as_ref().expect("found above");
                    let project = Program::Project(ProfileSpec::Reference);
                    // (sender, receiver)
                    let pair = match real {
                        "reference" => (Program::Reference, Program::Reference),
                        "project" => (project, project),
                        "reference-to-project" => (Program::Reference, project),
                        "project-to-reference" => (project, Program::Reference),
                        _ => {
                            let improved = Program::Project(ProfileSpec::Improved);
                            (improved, improved)
                        }
                    };
                    over_relay(&sc, p, pair, window, &wdir)
                }
            };
            let mut trace = trace.unwrap_or_else(|e| Trace {
                error: Some(e),
                ..Default::default()
            });
            trace.way = way.clone();
            if !opts.quiet {
                match (&trace.goodput_mbps, &trace.error) {
                    (Some(g), _) => eprintln!("fidelity: {} {way}: {g:.2} Mbit/s", point.label),
                    (None, Some(e)) => eprintln!("fidelity: {} {way}: failed: {e}", point.label),
                    _ => {}
                }
            }
            cell.traces.push(trace);
        }
        cells.push(cell);
    }
    reports::fidelity::write(&dir, &cells, "reference", opts.tolerance, !opts.no_plots)
        .map_err(|e| e.to_string())?;
    let points = reports::fidelity::judged(&cells);
    let differences = reports::fidelity::differences(&points, "reference", opts.tolerance);
    Ok(FidelityOutcome {
        cells,
        differences,
        dir,
    })
}

fn single_flow(s: &Scenario) -> Result<(), String> {
    match s.flows.as_slice() {
        [f] if f.from.is_some() && f.to.is_some() && f.rendezvous.is_none() => Ok(()),
        _ => Err(format!(
            "scenario `{}`: fidelity runs need exactly one flow with `from` and `to` (the real programs play one client and one server)",
            s.name
        )),
    }
}

/// The scenario with every host on `timing` and the flow in `profile`, sending for the
/// whole window.
fn variant(s: &Scenario, timing: &str, profile: ProfileSpec, window: u64) -> Scenario {
    let mut v = s.clone();
    for h in v.hosts.values_mut() {
        h.timing = Some(TimingSpec::Preset(timing.into()));
    }
    for f in &mut v.flows {
        f.options.profile = Some(profile);
    }
    v.duration = crate::scenario::units::Dur(window);
    v.stop_when_done = false;
    v.expect.clear();
    v.capture.clear();
    v
}

/// Mean of a series' values at or before `window_s`.
fn mean_until(pts: &[(f64, f64)], window_s: f64) -> Option<f64> {
    let v: Vec<f64> = pts
        .iter()
        .filter(|(t, _)| *t <= window_s + 1e-9)
        .map(|(_, v)| *v)
        .collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Time series by metric name, as a [`Trace`] holds them.
type Series = Vec<(String, Vec<(f64, f64)>)>;

fn read_series(path: &Path, metrics: &[&str]) -> Result<Series, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(metrics
        .iter()
        .filter_map(|m| {
            let mut per_flow = reports::csv::read_metric(&text, m);
            (!per_flow.is_empty()).then(|| (m.to_string(), per_flow.swap_remove(0).1))
        })
        .collect())
}

fn simulate(
    s: &Scenario,
    timing: &str,
    profile: ProfileSpec,
    window: u64,
    dir: &Path,
) -> Result<Trace, String> {
    let v = variant(s, timing, profile, window);
    run(
        &v,
        &RunOptions {
            out: Some(dir.to_path_buf()),
            quiet: true,
            no_plots: true,
            ..Default::default()
        },
    )
    .map_err(|e| e.to_string())?;
    let series = read_series(
        &dir.join("timeseries.csv"),
        &reports::fidelity::METRICS.map(|m| m.0),
    )?;
    let goodput = series
        .iter()
        .find(|(m, _)| m == "goodput_mbps")
        .and_then(|(_, p)| mean_until(p, window as f64 / 1e9));
    Ok(Trace {
        goodput_mbps: goodput,
        error: goodput.is_none().then(|| "no goodput samples".into()),
        series,
        ..Default::default()
    })
}

/// The real programs.
struct Programs {
    send: Result<PathBuf, String>,
    recv: Result<PathBuf, String>,
    peer: Result<PathBuf, String>,
    /// Where they and the relay run (`None`: one CPU, shared).
    placement: Option<Placement>,
}

#[derive(Clone, Copy)]
enum Program {
    Project(ProfileSpec),
    Reference,
}

impl Programs {
    fn find(opts: &FidelityOptions, out: &Path) -> Result<Programs, String> {
        let dirs: Vec<PathBuf> = match &opts.tools {
            Some(d) => vec![d.clone()],
            None => {
                let exe = std::env::current_exe().map_err(|e| e.to_string())?;
                // Beside this program, or one folder up (test binaries live in deps/).
                exe.ancestors()
                    .skip(1)
                    .take(2)
                    .map(Path::to_path_buf)
                    .collect()
            }
        };
        let tool = |name: &str| {
            dirs.iter()
                .map(|d| d.join(name))
                .find(|p| p.is_file())
                .ok_or_else(|| {
                    format!(
                        "`{name}` not found in {} (build it with `cargo build --release -p udt`, or give --tools DIR)",
                        dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
                    )
                })
        };
        let needs_ref = opts.ways.iter().any(|w| w == "reference");
        let peer = match (&opts.peer, needs_ref) {
            (Some(p), _) => Ok(p.clone()),
            (None, true) => peer_compile::build_peer(out),
            (None, false) => Err("not needed".into()),
        };
        Ok(Programs {
            send: tool("udt-send"),
            recv: tool("udt-recv"),
            peer,
            placement: Placement::split(),
        })
    }
}

/// Children killed when dropped.
#[derive(Default)]
struct Kids(Vec<Child>);

impl Drop for Kids {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Starts the receiving program and returns it with the port it listens on.
fn start_receiver(p: &Programs, kind: Program, stats: &Path) -> Result<(Child, u16), String> {
    let mut cmd = match kind {
        Program::Project(profile) => {
            let mut c = Command::new(p.recv.as_ref().map_err(Clone::clone)?);
            c.args(["--listen", "127.0.0.1:0", "--no-md5", "--stats"])
                .arg(stats)
                .args(["--profile", profile_name(profile), "/dev/null"]);
            c
        }
        Program::Reference => {
            let mut c = Command::new(p.peer.as_ref().map_err(Clone::clone)?);
            c.args(["listen", "0", "stream", "recv", "--discard", "--stats"])
                .arg(stats);
            c
        }
    };
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the receiver: {e}"))?;
    let stderr = child.stderr.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let port = line
                .strip_prefix("PORT ")
                .and_then(|p| p.trim().parse::<u16>().ok())
                .or_else(|| {
                    line.strip_prefix("listening on ")
                        .and_then(|a| a.trim().parse::<SocketAddr>().ok())
                        .map(|a| a.port())
                });
            if let (Some(port), false) = (port, sent) {
                let _ = tx.send(port);
                sent = true;
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(port) => Ok((child, port)),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            Err("the receiver did not say which port it listens on within 10 s".into())
        }
    }
}

fn profile_name(p: ProfileSpec) -> &'static str {
    match p {
        ProfileSpec::Improved => "improved",
        ProfileSpec::Reference => "reference",
    }
}

fn sender(p: &Programs, kind: Program, to: SocketAddr, stats: &Path) -> Result<Command, String> {
    // More than any window can carry: the sender is stopped when the window ends.
    const ENDLESS: &str = "1000000000000";
    Ok(match kind {
        Program::Project(profile) => {
            let mut c = Command::new(p.send.as_ref().map_err(Clone::clone)?);
            c.arg("--connect")
                .arg(to.to_string())
                .args(["--bytes", ENDLESS, "--no-md5", "-q", "--stats"])
                .arg(stats)
                .args(["--profile", profile_name(profile)]);
            c
        }
        Program::Reference => {
            let mut c = Command::new(p.peer.as_ref().map_err(Clone::clone)?);
            c.args(["connect", &to.ip().to_string(), &to.port().to_string()])
                .args(["stream", "send", "--gen", ENDLESS, "--stats"])
                .arg(stats);
            c
        }
    })
}

/// Runs `netsim relay` on `s` for `window` with the applications `hosts` known in
/// advance; `on_faces` starts the rest once the faces are bound.
fn relay(
    s: &Scenario,
    window: u64,
    out: &Path,
    hosts: Vec<String>,
    cpus: Option<Vec<usize>>,
    on_faces: &mut crate::udp::FacesCallback<'_>,
) -> Result<(), String> {
    let opts = crate::udp::RelayOptions {
        run: RunOptions {
            duration: Some(window),
            out: Some(out.to_path_buf()),
            quiet: true,
            no_plots: true,
            ..Default::default()
        },
        hosts,
        cpus,
    };
    crate::udp::relay(s, &opts, String::new(), on_faces).map(|_| ())
}

/// One point with real programs (sender, receiver) through the relay, for the window.
fn over_relay(
    s: &Scenario,
    p: &Programs,
    (sending, receiving): (Program, Program),
    window: u64,
    dir: &Path,
) -> Result<Trace, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let flow = &s.flows[0];
    let server = crate::scenario::validate_split(flow.to.as_deref().expect("single_flow"))?.0;
    let (recv_stats, send_stats) = (dir.join("recv_stats.csv"), dir.join("send_stats.csv"));
    let _ = std::fs::remove_file(&recv_stats);
    let _ = std::fs::remove_file(&send_stats);
    let kids = Arc::new(Mutex::new(Kids::default()));
    // Each program inherits the CPU this thread is on when it starts it; the relay takes its
    // own once both run.
    let placement = &p.placement;
    let (receiver, port) = {
        let _on = placement.as_ref().map(|c| cpus::pin(&[c.receiver]));
        start_receiver(p, receiving, &recv_stats)?
    };
    kids.lock().expect("not poisoned").0.push(receiver);
    let mut launch_error = None;
    let mut v = s.clone();
    v.expect.clear();
    let hosts = vec![format!("{server}=127.0.0.1:{port}")];
    let relay_cpus = placement.as_ref().map(|c| vec![c.relay]);
    let outcome = relay(
        &v,
        window,
        &dir.join("relay"),
        hosts,
        relay_cpus,
        &mut |faces| {
            let Some((_, face)) = faces.iter().find(|(h, _)| h == server) else {
                launch_error = Some(format!("the relay has no face for `{server}`"));
                return;
            };
            let _on = placement.as_ref().map(|c| cpus::pin(&[c.sender]));
            match sender(p, sending, *face, &send_stats).and_then(|mut c| {
                c.stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .map_err(|e| format!("cannot start the sender: {e}"))
            }) {
                Ok(child) => kids.lock().expect("not poisoned").0.push(child),
                Err(e) => launch_error = Some(e),
            }
        },
    );
    // The window is over: stop both programs before reading what they wrote.
    drop(std::mem::take(&mut *kids.lock().expect("not poisoned")));
    outcome?;
    if let Some(e) = launch_error {
        return Err(e);
    }
    read_real(dir, window)
}

/// A real way's trace from the statistics files its programs wrote into `dir`.
fn read_real(dir: &Path, window: u64) -> Result<Trace, String> {
    let (recv_stats, send_stats) = (dir.join("recv_stats.csv"), dir.join("send_stats.csv"));
    let mut series = read_series(&send_stats, &["send_period_us", "cwnd_pkts", "rtt_ms"])
        .map_err(|e| format!("the sender's statistics: {e}"))?;
    let got = read_series(&recv_stats, &["goodput_mbps"])
        .map_err(|e| format!("the receiver's statistics: {e}"))?;
    let goodput = got
        .first()
        .and_then(|(_, p)| mean_until(p, window as f64 / 1e9));
    series.extend(got);
    Ok(Trace {
        goodput_mbps: goodput,
        error: goodput
            .is_none()
            .then(|| "the receiver wrote no goodput samples".into()),
        series,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mean_covers_the_window_only() {
        let pts = [(0.1, 1.0), (0.2, 3.0), (0.3, 100.0)];
        assert_eq!(mean_until(&pts, 0.2), Some(2.0));
        assert_eq!(mean_until(&[], 0.2), None);
    }
}
