//! A run's summary: per-flow statistics computed from the time series and totals, fairness and
//! stability across flows; rendered as JSON and Markdown.

use crate::model::{Check, FlowData, FlowPoint, RunData, RunMeta};
use crate::stats::{cov, jain, mean, percentile, round6};
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// Summary statistics of a series.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Mean.
    pub mean: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
}

/// One flow's summary.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowSummary {
    /// Name.
    pub name: String,
    /// Congestion control.
    pub cc: Option<String>,
    /// The handshake completed.
    pub connected: bool,
    /// Seconds from the flow's start to connected.
    pub connect_time_s: Option<f64>,
    /// Seconds from the flow's start to the receiver having everything.
    pub completion_time_s: Option<f64>,
    /// Why the flow failed or broke.
    pub error: Option<String>,
    /// Start of the active window (connected), seconds since the run began.
    #[serde(default)]
    pub active_from_s: Option<f64>,
    /// End of the active window (completed, stopped or the end), seconds since the run began.
    #[serde(default)]
    pub active_until_s: f64,
    /// Bytes handed to the sender.
    pub bytes_sent: u64,
    /// Bytes read by the receiver.
    pub bytes_received: u64,
    /// Every byte arrived unaltered and in order.
    pub byte_exact: bool,
    /// Something arrived differing from what was sent.
    pub corrupted: bool,
    /// Goodput, Mbit/s: `mean` is bytes received ×8 over the active time (connected to
    /// completed, stopped or the end); `p50`/`p95` are over the per-interval samples.
    pub goodput_mbps: Spread,
    /// Slowest link rate on the data path, Mbit/s.
    pub bottleneck_mbps: Option<f64>,
    /// Mean goodput over the bottleneck rate.
    pub utilisation: Option<f64>,
    /// Data packets sent, retransmissions included.
    pub packets_sent: u64,
    /// Retransmitted packets.
    pub retransmissions: u64,
    /// Retransmissions per data packet sent.
    pub retransmission_ratio: Option<f64>,
    /// Losses the sender learnt of.
    pub sender_losses: u64,
    /// Losses the receiver detected.
    pub receiver_losses: u64,
    /// Losses (the larger of the sender's and the receiver's count) per data packet sent.
    pub loss_ratio: Option<f64>,
    /// Smoothed RTT over the active samples, ms (`mean`, `p50`, `p95`).
    pub rtt_ms: Spread,
    /// Coefficient of variation of the per-interval goodput while active (0 = steady).
    pub stability_cov: Option<f64>,
    /// Convergence time, s: from connecting until the goodput, averaged over a trailing
    /// second, stays within ±20 % of the settled rate (the mean over the second half of the
    /// active window). `None` when it never settles or moved nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convergence_s: Option<f64>,
}

/// The goodput share of the flows using one congestion control.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CcShare {
    /// Congestion control.
    pub cc: String,
    /// Its flows.
    pub flows: Vec<String>,
    /// Sum of their mean goodputs, Mbit/s.
    pub goodput_mbps: f64,
    /// That sum over the sum of every flow's mean goodput.
    pub share: f64,
}

/// A run's summary: what summary.json holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Metadata.
    pub meta: RunMeta,
    /// Flows.
    pub flows: Vec<FlowSummary>,
    /// Jain's fairness index over the mean goodputs of the flows that moved data (two or more).
    pub jain_fairness: Option<f64>,
    /// Stability index: coefficient of variation of the aggregate goodput (all flows summed per
    /// interval) from the first flow connecting to the last one finishing.
    pub stability_index: Option<f64>,
    /// Aggregate goodput over the same window, Mbit/s.
    pub aggregate_goodput_mbps: Spread,
    /// Goodput shares per congestion control, when the flows use two or more.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc_shares: Vec<CcShare>,
    /// Expectation results.
    pub checks: Vec<Check>,
    /// Backend-specific details.
    #[serde(default)]
    pub details: serde_json::Value,
}

