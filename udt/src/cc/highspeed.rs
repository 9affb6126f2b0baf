//! HighSpeed TCP (`highspeed`).
//!
//! Source: S. Floyd, RFC 3649, "HighSpeed TCP for Large Congestion Windows", 2003.
//! Above Low_Window = 38 packets the increase a(w) and decrease b(w) depend on the
//! window so that the response function reaches w = 83 000 packets at a loss rate of
//! 10⁻⁷ (RFC 3649 §5): b(w) falls linearly in log w from 0.5 to High_Decrease = 0.1,
//! p(w) is interpolated in log-log space between Low_P = 1.5 / Low_Window² and
//! High_P = 10⁻⁷, and a(w) = w² · p(w) · 2 · b(w) / (2 − b(w)). Per packet
//! acknowledged the window grows by a(w)/w; a congestion event multiplies it by
//! 1 − b(w). At or below Low_Window it is Reno.

use super::window::{LossBased, WindowRule};
use super::CcContext;

const LOW_WINDOW: f64 = 38.0;
const HIGH_WINDOW: f64 = 83_000.0;
const HIGH_P: f64 = 1e-7;
const HIGH_DECREASE: f64 = 0.1;

/// Where `w` lies between Low_Window and High_Window on a log scale (0..1 and beyond).
fn log_position(w: f64) -> f64 {
    (w.ln() - LOW_WINDOW.ln()) / (HIGH_WINDOW.ln() - LOW_WINDOW.ln())
}

/// The decrease factor b(w) (RFC 3649 §5).
pub(crate) fn b(w: f64) -> f64 {
    if w <= LOW_WINDOW {
        0.5
    } else {
        (HIGH_DECREASE - 0.5) * log_position(w) + 0.5
    }
}

/// The increase a(w), packets per window of ACKs (RFC 3649 §5).
pub(crate) fn a(w: f64) -> f64 {
    if w <= LOW_WINDOW {
        return 1.0;
    }
    let low_p = 1.5 / (LOW_WINDOW * LOW_WINDOW);
    let p = (log_position(w) * (HIGH_P.ln() - low_p.ln()) + low_p.ln()).exp();
    let b = b(w);
    w * w * p * 2.0 * b / (2.0 - b)
}

/// HighSpeed TCP's window rule.
#[derive(Clone, Copy, Debug, Default)]
pub struct HighSpeedRule;

impl WindowRule for HighSpeedRule {
    fn increase(&mut self, _ctx: &CcContext, cwnd: f64, acked: f64) -> f64 {
        cwnd + a(cwnd) * acked / cwnd
    }

    fn on_congestion(&mut self, _ctx: &CcContext, cwnd: f64) -> f64 {
        cwnd * (1.0 - b(cwnd))
    }
}

/// HighSpeed TCP.
pub type HighSpeed = LossBased<HighSpeedRule>;

#[cfg(test)]
mod tests {
    use super::super::harness::Harness;
    use super::*;
    use crate::time::Duration;

    #[test]
    fn parameters_match_the_rfc_table() {
        // RFC 3649 Appendix B: (w, a(w), b(w)) rounded as printed there.
        for (w, a_w, b_w) in [
            (38.0, 1.0, 0.50),
            (118.0, 2.0, 0.44),
            (1058.0, 8.0, 0.33),
            (221.0, 3.0, 0.41),
            (83_000.0, 72.0, 0.10),
        ] {
            assert!((a(w) - a_w).abs() < 0.6, "a({w}) = {}", a(w));
            assert!((b(w) - b_w).abs() < 0.006, "b({w}) = {}", b(w));
        }
    }

    #[test]
    fn responds_to_ack_and_loss_with_a_and_b_of_the_window() {
        let mut h = Harness::new(HighSpeed::default());
        while h.ctl.cwnd < 1024.0 {
            h.ack_round(4);
        }
        let w = h.ctl.cwnd;
        h.nak_newest();
        let after = w * (1.0 - b(w));
        assert!((h.ctl.cwnd - after).abs() < 1e-9);
        h.ack_after(Duration::from_millis(100), w as u32);
        // One window of ACKs in avoidance: about a(w) packets more.
        let start = h.ctl.cwnd;
        for _ in 0..(start as u32) {
            h.ack_after(Duration::from_micros(100), 1);
        }
        let grown = h.ctl.cwnd - start;
        assert!(
            (grown - a(start)).abs() < 0.1 * a(start),
            "{grown} vs {}",
            a(start)
        );
        h.timeout();
        assert_eq!(h.ctl.cwnd, 2.0);
    }
}
