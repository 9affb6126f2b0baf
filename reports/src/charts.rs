//! The per-run charts, built from a run's series: goodput, sending rate and period, windows,
//! RTT, retransmissions and losses, and the queue of each bottleneck link.

use crate::model::{FlowData, FlowPoint, LinkData, RunData};
use crate::plot::{Chart, Mark, Panel, Series};
use crate::summary::active_samples;

/// One chart to write: its file stem (`plots/<stem>.png|svg`), a caption and the chart.
#[derive(Clone, Debug)]
pub struct NamedChart {
    /// File stem.
    pub stem: String,
    /// Caption for the page.
    pub caption: String,
    /// The chart.
    pub chart: Chart,
}

fn title(run: &RunData, what: &str) -> String {
    format!("{} (seed {}): {what}", run.meta.scenario, run.meta.seed)
}

const TIME: &str = "time (s)";

/// Above this many flows a chart draws the spread across flows instead of a line each
/// (the per-flow numbers are in the page's flow table).
pub const MAX_FLOW_LINES: usize = 8;

/// A series per flow of `value` over the flow's active samples, or, for more than
/// [`MAX_FLOW_LINES`] flows, the median and the 10th and 90th percentiles across the flows
/// active at each sample time.
fn per_flow(
    run: &RunData,
    suffix: &str,
    color_offset: usize,
    mark: Mark,
    value: impl Fn(&FlowPoint) -> f64,
) -> Vec<Series> {
    if run.flows.len() > MAX_FLOW_LINES {
        return spread_across_flows(run, suffix, color_offset, value);
    }
    run.flows
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let points: Vec<(f64, f64)> = active(f, run).map(|p| (p.t_s, value(p))).collect();
            (!points.is_empty()).then(|| Series {
                label: format!("{}{suffix}", f.name),
                points,
                color: i + color_offset,
                mark,
            })
        })
        .collect()
}

/// Median, 10th and 90th percentile of `value` across the flows active at each sample time.
fn spread_across_flows(
    run: &RunData,
    suffix: &str,
    color_offset: usize,
    value: impl Fn(&FlowPoint) -> f64,
) -> Vec<Series> {
    let mut at: std::collections::BTreeMap<i64, (f64, Vec<f64>)> = Default::default();
    for f in &run.flows {
        for p in active(f, run) {
            // Keyed by microseconds so that equal sample times of different flows meet.
            let e = at
                .entry((p.t_s * 1e6).round() as i64)
                .or_insert((p.t_s, vec![]));
            e.1.push(value(p));
        }
    }
    let n = run.flows.len();
    let quantiles = [
        (0.5, format!("median of {n} flows{suffix}"), Mark::Line),
        (0.1, format!("10th percentile{suffix}"), Mark::Dashed),
        (0.9, format!("90th percentile{suffix}"), Mark::Dashed),
    ];
    let mut out = Vec::new();
    for (k, (q, label, mark)) in quantiles.into_iter().enumerate() {
        let points: Vec<(f64, f64)> = at
            .values_mut()
            .map(|(t, xs)| {
                xs.sort_by(f64::total_cmp);
                (*t, xs[((xs.len() - 1) as f64 * q).round() as usize])
            })
            .collect();
        if !points.is_empty() {
            out.push(Series {
                label,
                points,
                color: color_offset + k,
                mark,
            });
        }
    }
    out
}

fn active<'a>(f: &'a FlowData, run: &RunData) -> impl Iterator<Item = &'a FlowPoint> + 'a {
    active_samples(f, run.meta.interval_s)
}

fn panel(y_label: &str, series: Vec<Series>, log_y: bool) -> Panel {
    Panel {
        y_label: y_label.into(),
        series,
        log_y,
    }
}

