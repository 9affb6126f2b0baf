//! Congestion control: a trait mirroring UDT4's CCC callbacks
//! (`udt-protocol.md` §6.2) and the algorithms behind it.
//!
//! A congestion control steers a connection through [`CcControl`]: the
//! packet-sending period (rate control), the congestion window (window control),
//! and optionally the ACK period, an ACK every N packets, and a fixed RTO. The
//! connection re-reads these after every callback.

use crate::packet::LossList;
use crate::seq::SeqNumber;
use crate::time::{Duration, Instant};

mod native;

pub use native::UdtNative;

/// What the connection tells a congestion control (UDT4 keeps these fields
/// updated for the CCC).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CcContext {
    /// The current time.
    pub now: Instant,
    /// Negotiated MSS, bytes.
    pub mss: u32,
    /// Largest window the peer allows (its handshake flow window), packets.
    pub max_cwnd: f64,
    /// Largest sequence number sent so far.
    pub snd_curr_seq: SeqNumber,
    /// Sender-side smoothed RTT, µs.
    pub rtt_us: u32,
    /// Smoothed packet arrival rate the receiver reports, packets/s.
    pub rcv_rate: u32,
    /// Smoothed link capacity the receiver estimates, packets/s.
    pub bandwidth: u32,
}

/// What a congestion control sets.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CcControl {
    /// Time between two data packets, µs (UDT4 `m_dPktSndPeriod`).
    pub pkt_snd_period_us: f64,
    /// Congestion window, packets (UDT4 `m_dCWndSize`).
    pub cwnd: f64,
    /// Full-ACK period; capped at SYN. `None` means SYN.
    pub ack_period: Option<Duration>,
    /// Also send a full ACK every this many packets (0 = off).
    pub ack_interval: u32,
    /// Fixed retransmission timeout replacing the EXP formula.
    pub rto: Option<Duration>,
}

impl Default for CcControl {
    fn default() -> Self {
        CcControl {
            pkt_snd_period_us: 1.0,
            cwnd: 16.0,
            ack_period: None,
            ack_interval: 0,
            rto: None,
        }
    }
}

/// The CCC callbacks. All but `init` default to doing nothing.
pub trait CongestionControl: Send + core::fmt::Debug {
    /// The connection is established.
    fn init(&mut self, ctx: &CcContext, ctl: &mut CcControl);
    /// A full ACK acknowledged new data up to (not including) `ack`.
    fn on_ack(&mut self, _ctx: &CcContext, _ctl: &mut CcControl, _ack: SeqNumber) {}
    /// A NAK arrived (before it is applied), with its loss list.
    fn on_loss(&mut self, _ctx: &CcContext, _ctl: &mut CcControl, _losses: LossList<'_>) {}
    /// The EXP timer expired with unacknowledged data.
    fn on_timeout(&mut self, _ctx: &CcContext, _ctl: &mut CcControl) {}
    /// A data packet (new or retransmitted) was sent.
    fn on_pkt_sent(&mut self, _ctx: &CcContext, _ctl: &mut CcControl, _seq: SeqNumber) {}
    /// A data packet arrived.
    fn on_pkt_received(&mut self, _ctx: &CcContext, _ctl: &mut CcControl, _seq: SeqNumber) {}
    /// A user-defined (type 0x7FFF) control packet arrived.
    fn on_custom_msg(
        &mut self,
        _ctx: &CcContext,
        _ctl: &mut CcControl,
        _subtype: u16,
        _body: &[u8],
    ) {
    }
}

/// The congestion controls a connection can select by name.
pub const NAMES: &[&str] = &["udt"];

/// A new instance of the congestion control called `name`.
pub fn by_name(name: &str) -> Option<Box<dyn CongestionControl>> {
    match name {
        "udt" | "native" => Some(Box::new(UdtNative::default())),
        _ => None,
    }
}
