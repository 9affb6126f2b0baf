//! BIC-TCP (`bic`).
//!
//! Source: L. Xu, K. Harfoush, I. Rhee, "Binary Increase Congestion Control (BIC) for
//! Fast Long-Distance Networks", IEEE INFOCOM 2004. After a loss the window searches
//! for the last maximum W_max by bisection: per RTT it moves halfway to W_max, by at
//! most S_max = 32 and at least S_min = 0.01 packets. Past W_max it probes for a new
//! maximum symmetrically, its step doubling per RTT from S_min up to S_max. A loss
//! multiplies the window by 1 − β (β = 0.125) and sets W_max; with fast convergence a
//! loss below the previous maximum lowers W_max further to cwnd · (2 − β) / 2. Below
//! the low window (14 packets) it is Reno.

use super::window::{LossBased, WindowRule};
use super::CcContext;

const LOW_WINDOW: f64 = 14.0;
const S_MAX: f64 = 32.0;
const S_MIN: f64 = 0.01;
const BETA: f64 = 0.125;

/// BIC's window rule.
#[derive(Clone, Copy, Debug, Default)]
pub struct BicRule {
    /// The window at the last loss (0 before any).
    w_max: f64,
}

impl BicRule {
    /// The increase per RTT at window `cwnd`.
    fn step(&self, cwnd: f64) -> f64 {
        let distance = if cwnd < self.w_max {
            // Binary search: the midpoint between cwnd and W_max.
            (self.w_max - cwnd) / 2.0
        } else {
            // Max probing: as far past W_max as cwnd already is.
            cwnd - self.w_max
        };
        distance.clamp(S_MIN, S_MAX)
    }
}

impl WindowRule for BicRule {
    fn increase(&mut self, _ctx: &CcContext, cwnd: f64, acked: f64) -> f64 {
        if cwnd < LOW_WINDOW {
            return cwnd + acked / cwnd;
        }
        cwnd + self.step(cwnd) * acked / cwnd
    }

    fn on_congestion(&mut self, _ctx: &CcContext, cwnd: f64) -> f64 {
        if cwnd < LOW_WINDOW {
            self.w_max = cwnd;
            return cwnd / 2.0;
        }
        self.w_max = if cwnd < self.w_max {
            cwnd * (2.0 - BETA) / 2.0
        } else {
            cwnd
        };
        cwnd * (1.0 - BETA)
    }
}

/// BIC-TCP.
pub type Bic = LossBased<BicRule>;

#[cfg(test)]
mod tests {
    use super::super::harness::Harness;
    use super::*;
    use crate::time::Duration;

    /// Slow start to 1024, a loss, and recovery.
    fn after_loss() -> Harness<Bic> {
        let mut h = Harness::new(Bic::default());
        while h.ctl.cwnd < 1024.0 {
            h.ack_round(4);
        }
        h.nak_newest();
        h.ack_after(Duration::from_millis(100), 1024);
        h
    }

    #[test]
    fn loss_keeps_seven_eighths_and_remembers_the_maximum() {
        let h = after_loss();
        assert_eq!(h.ctl.cwnd, 896.0);
        assert_eq!(h.cc.rule().w_max, 1024.0);
    }

    #[test]
    fn bisects_towards_the_maximum_then_probes_past_it() {
        let mut h = after_loss();
        let mut seen = vec![h.ctl.cwnd];
        for _ in 0..12 {
            h.ack_round(200);
            seen.push(h.ctl.cwnd);
        }
        let steps: Vec<f64> = seen.windows(2).map(|w| w[1] - w[0]).collect();
        // Far from W_max: S_max per RTT (the step is applied per ACK, so a round
        // adds slightly less as the window grows within it).
        assert!((steps[0] - 32.0).abs() < 1.0, "{steps:?}");
        // Close to it: halving steps, always positive.
        assert!(steps.iter().all(|&s| s > 0.0), "{steps:?}");
        let near = seen.iter().position(|&w| w > 1000.0).unwrap();
        assert!(steps[near] < steps[near - 1] / 1.5, "{steps:?}");
        assert!(seen.iter().all(|&w| w < 1024.0 + 33.0), "{seen:?}");
        // Past W_max the steps grow again (max probing).
        for _ in 0..20 {
            h.ack_round(200);
            seen.push(h.ctl.cwnd);
        }
        let last = seen.len() - 1;
        assert!(seen[last] - seen[last - 1] > 20.0, "{seen:?}");
    }

    #[test]
    fn fast_convergence_lowers_the_maximum_after_a_loss_below_it() {
        let mut h = after_loss();
        h.ack_round(200);
        let w = h.ctl.cwnd;
        assert!(w < 1024.0);
        h.nak_newest();
        assert!((h.cc.rule().w_max - w * (2.0 - BETA) / 2.0).abs() < 1e-9);
        assert!((h.ctl.cwnd - w * 0.875).abs() < 1e-9);
        h.timeout();
        assert_eq!(h.ctl.cwnd, 2.0);
    }
}
