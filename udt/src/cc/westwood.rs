//! TCP Westwood (`westwood`).
//!
//! Source: S. Mascolo, C. Casetti, M. Gerla, M. Y. Sanadidi, R. Wang, "TCP Westwood:
//! Bandwidth Estimation for Enhanced Transport over Wireless Links", ACM MobiCom 2001.
//! The sender estimates the bandwidth it gets from the rate of acknowledged data and,
//! on a congestion event, sets ssthresh to BWE · RTT_min — the window that keeps the
//! pipe full without a queue — instead of halving blindly: cwnd := min(cwnd,
//! ssthresh) on a loss report, cwnd := 2 on a timeout. Otherwise it is Reno.
//!
//! Samples are packets acknowledged between full ACKs over the time between them,
//! aggregated over at least a quarter of an RTT (and 10 ms) — in the spirit of
//! Westwood+ (L. A. Grieco, S. Mascolo, "Performance evaluation and comparison of
//! Westwood+, New Reno, and Vegas TCP congestion control", ACM CCR 34(2), 2004),
//! which samples once per RTT — because UDT ACKs every other packet and single-ACK
//! samples are dominated by burstiness. They are filtered with the
//! 2001 paper's discretised low-pass filter, BWE := 19/21·BWE + 1/21·(s + s_prev)
//! (also UDT4's `CWestwood`). RTT_min is the smallest smoothed RTT the connection
//! reported once the estimate has settled (the context has no per-ACK RTT sample). No samples are taken while a
//! loss is repaired: the cumulative ACK stalls at the hole and then jumps.

use super::window::{DeliveryRate, LossBased, MinRtt, WindowRule};
use super::CcContext;
use crate::time::Duration;

/// Westwood's window rule: Reno plus the bandwidth estimator.
#[derive(Clone, Copy, Debug, Default)]
pub struct WestwoodRule {
    rate: DeliveryRate,
    /// Bandwidth estimate, packets/s.
    bwe: f64,
    prev_sample: f64,
    rtt_min: MinRtt,
}

impl WestwoodRule {
    /// The bandwidth estimate, packets/s.
    pub fn bandwidth_estimate(&self) -> f64 {
        self.bwe
    }
}

impl WindowRule for WestwoodRule {
    fn on_ack(&mut self, ctx: &CcContext, acked: u32, recovering: bool) {
        self.rtt_min.on_ack(ctx);
        if recovering {
            // The cumulative ACK is stalled at a hole, then jumps: no sample.
            self.rate.restart(ctx.now);
            return;
        }
        let interval = Duration::from_micros(u64::from(ctx.rtt_us / 4)).max(Duration::SYN);
        if let Some(sample) = self.rate.sample(ctx.now, acked, interval) {
            self.bwe = if self.bwe == 0.0 {
                sample
            } else {
                19.0 / 21.0 * self.bwe + 1.0 / 21.0 * (sample + self.prev_sample)
            };
            self.prev_sample = sample;
        }
    }

    fn increase(&mut self, _ctx: &CcContext, cwnd: f64, acked: f64) -> f64 {
        cwnd + acked / cwnd
    }

    fn on_congestion(&mut self, ctx: &CcContext, cwnd: f64) -> f64 {
        if self.bwe == 0.0 {
            return cwnd / 2.0; // no estimate yet: Reno
        }
        self.bwe * f64::from(self.rtt_min.get(ctx)) / 1e6
    }
}

/// TCP Westwood.
pub type Westwood = LossBased<WestwoodRule>;

#[cfg(test)]
mod tests {
    use super::super::harness::Harness;
    use super::*;

    /// ACKs of 10 packets every 10 ms (1000 packets/s) for `secs`.
    fn at_1000_pps(h: &mut Harness<Westwood>, secs: u32) {
        for _ in 0..secs * 100 {
            h.ack_after(Duration::from_millis(10), 10);
        }
    }

    #[test]
    fn estimate_converges_to_the_acknowledged_rate() {
        let mut h = Harness::new(Westwood::default());
        at_1000_pps(&mut h, 5);
        let bwe = h.cc.rule().bandwidth_estimate();
        assert!((bwe - 1000.0).abs() < 10.0, "{bwe}");
    }

    #[test]
    fn loss_sets_the_window_to_the_estimated_pipe() {
        let mut h = Harness::new(Westwood::default());
        at_1000_pps(&mut h, 3);
        // The smallest RTT counts, not the current one.
        h.ctx.rtt_us = 80_000;
        h.ack_after(Duration::from_millis(10), 10);
        h.ctx.rtt_us = 150_000;
        at_1000_pps(&mut h, 2);
        assert!(h.ctl.cwnd > 500.0, "slow start went on: {}", h.ctl.cwnd);
        h.nak_newest();
        // 1000 packets/s × 80 ms.
        assert!((h.ctl.cwnd - 80.0).abs() < 2.0, "{}", h.ctl.cwnd);
        assert_eq!(h.ctl.cwnd, h.cc.ssthresh());
        h.nak_newest();
        assert_eq!(h.ctl.cwnd, h.cc.ssthresh(), "once per window");
    }

    #[test]
    fn timeout_restarts_from_two_towards_the_estimate() {
        let mut h = Harness::new(Westwood::default());
        at_1000_pps(&mut h, 3);
        h.timeout();
        assert_eq!(h.ctl.cwnd, 2.0);
        assert!((h.cc.ssthresh() - 100.0).abs() < 2.0, "{}", h.cc.ssthresh());
    }
}
