//! The seam between the simulator and the protocol: what the simulator needs from one UDT
//! endpoint (one UDP port). The real implementation is `udt::Endpoint` (see `host.rs`); the
//! simulator never implements the protocol itself.
//!
//! Driving rule (the sans-IO contract of `udt::Endpoint`): after every input —
//! `handle_datagram`, `handle_timeout` or an application call — drain `poll_transmit` until
//! `None` and `poll_event` until `None`, then wake the endpoint at `poll_timeout()`.
//!
//! Times here are simulator nanoseconds; adapters convert to the protocol's own clock.

use crate::scenario::{Mode, OptionsSpec};
use std::net::SocketAddr;

/// A connection on one endpoint.
pub type Conn = u64;

/// What happened on a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnEvent {
    /// A connect or rendezvous completed.
    Connected,
    /// A listener accepted this new connection.
    Accepted,
    /// Data can be read.
    Readable,
    /// The send buffer has room.
    Writable,
    /// The connect attempt failed.
    ConnectFailed(String),
    /// The connection broke.
    Broken(String),
    /// The connection is closed.
    Closed,
}

/// Statistics of one connection (the UDT perfmon counters the metrics need).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct ConnStats {
    /// Data packets sent, retransmissions included.
    pub pkt_sent_total: u64,
    /// Data packets retransmitted.
    pub pkt_retrans_total: u64,
    /// Losses detected by the sender (NAK'd).
    pub pkt_snd_loss_total: u64,
    /// Losses detected by the receiver.
    pub pkt_rcv_loss_total: u64,
    /// Payload bytes sent.
    pub bytes_sent_total: u64,
    /// Payload bytes received.
    pub bytes_recv_total: u64,
    /// Smoothed RTT, µs.
    pub rtt_us: f64,
    /// Congestion window, packets.
    pub cwnd: f64,
    /// Flow window, packets.
    pub flow_window: f64,
    /// Inter-packet sending period, µs.
    pub send_period_us: f64,
}

/// Socket options for one side of a flow.
#[derive(Clone, Debug, Default)]
pub struct ConnOptions {
    /// Stream or message.
    pub mode: Mode,
    /// Options from the scenario.
    pub options: OptionsSpec,
    /// Congestion control by name.
    pub cc: Option<String>,
}

/// One endpoint (one UDP port) as the simulator drives it.
pub trait Transport {
    /// Starts listening.
    fn listen(&mut self, now: u64, opts: &ConnOptions) -> Result<(), String>;
    /// Starts a client connect.
    fn connect(&mut self, now: u64, remote: SocketAddr, opts: &ConnOptions)
        -> Result<Conn, String>;
    /// Starts a rendezvous connect.
    fn rendezvous(
        &mut self,
        now: u64,
        remote: SocketAddr,
        opts: &ConnOptions,
    ) -> Result<Conn, String>;
    /// A datagram arrived.
    fn handle_datagram(&mut self, now: u64, from: SocketAddr, bytes: &[u8]);
    /// The wake-up time came.
    fn handle_timeout(&mut self, now: u64);
    /// When to wake the endpoint next.
    fn poll_timeout(&mut self) -> Option<u64>;
    /// The next datagram to send, written into `buf` (≥ 1500 bytes).
    fn poll_transmit(&mut self, now: u64, buf: &mut [u8]) -> Option<(SocketAddr, usize)>;
    /// The next application event.
    fn poll_event(&mut self) -> Option<(Conn, ConnEvent)>;
    /// A connection the listener accepted, if any.
    fn accept(&mut self) -> Option<Conn>;
    /// Stream send; may take fewer bytes than offered.
    fn send(&mut self, now: u64, c: Conn, data: &[u8]) -> Result<usize, String>;
    /// Stream send of data that lives for the whole run: a transport may keep it
    /// without copying (the bulk workloads' pattern). The same as `send` otherwise.
    fn send_static(&mut self, now: u64, c: Conn, data: &'static [u8]) -> Result<usize, String> {
        self.send(now, c, data)
    }
    /// Stream receive; `Ok(0)` when nothing is readable now.
    fn recv(&mut self, c: Conn, buf: &mut [u8]) -> Result<usize, String>;
    /// Message send with optional TTL (ns).
    fn send_msg(
        &mut self,
        now: u64,
        c: Conn,
        data: &[u8],
        ttl: Option<u64>,
        in_order: bool,
    ) -> Result<(), String>;
    /// Message receive.
    fn recv_msg(&mut self, c: Conn) -> Result<Option<Vec<u8>>, String>;
    /// Closes a connection.
    fn close(&mut self, now: u64, c: Conn);
    /// Current statistics.
    fn stats(&mut self, c: Conn) -> Option<ConnStats>;
}

/// Makes the endpoint bound at `local`, seeded with `seed`, at time `now`.
pub type TransportFactory = dyn Fn(SocketAddr, u64, u64) -> Box<dyn Transport>;
