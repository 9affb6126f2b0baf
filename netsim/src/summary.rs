//! What only the simulator's bookkeeping knows of a run: datagram and event counts, link, NAT
//! and node counters, the message workloads and the fairness phases.
//!
//! Everything about a flow that any driver can tell (bytes, connect and completion times,
//! losses) is in the run's [`reports::RunData`] ([`crate::output::run_data`]), and what is
//! computed from it (goodput over the active window, utilisation, Jain's index) is the
//! `reports` crate's: the numbers summary.json shows are the ones expectations judge.

use crate::link::LinkCounters;
use crate::nat::NatCounters;
use crate::net::{NetCounters, NodeKind};
use crate::world::World;
use reports::stats::jain;

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

/// One link direction's counters.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LinkSummary {
    /// `name>` or `name<`.
    pub link: String,
    /// Counters.
    pub counters: LinkCounters,
}

/// The simulator's own account of a run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Summary {
    /// Simulated seconds.
    pub simulated_s: f64,
    /// Datagrams sent by endpoints.
    pub datagrams: u64,
    /// Events processed.
    pub events: u64,
    /// Message workload results of the flows that have one, by flow name, in flow order.
    pub messages: Vec<(String, MessageSummary)>,
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
            (from, f.active_until(end).clamp(from, end))
        })
        .collect();
    let mut cuts: Vec<u64> = active
        .iter()
        .flat_map(|&(a, b)| [a, b])
        .chain([0, end])
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    // Looked up per phase by time: a thousand staggered flows make a thousand phases.
    let by_flow = w.metrics.flows_by_name();
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
                let xs = by_flow.get(w.flows[i].spec().name.as_str());
                let xs = xs.map_or(&[][..], |xs| {
                    let from = xs.partition_point(|s| s.t_ns <= settled);
                    let to = xs.partition_point(|s| s.t_ns <= b);
                    &xs[from..to]
                });
                xs.iter().map(|s| s.goodput_bps).sum::<f64>() / xs.len().max(1) as f64
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

/// The simulator's account of a finished world.
pub fn summarise(w: &World) -> Summary {
    let messages = w
        .flows
        .iter()
        .filter(|f| f.spec().messages.is_some())
        .map(|f| {
            let m = MessageSummary {
                sent: f.msgs_sent,
                received: f.msgs_recv,
                out_of_order: f.msgs_out_of_order,
                mean_latency_ms: if f.msgs_recv > 0 {
                    f.latency_sum as f64 / f.msgs_recv as f64 / 1e6
                } else {
                    0.0
                },
                max_latency_ms: f.latency_max as f64 / 1e6,
            };
            (f.spec().name.clone(), m)
        })
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
        simulated_s: w.now as f64 / 1e9,
        datagrams: w.datagrams_sent,
        events: w.events_processed,
        messages,
        fairness_phases: fairness_phases(w),
        links,
        nats,
        nodes: w.net.counters,
    }
}

impl Summary {
    /// The message workload results of flow `name`, if it has one.
    pub fn messages_of(&self, name: &str) -> Option<&MessageSummary> {
        self.messages.iter().find(|m| m.0 == name).map(|m| &m.1)
    }
}