fn spread(xs: &[f64], mean_override: Option<f64>) -> Spread {
    Spread {
        mean: mean_override.or_else(|| mean(xs)).map(round6),
        p50: percentile(xs, 50.0).map(round6),
        p95: percentile(xs, 95.0).map(round6),
    }
}

/// The samples of `f` that fall in its active window: an interval ending at `t` counts when it
/// overlaps (active_from, active_until].
pub fn active_samples(f: &FlowData, interval_s: f64) -> impl Iterator<Item = &FlowPoint> {
    let from = f.active_from_s;
    let until = f.active_until_s;
    f.samples
        .iter()
        .filter(move |p| from.is_some_and(|from| overlaps(p.t_s, interval_s, from, until)))
}

/// Whether the sample interval ending at `t_s` overlaps the window (from, until].
fn overlaps(t_s: f64, interval_s: f64, from: f64, until: f64) -> bool {
    t_s > from + 1e-9 && t_s - interval_s < until - 1e-9
}

/// A flow's mean goodput, Mbit/s: bytes received ×8 over its active window (connected to
/// completed, stopped or the end of the run); `None` for a flow that never connected.
pub fn mean_goodput_mbps(f: &FlowData) -> Option<f64> {
    f.active_from_s.map(|from| {
        let secs = f.active_until_s - from;
        if secs > 0.0 {
            f.totals.bytes_received as f64 * 8.0 / secs / 1e6
        } else {
            0.0
        }
    })
}

fn ratio(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| round6(n as f64 / d as f64))
}

/// Summarises one flow.
pub fn summarise_flow(f: &FlowData, interval_s: f64) -> FlowSummary {
    let act: Vec<&FlowPoint> = active_samples(f, interval_s).collect();
    let goodputs: Vec<f64> = act.iter().map(|p| p.goodput_mbps).collect();
    let rtts: Vec<f64> = act.iter().map(|p| p.rtt_ms).collect();
    let t = &f.totals;
    let mean_goodput = mean_goodput_mbps(f);
    FlowSummary {
        name: f.name.clone(),
        cc: f.cc.clone(),
        connected: t.connected,
        connect_time_s: t.connect_time_s.map(round6),
        completion_time_s: t.completion_time_s.map(round6),
        error: t.error.clone(),
        active_from_s: f.active_from_s.map(round6),
        active_until_s: round6(f.active_until_s),
        bytes_sent: t.bytes_sent,
        bytes_received: t.bytes_received,
        byte_exact: t.byte_exact,
        corrupted: t.corrupted,
        goodput_mbps: spread(&goodputs, mean_goodput),
        bottleneck_mbps: t.bottleneck_mbps,
        utilisation: match (mean_goodput, t.bottleneck_mbps) {
            (Some(g), Some(b)) if b > 0.0 => Some(round6(g / b)),
            _ => None,
        },
        packets_sent: t.packets_sent,
        retransmissions: t.retransmissions,
        retransmission_ratio: ratio(t.retransmissions, t.packets_sent),
        sender_losses: t.sender_losses,
        receiver_losses: t.receiver_losses,
        loss_ratio: ratio(t.sender_losses.max(t.receiver_losses), t.packets_sent),
        rtt_ms: spread(&rtts, None),
        stability_cov: cov(&goodputs).map(round6),
        convergence_s: f
            .active_from_s
            .and_then(|from| convergence(&act, interval_s).map(|t| round6((t - from).max(0.0)))),
    }
}

/// The time (end of the sample interval) from which the trailing one-second mean goodput
/// stays within ±20 % of the mean over the second half of `act`.
fn convergence(act: &[&FlowPoint], interval_s: f64) -> Option<f64> {
    if act.len() < 4 || interval_s <= 0.0 {
        return None;
    }
    let settled = mean(
        &act[act.len() / 2..]
            .iter()
            .map(|p| p.goodput_mbps)
            .collect::<Vec<_>>(),
    )?;
    if settled <= 0.0 {
        return None;
    }
    let k = ((1.0 / interval_s).round() as usize).clamp(1, act.len());
    let mut start = None;
    for i in 0..act.len() {
        let lo = (i + 1).saturating_sub(k);
        let w = &act[lo..=i];
        let m = w.iter().map(|p| p.goodput_mbps).sum::<f64>() / w.len() as f64;
        let inside = (m - settled).abs() <= 0.2 * settled;
        match (inside, start) {
            (true, None) => start = Some(act[i].t_s - interval_s),
            (false, Some(_)) => start = None,
            _ => {}
        }
    }
    start
}

