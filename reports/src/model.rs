//! The data a run hands to the reports: metadata, per-flow totals and time series, per-link
//! queue series, expectation results and backend-specific details.
//!
//! The model knows nothing of the simulator: `netsim` (or a real-UDP driver) converts its own
//! records into these types. Every time is in seconds since the start of the run, every rate
//! in Mbit/s, so that the files written from it read the same whichever backend produced them.

use serde::{Deserialize, Serialize};

/// Who produced the run and from what.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    /// Scenario name.
    pub scenario: String,
    /// Seed of the run.
    pub seed: u64,
    /// Version of the project that produced the run.
    pub project_version: String,
    /// MD5 of the scenario text (hex).
    pub scenario_digest: String,
    /// The command line that produced the run.
    pub command_line: String,
    /// What carried the packets, e.g. `netsim` (simulated) or `udp` (real sockets).
    pub backend: String,
    /// Length of the run, seconds (simulated or wall, depending on the backend).
    pub duration_s: f64,
    /// Sampling interval of the time series, seconds.
    pub interval_s: f64,
}

/// One sample of one flow, covering the interval that ends at `t_s`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowPoint {
    /// End of the interval, seconds.
    pub t_s: f64,
    /// Application bytes read by the receiver during the interval, as Mbit/s.
    pub goodput_mbps: f64,
    /// Payload sent during the interval (retransmissions included), as Mbit/s.
    pub send_rate_mbps: f64,
    /// Packet-sending period at the end of the interval, µs.
    pub send_period_us: f64,
    /// Congestion window, packets.
    pub cwnd_pkts: f64,
    /// Flow window, packets.
    pub flow_window_pkts: f64,
    /// Smoothed round-trip time, ms.
    pub rtt_ms: f64,
    /// Retransmitted packets during the interval.
    pub retrans_pkts: u64,
    /// Losses the sender learnt of (NAKs) during the interval.
    pub snd_loss_pkts: u64,
    /// Losses the receiver detected during the interval.
    pub rcv_loss_pkts: u64,
    /// Bytes read by the receiver so far.
    pub bytes_recv: u64,
}

/// A flow's end-of-run counters as the backend saw them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowTotals {
    /// The handshake completed.
    pub connected: bool,
    /// Seconds from the flow's start to connected.
    pub connect_time_s: Option<f64>,
    /// Seconds from the flow's start to the receiver having everything.
    pub completion_time_s: Option<f64>,
    /// Why the flow failed or broke, if it did.
    pub error: Option<String>,
    /// Bytes handed to the sender.
    pub bytes_sent: u64,
    /// Bytes read by the receiver.
    pub bytes_received: u64,
    /// Every byte arrived unaltered and in order.
    pub byte_exact: bool,
    /// Something arrived differing from what was sent (as opposed to not all of it
    /// having arrived by the end).
    #[serde(default)]
    pub corrupted: bool,
    /// Data packets sent, retransmissions included.
    pub packets_sent: u64,
    /// Retransmitted packets.
    pub retransmissions: u64,
    /// Losses the sender learnt of.
    pub sender_losses: u64,
    /// Losses the receiver detected.
    pub receiver_losses: u64,
    /// Slowest link rate on the data path, Mbit/s.
    pub bottleneck_mbps: Option<f64>,
    /// When the connect failed (seconds from the flow's start) and why, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_failure: Option<(f64, String)>,
    /// The sender's smoothed RTT at the end, ms (0 when it never measured one).
    #[serde(default)]
    pub final_rtt_ms: f64,
}

/// One flow: its active window, its totals and its series.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowData {
    /// Name.
    pub name: String,
    /// Congestion control, if known.
    pub cc: Option<String>,
    /// When data could start to move (connected), seconds since the run began.
    pub active_from_s: Option<f64>,
    /// When the flow completed, stopped, or the run ended, seconds since the run began.
    pub active_until_s: f64,
    /// End-of-run counters.
    pub totals: FlowTotals,
    /// Samples in time order.
    pub samples: Vec<FlowPoint>,
}

/// One sample of one link direction's queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QueuePoint {
    /// Sample time, seconds.
    pub t_s: f64,
    /// Packets queued.
    pub packets: u64,
    /// Bytes queued.
    pub bytes: u64,
    /// Packets dropped by the full queue so far.
    pub dropped_queue: u64,
    /// Packets dropped by the loss model so far.
    pub dropped_loss: u64,
}

/// One link direction's queue series.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LinkData {
    /// Name of the direction, e.g. `wan>` (forward) or `wan<` (reverse).
    pub link: String,
    /// Rate, Mbit/s.
    pub rate_mbps: Option<f64>,
    /// It is the slowest link on some flow's data path: its queue gets a plot.
    pub bottleneck: bool,
    /// Samples in time order.
    pub samples: Vec<QueuePoint>,
}

/// The outcome of one expectation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// What was checked.
    pub what: String,
    /// Whether it held.
    pub passed: bool,
    /// What was observed.
    pub observed: String,
}

/// Everything the reports need about one run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunData {
    /// Metadata.
    pub meta: RunMeta,
    /// Flows.
    pub flows: Vec<FlowData>,
    /// Rate-limited link directions.
    pub links: Vec<LinkData>,
    /// Expectation results.
    pub checks: Vec<Check>,
    /// Backend-specific details copied into summary.json as they are (counters and the like).
    pub details: serde_json::Value,
}
