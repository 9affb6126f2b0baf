//! Congestion control: a trait mirroring UDT4's CCC callbacks
//! (`udt-protocol.md` §6.2) and the algorithms behind it.
//!
//! A congestion control steers a connection through [`CcControl`]: the
//! packet-sending period (rate control), the congestion window (window control),
//! and optionally the ACK period, an ACK every N packets, and a fixed RTO. The
//! connection re-reads these after every callback.
//!
//! # The trait
//!
//! [`CongestionControl`] has UDT4's callbacks: `init` when the connection is
//! established, `on_ack` for each full ACK that acknowledges new data (`ack` is the
//! first sequence number not yet received), `on_loss` for each NAK (before its losses
//! are queued for retransmission), `on_timeout` when EXP fires with data unacknowledged,
//! `on_pkt_sent` / `on_pkt_received` per data packet, and `on_custom_msg`. Each gets a
//! read-only [`CcContext`] (time, MSS, the peer's flow window, the largest sequence
//! number sent, the smoothed RTT, the receiver's arrival-rate and capacity estimates)
//! and the [`CcControl`] it writes. The connection sends new data while the packets
//! in flight are fewer than min(flow window, `cwnd`), one every `pkt_snd_period_us`;
//! retransmissions ignore the window. A window-based algorithm sets the period to 0
//! and drives `cwnd`; a rate-based one sets a large window and drives the period.
//!
//! # Algorithms
//!
//! | name | algorithm | source |
//! |---|---|---|
//! | `udt` (`native`) | UDT's rate-based AIMD, [`UdtNative`] | UDT4 `CUDTCC`; Gu & Grossman, "UDT: UDP-based data transfer for high-speed wide area networks", Computer Networks 51(7), 2007 |
//! | `newreno` | TCP NewReno, [`NewReno`] (UDT4's `CTCP` example) | RFC 5681, RFC 6582 |
//! | `scalable` | Scalable TCP, [`Scalable`] | Kelly, SIGCOMM CCR 33(2), 2003 |
//! | `highspeed` | HighSpeed TCP, [`HighSpeed`] | RFC 3649 |
//! | `bic` | BIC-TCP, [`Bic`] | Xu, Harfoush, Rhee, INFOCOM 2004 |
//! | `cubic` | CUBIC, [`Cubic`] | RFC 9438 |
//! | `westwood` | TCP Westwood(+), [`Westwood`] | Mascolo et al., MobiCom 2001 |
//! | `vegas` | TCP Vegas, [`Vegas`] | Brakmo, O'Malley, Peterson, SIGCOMM 1994 / JSAC 1995 |
//! | `fast`, `fast:ALPHA` | FAST TCP, [`Fast`] (α packets queued, default 200) | Wei, Jin, Low, Hegde, IEEE/ACM ToN 14(6), 2006 |
//! | `fixed`, `fixed:MBPS` | constant rate, [`Fixed`] (UDT4's `CUDPBlast`; default 100 Mbit/s) | UDT4 `app/cc.h` |
//! | `bbr` | BBR v1, [`Bbr`] | Cardwell et al., ACM Queue 14(5), 2016 |
//!
//! The TCP variants share one skeleton, [`LossBased`] around a [`WindowRule`]: slow
//! start, a NAK of new data as the loss signal (UDT has no duplicate ACKs) with at
//! most one reduction per window of data (NewReno's recovery point), a window of 2
//! after a timeout, a full ACK every 2 packets and a 1 s RTO as UDT4's `CTCP` sets.
//! Each module's documentation gives its constants and how it maps onto UDT.
//!
//! # Choosing one
//!
//! By name, in `SocketOptions::congestion` (see
//! [`by_name`] and [`NAMES`]); both ends should use the same algorithm, since the
//! receiver's algorithm decides how often it sends ACKs. In a netsim scenario, the
//! flow's `cc` field names it:
//!
//! ```yaml
//! flows:
//!   - { name: bulk, from: client, to: "server:9000", send_for: 30s, cc: cubic }
//! ```
//!
//! An algorithm of one's own goes in
//! `SocketOptions::cc_factory` as a [`CcFactory`]
//! (see `examples/custom_cc.rs`); `SocketOptions::congestion_control` resolves the two.

use crate::packet::LossList;
use crate::seq::SeqNumber;
use crate::time::{Duration, Instant};

mod bbr;
mod bic;
mod cubic;
mod fast;
mod fixed;
#[cfg(test)]
mod harness;
mod highspeed;
mod native;
mod newreno;
mod scalable;
mod vegas;
mod westwood;
mod window;

