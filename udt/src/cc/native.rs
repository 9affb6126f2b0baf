//! UDT's native congestion control (UDT4 `CUDTCC`, `udt-protocol.md` §6.3): slow
//! start on a window, then rate-based AIMD with the increase derived from the
//! estimated spare capacity and a randomised 1.125 decrease.

use super::{CcContext, CcControl, CongestionControl};
use crate::packet::LossList;
use crate::seq::SeqNumber;
use crate::time::{Duration, Instant};

/// "RC interval": rate changes at most once per SYN.
const RC_INTERVAL: Duration = Duration::SYN;
/// β of the increase formula.
const BETA: f64 = 0.000_001_5;
/// Minimum increase, packets per RC interval (UDT 4.11).
const MIN_INC: f64 = 0.01;

/// The UDT4 native algorithm.
#[derive(Clone, Debug, Default)]
pub struct UdtNative {
    last_rc_time: Instant,
    slow_start: bool,
    last_ack: SeqNumber,
    loss: bool,
    last_dec_seq: SeqNumber,
    last_dec_period: f64,
    nak_count: u32,
    dec_random: u32,
    avg_nak_num: u32,
    dec_count: u32,
}

impl UdtNative {
    /// The period that matches the receiver's reported arrival rate, or a window
    /// spread over one RTT + SYN when there is no rate yet.
    fn period_from_rate(ctx: &CcContext, cwnd: f64, inverted: bool) -> f64 {
        if ctx.rcv_rate > 0 {
            1e6 / f64::from(ctx.rcv_rate)
        } else if inverted {
            // UDT4's onLoss/onTimeout formula, inverted as written in 4.11.
            cwnd / (f64::from(ctx.rtt_us) + RC_INTERVAL.as_micros() as f64)
        } else {
            (f64::from(ctx.rtt_us) + RC_INTERVAL.as_micros() as f64) / cwnd
        }
    }

    /// UDT4 draws the decrease randomiser with `srand(last_dec_seq); rand()`. The
    /// reference is built against glibc, so this is glibc's first `rand()` after
    /// `srand(seed)` (its additive generator over 31 words, seeded by a
    /// multiplicative LCG and warmed by 310 draws), scaled to [0, 1] by `RAND_MAX`:
    /// the same seed gives the reference's decision, not just the same distribution.
    fn rand_unit(seed: u32) -> f64 {
        const M: u64 = 2_147_483_647; // 2^31 − 1, also RAND_MAX
        let mut state = [0u32; 31];
        let mut word = u64::from(seed.max(1));
        for (i, slot) in state.iter_mut().enumerate() {
            if i > 0 {
                word = 16_807 * word % M;
            }
            *slot = word as u32;
        }
        // glibc's TYPE_3 generator: a ring of 31 words, each draw adding the word at
        // `rear` into the one at `front`, three slots ahead.
        let (mut front, mut rear) = (3, 0);
        let mut draw = || {
            state[front] = state[front].wrapping_add(state[rear]);
            let out = state[front] >> 1;
            (front, rear) = ((front + 1) % 31, (rear + 1) % 31);
            out
        };
        for _ in 0..310 {
            draw();
        }
        f64::from(draw()) / M as f64
    }
}

impl CongestionControl for UdtNative {
    fn init(&mut self, ctx: &CcContext, ctl: &mut CcControl) {
        ctl.ack_period = Some(RC_INTERVAL);
        ctl.cwnd = 16.0;
        ctl.pkt_snd_period_us = 1.0;
        *self = UdtNative {
            last_rc_time: ctx.now,
            slow_start: true,
            last_ack: ctx.snd_curr_seq,
            loss: false,
            last_dec_seq: ctx.snd_curr_seq.prev(),
            last_dec_period: 1.0,
            nak_count: 0,
            dec_random: 1,
            avg_nak_num: 0,
            dec_count: 0,
        };
    }

