//! Per-connection statistics, the equivalent of UDT4's perfmon (`udt-protocol.md`
//! §7.4): running totals plus the instantaneous control state.

/// A snapshot of one connection's counters and control state.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stats {
    /// Data packets sent, retransmissions included.
    pub pkt_sent_total: u64,
    /// Data packets received, duplicates included.
    pub pkt_recv_total: u64,
    /// Packets the sender learnt were lost (NAKed or timed out).
    pub pkt_snd_loss_total: u64,
    /// Packets the receiver found missing (sequence gaps).
    pub pkt_rcv_loss_total: u64,
    /// Data packets retransmitted.
    pub pkt_retrans_total: u64,
    /// Full ACKs sent.
    pub pkt_sent_ack_total: u64,
    /// Full ACKs received that acknowledged new data.
    pub pkt_recv_ack_total: u64,
    /// NAKs sent.
    pub pkt_sent_nak_total: u64,
    /// NAKs received.
    pub pkt_recv_nak_total: u64,
    /// Payload bytes sent, retransmissions included.
    pub bytes_sent_total: u64,
    /// Payload bytes received and stored (duplicates excluded).
    pub bytes_recv_total: u64,
    /// Payload bytes handed to the application.
    pub bytes_delivered_total: u64,
    /// Payload bytes the peer acknowledged.
    pub bytes_acked_total: u64,
    /// Messages the sender gave up on (TTL).
    pub msg_dropped_total: u64,
    /// Current packet-sending period, µs.
    pub send_period_us: f64,
    /// Current flow window, packets.
    pub flow_window: u32,
    /// Current congestion window, packets.
    pub cwnd: f64,
    /// Packets in flight (largest sent − last ACK + 1).
    pub flight_size: u32,
    /// Smoothed RTT, µs.
    pub rtt_us: u32,
    /// RTT variance, µs.
    pub rtt_var_us: u32,
    /// Estimated link capacity, packets/s.
    pub bandwidth_pps: u32,
    /// Receive rate the peer reports, packets/s.
    pub recv_rate_pps: u32,
    /// Bytes waiting in the send buffer (unsent or unacknowledged).
    pub send_buffer_bytes: u64,
    /// Free receive buffer, packets.
    pub recv_buffer_free: u32,
}
