//! `conformance`: UDT4 capture tools.
//!
//! ```text
//! conformance decode FILE [--port N]
//! ```
//!
//! Exit codes: 0 success, 2 bad input (missing file, not a capture, truncated, bad
//! arguments).

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use conformance::capture;
use conformance::decode;

/// UDT4 conformance tools: decode captures (checks and replay to come).
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
    // Planned: `check` (protocol rules over a capture) and `replay` (a capture
    // against the sans-IO core).
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Decode { file, port } => run_decode(&file, port),
    }
}

fn run_decode(file: &std::path::Path, port: Option<u16>) -> ExitCode {
    let capture = match capture::read_file(file) {
        Ok(c) => c,
        Err(e @ capture::CaptureError::Open { .. }) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            return ExitCode::from(2);
        }
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
