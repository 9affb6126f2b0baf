//! Time series sampled at a fixed interval: per flow (goodput, send rate, retransmissions,
//! losses, RTT, cwnd, flow window, sending period) and per link direction (queue occupancy).

use crate::app::FlowState;
use crate::net::Net;
use std::collections::HashMap;
use udt::Stats;

/// One sample of one flow.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct FlowSample {
    /// Sample time, ns.
    pub t_ns: u64,
    /// Flow name.
    pub flow: String,
    /// Bytes the receiving application read during the interval, as bit/s.
    pub goodput_bps: f64,
    /// Payload bytes UDT sent during the interval (retransmissions included), as bit/s.
    pub send_rate_bps: f64,
    /// Retransmitted packets during the interval.
    pub retrans: u64,
    /// Sender-side losses (NAK'd) during the interval.
    pub snd_loss: u64,
    /// Receiver-side losses during the interval.
    pub rcv_loss: u64,
    /// Smoothed RTT, ms.
    pub rtt_ms: f64,
    /// Congestion window, packets.
    pub cwnd: f64,
    /// Flow window, packets.
    pub flow_window: f64,
    /// Packet-sending period, µs.
    pub send_period_us: f64,
    /// Bytes read so far.
    pub bytes_recv: u64,
}

/// One sample of one link direction.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct QueueSample {
    /// Sample time, ns.
    pub t_ns: u64,
    /// `link>` (forward) or `link<` (reverse).
    pub link: String,
    /// Packets queued (waiting or being serialised).
    pub packets: u64,
    /// Bytes queued.
    pub bytes: u64,
    /// Queue drops so far.
    pub dropped_queue: u64,
    /// Loss-model drops so far.
    pub dropped_loss: u64,
}

/// The recorded series.
#[derive(Default)]
pub struct Metrics {
    /// Sampling interval, ns.
    pub interval: u64,
    /// Flow samples in time order.
    pub flows: Vec<FlowSample>,
    /// Queue samples in time order.
    pub queues: Vec<QueueSample>,
    last_recv: Vec<u64>,
    last_stats: Vec<Stats>,
}

impl Metrics {
    /// Each flow's samples by flow name, in time order.
    pub fn flows_by_name(&self) -> HashMap<&str, Vec<&FlowSample>> {
        group(&self.flows, |s| &s.flow)
    }

    /// Each link direction's queue samples by its name (`link>`, `link<`), in time order.
    pub fn queues_by_link(&self) -> HashMap<&str, Vec<&QueueSample>> {
        group(&self.queues, |q| &q.link)
    }

    /// Series for `n_flows` flows at `interval` ns.
    pub fn new(interval: u64, n_flows: usize) -> Self {
        Metrics {
            interval,
            last_recv: vec![0; n_flows],
            last_stats: vec![Stats::default(); n_flows],
            ..Default::default()
        }
    }

    /// One sample at `t` of every flow and every rate-limited link direction, whichever
    /// driver runs them. `stats(i, flow)` reads flow `i`'s sender statistics now; when it has
    /// none (not connected, or closed), the flow's last ones stand.
    pub fn sample(
        &mut self,
        t: u64,
        flows: &mut [FlowState],
        net: &mut Net,
        mut stats: impl FnMut(usize, &FlowState) -> Option<Stats>,
    ) {
        for (i, f) in flows.iter_mut().enumerate() {
            let st = stats(i, f);
            if st.is_some() {
                f.last_stats = st;
            }
            self.sample_flow(t, i, &f.spec().name, f.bytes_recv, st);
        }
        self.sample_links(t, net);
    }

    /// Records the queue of every rate-limited link direction at `t`.
    fn sample_links(&mut self, t: u64, net: &mut Net) {
        for l in &mut net.links {
            for (d, arrow) in [(0, '>'), (1, '<')] {
                if l.dirs[d].params().rate.is_none() {
                    continue;
                }
                let (packets, bytes) = l.dirs[d].occupancy(t);
                let c = l.dirs[d].counters();
                self.queues.push(QueueSample {
                    t_ns: t,
                    link: format!("{}{arrow}", l.name),
                    packets,
                    bytes,
                    dropped_queue: c.dropped_queue,
                    dropped_loss: c.dropped_loss,
                });
            }
        }
    }

    /// Records flow `i` at `t`: `bytes_recv` read so far, sender statistics if connected.
    fn sample_flow(&mut self, t: u64, i: usize, name: &str, bytes_recv: u64, st: Option<Stats>) {
        let secs = self.interval as f64 / 1e9;
        let st = st.unwrap_or(self.last_stats[i]);
        let prev = self.last_stats[i];
        self.flows.push(FlowSample {
            t_ns: t,
            flow: name.to_string(),
            goodput_bps: (bytes_recv - self.last_recv[i]) as f64 * 8.0 / secs,
            send_rate_bps: st.bytes_sent_total.saturating_sub(prev.bytes_sent_total) as f64 * 8.0
                / secs,
            retrans: st.pkt_retrans_total.saturating_sub(prev.pkt_retrans_total),
            snd_loss: st
                .pkt_snd_loss_total
                .saturating_sub(prev.pkt_snd_loss_total),
            rcv_loss: st
                .pkt_rcv_loss_total
                .saturating_sub(prev.pkt_rcv_loss_total),
            rtt_ms: f64::from(st.rtt_us) / 1000.0,
            cwnd: st.cwnd,
            flow_window: f64::from(st.flow_window),
            send_period_us: st.send_period_us,
            bytes_recv,
        });
        self.last_recv[i] = bytes_recv;
        self.last_stats[i] = st;
    }
}

/// `items` grouped by a name, each group in the items' order: with a thousand flows, a scan
/// of every sample per flow (or per fairness phase) is a billion comparisons.
fn group<T>(items: &[T], name: impl Fn(&T) -> &String) -> HashMap<&str, Vec<&T>> {
    let mut groups: HashMap<&str, Vec<&T>> = HashMap::new();
    for item in items {
        groups.entry(name(item).as_str()).or_default().push(item);
    }
    groups
}
