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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (check, args) = match cli.cmd {
        Some(Cmd::Run(a)) => (false, a),
        Some(Cmd::Check(a)) => (true, a),
        None => (false, cli.bare),
    };
    if args.scenarios.is_empty() {
        eprintln!("netsim: no scenario given; usage: netsim [run|check] SCENARIO.yaml...");
        return ExitCode::from(2);
    }
    let mut failed = false;
    for path in &args.scenarios {
        let mut opts = RunOptions {
            seed: args.seed,
            out: args.out.clone(),
            duration: args.duration.map(|d| d.0),
            quiet: args.quiet,
        };
        if args.scenarios.len() > 1 {
            if let Some(o) = &opts.out {
                opts.out = Some(o.join(path.file_stem().unwrap_or_default()));
            }
        }
        let outcome = match run_file(path, &opts) {
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
        let bad = outcome.checks.iter().filter(|c| !c.passed).count();
        if check {
            println!(
                "{}: {} of {} expectations hold",
                path.display(),
                outcome.checks.len() - bad,
                outcome.checks.len()
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
    run_file(path, &opts2)?;
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
