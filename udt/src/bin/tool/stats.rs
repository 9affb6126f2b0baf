//! `--stats FILE`: perfmon-style statistics every interval, in the simulator's own terms so
//! that one plotting path serves simulated and real runs.
//!
//! CSV (the default) is the simulator's `timeseries.csv` exactly: a `time_s,flow,metric,value`
//! header and one row per metric per interval, metrics in the simulator's order. A FILE
//! ending in `.json` gets JSON lines instead: one object per interval with `time_s`, `flow`
//! and one key per metric. `time_s` counts from the tool's start; rates and counts are over
//! the interval just ended (the last row covers the rest up to the end).
//!
//! | metric | meaning here |
//! | --- | --- |
//! | `goodput_mbps` | receiver: bytes handed to the application; sender: bytes the peer acknowledged |
//! | `send_rate_mbps` | payload bytes sent, retransmissions included |
//! | `send_period_us`, `cwnd_pkts`, `flow_window_pkts`, `rtt_ms` | the values at the sample |
//! | `retrans_pkts`, `snd_loss_pkts`, `rcv_loss_pkts` | packets retransmitted, reported lost by the peer's NAKs, detected lost here |
//! | `bytes_recv` | running total behind `goodput_mbps` |

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use udt::tokio::StatsHandle;
use udt::Stats;

/// The simulator's flow metrics (`reports::csv::FLOW_METRICS`), in its order.
pub const METRICS: [&str; 10] = [
    "goodput_mbps",
    "send_rate_mbps",
    "send_period_us",
    "cwnd_pkts",
    "flow_window_pkts",
    "rtt_ms",
    "retrans_pkts",
    "snd_loss_pkts",
    "rcv_loss_pkts",
    "bytes_recv",
];

/// The statistics options.
#[derive(Args, Debug, Clone)]
pub struct StatsArgs {
    /// Write statistics every interval to FILE: CSV with the simulator's timeseries.csv
    /// columns, or JSON lines when FILE ends in .json.
    #[arg(long, value_name = "FILE")]
    pub stats: Option<PathBuf>,
    /// Statistics interval, milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub stats_interval: u64,
    /// The flow name written in the statistics (default: the tool's name).
    #[arg(long, value_name = "NAME")]
    pub stats_flow: Option<String>,
}

struct State {
    out: std::io::BufWriter<std::fs::File>,
    json: bool,
    flow: String,
    start: Instant,
    last_t: Duration,
    last: Stats,
    /// Whether this side receives (goodput is what it delivers) or sends (what was acked).
    receiving: bool,
    error: Option<String>,
}

impl State {
    fn row(&mut self, t: Duration, s: &Stats) {
        let dt = (t - self.last_t).as_secs_f64();
        if dt <= 0.0 {
            return;
        }
        let total = |s: &Stats| {
            if self.receiving {
                s.bytes_delivered_total
            } else {
                s.bytes_acked_total
            }
        };
        let d = |a: u64, b: u64| a.saturating_sub(b);
        let mbps = |bytes: u64| bytes as f64 * 8.0 / dt / 1e6;
        let vals: [f64; 10] = [
            mbps(d(total(s), total(&self.last))),
            mbps(d(s.bytes_sent_total, self.last.bytes_sent_total)),
            s.send_period_us,
            s.cwnd,
            f64::from(s.flow_window),
            f64::from(s.rtt_us) / 1000.0,
            d(s.pkt_retrans_total, self.last.pkt_retrans_total) as f64,
            d(s.pkt_snd_loss_total, self.last.pkt_snd_loss_total) as f64,
            d(s.pkt_rcv_loss_total, self.last.pkt_rcv_loss_total) as f64,
            total(s) as f64,
        ];
        // Each interval reaches the file as it is written: a tool stopped by a signal (as
        // `netsim fidelity` stops the programs when its window ends) keeps its last rows.
        let r = write_row(&mut self.out, self.json, t.as_secs_f64(), &self.flow, &vals)
            .and_then(|()| self.out.flush());
        if let Err(e) = r {
            self.error.get_or_insert(e.to_string());
        }
        self.last_t = t;
        self.last = *s;
    }
}

