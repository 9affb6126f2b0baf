//! What `udt-send` and `udt-recv` share: the command line for connecting, the
//! options, the progress display and the closing summary.

pub mod stats;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use udt::packet::SocketType;
use udt::tokio::{Connection, Endpoint, Error};
use udt::SocketOptions;

/// How to reach the peer, and the UDT options.
#[derive(Args, Debug, Clone)]
pub struct Net {
    /// Connect to a listening peer at this address.
    #[arg(long, value_name = "ADDR", conflicts_with_all = ["listen", "rendezvous"])]
    pub connect: Option<SocketAddr>,
    /// Listen at this address and take the first connection (port 0: any port;
    /// the address is printed as `listening on ADDR`).
    #[arg(long, value_name = "ADDR", conflicts_with = "rendezvous")]
    pub listen: Option<SocketAddr>,
    /// Rendezvous with this peer (it does the same towards `--bind`).
    #[arg(long, value_name = "ADDR")]
    pub rendezvous: Option<SocketAddr>,
    /// Local address for --connect / --rendezvous (default: any, port 0).
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<SocketAddr>,
    /// Message mode: the data goes as messages of this many bytes.
    #[arg(long, value_name = "BYTES")]
    pub message: Option<usize>,
    /// Maximum segment size, bytes (UDT_MSS).
    #[arg(long, default_value_t = 1500)]
    pub mss: u32,
    /// Largest flow window, packets (UDT_FC).
    #[arg(long, default_value_t = 25600)]
    pub window: u32,
    /// Send and receive buffers, packets (UDT_SNDBUF / UDT_RCVBUF ÷ payload).
    #[arg(long, default_value_t = 8192)]
    pub buffer: u32,
    /// Pacing ceiling, bytes per second (UDT_MAXBW).
    #[arg(long, value_name = "BYTES_PER_S")]
    pub max_bw: Option<u64>,
    /// Congestion control by name.
    #[arg(long, default_value = "udt")]
    pub cc: String,
    /// `improved` (the project's UDT) or `reference` (UDT 4.11 as the reference library
    /// behaves; see `udt::Profile`).
    #[arg(long, default_value = "improved", value_parser = parse_profile)]
    pub profile: udt::Profile,
    /// Give up connecting after this many milliseconds.
    #[arg(long, value_name = "MS")]
    pub connect_timeout: Option<u64>,
    /// No progress bar or live line.
    #[arg(long, short)]
    pub quiet: bool,
}

fn parse_profile(s: &str) -> Result<udt::Profile, String> {
    udt::Profile::by_name(s).ok_or_else(|| {
        format!(
            "unknown profile `{s}`; expected one of {}",
            udt::Profile::NAMES.join(", ")
        )
    })
}

impl Net {
    pub fn options(&self) -> SocketOptions {
        SocketOptions {
            socket_type: if self.message.is_some() {
                SocketType::Dgram
            } else {
                SocketType::Stream
            },
            mss: self.mss,
            flight_flag_size: self.window,
            send_buffer: self.buffer,
            recv_buffer: self.buffer,
            max_bandwidth: self.max_bw,
            congestion: self.cc.clone(),
            profile: self.profile,
            ..SocketOptions::default()
        }
    }

    /// Sets up the one connection the tool uses.
    pub async fn establish(&self) -> Result<Connection, Error> {
        let opts = self.options();
        let timeout = self.connect_timeout.map(Duration::from_millis);
        let local_for = |peer: SocketAddr| {
            self.bind.unwrap_or(if peer.is_ipv6() {
                "[::]:0".parse().expect("a valid address")
            } else {
                "0.0.0.0:0".parse().expect("a valid address")
            })
        };
        if let Some(addr) = self.listen {
            let ep = Endpoint::bind(addr).await?;
            ep.set_options(opts)?;
            let listener = ep.listen(1)?;
            eprintln!("listening on {}", ep.local_addr());
            let conn = listener.accept().await?;
            eprintln!("connection from {}", conn.peer_addr());
            Ok(conn)
        } else if let Some(peer) = self.connect {
            let ep = Endpoint::bind(local_for(peer)).await?;
            ep.connect_with(peer, opts, timeout).await
        } else if let Some(peer) = self.rendezvous {
            let ep = Endpoint::bind(local_for(peer)).await?;
            eprintln!("rendezvous from {} with {peer}", ep.local_addr());
            ep.rendezvous_with(peer, opts, timeout).await
        } else {
            Err(Error::Udt(udt::Error::InvalidParameter))
        }
    }
}