/// A file-name-safe form of a link direction's name: `wan>` → `wan-fwd`, `wan<` → `wan-rev`.
pub fn link_stem(link: &str) -> String {
    let base = if let Some(b) = link.strip_suffix('>') {
        format!("{b}-fwd")
    } else if let Some(b) = link.strip_suffix('<') {
        format!("{b}-rev")
    } else {
        link.to_string()
    };
    base.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The links whose queue gets a chart: those marked as bottlenecks, or, when none is, those
/// whose queue ever held a packet.
/// With more than [`MAX_FLOW_LINES`] such links (a bottleneck per flow), the
/// [`MAX_FLOW_LINES`] whose queue grew longest, in their order.
pub fn queue_links(run: &RunData) -> Vec<&LinkData> {
    let marked: Vec<&LinkData> = run.links.iter().filter(|l| l.bottleneck).collect();
    if !marked.is_empty() && marked.len() <= MAX_FLOW_LINES {
        return marked;
    }
    let mut queued: Vec<(usize, u64, &LinkData)> = run
        .links
        .iter()
        .enumerate()
        .map(|(i, l)| (i, l.samples.iter().map(|q| q.packets).max().unwrap_or(0), l))
        .filter(|&(_, peak, _)| peak > 0)
        .collect();
    if queued.len() > MAX_FLOW_LINES {
        queued.sort_by_key(|&(i, peak, _)| (std::cmp::Reverse(peak), i));
        queued.truncate(MAX_FLOW_LINES);
        queued.sort_by_key(|&(i, _, _)| i);
    }
    queued.into_iter().map(|(_, _, l)| l).collect()
}

fn queue_chart(run: &RunData, l: &LinkData) -> NamedChart {
    let rate = l.rate_mbps.map_or(String::new(), |r| {
        format!(", {} Mbit/s", crate::plot::tick(r))
    });
    let queued = Series {
        label: "queued".into(),
        points: l
            .samples
            .iter()
            .map(|q| (q.t_s, q.packets as f64))
            .collect(),
        color: 0,
        mark: Mark::Line,
    };
    let dq = Series {
        label: "dropped: queue full".into(),
        points: l
            .samples
            .iter()
            .map(|q| (q.t_s, q.dropped_queue as f64))
            .collect(),
        color: 3,
        mark: Mark::Line,
    };
    let dl = Series {
        label: "dropped: loss model".into(),
        points: l
            .samples
            .iter()
            .map(|q| (q.t_s, q.dropped_loss as f64))
            .collect(),
        color: 1,
        mark: Mark::Dashed,
    };
    NamedChart {
        stem: format!("queue_{}", link_stem(&l.link)),
        caption: format!("Queue occupancy and drops at link {}{rate}", l.link),
        chart: Chart {
            title: title(run, &format!("queue at {}{rate}", l.link)),
            x_label: TIME.into(),
            panels: vec![
                panel("queue occupancy (packets)", vec![queued], false),
                panel("drops since start (packets)", vec![dq, dl], false),
            ],
            negated_x: false,
            log_x: false,
        },
    }
}

/// Goodput per flow; with many flows, the spread across flows and the aggregate.
fn goodput_panels(run: &RunData) -> Vec<Panel> {
    let mut panels = vec![panel(
        "goodput (Mbit/s)",
        per_flow(run, "", 0, Mark::Line, |p| p.goodput_mbps),
        false,
    )];
    if run.flows.len() > MAX_FLOW_LINES {
        let total = Series {
            label: format!("all {} flows", run.flows.len()),
            points: crate::summary::aggregate_goodput(run),
            color: 0,
            mark: Mark::Line,
        };
        panels.insert(0, panel("aggregate goodput (Mbit/s)", vec![total], false));
    }
    panels
}

/// Every chart of a run.
pub fn run_charts(run: &RunData) -> Vec<NamedChart> {
    let n = run.flows.len().max(1);
    let mut out = vec![
        NamedChart {
            stem: "goodput".into(),
            caption: if n > MAX_FLOW_LINES {
                "Aggregate goodput, and the spread of the flows' goodputs (application bytes \
                 read per interval)"
                    .into()
            } else {
                "Goodput per flow (application bytes read per interval)".into()
            },
            chart: Chart {
                title: title(run, "goodput per flow"),
                x_label: TIME.into(),
                panels: goodput_panels(run),
                negated_x: false,
                log_x: false,
            },
        },
        NamedChart {
            stem: "sending".into(),
            caption: "Sending rate (retransmissions included) and packet-sending period".into(),
            chart: Chart {
                title: title(run, "sending rate and packet-sending period"),
                x_label: TIME.into(),
                panels: vec![
                    panel(
                        "sending rate (Mbit/s)",
                        per_flow(run, "", 0, Mark::Line, |p| p.send_rate_mbps),
                        false,
                    ),
                    panel(
                        "packet-sending period (µs)",
                        per_flow(run, "", 0, Mark::Line, |p| p.send_period_us),
                        true,
                    ),
                ],
                negated_x: false,
                log_x: false,
            },
        },
        NamedChart {
            stem: "windows".into(),
            caption: "Congestion window and flow window".into(),
            chart: Chart {
                title: title(run, "congestion and flow windows"),
                x_label: TIME.into(),
                panels: vec![
                    panel(
                        "congestion window (packets)",
                        per_flow(run, "", 0, Mark::Line, |p| p.cwnd_pkts),
                        false,
                    ),
                    panel(
                        "flow window (packets)",
                        per_flow(run, "", 0, Mark::Line, |p| p.flow_window_pkts),
                        true,
                    ),
                ],
                negated_x: false,
                log_x: false,
            },
        },
        NamedChart {
            stem: "rtt".into(),
            caption: "Smoothed round-trip time".into(),
            chart: Chart {
                title: title(run, "round-trip time"),
                x_label: TIME.into(),
                panels: vec![panel(
                    "smoothed RTT (ms)",
                    per_flow(run, "", 0, Mark::Line, |p| p.rtt_ms),
                    false,
                )],
                negated_x: false,
                log_x: false,
            },
        },
    ];
    let mut losses = per_flow(run, ": sender (NAK)", 0, Mark::Line, |p| {
        p.snd_loss_pkts as f64
    });
    if run
        .flows
        .iter()
        .any(|f| f.samples.iter().any(|p| p.rcv_loss_pkts > 0))
    {
        losses.extend(per_flow(run, ": receiver", n, Mark::Dashed, |p| {
            p.rcv_loss_pkts as f64
        }));
    }
    out.push(NamedChart {
        stem: "losses".into(),
        caption: "Retransmissions and losses per sampling interval".into(),
        chart: Chart {
            title: title(run, "retransmissions and losses"),
            x_label: TIME.into(),
            panels: vec![
                panel(
                    &format!(
                        "retransmitted (packets per {} ms)",
                        crate::plot::tick(run.meta.interval_s * 1e3)
                    ),
                    per_flow(run, "", 0, Mark::Line, |p| p.retrans_pkts as f64),
                    false,
                ),
                panel(
                    &format!(
                        "losses (packets per {} ms)",
                        crate::plot::tick(run.meta.interval_s * 1e3)
                    ),
                    losses,
                    false,
                ),
            ],
            negated_x: false,
            log_x: false,
        },
    });
    out.extend(queue_links(run).into_iter().map(|l| queue_chart(run, l)));
    out
}
