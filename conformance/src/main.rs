//! `conformance`: UDT4 capture tools.
//!
//! ```text
//! conformance decode FILE [--port N]
//! conformance check FILE [--port N] [--strict] [--junit OUT.xml] [--json]
//! conformance replay FILE --role server|client [--port N]
//! ```
//!
//! Exit codes: 0 success (every check holds / the replay matches), 1 a check failed
//! (with `--strict` also on warnings) or the replay differs, 2 bad input (missing file,
//! not a capture, truncated, no UDT packets, bad arguments).

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use conformance::capture;
use conformance::check;
use conformance::decode;
use conformance::replay;

/// UDT4 conformance tools: decode captures, check them against the protocol, replay them.
#[derive(Parser)]
#[command(name = "conformance", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print one line per UDT packet of a pcap/pcapng capture.
    Decode {
        /// The capture file.
        file: PathBuf,
        /// Only datagrams from or to this UDP port.
        #[arg(long)]
        port: Option<u16>,
    },
    /// Rebuild every UDT connection of a capture and run the protocol checks.
    Check {
        /// The capture file.
        file: PathBuf,
        /// Only datagrams from or to this UDP port.
        #[arg(long)]
        port: Option<u16>,
        /// Fail on warnings too.
        #[arg(long)]
        strict: bool,
        /// Also write the results as JUnit XML to this file.
        #[arg(long, value_name = "OUT.xml")]
        junit: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Feed one side of a recorded client/server connection into the project's
    /// endpoint and compare what it sends with what the recorded side sent.
    Replay {
        /// The capture file.
        file: PathBuf,
        /// The side our endpoint plays.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Only the connection on this UDP port.
        #[arg(long)]
        port: Option<u16>,
        /// Seed of our endpoint (socket ids, ISN, cookie secret).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Unchanged packets shown around each difference.
        #[arg(long, default_value_t = 3)]
        context: usize,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    /// Our endpoint listens; the recorded client is fed in.
    Server,
    /// Our endpoint connects; the recorded server is fed in.
    Client,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Decode { file, port } => run_decode(&file, port),
        Command::Check {
            file,
            port,
            strict,
            junit,
            json,
        } => run_check(&file, port, strict, junit.as_deref(), json),
        Command::Replay {
            file,
            role,
            port,
            seed,
            context,
        } => {
            let role = match role {
                RoleArg::Server => replay::Role::Server,
                RoleArg::Client => replay::Role::Client,
            };
            run_replay(&file, replay::ReplayOptions { role, port, seed }, context)
        }
    }
}

fn run_replay(file: &Path, opts: replay::ReplayOptions, context: usize) -> ExitCode {
    let capture = match load(file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let report = match replay::replay_capture(&capture, &opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let role = match opts.role {
        replay::Role::Server => "server",
        replay::Role::Client => "client",
    };
    let mut text = String::new();
    for n in &report.notes {
        text.push_str(&format!("note: {n}\n"));
    }
    if report.matches() {
        text.push_str(&format!(
            "replay as {role}: our endpoint sent the same {} packets as the recorded {role} (cookie, socket ids, timestamps, ISN and ACK estimates masked)\n",
            report.ours.len()
        ));
    } else {
        text.push_str(&format!(
            "replay as {role}: {} differences (- recorded {role}, {} packets; + our endpoint, {} packets)\n",
            report.differences(),
            report.recorded.len(),
            report.ours.len()
        ));
        text.push_str(&report.diff_text(context));
    }
    let mut out = io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    ExitCode::from(u8::from(!report.matches()))
}

/// Reads a capture, printing the error (exit code 2) when it cannot.
fn load(file: &Path) -> Result<capture::Capture, ExitCode> {
    match capture::read_file(file) {
        Ok(c) => Ok(c),
        Err(e @ capture::CaptureError::Open { .. }) => {
            eprintln!("error: {e}");
            Err(ExitCode::from(2))
        }
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            Err(ExitCode::from(2))
        }
    }
}

fn run_check(
    file: &Path,
    port: Option<u16>,
    strict: bool,
    junit: Option<&Path>,
    json: bool,
) -> ExitCode {
    let capture = match load(file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let report = match check::check_capture(&capture, &check::CheckOptions { port }) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    if let Some(out) = junit {
        let xml = check::output::junit(&report, &file.display().to_string(), strict);
        if let Err(e) = std::fs::write(out, xml) {
            eprintln!("error: cannot write {}: {e}", out.display());
            return ExitCode::from(2);
        }
    }
    let text = if json {
        let mut t =
            serde_json::to_string_pretty(&check::output::json(&report, strict)).unwrap_or_default();
        t.push('\n');
        t
    } else {
        check::output::text(&report, strict)
    };
    let mut out = io::stdout().lock();
    // A closed stdout (e.g. `| head`) does not change the verdict.
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    ExitCode::from(report.exit_code(strict))
}

fn run_decode(file: &Path, port: Option<u16>) -> ExitCode {
    let capture = match load(file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let lines = decode::decode_capture(&capture, port);
    for line in &lines {
        if writeln!(out, "{line}").is_err() {
            // The reader went away (e.g. `| head`): nothing more to say.
            return ExitCode::SUCCESS;
        }
    }
    if out.flush().is_err() {
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "{} frames, {} UDP datagrams shown, {} frames without UDP skipped",
        capture.frames,
        lines.len(),
        capture.skipped.len()
    );
    ExitCode::SUCCESS
}
