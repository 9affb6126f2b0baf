//! Writing a run's results into its output folder, and MD5 digests of everything written.
//!
//! The report (summary.json, summary.md, timeseries.csv, queues.csv, index.html, plots/) is
//! written by the `reports` crate from a [`reports::RunData`] that [`run_data`] builds out of
//! the world's metrics; metrics.json (the raw samples) is written here.

use crate::capture::{CaptureSink, ProjectCapture};
use crate::error::RunError;
use crate::expect::evaluate;
use crate::scenario::Scenario;
use crate::summary::{summarise, Summary};
use crate::world::World;
use md5::{Digest, Md5};
use reports::{FlowData, FlowPoint, FlowTotals, LinkData, QueuePoint, RunData, RunMeta};
use std::collections::HashSet;
use std::fs::File;
use std::io::BufWriter;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The default output folder: `out/<scenario>-seed<N>`.
pub fn default_dir(name: &str, seed: u64) -> PathBuf {
    PathBuf::from("out").join(format!("{name}-seed{seed}"))
}

/// A capture sink factory writing `<dir>/<point>.pcap`.
pub fn pcap_sinks(dir: &Path) -> impl FnMut(&str) -> std::io::Result<Box<dyn CaptureSink>> + '_ {
    move |name: &str| {
        let f = File::create(dir.join(format!("{name}.pcap")))?;
        Ok(
            Box::new(ProjectCapture::new(BufWriter::with_capacity(1 << 16, f))?)
                as Box<dyn CaptureSink>,
        )
    }
}

/// Who ran what: the parts of the report's metadata the world does not know.
#[derive(Clone, Debug, Default)]
pub struct Provenance {
    /// MD5 (hex) of the scenario text.
    pub scenario_digest: String,
    /// The command line.
    pub command_line: String,
}

/// MD5 of `bytes` as lowercase hex.
pub fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const NS: f64 = 1e9;

/// The slowest rate on flow `i`'s data path (bit/s) and the link directions (`name>`/`name<`)
/// that have it; `None` when no link on the path has a rate.
fn bottleneck(w: &World, i: usize) -> Option<(u64, Vec<String>)> {
    let f = &w.flows[i];
    let (se, re) = (&w.endpoints[f.sender_ep], &w.endpoints[f.receiver_ep]);
    let IpAddr::V4(final_ip) = re.addr.ip() else {
        return None;
    };
    let dst = w.net.public_ip(re.node).unwrap_or(final_ip);
    let path = w.net.path(se.node, dst, final_ip);
    let rate = |&(l, d): &(usize, usize)| w.net.links[l].dirs[d].params().rate;
    let min = path.iter().filter_map(rate).min()?;
    let names = path
        .iter()
        .filter(|h| rate(h) == Some(min))
        .map(|&(l, d)| format!("{}{}", w.net.links[l].name, if d == 0 { '>' } else { '<' }))
        .collect();
    Some((min, names))
}

