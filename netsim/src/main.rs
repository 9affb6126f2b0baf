//! `netsim`: run or check UDT scenarios on the deterministic simulated network.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use netsim::output::digests;
use netsim::run::{run_file, table, timing, RunOptions};
use netsim::scenario::units::Dur;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "netsim",
    version,
    about = "Deterministic network simulator for UDT scenarios",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    #[command(flatten)]
    bare: Args,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run scenarios, print summaries, write results.
    Run(Args),
    /// Run scenarios and exit non-zero when an expectation fails.
    Check(Args),
    /// Build a comparison report (overlaid goodput, throughput vs. p95 delay, summary table)
    /// from the output folders of several runs.
    Compare(CompareArgs),
    /// Run a scenario's network on the wall clock between external UDP programs: one
    /// loopback socket (a "face") per scenario host, printed as `host=ADDR` lines; an
    /// application playing host A sends to the face of host B (see netsim/SCENARIOS.md).
    Relay(RelayArgs),
    /// Join the output folders of sweep shards (`--shard I/N`) into one report.
    Merge(MergeArgs),
    /// Run a scenario's flow in the simulator, with the project over `netsim relay` and with
    /// the reference library over `netsim relay`; report the differences and exit non-zero
    /// when a goodput differs from the reference's by more than the tolerance.
    Fidelity(FidelityArgs),
}

#[derive(clap::Args, Clone)]
struct FidelityArgs {
    /// The scenario (one flow; its `sweep:` grid, if any, is run point by point).
    scenario: PathBuf,
    /// Largest accepted goodput difference from the reference, e.g. 10% (default: the
    /// scenario's `fidelity.tolerance`, else 10%).
    #[arg(long, value_parser = netsim::scenario::units::Prob::parse)]
    tolerance: Option<netsim::scenario::units::Prob>,
    /// Ways to run, comma-separated (sim, sim-project, project, reference, sim-improved,
    /// project-improved, reference-to-project, project-to-reference; default: sim,
    /// sim-project, project, reference).
    #[arg(long, value_delimiter = ',')]
    ways: Vec<String>,
    /// Measurement window (default: the scenario's duration).
    #[arg(long, value_parser = Dur::parse)]
    window: Option<Dur>,
    /// Only this seed (replaces the grid's seeds).
    #[arg(long)]
    seed: Option<u64>,
    /// Output folder (default out/<scenario>-fidelity).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Folder holding udt-send and udt-recv (default: beside netsim).
    #[arg(long)]
    tools: Option<PathBuf>,
    /// The reference peer program (default: built with g++ from udt/tests/peer/udt4_peer.cpp).
    #[arg(long)]
    peer: Option<PathBuf>,
    /// Take the real ways (every way not starting with `sim`) from an earlier run's
    /// report folder instead of running them: judge a changed simulator against recorded
    /// real runs in seconds.
    #[arg(long)]
    recorded: Option<PathBuf>,
    /// Skip the plots.
    #[arg(long)]
    no_plots: bool,
    /// No progress lines.
    #[arg(long)]
    quiet: bool,
}

#[derive(clap::Args, Clone)]
struct MergeArgs {
    /// Shard output folders (each with grid.json).
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Where the merged runs and report go.
    #[arg(long)]
    out: PathBuf,
    /// Skip the PNG/SVG plots.
    #[arg(long)]
    no_plots: bool,
    /// Merge even when runs are missing.
    #[arg(long)]
    partial: bool,
}

#[derive(clap::Args, Clone)]
struct RelayArgs {
    /// Scenario file (YAML); its hosts, links, events and captures are used, its flows not.
    scenario: PathBuf,
    /// The application playing a host, known in advance: HOST=127.0.0.1:PORT (repeatable).
    /// Without it, an application is learnt from its first datagram when that can be told.
    #[arg(long = "host", value_name = "HOST=ADDR")]
    hosts: Vec<String>,
    /// Seed (overrides the scenario's).
    #[arg(long)]
    seed: Option<u64>,
    /// How long to run, e.g. 30s (default: the scenario's duration); Ctrl-C ends it early.
    #[arg(long, value_parser = Dur::parse)]
    duration: Option<Dur>,
    /// Output folder (default out/<scenario>-relay-seed<N>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// No progress bar or messages on stderr.
    #[arg(long)]
    quiet: bool,
    /// Write the report without the PNG/SVG plots.
    #[arg(long)]
    no_plots: bool,
}

