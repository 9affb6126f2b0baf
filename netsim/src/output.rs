//! Writing a run's results into its output folder, and MD5 digests of everything written.
//!
//! The report (summary.json, summary.md, timeseries.csv, queues.csv, index.html, plots/) is
//! written by the `reports` crate from a [`reports::RunData`] that [`run_data`] builds out of
//! the world's metrics; metrics.json (the raw samples) is written here.

use crate::capture::{CaptureSink, ProjectCapture};
use crate::expect::CheckResult;
use crate::summary::Summary;
use crate::world::World;
use md5::{Digest, Md5};
use reports::{FlowData, FlowPoint, FlowTotals, LinkData, QueuePoint, RunData, RunMeta};
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

/// The link directions (`name>`/`name<`) with the lowest rate on flow `i`'s data path.
fn bottlenecks(w: &World, i: usize) -> Vec<String> {
    let f = &w.flows[i];
    let (se, re) = (&w.endpoints[f.sender_ep], &w.endpoints[f.receiver_ep]);
    let IpAddr::V4(final_ip) = re.addr.ip() else {
        return vec![];
    };
    let dst = w.net.public_ip(re.node).unwrap_or(final_ip);
    let path = w.net.path(se.node, dst, final_ip);
    let rate = |&(l, d): &(usize, usize)| w.net.links[l].dirs[d].params().rate;
    let Some(min) = path.iter().filter_map(rate).min() else {
        return vec![];
    };
    path.iter()
        .filter(|h| rate(h) == Some(min))
        .map(|&(l, d)| format!("{}{}", w.net.links[l].name, if d == 0 { '>' } else { '<' }))
        .collect()
}

/// Converts a finished world, its summary and check results into the report's data model.
pub fn run_data(w: &World, sum: &Summary, checks: &[CheckResult], prov: &Provenance) -> RunData {
    let end = w.now;
    let flows = w
        .flows
        .iter()
        .zip(&sum.flows)
        .map(|(f, fs)| {
            let spec = f.spec();
            let until = f
                .completed_at
                .or(spec.stop.map(|d| d.0.min(end)))
                .unwrap_or(end);
            let samples = w
                .metrics
                .flows
                .iter()
                .filter(|s| s.flow == spec.name)
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
                    connected: fs.connected,
                    connect_time_s: fs.connect_time_s,
                    completion_time_s: fs.completion_time_s,
                    error: fs
                        .failed
                        .as_ref()
                        .map(|(t, e)| format!("connect failed after {t:.3} s: {e}"))
                        .or(fs.broken.as_ref().map(|e| format!("broken: {e}"))),
                    bytes_sent: fs.bytes_sent,
                    bytes_received: fs.bytes_received,
                    byte_exact: fs.byte_exact,
                    corrupted: fs.corrupted,
                    packets_sent: fs.packets_sent,
                    retransmissions: fs.retransmissions,
                    sender_losses: fs.sender_losses,
                    receiver_losses: fs.receiver_losses,
                    bottleneck_mbps: fs.bottleneck_mbps,
                },
                samples,
            }
        })
        .collect();
    let marked: Vec<String> = (0..w.flows.len()).flat_map(|i| bottlenecks(w, i)).collect();
    let links = w
        .net
        .links
        .iter()
        .flat_map(|l| [(l, 0, '>'), (l, 1, '<')])
        .filter_map(|(l, d, arrow)| {
            let rate = l.dirs[d].params().rate?;
            let name = format!("{}{arrow}", l.name);
            let samples = w
                .metrics
                .queues
                .iter()
                .filter(|q| q.link == name)
                .map(|q| QueuePoint {
                    t_s: q.t_ns as f64 / NS,
                    packets: q.packets,
                    bytes: q.bytes,
                    dropped_queue: q.dropped_queue,
                    dropped_loss: q.dropped_loss,
                })
                .collect();
            Some(LinkData {
                bottleneck: marked.contains(&name),
                link: name,
                rate_mbps: Some(rate as f64 / 1e6),
                samples,
            })
        })
        .collect();
    let messages: serde_json::Map<String, serde_json::Value> = sum
        .flows
        .iter()
        .filter_map(|f| {
            Some((
                f.name.clone(),
                serde_json::to_value(f.messages.as_ref()?).ok()?,
            ))
        })
        .collect();
    RunData {
        meta: RunMeta {
            scenario: sum.scenario.clone(),
            seed: sum.seed,
            project_version: env!("CARGO_PKG_VERSION").into(),
            scenario_digest: prov.scenario_digest.clone(),
            command_line: prov.command_line.clone(),
            backend: "netsim".into(),
            duration_s: sum.simulated_s,
            interval_s: w.metrics.interval as f64 / NS,
        },
        flows,
        links,
        checks: checks
            .iter()
            .map(|c| reports::Check {
                what: c.what.clone(),
                passed: c.passed,
                observed: c.observed.clone(),
            })
            .collect(),
        details: serde_json::json!({
            "simulated_s": sum.simulated_s,
            "datagrams": sum.datagrams,
            "events": sum.events,
            "messages": messages,
            "links": sum.links,
            "nats": sum.nats,
            "nodes": sum.nodes,
            "fairness_phases": sum.fairness_phases,
        }),
    }
}

/// Writes metrics.json and the report (see the module documentation); captures are written
/// while the run goes. Nothing written depends on the wall clock.
pub fn write_results(
    dir: &Path,
    w: &World,
    sum: &Summary,
    checks: &[CheckResult],
    prov: &Provenance,
    opts: reports::ReportOptions,
) -> Result<reports::Written, String> {
    let metrics = serde_json::json!({
        "interval_s": w.metrics.interval as f64 / 1e9,
        "flows": w.metrics.flows,
        "queues": w.metrics.queues,
    });
    let path = dir.join("metrics.json");
    let text = serde_json::to_string(&metrics).map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::write(&path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    reports::write_run(dir, &run_data(w, sum, checks, prov), opts).map_err(|e| e.to_string())
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
