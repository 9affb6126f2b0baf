//! CUBIC (`cubic`).
//!
//! Source: L. Xu, S. Ha, I. Rhee, V. Goel, L. Eggert, RFC 9438, "CUBIC for Fast and
//! Long-Distance Networks", 2023. After a congestion event at window W_max the window
//! follows W_cubic(t) = C·(t − K)³ + W_max (RFC 9438 §4.2, C = 0.4, t in seconds since
//! the congestion-avoidance epoch began, K = ∛((W_max − cwnd_epoch)/C)): concave up to
//! W_max, a plateau, then convex probing. Per packet acknowledged the window moves
//! (target − cwnd)/cwnd towards target = W_cubic(t + RTT), clamped to
//! [cwnd, 1.5·cwnd] (§4.4). In the Reno-friendly region (§4.3), where the Reno
//! estimate W_est (growing by α = 3(1−β)/(1+β) per window of ACKs, 1 once past
//! W_max) exceeds W_cubic(t), the window is W_est. A congestion event sets
//! ssthresh = β·cwnd with β = 0.7 (§4.6), with fast convergence (§4.7):
//! W_max = cwnd·(1+β)/2 when the window had not regained the previous W_max. Time is
//! `ctx.now`; RTT is the connection's smoothed RTT.

use super::window::{LossBased, WindowRule};
use super::CcContext;
use crate::time::Instant;

/// C, packets / s³.
pub(crate) const C: f64 = 0.4;
/// β_cubic.
pub(crate) const BETA: f64 = 0.7;

/// CUBIC's window rule.
#[derive(Clone, Copy, Debug, Default)]
pub struct CubicRule {
    w_max: f64,
    k: f64,
    /// Start of the current congestion-avoidance epoch.
    epoch: Option<Instant>,
    /// Reno-friendly estimate W_est.
    w_est: f64,
}

impl CubicRule {
    /// W_cubic(t), t in seconds since the epoch.
    fn w_cubic(&self, t: f64) -> f64 {
        C * (t - self.k).powi(3) + self.w_max
    }
}

impl WindowRule for CubicRule {
    fn increase(&mut self, ctx: &CcContext, cwnd: f64, acked: f64) -> f64 {
        let epoch = *self.epoch.get_or_insert_with(|| {
            if self.w_max <= cwnd {
                // No loss yet, or already past it: probe from here.
                self.w_max = cwnd;
                self.k = 0.0;
            } else {
                self.k = ((self.w_max - cwnd) / C).cbrt();
            }
            self.w_est = cwnd;
            ctx.now
        });
        let t = ctx.now.saturating_since(epoch).as_secs_f64();
        let rtt = f64::from(ctx.rtt_us) / 1e6;
        let alpha = if self.w_est >= self.w_max {
            1.0
        } else {
            3.0 * (1.0 - BETA) / (1.0 + BETA)
        };
        self.w_est += alpha * acked / cwnd;
        if self.w_cubic(t) < self.w_est {
            return cwnd.max(self.w_est);
        }
        let target = self.w_cubic(t + rtt).clamp(cwnd, 1.5 * cwnd);
        cwnd + (target - cwnd) / cwnd * acked
    }

    fn on_congestion(&mut self, _ctx: &CcContext, cwnd: f64) -> f64 {
        self.epoch = None;
        self.w_max = if cwnd < self.w_max {
            cwnd * (1.0 + BETA) / 2.0
        } else {
            cwnd
        };
        cwnd * BETA
    }
}

/// CUBIC.
pub type Cubic = LossBased<CubicRule>;

#[cfg(test)]
mod tests {
    use super::super::harness::Harness;
    use super::*;
    use crate::time::Duration;

    /// Slow start to `w`, a loss, and recovery.
    fn after_loss_at(w: f64) -> Harness<Cubic> {
        let mut h = Harness::new(Cubic::default());
        while h.ctl.cwnd < w {
            h.ack_round(4);
        }
        assert_eq!(h.ctl.cwnd, w);
        h.nak_newest();
        h.ack_after(Duration::from_millis(100), w as u32);
        h
    }

    #[test]
    fn loss_multiplies_by_beta() {
        let h = after_loss_at(1024.0);
        assert!((h.ctl.cwnd - 1024.0 * 0.7).abs() < 1e-9);
        assert_eq!(h.cc.rule().w_max, 1024.0);
    }

    #[test]
    fn window_follows_the_cubic_curve() {
        let mut h = after_loss_at(1024.0);
        let k = ((1024.0 - 1024.0 * BETA) / C).cbrt();
        let w = |t: f64| C * (t - k).powi(3) + 1024.0;
        // ACKs every 10 ms, each for a tenth of the window (one window per RTT).
        let mut t = 0.0;
        for step in 1..=1500 {
            let n = (h.ctl.cwnd / 10.0).max(1.0) as u32;
            h.ack_after(Duration::from_millis(10), n);
            if step == 1 {
                // The epoch begins with the first ACK in congestion avoidance.
                t = 0.0;
            } else {
                t += 0.01;
            }
            if step % 100 == 0 {
                let err = (h.ctl.cwnd - w(t)).abs() / w(t);
                assert!(
                    err < 0.02,
                    "t = {t:.2}: cwnd {} vs W(t) {}",
                    h.ctl.cwnd,
                    w(t)
                );
            }
        }
        // Concave below W_max, plateau around K, convex after it.
        assert!(k > 9.0 && k < 9.3);
        assert!(h.ctl.cwnd > 1024.0 + 0.4 * (15.0 - k).powi(3) * 0.9);
    }

    #[test]
    fn small_windows_on_short_paths_follow_the_reno_estimate() {
        let mut h = after_loss_at(16.0);
        let start = h.ctl.cwnd;
        for _ in 0..20 {
            h.ack_round(8);
        }
        // W_cubic(2 s) is still below W_max = 16 (K = 2.3 s); W_est grows by
        // α = 3(1−β)/(1+β) ≈ 0.53 per RTT up to W_max (about 9 RTTs from 11.2), then
        // by 1 per RTT: about 16 + 11 = 27 after 20 RTTs.
        assert!(start < 11.3);
        assert!((24.0..29.0).contains(&h.ctl.cwnd), "{}", h.ctl.cwnd);
    }

    #[test]
    fn fast_convergence_and_timeout() {
        let mut h = after_loss_at(1024.0);
        let w = h.ctl.cwnd;
        h.ack_round(10);
        let w2 = h.ctl.cwnd;
        assert!(w2 < 1024.0 && w2 > w);
        h.nak_newest();
        assert!((h.cc.rule().w_max - w2 * 0.85).abs() < 1e-9);
        h.timeout();
        assert_eq!(h.ctl.cwnd, 2.0);
        assert!((h.cc.ssthresh() - w2 * 0.7 * 0.7).abs() < 1e-6);
    }
}