    fn on_ack(&mut self, ctx: &CcContext, ctl: &mut CcControl, ack: SeqNumber) {
        if ctx.now.saturating_since(self.last_rc_time) < RC_INTERVAL {
            return;
        }
        self.last_rc_time = ctx.now;

        if self.slow_start {
            ctl.cwnd += f64::from(self.last_ack.len_to(ack));
            self.last_ack = ack;
            if ctl.cwnd > ctx.max_cwnd {
                self.slow_start = false;
                ctl.pkt_snd_period_us = Self::period_from_rate(ctx, ctl.cwnd, false);
            }
        } else {
            ctl.cwnd = f64::from(ctx.rcv_rate) / 1e6
                * (f64::from(ctx.rtt_us) + RC_INTERVAL.as_micros() as f64)
                + 16.0;
        }
        if self.slow_start {
            return;
        }
        if self.loss {
            self.loss = false;
            return;
        }

        let bandwidth = i64::from(ctx.bandwidth);
        let mut spare = bandwidth - (1e6 / ctl.pkt_snd_period_us) as i64;
        if ctl.pkt_snd_period_us > self.last_dec_period && bandwidth / 9 < spare {
            spare = bandwidth / 9;
        }
        let mss = f64::from(ctx.mss);
        let inc = if spare <= 0 {
            MIN_INC
        } else {
            // 10^ceil(log10(B·MSS·8)) · β / MSS: the increase grows by decades of
            // spare capacity in bits/s.
            let decade = 10f64.powf((spare as f64 * mss * 8.0).log10().ceil());
            (decade * BETA / mss).max(MIN_INC)
        };
        let rc = RC_INTERVAL.as_micros() as f64;
        ctl.pkt_snd_period_us = ctl.pkt_snd_period_us * rc / (ctl.pkt_snd_period_us * inc + rc);
    }

    fn on_loss(&mut self, ctx: &CcContext, ctl: &mut CcControl, losses: LossList<'_>) {
        if self.slow_start {
            self.slow_start = false;
            if ctx.rcv_rate > 0 {
                ctl.pkt_snd_period_us = 1e6 / f64::from(ctx.rcv_rate);
                return;
            }
            ctl.pkt_snd_period_us = Self::period_from_rate(ctx, ctl.cwnd, true);
        }
        self.loss = true;

        let Some((first_lost, _)) = losses.ranges().next() else {
            return;
        };
        if first_lost > self.last_dec_seq {
            // A new congestion period.
            self.last_dec_period = ctl.pkt_snd_period_us;
            ctl.pkt_snd_period_us = (ctl.pkt_snd_period_us * 1.125).ceil();
            self.avg_nak_num = (f64::from(self.avg_nak_num) * 0.875
                + f64::from(self.nak_count) * 0.125)
                .ceil() as u32;
            self.nak_count = 1;
            self.dec_count = 1;
            self.last_dec_seq = ctx.snd_curr_seq;
            let r = Self::rand_unit(self.last_dec_seq.value());
            self.dec_random = ((f64::from(self.avg_nak_num) * r).ceil() as u32).max(1);
        } else {
            // At most four more decreases per congestion period (0.875^5 ≈ 0.51).
            // UDT4 stops counting NAKs with them (its `&&` skips the count), so the
            // average that sizes the randomiser never exceeds five.
            let counting = self.dec_count < 5;
            self.dec_count = self.dec_count.saturating_add(1);
            if counting {
                self.nak_count += 1;
                if self.nak_count.is_multiple_of(self.dec_random) {
                    ctl.pkt_snd_period_us = (ctl.pkt_snd_period_us * 1.125).ceil();
                    self.last_dec_seq = ctx.snd_curr_seq;
                }
            }
        }
    }