fn relay(a: &RelayArgs) -> ExitCode {
    use std::io::Write;
    let opts = netsim::udp::RelayOptions {
        run: RunOptions {
            seed: a.seed,
            duration: a.duration.map(|d| d.0),
            out: a.out.clone(),
            quiet: a.quiet,
            no_plots: a.no_plots,
            command_line: Some(command_line()),
        },
        hosts: a.hosts.clone(),
        cpus: None,
    };
    let mut print_faces = |faces: &[(String, std::net::SocketAddr)]| {
        let mut out = std::io::stdout().lock();
        for (host, addr) in faces {
            let _ = writeln!(out, "{host}={addr}");
        }
        let _ = out.flush();
    };
    match netsim::udp::relay_file(&a.scenario, &opts, &mut print_faces) {
        Ok(o) => {
            if !a.quiet {
                eprintln!(
                    "netsim relay: stopped ({}) after {:.1} s; {} stray datagrams",
                    o.stopped, o.wall_s, o.strays
                );
                for (h, c) in &o.hosts {
                    eprintln!(
                        "  {h}: face {}, app {}, {} sent, {} delivered, {} undeliverable, {} send errors",
                        c.face,
                        c.app.as_deref().unwrap_or("-"),
                        c.from_app,
                        c.to_app,
                        c.undeliverable,
                        c.send_errors
                    );
                }
                for l in &o.summary.links {
                    let c = &l.counters;
                    eprintln!(
                        "  link {}: {} offered, {} delivered, {} lost, {} queue drops, {} other drops",
                        l.link,
                        c.offered,
                        c.delivered,
                        c.dropped_loss,
                        c.dropped_queue,
                        c.dropped_down + c.dropped_mtu + c.dropped_corrupt
                    );
                }
            }
            println!("report={}", o.dir.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("netsim relay: {e}");
            ExitCode::FAILURE
        }
    }
}

#[derive(clap::Args, Clone)]
struct CompareArgs {
    /// Output folders of runs (each with summary.json and timeseries.csv).
    #[arg(required = true)]
    runs: Vec<PathBuf>,
    /// Where to write the comparison.
    #[arg(long, default_value = "out/compare")]
    out: PathBuf,
    /// Skip the PNG/SVG plots.
    #[arg(long)]
    no_plots: bool,
}

#[derive(clap::Args, Clone, Default)]
struct Args {
    /// Scenario files (YAML).
    scenarios: Vec<PathBuf>,
    /// Seed (overrides the scenario's).
    #[arg(long)]
    seed: Option<u64>,
    /// Output folder (default out/<scenario>-seed<N>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Simulated duration, e.g. 10s (overrides the scenario's).
    #[arg(long, value_parser = Dur::parse)]
    duration: Option<Dur>,
    /// No progress bar or summary table.
    #[arg(long)]
    quiet: bool,
    /// Run twice and compare MD5 digests of everything written.
    #[arg(long)]
    check_determinism: bool,
    /// Write the report without the PNG/SVG plots.
    #[arg(long)]
    no_plots: bool,
    /// Where the scenario runs: `sim` (the deterministic simulator) or `udp` (real UDP
    /// sockets on loopback through an in-process relay that applies the links, in real time).
    #[arg(long, value_enum, default_value_t = Backend::Sim)]
    backend: Backend,
    /// Parallel runs of a comparison or sweep (default: the number of cores).
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
    /// Run only shard I of N of a comparison or sweep (runs with index ≡ I−1 mod N).
    #[arg(long, value_parser = netsim::sweep::parse_shard)]
    shard: Option<(usize, usize)>,
}

/// Where a scenario runs.
#[derive(clap::ValueEnum, Clone, Copy, Default, PartialEq, Eq)]
enum Backend {
    /// The deterministic discrete-event simulator.
    #[default]
    Sim,
    /// Real UDP sockets on loopback, impaired by an in-process relay, in real time.
    Udp,
}

/// The command line as a shell would take it back.
fn command_line() -> String {
    std::env::args()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
            {
                a
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn fidelity(a: &FidelityArgs) -> ExitCode {
    let s = match netsim::scenario::Scenario::load(&a.scenario) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("netsim: fidelity: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut o = netsim::fidelity::FidelityOptions {
        window: a.window.map(|d| d.0),
        seed: a.seed,
        out: a.out.clone(),
        tools: a.tools.clone(),
        peer: a.peer.clone(),
        recorded: a.recorded.clone(),
        no_plots: a.no_plots,
        quiet: a.quiet,
        ..Default::default()
    };
    if let Some(t) = a
        .tolerance
        .or(s.fidelity.as_ref().and_then(|f| f.tolerance))
    {
        o.tolerance = t.0;
    }
    if !a.ways.is_empty() {
        o.ways = a.ways.clone();
    }
    match netsim::fidelity::fidelity(&s, &o) {
        Ok(out) => {
            let bad: Vec<_> = out.differences.iter().filter(|d| !d.within).collect();
            for d in &out.differences {
                println!(
                    "{:<40} {:<18} {}{}",
                    d.cell,
                    d.way,
                    d.ratio
                        .map_or("did not run".into(), |r| format!("{r:.3} of reference")),
                    if d.within { "" } else { "  OUTSIDE" }
                );
            }
            println!(
                "{} of {} comparisons within {:.0}%; report in {} (open {})",
                out.differences.len() - bad.len(),
                out.differences.len(),
                o.tolerance * 100.0,
                out.dir.display(),
                out.dir.join("index.html").display()
            );
            if bad.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("netsim: fidelity: {e}");
            ExitCode::from(2)
        }
    }
}

fn compare(a: &CompareArgs) -> ExitCode {
    let runs = match reports::compare::load_runs(&a.runs) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("netsim: compare: {e}");
            return ExitCode::FAILURE;
        }
    };
    match reports::compare::write_comparison(&runs, &a.out, !a.no_plots) {
        Ok(files) => {
            println!(
                "compared {} runs: {} files in {} (open {})",
                runs.len(),
                files.len(),
                a.out.display(),
                a.out.join("index.html").display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("netsim: compare: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (check, args) = match cli.cmd {
        Some(Cmd::Run(a)) => (false, a),
        Some(Cmd::Check(a)) => (true, a),
        Some(Cmd::Compare(a)) => return compare(&a),
        Some(Cmd::Fidelity(a)) => return fidelity(&a),
        Some(Cmd::Relay(a)) => return relay(&a),
        Some(Cmd::Merge(a)) => {
            return match netsim::sweep::merge(&a.dirs, &a.out, !a.no_plots, a.partial) {
                Ok(m) => {
                    println!(
                        "merged {} of {} runs into {}",
                        m.runs.len(),
                        m.total_runs,
                        a.out.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("netsim: merge: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        None => (false, cli.bare),
    };
    if args.scenarios.is_empty() {
        eprintln!("netsim: no scenario given; usage: netsim [run|check] SCENARIO.yaml... | netsim compare RUN_DIR... --out DIR");
        return ExitCode::from(2);
    }
    if args.backend == Backend::Udp && args.check_determinism {
        eprintln!("netsim: --check-determinism needs the simulator; udp runs are real time and not repeatable");
        return ExitCode::from(2);
    }
    let mut failed = false;
    for path in &args.scenarios {
        let mut opts = RunOptions {
            seed: args.seed,
            out: args.out.clone(),
            duration: args.duration.map(|d| d.0),
            quiet: args.quiet,
            no_plots: args.no_plots,
            command_line: Some(command_line()),
        };
        if args.scenarios.len() > 1 {
            if let Some(o) = &opts.out {
                opts.out = Some(o.join(path.file_stem().unwrap_or_default()));
            }
        }
        if netsim::sweep::is_grid_file(path) {
            if args.backend == Backend::Udp {
                eprintln!(
                    "netsim: {}: compare/sweep runs only on the simulator, not with --backend udp",
                    path.display()
                );
                failed = true;
                continue;
            }
            let jobs = args
                .jobs
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            match netsim::sweep::run_grid_file(path, &opts, jobs, args.shard, check) {
                Ok((held, total)) => failed |= check && held < total,
                Err(e) => {
                    eprintln!("netsim: {e}");
                    failed = true;
                }
            }
            continue;
        }
        let result = match args.backend {
            Backend::Sim => run_file(path, &opts).map_err(|e| e.to_string()),
            Backend::Udp => netsim::udp::run_file(path, &opts),
        };
        let outcome = match result {
            Ok(o) => o,
            Err(e) => {
                eprintln!("netsim: {e}");
                failed = true;
                continue;
            }
        };
        if !args.quiet {
            print!("{}", table(&outcome));
        }
        println!("{}", timing(&outcome));
        let bad = outcome.data.checks.iter().filter(|c| !c.passed).count();
        if check {
            println!(
                "{}: {} of {} expectations hold",
                path.display(),
                outcome.data.checks.len() - bad,
                outcome.data.checks.len()
            );
            if bad > 0 {
                failed = true;
            }
        }
        if args.check_determinism {
            match determinism(path, &opts, &outcome.dir) {
                Ok(()) => println!("determinism: two runs wrote byte-identical files"),
                Err(e) => {
                    eprintln!("netsim: determinism: {e}");
                    failed = true;
                }
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn determinism(
    path: &std::path::Path,
    opts: &RunOptions,
    first: &std::path::Path,
) -> Result<(), String> {
    let second = first.with_file_name(format!(
        "{}.determinism",
        first.file_name().unwrap_or_default().to_string_lossy()
    ));
    let opts2 = RunOptions {
        out: Some(second.clone()),
        quiet: true,
        ..opts.clone()
    };
    run_file(path, &opts2).map_err(|e| e.to_string())?;
    let a = digests(first).map_err(|e| e.to_string())?;
    let b = digests(&second).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&second);
    for (x, y) in a.iter().zip(&b) {
        println!("  md5 {} {}", x.1, x.0);
        if x != y {
            return Err(format!("{} differs: {} vs {}", x.0, x.1, y.1));
        }
    }
    if a.len() != b.len() {
        return Err(format!("{} files vs {}", a.len(), b.len()));
    }
    Ok(())
}