/// Goodput shares per congestion control (empty unless two or more are in use).
pub fn cc_shares(flows: &[FlowSummary]) -> Vec<CcShare> {
    let mut out: Vec<CcShare> = vec![];
    for f in flows.iter().filter(|f| f.connected) {
        let cc = f.cc.clone().unwrap_or_else(|| "–".into());
        let g = f.goodput_mbps.mean.unwrap_or(0.0);
        match out.iter_mut().find(|c| c.cc == cc) {
            Some(c) => {
                c.flows.push(f.name.clone());
                c.goodput_mbps += g;
            }
            None => out.push(CcShare {
                cc,
                flows: vec![f.name.clone()],
                goodput_mbps: g,
                share: 0.0,
            }),
        }
    }
    let total: f64 = out.iter().map(|c| c.goodput_mbps).sum();
    if out.len() < 2 || total <= 0.0 {
        return vec![];
    }
    for c in &mut out {
        c.goodput_mbps = round6(c.goodput_mbps);
        c.share = round6(c.goodput_mbps / total);
    }
    out
}

/// The aggregate goodput per interval from the first flow connecting to the last finishing.
pub fn aggregate_goodput(run: &RunData) -> Vec<(f64, f64)> {
    let dt = run.meta.interval_s;
    let from = run
        .flows
        .iter()
        .filter_map(|f| f.active_from_s)
        .reduce(f64::min);
    let until = run
        .flows
        .iter()
        .filter(|f| f.active_from_s.is_some())
        .map(|f| f.active_until_s)
        .reduce(f64::max);
    let (Some(from), Some(until)) = (from, until) else {
        return vec![];
    };
    let mut sums: std::collections::BTreeMap<i64, (f64, f64)> = Default::default();
    for f in &run.flows {
        for p in &f.samples {
            if overlaps(p.t_s, dt, from, until) {
                // Key by microseconds so that equal sample times of different flows meet.
                let e = sums
                    .entry((p.t_s * 1e6).round() as i64)
                    .or_insert((p.t_s, 0.0));
                e.1 += p.goodput_mbps;
            }
        }
    }
    sums.into_values().collect()
}

/// Summarises a run.
pub fn summarise(run: &RunData) -> RunSummary {
    let flows: Vec<FlowSummary> = run
        .flows
        .iter()
        .map(|f| summarise_flow(f, run.meta.interval_s))
        .collect();
    let moved: Vec<f64> = flows
        .iter()
        .filter(|f| f.bytes_received > 0)
        .filter_map(|f| f.goodput_mbps.mean)
        .collect();
    let agg: Vec<f64> = aggregate_goodput(run).into_iter().map(|x| x.1).collect();
    RunSummary {
        meta: run.meta.clone(),
        cc_shares: cc_shares(&flows),
        flows,
        jain_fairness: if moved.len() > 1 {
            jain(&moved).map(round6)
        } else {
            None
        },
        stability_index: cov(&agg).map(round6),
        aggregate_goodput_mbps: spread(&agg, None),
        checks: run.checks.clone(),
        details: run.details.clone(),
    }
}

/// A number with `d` decimals, or `–` for none.
pub fn num(v: Option<f64>, d: usize) -> String {
    v.map_or("–".into(), |x| format!("{x:.d$}"))
}

/// A percentage with one decimal, or `–`.
pub fn pct(v: Option<f64>) -> String {
    v.map_or("–".into(), |x| format!("{:.1} %", x * 100.0))
}

