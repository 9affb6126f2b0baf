//! A fixed-rate sender (`fixed`, `fixed:MBPS`): UDT4's `CUDPBlast` example
//! (`udt-protocol.md` §6.4).
//!
//! Source: the UDT 4 distribution, `app/cc.h`, class `CUDPBlast`: a window large
//! enough never to limit (83 333 packets) and a packet-sending period of
//! MSS · 8 / rate µs, whatever the network says. The rate is in Mbit/s on the wire
//! (the MSS includes the IP and UDP headers); the default is 100 Mbit/s. Useful as
//! background load or to measure a link; unfair to everything else by design.

use super::{CcContext, CcControl, CongestionControl};

/// The default rate, Mbit/s.
pub const DEFAULT_MBPS: f64 = 100.0;
/// `CUDPBlast`'s window.
const WINDOW: f64 = 83_333.0;

/// A constant-rate sender.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fixed {
    mbps: f64,
}

impl Default for Fixed {
    fn default() -> Self {
        Fixed { mbps: DEFAULT_MBPS }
    }
}

impl Fixed {
    /// A sender at `mbps` Mbit/s; `None` unless the rate is positive and finite.
    pub fn new(mbps: f64) -> Option<Self> {
        (mbps.is_finite() && mbps > 0.0).then_some(Fixed { mbps })
    }

    /// The rate, Mbit/s.
    pub fn mbps(&self) -> f64 {
        self.mbps
    }
}

impl CongestionControl for Fixed {
    fn init(&mut self, ctx: &CcContext, ctl: &mut CcControl) {
        ctl.cwnd = WINDOW;
        ctl.pkt_snd_period_us = f64::from(ctx.mss) * 8.0 / self.mbps;
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::Harness;
    use super::*;
    use crate::time::Duration;

    #[test]
    fn keeps_its_period_through_ack_loss_and_timeout() {
        let mut h = Harness::new(Fixed::default());
        // 1500 B · 8 / 100 Mbit/s = 120 µs.
        assert_eq!(h.ctl.pkt_snd_period_us, 120.0);
        let before = h.ctl;
        h.ack_after(Duration::from_millis(10), 100);
        h.nak_newest();
        h.timeout();
        assert_eq!(h.ctl, before);
    }

    #[test]
    fn takes_its_rate_from_the_name() {
        let mut h = Harness::new(crate::cc::by_name("fixed:250").unwrap());
        assert_eq!(h.ctl.pkt_snd_period_us, 48.0);
        h.timeout();
        assert_eq!(h.ctl.pkt_snd_period_us, 48.0);
        assert!(crate::cc::by_name("fixed:0").is_none());
        assert!(crate::cc::by_name("fixed:fast").is_none());
        assert_eq!(Fixed::new(-1.0), None);
    }
}
