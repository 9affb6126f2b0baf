//! FAST TCP (`fast`, `fast:ALPHA`).
//!
//! Source: D. X. Wei, C. Jin, S. H. Low, S. Hegde, "FAST TCP: Motivation,
//! Architecture, Algorithms, Performance", IEEE/ACM Transactions on Networking 14(6),
//! 2006. A delay-based window update applied periodically (here once per RTT,
//! counted on the ACK stream):
//!
//! w ← min(2w, (1 − γ)·w + γ·(BaseRTT / RTT · w + α))
//!
//! with γ = 0.5 and α the number of packets the flow aims to keep queued at the
//! bottleneck (default 200, settable as `fast:ALPHA`). The step to the new target is
//! spread over the round's ACKs. At equilibrium w·(1 − BaseRTT/RTT) = α. Loss is
//! handled as in Reno (halve, once per window); a timeout restarts from 2. BaseRTT is
//! the smallest smoothed RTT seen and RTT the current smoothed one (the context has
//! no per-packet RTT samples).

use super::window::{capped, init_window, AckTracker, MinRtt, Recovery, Rounds, MIN_CWND};
use super::{CcContext, CcControl, CongestionControl};
use crate::packet::LossList;
use crate::seq::SeqNumber;

/// γ of the update.
const GAMMA: f64 = 0.5;
/// Default α, packets.
pub const DEFAULT_ALPHA: f64 = 200.0;

/// FAST TCP.
#[derive(Clone, Debug)]
pub struct Fast {
    alpha: f64,
    acks: AckTracker,
    recovery: Recovery,
    rounds: Rounds,
    base_rtt: MinRtt,
    /// This round's target window and the step per packet acknowledged towards it.
    target: f64,
    step: f64,
}

impl Default for Fast {
    fn default() -> Self {
        Fast::new(DEFAULT_ALPHA)
    }
}

impl Fast {
    /// FAST aiming to keep `alpha` packets queued.
    pub fn new(alpha: f64) -> Self {
        Fast {
            alpha,
            acks: AckTracker::default(),
            recovery: Recovery::default(),
            rounds: Rounds::default(),
            base_rtt: MinRtt::default(),
            target: MIN_CWND,
            step: 0.0,
        }
    }

    /// The periodic update's target window.
    fn target(&self, ctx: &CcContext, w: f64) -> f64 {
        let ratio = f64::from(self.base_rtt.get(ctx)) / f64::from(ctx.rtt_us.max(1));
        (2.0 * w).min((1.0 - GAMMA) * w + GAMMA * (ratio * w + self.alpha))
    }
}

impl CongestionControl for Fast {
    fn init(&mut self, ctx: &CcContext, ctl: &mut CcControl) {
        *self = Fast {
            acks: AckTracker::new(ctx),
            recovery: Recovery::new(ctx),
            rounds: Rounds::new(ctx),
            base_rtt: MinRtt::default(),
            ..Fast::new(self.alpha)
        };
        init_window(ctl, MIN_CWND);
    }

    fn on_ack(&mut self, ctx: &CcContext, ctl: &mut CcControl, ack: SeqNumber) {
        let n = self.acks.acked(ack);
        if n == 0 {
            return;
        }
        self.base_rtt.on_ack(ctx);
        let recovering = self.recovery.active();
        self.recovery.on_ack(ack);
        let new_round = self.rounds.on_ack(ctx, ack);
        if recovering {
            return;
        }
        let old = ctl.cwnd;
        if new_round {
            self.target = self.target(ctx, old);
            self.step = (self.target - old) / old;
        }
        let moved = old + self.step * f64::from(n);
        let cwnd = if self.step >= 0.0 {
            moved.min(self.target)
        } else {
            moved.max(self.target)
        };
        ctl.cwnd = capped(ctx, old, cwnd).max(MIN_CWND);
    }

    fn on_loss(&mut self, ctx: &CcContext, ctl: &mut CcControl, losses: LossList<'_>) {
        if self.recovery.on_loss(ctx, losses) {
            ctl.cwnd = (ctl.cwnd / 2.0).max(MIN_CWND);
            self.target = ctl.cwnd;
            self.step = 0.0;
        }
    }

    fn on_timeout(&mut self, ctx: &CcContext, ctl: &mut CcControl) {
        ctl.cwnd = MIN_CWND;
        self.target = MIN_CWND;
        self.step = 0.0;
        self.recovery.on_timeout(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::Harness;
    use super::*;
    use crate::time::Duration;

    fn rounds(h: &mut Harness<Fast>, n: usize) -> Vec<f64> {
        (0..n)
            .map(|_| {
                h.ack_round(1);
                h.ctl.cwnd
            })
            .collect()
    }

    #[test]
    fn without_queueing_doubles_then_adds_gamma_alpha_per_round() {
        let mut h = Harness::new(Fast::default());
        let seen = rounds(&mut h, 9);
        // min(2w, w + γα) with γα = 100: 4, 8, …, 128, then +100 per round.
        assert_eq!(
            seen,
            [4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 228.0, 328.0, 428.0]
        );
    }

    #[test]
    fn settles_where_alpha_packets_are_queued() {
        let mut h = Harness::new(Fast::new(50.0));
        h.settle_rtt();
        rounds(&mut h, 8);
        let w = h.ctl.cwnd;
        // RTT such that w·(1 − BaseRTT/RTT) = α: the update keeps w.
        h.ctx.rtt_us = (100_000.0 * w / (w - 50.0)).round() as u32;
        let seen = rounds(&mut h, 3);
        assert!(seen.iter().all(|&x| (x - w).abs() < 0.1), "{w} {seen:?}");
        // Twice the RTT: the window falls to where w = w/2 + α, 100 packets.
        h.ctx.rtt_us = 200_000;
        h.ack_round(1);
        assert!(h.ctl.cwnd < w - 5.0, "{}", h.ctl.cwnd);
        rounds(&mut h, 30);
        assert!((h.ctl.cwnd - 100.0).abs() < 0.5, "{}", h.ctl.cwnd);
    }

    #[test]
    fn halves_on_loss_and_restarts_on_timeout() {
        let mut h = Harness::new(Fast::default());
        rounds(&mut h, 6);
        assert_eq!(h.ctl.cwnd, 128.0);
        h.nak_newest();
        h.nak_newest();
        assert_eq!(h.ctl.cwnd, 64.0);
        h.ack_after(Duration::from_millis(100), 128);
        assert_eq!(h.ctl.cwnd, 64.0);
        h.timeout();
        assert_eq!(h.ctl.cwnd, 2.0);
    }
}