pub use bbr::{Bbr, BbrMode};
pub use bic::{Bic, BicRule};
pub use cubic::{Cubic, CubicRule};
pub use fast::Fast;
pub use fixed::Fixed;
pub use highspeed::{HighSpeed, HighSpeedRule};
pub use native::UdtNative;
pub use newreno::{NewReno, Reno};
pub use scalable::{Scalable, ScalableRule};
pub use vegas::Vegas;
pub use westwood::{Westwood, WestwoodRule};
pub use window::{LossBased, WindowRule};

use std::sync::Arc;

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

impl<T: CongestionControl + ?Sized> CongestionControl for Box<T> {
    fn init(&mut self, ctx: &CcContext, ctl: &mut CcControl) {
        (**self).init(ctx, ctl);
    }
    fn on_ack(&mut self, ctx: &CcContext, ctl: &mut CcControl, ack: SeqNumber) {
        (**self).on_ack(ctx, ctl, ack);
    }
    fn on_loss(&mut self, ctx: &CcContext, ctl: &mut CcControl, losses: LossList<'_>) {
        (**self).on_loss(ctx, ctl, losses);
    }
    fn on_timeout(&mut self, ctx: &CcContext, ctl: &mut CcControl) {
        (**self).on_timeout(ctx, ctl);
    }
    fn on_pkt_sent(&mut self, ctx: &CcContext, ctl: &mut CcControl, seq: SeqNumber) {
        (**self).on_pkt_sent(ctx, ctl, seq);
    }
    fn on_pkt_received(&mut self, ctx: &CcContext, ctl: &mut CcControl, seq: SeqNumber) {
        (**self).on_pkt_received(ctx, ctl, seq);
    }
    fn on_custom_msg(&mut self, ctx: &CcContext, ctl: &mut CcControl, subtype: u16, body: &[u8]) {
        (**self).on_custom_msg(ctx, ctl, subtype, body);
    }
}

/// The congestion controls a connection can select by name (`native` is another
/// name for `udt`; `fixed` and `fast` also take a parameter after a colon).
pub const NAMES: &[&str] = &[
    "udt",
    "newreno",
    "scalable",
    "highspeed",
    "bic",
    "cubic",
    "westwood",
    "vegas",
    "fast",
    "fixed",
    "bbr",
];

/// A new instance of the congestion control called `name`, optionally followed by
/// `:` and a parameter: `fixed:250` is a 250 Mbit/s constant-rate sender, `fast:100`
/// FAST TCP keeping 100 packets queued. `None` for an unknown name or a bad parameter.
pub fn by_name(name: &str) -> Option<Box<dyn CongestionControl>> {
    let (name, param) = match name.split_once(':') {
        Some((name, param)) => (name, Some(param)),
        None => (name, None),
    };
    let number = |p: &str| {
        p.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x > 0.0)
    };
    Some(match (name, param) {
        ("udt" | "native", None) => Box::new(UdtNative::default()),
        ("newreno", None) => Box::new(NewReno::default()),
        ("scalable", None) => Box::new(Scalable::default()),
        ("highspeed", None) => Box::new(HighSpeed::default()),
        ("bic", None) => Box::new(Bic::default()),
        ("cubic", None) => Box::new(Cubic::default()),
        ("westwood", None) => Box::new(Westwood::default()),
        ("vegas", None) => Box::new(Vegas::default()),
        ("fast", None) => Box::new(Fast::default()),
        ("fast", Some(p)) => Box::new(Fast::new(number(p)?)),
        ("fixed", None) => Box::new(Fixed::default()),
        ("fixed", Some(p)) => Box::new(Fixed::new(number(p)?)?),
        ("bbr", None) => Box::new(Bbr::default()),
        _ => return None,
    })
}

/// A user-supplied congestion control: a function that builds a fresh instance for
/// each connection. Two factories are equal when they are the same `Arc`, so
/// `SocketOptions` stays `Clone + Debug + PartialEq`.
#[derive(Clone)]
pub struct CcFactory(Arc<dyn Fn() -> Box<dyn CongestionControl> + Send + Sync>);

impl CcFactory {
    /// Wraps `make`.
    pub fn new(make: impl Fn() -> Box<dyn CongestionControl> + Send + Sync + 'static) -> Self {
        CcFactory(Arc::new(make))
    }

    /// A new instance.
    pub fn build(&self) -> Box<dyn CongestionControl> {
        (self.0)()
    }
}

impl core::fmt::Debug for CcFactory {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("CcFactory(..)")
    }
}

impl PartialEq for CcFactory {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_name_resolves() {
        for name in NAMES {
            assert!(by_name(name).is_some(), "{name}");
        }
        for name in ["native", "fixed:250", "fixed:0.5", "fast:50"] {
            assert!(by_name(name).is_some(), "{name}");
        }
        for name in [
            "",
            "reno",
            "cubic:2",
            "fixed:",
            "fixed:-3",
            "fixed:inf",
            "udt:1",
        ] {
            assert!(by_name(name).is_none(), "{name}");
        }
    }
}
