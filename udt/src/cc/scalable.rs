//! Scalable TCP (`scalable`).
//!
//! Source: T. Kelly, "Scalable TCP: Improving Performance in Highspeed Wide Area
//! Networks", ACM SIGCOMM CCR 33(2), 2003. Above the legacy window (16 packets) the
//! window grows by a = 0.01 packets per packet acknowledged and falls by b = 1/8 on a
//! congestion event, so the time to recover from a loss is independent of the
//! window; below it the algorithm is Reno. (UDT4's `CScalableTCP` example used a
//! legacy window of 38.)

use super::window::{LossBased, WindowRule};
use super::CcContext;

/// Kelly's legacy window `lwnd`, packets.
const LEGACY_WINDOW: f64 = 16.0;
/// Increase per packet acknowledged.
const A: f64 = 0.01;
/// Fraction of the window given up on a congestion event.
const B: f64 = 0.125;

/// Scalable TCP's window rule.
#[derive(Clone, Copy, Debug, Default)]
pub struct ScalableRule;

impl WindowRule for ScalableRule {
    fn increase(&mut self, _ctx: &CcContext, cwnd: f64, acked: f64) -> f64 {
        if cwnd <= LEGACY_WINDOW {
            cwnd + acked / cwnd
        } else {
            cwnd + A * acked
        }
    }

    fn on_congestion(&mut self, _ctx: &CcContext, cwnd: f64) -> f64 {
        if cwnd <= LEGACY_WINDOW {
            cwnd / 2.0
        } else {
            cwnd * (1.0 - B)
        }
    }
}

/// Scalable TCP.
pub type Scalable = LossBased<ScalableRule>;

#[cfg(test)]
mod tests {
    use super::super::harness::Harness;
    use super::*;
    use crate::time::Duration;

    fn at(cwnd: f64) -> Harness<Scalable> {
        let mut h = Harness::new(Scalable::default());
        while h.ctl.cwnd < cwnd {
            h.ack_round(4);
        }
        h
    }

    #[test]
    fn large_windows_fall_by_an_eighth_and_grow_by_a_hundredth_per_packet() {
        let mut h = at(1024.0);
        assert_eq!(h.ctl.cwnd, 1024.0);
        h.nak_newest();
        assert_eq!(h.ctl.cwnd, 896.0);
        h.nak_newest();
        assert_eq!(h.ctl.cwnd, 896.0, "once per window");
        h.ack_after(Duration::from_millis(100), 1024);
        assert_eq!(h.ctl.cwnd, 896.0, "held through recovery");
        h.ack_after(Duration::from_millis(100), 500);
        assert!((h.ctl.cwnd - 901.0).abs() < 1e-9);
    }

    #[test]
    fn small_windows_behave_like_reno() {
        let mut h = at(16.0);
        assert_eq!(h.ctl.cwnd, 16.0);
        h.nak_newest();
        assert_eq!(h.ctl.cwnd, 8.0);
        h.ack_after(Duration::from_millis(100), 16);
        h.ack_after(Duration::from_millis(10), 8);
        assert_eq!(h.ctl.cwnd, 9.0);
    }

    #[test]
    fn timeout_goes_back_to_two() {
        let mut h = at(1024.0);
        h.timeout();
        assert_eq!(h.ctl.cwnd, 2.0);
        assert_eq!(h.cc.ssthresh(), 896.0);
    }
}
