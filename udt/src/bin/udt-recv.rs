//! udt-recv: receives data from a peer over UDT into a file (or stdout), then
//! prints its MD5.
//!
//! ```sh
//! udt-recv --listen 0.0.0.0:9000 out.bin
//! ```

use std::path::PathBuf;

use clap::Parser;
use md5::{Digest, Md5};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};

#[path = "tool/mod.rs"]
mod tool;

/// Receive data over UDT into a file or stdout.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// Where the data goes; `-` (the default) is stdout.
    #[arg(default_value = "-")]
    file: PathBuf,
    /// Skip the MD5 digest (benchmarks: MD5 costs more CPU than UDT itself).
    #[arg(long)]
    no_md5: bool,
    /// Tokio worker threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    #[command(flatten)]
    net: tool::Net,
    #[command(flatten)]
    stats: tool::stats::StatsArgs,
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let start = std::time::Instant::now();
    let mut sink: Box<dyn AsyncWrite + Unpin + Send> = if cli.file.as_os_str() == "-" {
        Box::new(tokio::io::stdout())
    } else {
        Box::new(
            tokio::fs::File::create(&cli.file)
                .await
                .map_err(|e| format!("cannot create {}: {e}", cli.file.display()))?,
        )
    };
    let stats = tool::stats::StatsFile::create(&cli.stats, "udt-recv", start, true)?;
    let conn = cli.net.establish().await?;
    if let Some(f) = &stats {
        f.follow(conn.stats_handle());
    }
    let mut progress = tool::Progress::new(None, cli.net.quiet);
    let mut md5 = Md5::new();
    let mut got = 0u64;
    match cli.net.message {
        None => {
            let mut s = conn.into_stream();
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = s.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                if !cli.no_md5 {
                    md5.update(&buf[..n]);
                }
                sink.write_all(&buf[..n]).await?;
                got += n as u64;
                progress.update(got, s.connection());
            }
            sink.flush().await?;
            progress.finish(
                "received",
                got,
                &tool::digest(md5, cli.no_md5),
                s.connection(),
            );
            tool::stats::finish(&stats, &cli.stats, s.connection())?;
        }
        Some(_) => {
            let m = conn.into_message();
            while let Some(msg) = m.recv_msg().await? {
                if !cli.no_md5 {
                    md5.update(&msg);
                }
                sink.write_all(&msg).await?;
                got += msg.len() as u64;
                progress.update(got, m.connection());
            }
            sink.flush().await?;
            progress.finish(
                "received",
                got,
                &tool::digest(md5, cli.no_md5),
                m.connection(),
            );
            tool::stats::finish(&stats, &cli.stats, m.connection())?;
        }
    }
    Ok(())
}

fn main() {
    let cli = Cli::parse();
    tool::main_with(cli.threads, run(cli));
}