/// The column heads and rows of the per-flow table (shared by Markdown and HTML).
pub fn flow_table(s: &RunSummary) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let head = vec![
        "flow",
        "bytes received",
        "completion (s)",
        "goodput mean (Mbit/s)",
        "p50",
        "p95",
        "utilisation",
        "loss",
        "retransmitted",
        "RTT p50 (ms)",
        "RTT p95 (ms)",
        "CoV",
        "convergence (s)",
        "byte-exact",
    ];
    let rows = s
        .flows
        .iter()
        .map(|f| {
            vec![
                f.name.clone(),
                f.bytes_received.to_string(),
                num(f.completion_time_s, 3),
                num(f.goodput_mbps.mean, 2),
                num(f.goodput_mbps.p50, 2),
                num(f.goodput_mbps.p95, 2),
                pct(f.utilisation),
                pct(f.loss_ratio),
                pct(f.retransmission_ratio),
                num(f.rtt_ms.p50, 1),
                num(f.rtt_ms.p95, 1),
                num(f.stability_cov, 3),
                num(f.convergence_s, 1),
                match (f.byte_exact, f.corrupted) {
                    (true, _) => "yes",
                    (false, true) => "NO",
                    (false, false) => "partial",
                }
                .into(),
            ]
        })
        .collect();
    (head, rows)
}

/// The metadata as (label, value) pairs.
pub fn meta_rows(m: &RunMeta) -> Vec<(&'static str, String)> {
    vec![
        ("scenario", m.scenario.clone()),
        ("seed", m.seed.to_string()),
        ("backend", m.backend.clone()),
        ("duration", format!("{:.3} s", m.duration_s)),
        ("sample interval", format!("{:.3} s", m.interval_s)),
        ("project version", m.project_version.clone()),
        ("scenario digest (MD5)", m.scenario_digest.clone()),
        ("command line", m.command_line.clone()),
    ]
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// summary.md: metadata, the flow table, fairness and stability, expectations, plots.
pub fn markdown(s: &RunSummary, plots: &[(String, String)]) -> String {
    let m = &s.meta;
    let mut out = format!("# {} (seed {})\n\n", m.scenario, m.seed);
    out += "| | |\n| --- | --- |\n";
    for (k, v) in meta_rows(m) {
        let _ = writeln!(out, "| {k} | `{}` |", md_cell(&v));
    }
    out += "\n## Flows\n\n";
    let (head, rows) = flow_table(s);
    let _ = writeln!(out, "| {} |", head.join(" | "));
    let _ = writeln!(
        out,
        "|{}",
        head.iter()
            .enumerate()
            .map(|(i, _)| if i == 0 { " --- |" } else { " ---: |" })
            .collect::<String>()
    );
    for r in rows {
        let cells: Vec<String> = r.iter().map(|c| md_cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    for f in &s.flows {
        if let Some(e) = &f.error {
            let _ = writeln!(out, "\n- `{}`: {}", f.name, md_cell(e));
        }
    }
    out += "\n## Across flows\n\n";
    let _ = writeln!(
        out,
        "- Jain's fairness index (mean goodputs): {}",
        num(s.jain_fairness, 4)
    );
    let _ = writeln!(
        out,
        "- Stability index (CoV of aggregate goodput): {}",
        num(s.stability_index, 4)
    );
    let a = &s.aggregate_goodput_mbps;
    let _ = writeln!(
        out,
        "- Aggregate goodput: mean {} Mbit/s, p50 {}, p95 {}",
        num(a.mean, 2),
        num(a.p50, 2),
        num(a.p95, 2)
    );
    for c in &s.cc_shares {
        let _ = writeln!(
            out,
            "- `{}` ({}): {:.2} Mbit/s, {:.1} % of the total goodput",
            c.cc,
            c.flows.join(", "),
            c.goodput_mbps,
            c.share * 100.0
        );
    }
    if !s.checks.is_empty() {
        out += "\n## Expectations\n\n";
        for c in &s.checks {
            let _ = writeln!(
                out,
                "- [{}] {} (observed: {})",
                if c.passed { "x" } else { " " },
                md_cell(&c.what),
                md_cell(&c.observed)
            );
        }
    }
    if !plots.is_empty() {
        out += "\n## Plots\n\n";
        for (title, file) in plots {
            let _ = writeln!(out, "![{title}]({file})\n");
        }
    }
    out
}