/// The run's product: the world's flows, their series and the queues of its rate-limited
/// links as the report's data model, with the simulator's own account (`sim`) in `details`.
/// The checks are left empty for [`crate::expect::evaluate`] to fill.
pub fn run_data(w: &World, sim: &Summary, prov: &Provenance) -> RunData {
    let end = w.now;
    // The sender's statistics at the end, or the last ones seen before it closed.
    let stats: Vec<_> = (0..w.flows.len())
        .map(|i| {
            w.sender_stats(i)
                .or(w.flows[i].last_stats)
                .unwrap_or_default()
        })
        .collect();
    let bottlenecks: Vec<_> = (0..w.flows.len()).map(|i| bottleneck(w, i)).collect();
    let flow_samples = w.metrics.flows_by_name();
    let flows = w
        .flows
        .iter()
        .zip(&stats)
        .zip(&bottlenecks)
        .map(|((f, st), bn)| {
            let spec = f.spec();
            let start = f.started_at.unwrap_or(spec.start.0);
            let secs = |t: u64| t.saturating_sub(start) as f64 / NS;
            let until = f.active_until(end);
            let full = match (spec.transfer, spec.send_for) {
                (Some(t), _) => f.bytes_recv == t.0,
                (None, Some(_)) => f.bytes_recv == f.bytes_sent,
                _ => true,
            };
            let failure = f.failed.as_ref().map(|(t, e)| (secs(*t), e.clone()));
            let samples = flow_samples
                .get(spec.name.as_str())
                .into_iter()
                .flatten()
                .map(|s| FlowPoint {
                    t_s: s.t_ns as f64 / NS,
                    goodput_mbps: s.goodput_bps / 1e6,
                    send_rate_mbps: s.send_rate_bps / 1e6,
                    send_period_us: s.send_period_us,
                    cwnd_pkts: s.cwnd,
                    flow_window_pkts: s.flow_window,
                    rtt_ms: s.rtt_ms,
                    retrans_pkts: s.retrans,
                    snd_loss_pkts: s.snd_loss,
                    rcv_loss_pkts: s.rcv_loss,
                    bytes_recv: s.bytes_recv,
                })
                .collect();
            FlowData {
                name: spec.name.clone(),
                cc: Some(spec.cc.clone().unwrap_or_else(|| "udt".into())),
                active_from_s: f.connected_at.map(|t| t as f64 / NS),
                active_until_s: until as f64 / NS,
                totals: FlowTotals {
                    connected: f.connected_at.is_some(),
                    connect_time_s: f.connected_at.map(secs),
                    completion_time_s: f.completed_at.map(secs),
                    error: failure
                        .as_ref()
                        .map(|(t, e)| format!("connect failed after {t:.3} s: {e}"))
                        .or(f.broken.as_ref().map(|(_, e)| format!("broken: {e}"))),
                    bytes_sent: f.bytes_sent,
                    bytes_received: f.bytes_recv,
                    byte_exact: !f.corrupted && full,
                    corrupted: f.corrupted,
                    packets_sent: st.pkt_sent_total,
                    retransmissions: st.pkt_retrans_total,
                    sender_losses: st.pkt_snd_loss_total,
                    receiver_losses: st.pkt_rcv_loss_total,
                    bottleneck_mbps: bn.as_ref().map(|(b, _)| *b as f64 / 1e6),
                    connect_failure: failure,
                    final_rtt_ms: f64::from(st.rtt_us) / 1000.0,
                },
                samples,
            }
        })
        .collect();
    let marked: HashSet<&str> = bottlenecks
        .iter()
        .flatten()
        .flat_map(|b| &b.1)
        .map(String::as_str)
        .collect();
    let queue_samples = w.metrics.queues_by_link();
    let links = w
        .net
        .links
        .iter()
        .flat_map(|l| [(l, 0, '>'), (l, 1, '<')])
        .filter_map(|(l, d, arrow)| {
            let rate = l.dirs[d].params().rate?;
            let name = format!("{}{arrow}", l.name);
            let samples = queue_samples
                .get(name.as_str())
                .into_iter()
                .flatten()
                .map(|q| QueuePoint {
                    t_s: q.t_ns as f64 / NS,
                    packets: q.packets,
                    bytes: q.bytes,
                    dropped_queue: q.dropped_queue,
                    dropped_loss: q.dropped_loss,
                })
                .collect();
            Some(LinkData {
                bottleneck: marked.contains(name.as_str()),
                link: name,
                rate_mbps: Some(rate as f64 / 1e6),
                samples,
            })
        })
        .collect();
    let messages: serde_json::Map<String, serde_json::Value> = sim
        .messages
        .iter()
        .filter_map(|(name, m)| Some((name.clone(), serde_json::to_value(m).ok()?)))
        .collect();
    RunData {
        meta: RunMeta {
            scenario: w.scenario.name.clone(),
            seed: w.seed,
            project_version: env!("CARGO_PKG_VERSION").into(),
            scenario_digest: prov.scenario_digest.clone(),
            command_line: prov.command_line.clone(),
            backend: "netsim".into(),
            duration_s: sim.simulated_s,
            interval_s: w.metrics.interval as f64 / NS,
        },
        flows,
        links,
        checks: vec![],
        details: serde_json::json!({
            "simulated_s": sim.simulated_s,
            "datagrams": sim.datagrams,
            "events": sim.events,
            "messages": messages,
            "links": sim.links,
            "nats": sim.nats,
            "nodes": sim.nodes,
            "fairness_phases": sim.fairness_phases,
        }),
    }
}

/// Everything a finished world produced: the run's data with the expectations judged, and
/// the simulator's own account. Both drivers end a run with this.
pub fn product(w: &World, s: &Scenario, prov: &Provenance) -> (RunData, Summary) {
    let sim = summarise(w);
    let mut data = run_data(w, &sim, prov);
    data.checks = evaluate(s, &data, &sim);
    (data, sim)
}

/// Writes metrics.json and the report (see the module documentation); captures are written
/// while the run goes. Nothing written depends on the wall clock.
pub fn write_results(
    dir: &Path,
    w: &World,
    data: &RunData,
    opts: reports::ReportOptions,
) -> Result<reports::Written, RunError> {
    let metrics = serde_json::json!({
        "interval_s": w.metrics.interval as f64 / 1e9,
        "flows": w.metrics.flows,
        "queues": w.metrics.queues,
    });
    let path = dir.join("metrics.json");
    let text = serde_json::to_string(&metrics).map_err(|e| RunError::Write {
        path: path.clone(),
        source: e.into(),
    })?;
    std::fs::write(&path, text + "\n").map_err(|source| RunError::Write { path, source })?;
    reports::write_run(dir, data, opts).map_err(RunError::Report)
}

/// (path relative to `dir`, MD5 hex) of every file under `dir`, sorted by path.
pub fn digests(dir: &Path) -> std::io::Result<Vec<(String, String)>> {
    let mut out = vec![];
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                todo.push(entry.path());
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let mut h = Md5::new();
            let mut f = File::open(entry.path())?;
            std::io::copy(&mut f, &mut h)?;
            let hex = h
                .finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>();
            let rel = entry.path();
            let rel = rel.strip_prefix(dir).unwrap_or(&rel);
            out.push((rel.display().to_string(), hex));
        }
    }
    out.sort();
    Ok(out)
}
