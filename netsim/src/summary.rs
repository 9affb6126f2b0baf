//! The end-of-run summary: per flow (bytes, connect and completion times, mean goodput, link
//! utilisation, losses, messages), Jain's fairness index, link, NAT and node counters.

use crate::link::LinkCounters;
use crate::nat::NatCounters;
use crate::net::{NetCounters, NodeKind};
use crate::world::World;
use reports::stats::jain;
use std::net::IpAddr;

/// Message workload results.
#[derive(Clone, Debug, serde::Serialize)]
pub struct MessageSummary {
    /// Sent.
    pub sent: u64,
    /// Received.
    pub received: u64,
    /// Received after a later one.
    pub out_of_order: u64,
    /// Mean latency, ms.
    pub mean_latency_ms: f64,
    /// Largest latency, ms.
    pub max_latency_ms: f64,
}

/// One flow's results.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FlowSummary {
    /// Name.
    pub name: String,
    /// Handshake completed.
    pub connected: bool,
    /// Seconds from start to connected.
    pub connect_time_s: Option<f64>,
    /// Seconds from start to the failure report, and why.
    pub failed: Option<(f64, String)>,
    /// Why the connection broke, if it did before completing.
    pub broken: Option<String>,
    /// Bytes handed to UDT by the sender.
    pub bytes_sent: u64,
    /// Bytes read by the receiver.
    pub bytes_received: u64,
    /// Every byte arrived unaltered and in order (and all of them, for a sized transfer).
    pub byte_exact: bool,
    /// Some byte or message arrived differing from what was sent.
    pub corrupted: bool,
    /// Seconds from start to the receiver having everything.
    pub completion_time_s: Option<f64>,
    /// Bytes received ×8 / time from connected to completion (or the end).
    pub mean_goodput_mbps: f64,
    /// Slowest link on the data path, Mbit/s.
    pub bottleneck_mbps: Option<f64>,
    /// Mean goodput / bottleneck rate.
    pub utilisation: Option<f64>,
    /// Data packets sent by UDT, retransmissions included.
    pub packets_sent: u64,
    /// Retransmitted packets.
    pub retransmissions: u64,
    /// Sender-side losses.
    pub sender_losses: u64,
    /// Receiver-side losses.
    pub receiver_losses: u64,
    /// Last smoothed RTT, ms.
    pub rtt_ms: f64,
    /// Message workload results.
    pub messages: Option<MessageSummary>,
}

/// One link direction's counters.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LinkSummary {
    /// `name>` or `name<`.
    pub link: String,
    /// Counters.
    pub counters: LinkCounters,
}

/// Everything about a run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// Seed.
    pub seed: u64,
    /// Simulated seconds.
    pub simulated_s: f64,
    /// Datagrams sent by endpoints.
    pub datagrams: u64,
    /// Events processed.
    pub events: u64,
    /// Flows.
    pub flows: Vec<FlowSummary>,
    /// Jain's fairness index over the mean goodputs of flows that moved data.
    pub jain_fairness: Option<f64>,
    /// Stretches of time with the same two or more flows active, and how fairly
    /// they shared (see [`fairness_phases`]).
    pub fairness_phases: Vec<FairnessPhase>,
    /// Links.
    pub links: Vec<LinkSummary>,
    /// NATs by name.
    pub nats: Vec<(String, NatCounters)>,
    /// Drops at nodes.
    pub nodes: NetCounters,
}

/// A stretch of time in which the same flows are active.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FairnessPhase {
    /// Start, simulated seconds.
    pub start_s: f64,
    /// End, simulated seconds.
    pub end_s: f64,
    /// The flows active throughout.
    pub flows: Vec<String>,
    /// Jain's index over their mean goodputs in the second half of the phase.
    pub jain: Option<f64>,
}

/// Splits the run where flows start and stop, and measures Jain's index in each
/// stretch with two or more active flows over its second half: the first half is
/// left to convergence (slow start, the newcomer taking its share), as the UDT
/// authors' fairness experiment reads its figures from the settled part.
pub fn fairness_phases(w: &World) -> Vec<FairnessPhase> {
    let end = w.now;
    let active: Vec<(u64, u64)> = w
        .flows
        .iter()
        .map(|f| {
            // From the handshake to completion, stop or the end; a flow that
            // never connected takes part in no phase.
            let Some(from) = f.connected_at else {
                return (end, end);
            };
            let stop = f.completed_at.or(f.spec().stop.map(|d| d.0));
            (from, stop.unwrap_or(end).clamp(from, end))
        })
        .collect();
    let mut cuts: Vec<u64> = active
        .iter()
        .flat_map(|&(a, b)| [a, b])
        .chain([0, end])
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut phases = vec![];
    for span in cuts.windows(2) {
        let (a, b) = (span[0], span[1]);
        let members: Vec<usize> = (0..active.len())
            .filter(|&i| active[i].0 < active[i].1 && active[i].0 <= a && active[i].1 >= b)
            .collect();
        if members.len() < 2 {
            continue;
        }
        let settled = a + (b - a) / 2;
        let means: Vec<f64> = members
            .iter()
            .map(|&i| {
                let name = &w.flows[i].spec().name;
                let xs: Vec<f64> = w
                    .metrics
                    .flows
                    .iter()
                    .filter(|s| &s.flow == name && s.t_ns > settled && s.t_ns <= b)
                    .map(|s| s.goodput_bps)
                    .collect();
                xs.iter().sum::<f64>() / xs.len().max(1) as f64
            })
            .collect();
        phases.push(FairnessPhase {
            start_s: a as f64 / 1e9,
            end_s: b as f64 / 1e9,
            flows: members
                .iter()
                .map(|&i| w.flows[i].spec().name.clone())
                .collect(),
            jain: jain(&means),
        });
    }
    phases
}