    fn on_timeout(&mut self, ctx: &CcContext, ctl: &mut CcControl) {
        if self.slow_start {
            self.slow_start = false;
            ctl.pkt_snd_period_us = Self::period_from_rate(ctx, ctl.cwnd, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(now_ms: u64) -> CcContext {
        CcContext {
            now: Instant::from_micros(now_ms * 1000),
            mss: 1500,
            max_cwnd: 8192.0,
            snd_curr_seq: SeqNumber::new(99),
            rtt_us: 100_000,
            rcv_rate: 0,
            bandwidth: 0,
        }
    }

    #[test]
    fn slow_start_grows_the_window_by_what_was_acked() {
        let mut cc = UdtNative::default();
        let mut ctl = CcControl::default();
        cc.init(&ctx(0), &mut ctl);
        assert_eq!((ctl.cwnd, ctl.pkt_snd_period_us), (16.0, 1.0));
        cc.on_ack(&ctx(5), &mut ctl, SeqNumber::new(120));
        assert_eq!(ctl.cwnd, 16.0, "no change within one RC interval");
        cc.on_ack(&ctx(11), &mut ctl, SeqNumber::new(120));
        assert_eq!(ctl.cwnd, 16.0 + 22.0);
    }

    #[test]
    fn loss_ends_slow_start_at_the_arrival_rate_then_decreases_by_an_eighth() {
        let mut cc = UdtNative::default();
        let mut ctl = CcControl::default();
        cc.init(&ctx(0), &mut ctl);
        let mut c = ctx(20);
        c.rcv_rate = 10_000;
        let nak = [0u8, 0, 0, 200];
        cc.on_loss(&c, &mut ctl, LossList::parse(&nak).unwrap());
        assert_eq!(ctl.pkt_snd_period_us, 100.0);
        c.snd_curr_seq = SeqNumber::new(300);
        let nak = [0u8, 0, 0, 250];
        cc.on_loss(&c, &mut ctl, LossList::parse(&nak).unwrap());
        assert_eq!(ctl.pkt_snd_period_us, 113.0, "ceil(100 × 1.125)");
    }

    #[test]
    fn increase_follows_spare_capacity() {
        let mut cc = UdtNative::default();
        let mut ctl = CcControl::default();
        let mut c = ctx(0);
        c.max_cwnd = 10.0;
        cc.init(&c, &mut ctl);
        c.now = Instant::from_micros(20_000);
        c.rcv_rate = 1000;
        c.bandwidth = 11_000;
        cc.on_ack(&c, &mut ctl, SeqNumber::new(150));
        // Slow start ends at the arrival rate (period 1000 µs) and the same ACK
        // already increases: spare = 11000 − 1000 pkt/s, capped at 11000 / 9 = 1222
        // because the period is above the last decrease's, so
        // inc = 10^ceil(log10(1222·1500·8)) · β / 1500 = 0.1 packets per 10 ms.
        let after = |p: f64| p * 10_000.0 / (p * 0.1 + 10_000.0);
        let first = after(1000.0);
        assert!((ctl.pkt_snd_period_us - first).abs() < 1e-9);
        c.now = Instant::from_micros(40_000);
        cc.on_ack(&c, &mut ctl, SeqNumber::new(160));
        assert!((ctl.pkt_snd_period_us - after(first)).abs() < 1e-9);
    }

    #[test]
    fn the_randomiser_is_glibcs_rand_after_srand() {
        // `srand(s); rand()` printed by a C program against glibc.
        for (seed, first) in [
            (0, 1_804_289_383u32),
            (1, 1_804_289_383),
            (42, 71_876_166),
            (123_456_789, 1_965_102_536),
            (2_147_483_647, 1_065_668_062),
        ] {
            let expected = f64::from(first) / 2_147_483_647.0;
            assert_eq!(UdtNative::rand_unit(seed), expected, "seed {seed}");
        }
    }

    #[test]
    fn a_congestion_period_counts_naks_only_while_it_may_decrease() {
        let mut cc = UdtNative::default();
        let mut ctl = CcControl::default();
        cc.init(&ctx(0), &mut ctl);
        let mut c = ctx(20);
        c.rcv_rate = 1_000;
        let nak = |seq: u8| [0u8, 0, 0, seq];
        cc.on_loss(&c, &mut ctl, LossList::parse(&nak(150)).unwrap()); // ends slow start
        cc.on_loss(&c, &mut ctl, LossList::parse(&nak(150)).unwrap()); // a new period
        assert_eq!((ctl.pkt_snd_period_us, cc.dec_random), (1125.0, 1));
        // Ten more NAKs in the same period: four decreases, and the count stops at five.
        for _ in 0..10 {
            cc.on_loss(&c, &mut ctl, LossList::parse(&nak(60)).unwrap());
        }
        assert_eq!(
            ctl.pkt_snd_period_us, 1805.0,
            "five decreases of 1/8 in all"
        );
        assert_eq!(cc.nak_count, 5);
        c.snd_curr_seq = SeqNumber::new(200);
        cc.on_loss(&c, &mut ctl, LossList::parse(&nak(180)).unwrap());
        assert_eq!(cc.avg_nak_num, 1, "ceil(5 × 0.125), not ceil(11 × 0.125)");
    }

    #[test]
    fn timeout_leaves_slow_start() {
        let mut cc = UdtNative::default();
        let mut ctl = CcControl::default();
        cc.init(&ctx(0), &mut ctl);
        cc.on_timeout(&ctx(500), &mut ctl);
        assert!(!cc.slow_start);
    }
}