/// The progress bar plus a live line of rate, RTT and loss.
pub struct Progress {
    bar: ProgressBar,
    start: Instant,
    last: Instant,
    last_bytes: u64,
    /// Print the live line as plain lines (stderr is not a terminal).
    plain: bool,
}

impl Progress {
    pub fn new(total: Option<u64>, quiet: bool) -> Self {
        let bar = match total {
            Some(n) => ProgressBar::new(n),
            None => ProgressBar::new_spinner(),
        };
        let style = match total {
            Some(_) => "{bar:30} {bytes}/{total_bytes} {elapsed} {msg}",
            None => "{spinner} {bytes} {elapsed} {msg}",
        };
        bar.set_style(ProgressStyle::with_template(style).expect("a valid template"));
        let plain = !quiet && !std::io::IsTerminal::is_terminal(&std::io::stderr());
        if quiet || plain {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        let now = Instant::now();
        Progress {
            bar,
            start: now,
            last: now,
            last_bytes: 0,
            plain,
        }
    }

    /// `bytes` so far; refreshes the live line twice a second.
    pub fn update(&mut self, bytes: u64, conn: &Connection) {
        self.bar.set_position(bytes);
        let now = Instant::now();
        let dt = now.duration_since(self.last);
        let every = if self.plain { 1000 } else { 500 };
        if dt < Duration::from_millis(every) {
            return;
        }
        let rate = (bytes - self.last_bytes) as f64 * 8.0 / dt.as_secs_f64() / 1e6;
        self.last = now;
        self.last_bytes = bytes;
        if let Some(s) = conn.stats() {
            let line = format!(
                "{rate:.1} Mbit/s  rtt {:.2} ms  loss snd {} rcv {}  retrans {}  period {:.2} us  window {}  cwnd {:.0}",
                f64::from(s.rtt_us) / 1000.0,
                s.pkt_snd_loss_total,
                s.pkt_rcv_loss_total,
                s.pkt_retrans_total,
                s.send_period_us,
                s.flow_window,
                s.cwnd,
            );
            if self.plain {
                eprintln!("{:>8.1} s  {line}", self.start.elapsed().as_secs_f64());
            } else {
                self.bar.set_message(line);
            }
        }
    }

    /// Clears the bar and prints the summary line.
    pub fn finish(&self, verb: &str, bytes: u64, md5: &[u8], conn: &Connection) {
        self.bar.finish_and_clear();
        let secs = self.start.elapsed().as_secs_f64();
        let loss = conn
            .stats()
            .map(|s| {
                format!(
                    ", loss snd {} rcv {}, retrans {}",
                    s.pkt_snd_loss_total, s.pkt_rcv_loss_total, s.pkt_retrans_total
                )
            })
            .unwrap_or_default();
        eprintln!(
            "{verb} {bytes} bytes in {secs:.3} s ({:.1} Mbit/s{loss})",
            bytes as f64 * 8.0 / secs.max(1e-9) / 1e6
        );
        if !md5.is_empty() {
            eprintln!("md5 {}", hex(md5));
        }
    }
}

/// The MD5 of what went through, or nothing when `--no-md5` skipped it.
pub fn digest(md5: md5::Md5, skip: bool) -> Vec<u8> {
    use md5::Digest;
    if skip {
        Vec::new()
    } else {
        md5.finalize().to_vec()
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs the tool's future on a runtime; prints the error and exits 1 on failure.
pub fn main_with<F>(threads: usize, f: F)
where
    F: std::future::Future<Output = Result<(), Box<dyn std::error::Error>>>,
{
    let rt = match threads {
        0 | 1 => tokio::runtime::Builder::new_current_thread(),
        n => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n);
            b
        }
    }
    .enable_all()
    .build()
    .expect("a tokio runtime");
    if let Err(e) = rt.block_on(f) {
        eprintln!("error: {e}");
        let mut src = e.source();
        while let Some(s) = src {
            eprintln!("  caused by: {s}");
            src = s.source();
        }
        std::process::exit(1);
    }
}