/// Summarises a finished world.
pub fn summarise(w: &mut World) -> Summary {
    let end = w.now;
    let mut flows = vec![];
    for i in 0..w.flows.len() {
        let f = &w.flows[i];
        let spec = f.spec().clone();
        let start = f.started_at.unwrap_or(spec.start.0);
        let secs = |t: u64| t.saturating_sub(start) as f64 / 1e9;
        let st = f
            .sender_conn
            .and_then(|c| w.endpoints[f.sender_ep].transport.stats(c))
            .or(w.flows[i].last_stats);
        let f = &w.flows[i];
        let stop = f
            .completed_at
            .or(spec.stop.map(|d| d.0.min(end)))
            .unwrap_or(end);
        let active = f.connected_at.map_or(0, |c| stop.saturating_sub(c));
        let goodput = if active > 0 {
            f.bytes_recv as f64 * 8.0 / (active as f64 / 1e9)
        } else {
            0.0
        };
        let bottleneck = bottleneck(w, i);
        let full = match (spec.transfer, spec.send_for) {
            (Some(t), _) => f.bytes_recv == t.0,
            (None, Some(_)) => f.bytes_recv == f.bytes_sent,
            _ => true,
        };
        let messages = spec.messages.as_ref().map(|_| MessageSummary {
            sent: f.msgs_sent,
            received: f.msgs_recv,
            out_of_order: f.msgs_out_of_order,
            mean_latency_ms: if f.msgs_recv > 0 {
                f.latency_sum as f64 / f.msgs_recv as f64 / 1e6
            } else {
                0.0
            },
            max_latency_ms: f.latency_max as f64 / 1e6,
        });
        let st = st.unwrap_or_default();
        flows.push(FlowSummary {
            name: spec.name.clone(),
            connected: f.connected_at.is_some(),
            connect_time_s: f.connected_at.map(secs),
            failed: f.failed.as_ref().map(|(t, e)| (secs(*t), e.clone())),
            broken: f.broken.as_ref().map(|(_, e)| e.clone()),
            bytes_sent: f.bytes_sent,
            bytes_received: f.bytes_recv,
            byte_exact: !f.corrupted && full,
            corrupted: f.corrupted,
            completion_time_s: f.completed_at.map(secs),
            mean_goodput_mbps: goodput / 1e6,
            bottleneck_mbps: bottleneck.map(|b| b as f64 / 1e6),
            utilisation: bottleneck.map(|b| goodput / b as f64),
            packets_sent: st.pkt_sent_total,
            retransmissions: st.pkt_retrans_total,
            sender_losses: st.pkt_snd_loss_total,
            receiver_losses: st.pkt_rcv_loss_total,
            rtt_ms: st.rtt_us / 1000.0,
            messages,
        });
    }
    let moved: Vec<f64> = flows
        .iter()
        .filter(|f| f.bytes_received > 0)
        .map(|f| f.mean_goodput_mbps)
        .collect();
    let links = w
        .net
        .links
        .iter()
        .flat_map(|l| {
            [(0, '>'), (1, '<')].map(|(d, a)| LinkSummary {
                link: format!("{}{a}", l.name),
                counters: *l.dirs[d].counters(),
            })
        })
        .collect();
    let nats = w
        .net
        .nodes
        .iter()
        .filter_map(|n| match &n.kind {
            NodeKind::Nat { nat, .. } => Some((n.name.clone(), *nat.counters())),
            _ => None,
        })
        .collect();
    Summary {
        scenario: w.scenario.name.clone(),
        seed: w.seed,
        simulated_s: end as f64 / 1e9,
        datagrams: w.datagrams_sent,
        events: w.events_processed,
        flows,
        jain_fairness: if moved.len() > 1 { jain(&moved) } else { None },
        fairness_phases: fairness_phases(w),
        links,
        nats,
        nodes: w.net.counters,
    }
}

fn bottleneck(w: &World, flow: usize) -> Option<u64> {
    let f = &w.flows[flow];
    let (se, re) = (&w.endpoints[f.sender_ep], &w.endpoints[f.receiver_ep]);
    let IpAddr::V4(final_ip) = re.addr.ip() else {
        return None;
    };
    let dst = w.net.public_ip(re.node).unwrap_or(final_ip);
    w.net
        .path(se.node, dst, final_ip)
        .iter()
        .filter_map(|&(l, d)| w.net.links[l].dirs[d].params().rate)
        .min()
}