/// Formats like the simulator's CSV: three decimals, trailing zeros dropped.
fn num(x: f64) -> String {
    let s = format!("{x:.3}");
    let t = s.trim_end_matches('0').trim_end_matches('.');
    if t == "-0" || t.is_empty() {
        "0".into()
    } else {
        t.into()
    }
}

fn write_row(
    out: &mut impl Write,
    json: bool,
    t: f64,
    flow: &str,
    vals: &[f64; 10],
) -> std::io::Result<()> {
    if json {
        let mut line = format!("{{\"time_s\":{},\"flow\":{:?}", num(t), flow);
        for (m, v) in METRICS.iter().zip(vals) {
            line += &format!(",\"{m}\":{}", num(*v));
        }
        writeln!(out, "{line}}}")
    } else {
        let flow = if flow.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", flow.replace('"', "\"\""))
        } else {
            flow.to_string()
        };
        for (m, v) in METRICS.iter().zip(vals) {
            writeln!(out, "{},{flow},{m},{}", num(t), num(*v))?;
        }
        Ok(())
    }
}

/// A statistics file being written.
pub struct StatsFile {
    state: Arc<Mutex<State>>,
    interval: Duration,
}

impl StatsFile {
    /// Creates FILE (when asked for) and writes the header; `tool` names the flow by default.
    pub fn create(
        args: &StatsArgs,
        tool: &str,
        start: Instant,
        receiving: bool,
    ) -> Result<Option<Self>, String> {
        let Some(path) = &args.stats else {
            return Ok(None);
        };
        let json = path.extension().is_some_and(|e| e == "json");
        let file = std::fs::File::create(path)
            .map_err(|e| format!("--stats {}: cannot create: {e}", path.display()))?;
        let mut out = std::io::BufWriter::new(file);
        if !json {
            writeln!(out, "time_s,flow,metric,value")
                .map_err(|e| format!("--stats {}: {e}", path.display()))?;
        }
        Ok(Some(StatsFile {
            state: Arc::new(Mutex::new(State {
                out,
                json,
                flow: args.stats_flow.clone().unwrap_or_else(|| tool.into()),
                start,
                last_t: Duration::ZERO,
                last: Stats::default(),
                receiving,
                error: None,
            })),
            interval: Duration::from_millis(args.stats_interval),
        }))
    }

    /// Samples `conn` every interval (aligned on the tool's start) until it is gone.
    pub fn follow(&self, conn: StatsHandle) {
        let state = self.state.clone();
        let interval = self.interval;
        tokio::spawn(async move {
            let start = state
                .lock()
                .map(|s| s.start)
                .unwrap_or_else(|_| Instant::now());
            let since = start.elapsed();
            let next = (since.as_nanos() / interval.as_nanos() + 1) as u32;
            let first = start + interval * next;
            let mut tick = tokio::time::interval_at(first.into(), interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                let at = tick.tick().await;
                let Some(s) = conn.stats() else {
                    return;
                };
                let Ok(mut st) = state.lock() else {
                    return;
                };
                let t = at.into_std().saturating_duration_since(st.start);
                st.row(t, &s);
            }
        });
    }

    /// Writes the last row (from the last sample to now, with `last` if the connection
    /// still answers) and flushes. Returns the first write error.
    pub fn finish(&self, last: Option<Stats>, path: &Path) -> Result<(), String> {
        let mut st = self.state.lock().map_err(|_| "statistics lock poisoned")?;
        let t = st.start.elapsed();
        let s = last.unwrap_or(st.last);
        st.row(t, &s);
        let r = st.out.flush();
        if let Some(e) = st.error.take() {
            return Err(format!("--stats {}: {e}", path.display()));
        }
        r.map_err(|e| format!("--stats {}: {e}", path.display()))
    }
}

/// Writes the statistics file's last row, if there is a file.
pub fn finish(
    stats: &Option<StatsFile>,
    args: &StatsArgs,
    conn: &udt::tokio::Connection,
) -> Result<(), String> {
    match (stats, &args.stats) {
        (Some(f), Some(path)) => f.finish(conn.stats(), path),
        _ => Ok(()),
    }
}
