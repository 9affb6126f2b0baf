//! TCP Vegas (`vegas`).
//!
//! Source: L. S. Brakmo, S. W. O'Malley, L. L. Peterson, "TCP Vegas: New Techniques
//! for Congestion Detection and Avoidance", ACM SIGCOMM 1994 (extended in IEEE JSAC
//! 13(8), 1995). Once per RTT Vegas compares the expected rate cwnd / BaseRTT with
//! the actual rate cwnd / RTT; their difference times BaseRTT, diff = cwnd · (RTT −
//! BaseRTT) / RTT, is the number of packets it keeps queued in the network. In
//! congestion avoidance the window grows by one packet per RTT when diff < α, shrinks
//! by one when diff > β and holds in between (α = 2, β = 4 packets, as in Linux's
//! `tcp_vegas`). Slow start doubles the window every other RTT and ends when diff
//! exceeds γ = 1 packet, with the window trimmed to the expected one plus one. A
//! loss report multiplies the window by 3/4 (once per window); a timeout restarts
//! from 2. BaseRTT is the smallest smoothed RTT the connection reported and RTT the
//! current smoothed one: the context has no per-packet RTT samples.

use super::window::{
    capped, init_window, AckTracker, MinRtt, Recovery, Rounds, INITIAL_SSTHRESH, MIN_CWND,
};
use super::{CcContext, CcControl, CongestionControl};
use crate::packet::LossList;
use crate::seq::SeqNumber;

const ALPHA: f64 = 2.0;
const BETA: f64 = 4.0;
const GAMMA: f64 = 1.0;

/// TCP Vegas.
#[derive(Clone, Debug, Default)]
pub struct Vegas {
    acks: AckTracker,
    recovery: Recovery,
    rounds: Rounds,
    ssthresh: f64,
    base_rtt: MinRtt,
}

impl Vegas {
    /// Packets queued in the network by the estimate (expected − actual) · BaseRTT.
    fn diff(&self, ctx: &CcContext, cwnd: f64) -> f64 {
        let rtt = f64::from(ctx.rtt_us.max(1));
        cwnd * (rtt - f64::from(self.base_rtt.get(ctx))).max(0.0) / rtt
    }
}

impl CongestionControl for Vegas {
    fn init(&mut self, ctx: &CcContext, ctl: &mut CcControl) {
        *self = Vegas {
            acks: AckTracker::new(ctx),
            recovery: Recovery::new(ctx),
            rounds: Rounds::new(ctx),
            ssthresh: INITIAL_SSTHRESH,
            base_rtt: MinRtt::default(),
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
        let diff = self.diff(ctx, old);
        let mut cwnd = old;
        if cwnd < self.ssthresh {
            if new_round && diff > GAMMA {
                // Leave slow start at the expected window plus one.
                let expected =
                    cwnd * f64::from(self.base_rtt.get(ctx)) / f64::from(ctx.rtt_us.max(1));
                cwnd = cwnd.min(expected + 1.0);
                self.ssthresh = cwnd;
            } else if self.rounds.count().is_multiple_of(2) {
                cwnd += f64::from(n);
            }
        } else if new_round {
            if diff < ALPHA {
                cwnd += 1.0;
            } else if diff > BETA {
                cwnd -= 1.0;
            }
        }
        ctl.cwnd = capped(ctx, old, cwnd).max(MIN_CWND);
    }

    fn on_loss(&mut self, ctx: &CcContext, ctl: &mut CcControl, losses: LossList<'_>) {
        if self.recovery.on_loss(ctx, losses) {
            ctl.cwnd = (ctl.cwnd * 0.75).max(MIN_CWND);
            self.ssthresh = ctl.cwnd;
        }
    }

    fn on_timeout(&mut self, ctx: &CcContext, ctl: &mut CcControl) {
        self.ssthresh = (ctl.cwnd / 2.0).max(MIN_CWND);
        ctl.cwnd = MIN_CWND;
        self.recovery.on_timeout(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::Harness;
    use super::*;
    use crate::time::Duration;

    /// Slow start without queueing past 128, a loss (×¾), recovery.
    fn avoiding() -> Harness<Vegas> {
        let mut h = Harness::new(Vegas::default());
        h.settle_rtt();
        while h.ctl.cwnd < 128.0 {
            h.ack_round(1);
        }
        let w = h.ctl.cwnd;
        h.nak_newest();
        assert_eq!(h.ctl.cwnd, w * 0.75);
        h.ack_after(Duration::from_millis(100), w as u32);
        assert_eq!(h.ctl.cwnd, w * 0.75);
        h
    }

    /// The RTT at which Vegas estimates `queued` packets queued at window `w`
    /// (base RTT 100 ms).
    fn rtt_for(w: f64, queued: f64) -> u32 {
        (100_000.0 * w / (w - queued)).round() as u32
    }

    #[test]
    fn slow_start_doubles_every_other_round() {
        let mut h = Harness::new(Vegas::default());
        let mut seen = vec![h.ctl.cwnd];
        for _ in 0..6 {
            h.ack_round(1);
            seen.push(h.ctl.cwnd);
        }
        assert_eq!(seen, [2.0, 2.0, 4.0, 4.0, 8.0, 8.0, 16.0]);
    }

    #[test]
    fn slow_start_ends_when_packets_queue() {
        let mut h = Harness::new(Vegas::default());
        h.settle_rtt();
        while h.ctl.cwnd < 64.0 {
            h.ack_round(1);
        }
        let w = h.ctl.cwnd;
        h.ctx.rtt_us = rtt_for(w, 8.0);
        h.ack_round(1);
        // The expected window, w − 8, plus one.
        assert!((h.ctl.cwnd - (w - 7.0)).abs() < 0.01, "{w} {}", h.ctl.cwnd);
    }

    #[test]
    fn holds_between_alpha_and_beta_and_moves_by_one_outside() {
        let mut h = avoiding();
        let w = h.ctl.cwnd;
        h.ctx.rtt_us = rtt_for(w, 3.0);
        for _ in 0..5 {
            h.ack_round(1);
        }
        assert_eq!(h.ctl.cwnd, w);
        h.ctx.rtt_us = 100_000;
        for _ in 0..3 {
            h.ack_round(1);
        }
        assert_eq!(h.ctl.cwnd, w + 3.0);
        h.ctx.rtt_us = rtt_for(w + 3.0, 10.0);
        h.ack_round(1);
        h.ack_round(1);
        assert_eq!(h.ctl.cwnd, w + 1.0);
    }

    #[test]
    fn timeout_restarts_from_two() {
        let mut h = avoiding();
        h.timeout();
        assert_eq!(h.ctl.cwnd, 2.0);
        h.nak_newest();
        assert_eq!(h.ctl.cwnd, 2.0, "old data: no further decrease");
    }
}
