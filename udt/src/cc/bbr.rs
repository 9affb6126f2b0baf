//! BBR version 1 (`bbr`).
//!
//! Source: N. Cardwell, Y. Cheng, C. S. Gunn, S. H. Yeganeh, V. Jacobson, "BBR:
//! Congestion-Based Congestion Control", ACM Queue 14(5), 2016, and the IETF draft
//! draft-cardwell-iccrg-bbr-congestion-control-00 (2017) for the state machine.
//!
//! BBR models the path by two numbers: the bottleneck bandwidth BtlBw, the maximum
//! delivery rate over the last 10 round trips, and the propagation delay RTprop, the
//! minimum RTT over the last 10 s. It paces at pacing_gain · BtlBw
//! (`pkt_snd_period_us` = 10⁶ / (pacing_gain · BtlBw) with BtlBw in packets/s, i.e.
//! MSS / rate) and caps the window at cwnd_gain · BDP with BDP = BtlBw · RTprop:
//!
//! - STARTUP: both gains 2/ln 2 ≈ 2.89 (the rate doubles per round); ends when BtlBw
//!   has not grown by 25 % over three rounds ("the pipe is full");
//! - DRAIN: pacing gain ln 2 / 2 until the packets in flight fall to one BDP;
//! - PROBE_BW: cwnd gain 2, pacing gain cycling through [1.25, 0.75, 1, 1, 1, 1, 1, 1],
//!   one phase per RTprop (the 1.25 phase lasts until in-flight reaches 1.25 · BDP or
//!   a loss is reported; the 0.75 phase ends early once in-flight is down to a BDP);
//! - PROBE_RTT: when RTprop has not been refreshed for 10 s, 4 packets in flight for
//!   max(200 ms, one round), then back.
//!
//! Delivery-rate samples come from the ACK stream: packets acknowledged between full
//! ACKs over the time between them (`ctx.now`), aggregated over at least 5 ms, and
//! none while a reported loss is being repaired (the cumulative ACK stalls at the
//! hole, then jumps over everything received meanwhile). RTT
//! samples are the connection's smoothed RTT — the context carries no per-ACK RTT, so
//! RTprop is the minimum of a smoothed value. Loss reports are otherwise ignored, as
//! in BBR v1; a timeout drops the window to 4 packets, from which it grows back by
//! the packets acknowledged.

use std::collections::VecDeque;

use super::window::{AckTracker, DeliveryRate, Rounds};
use super::{CcContext, CcControl, CongestionControl};
use crate::packet::LossList;
use crate::seq::SeqNumber;
use crate::time::{Duration, Instant};

/// STARTUP's gain, 2/ln 2.
const HIGH_GAIN: f64 = 2.0 / core::f64::consts::LN_2;
/// PROBE_BW's pacing gains.
const CYCLE: [f64; 8] = [1.25, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
/// Rounds the bandwidth filter spans.
const BW_ROUNDS: u64 = 10;
/// How long an RTprop estimate lasts.
const RTPROP_WINDOW: Duration = Duration::from_secs(10);
/// PROBE_RTT's minimum duration.
const PROBE_RTT_TIME: Duration = Duration::from_millis(200);
/// The smallest window.
const MIN_CWND: f64 = 4.0;
/// Initial window (UDT's default).
const INITIAL_CWND: f64 = 16.0;
/// Shortest interval a delivery-rate sample covers.
const SAMPLE_INTERVAL: Duration = Duration::from_millis(5);

/// BBR's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BbrMode {
    /// Exponential search for the bottleneck bandwidth.
    #[default]
    Startup,
    /// Draining the queue STARTUP built.
    Drain,
    /// Steady state, cycling the pacing gain.
    ProbeBw,
    /// Draining the path to measure RTprop.
    ProbeRtt,
}

/// BBR v1.
#[derive(Clone, Debug, Default)]
pub struct Bbr {
    mode: BbrMode,
    acks: AckTracker,
    rounds: Rounds,
    rate: DeliveryRate,
    /// The maximum sample of each recent round: (round, packets/s).
    bw_rounds: VecDeque<(u64, f64)>,
    rtprop_us: u32,
    rtprop_stamp: Instant,
    full_bw: f64,
    full_bw_count: u32,
    filled_pipe: bool,
    pacing_gain: f64,
    cwnd_gain: f64,
    cycle_index: usize,
    cycle_stamp: Instant,
    loss_in_cycle: bool,
    probe_rtt_done: Option<Instant>,
    probe_rtt_round_done: bool,
    prior_cwnd: f64,
    /// The largest sequence number reported lost and not yet repaired.
    hole: Option<SeqNumber>,
}

impl Bbr {
    /// The state machine's current state.
    pub fn mode(&self) -> BbrMode {
        self.mode
    }

    /// The current pacing gain.
    pub fn pacing_gain(&self) -> f64 {
        self.pacing_gain
    }

    /// BtlBw, packets/s (0 before the first sample).
    pub fn btl_bw(&self) -> f64 {
        self.bw_rounds.iter().map(|&(_, bw)| bw).fold(0.0, f64::max)
    }

    /// The bandwidth-delay product, packets (0 before the first sample).
    fn bdp(&self) -> f64 {
        self.btl_bw() * f64::from(self.rtprop_us) / 1e6
    }

    fn update_bw(&mut self, ctx: &CcContext, acked: u32) {
        let Some(sample) = self.rate.sample(ctx.now, acked, SAMPLE_INTERVAL) else {
            return;
        };
        let round = self.rounds.count();
        match self.bw_rounds.back_mut() {
            Some((r, bw)) if *r == round => *bw = bw.max(sample),
            _ => self.bw_rounds.push_back((round, sample)),
        }
        while self
            .bw_rounds
            .front()
            .is_some_and(|&(r, _)| r + BW_ROUNDS <= round)
        {
            self.bw_rounds.pop_front();
        }
    }

    /// STARTUP ends when three rounds in a row grew BtlBw by less than 25 %.
    fn check_full_pipe(&mut self) {
        if self.filled_pipe {
            return;
        }
        let bw = self.btl_bw();
        if bw >= self.full_bw * 1.25 {
            self.full_bw = bw;
            self.full_bw_count = 0;
            return;
        }
        self.full_bw_count += 1;
        if self.full_bw_count >= 3 {
            self.filled_pipe = true;
        }
    }

    fn enter_probe_bw(&mut self, ctx: &CcContext) {
        self.mode = BbrMode::ProbeBw;
        self.cwnd_gain = 2.0;
        // Start anywhere but the 0.75 phase; the ISN stands in for randomness.
        let start = (self.acks_origin(ctx) % 7) as usize;
        self.cycle_index = if start == 0 { 0 } else { start + 1 };
        self.cycle_stamp = ctx.now;
        self.loss_in_cycle = false;
        self.pacing_gain = CYCLE[self.cycle_index];
    }

    /// A number fixed for the connection (its current sequence space position).
    fn acks_origin(&self, ctx: &CcContext) -> u32 {
        ctx.snd_curr_seq.value() >> 4
    }

    fn update_cycle(&mut self, ctx: &CcContext, in_flight: f64) {
        if self.mode != BbrMode::ProbeBw {
            return;
        }
        let full_length =
            ctx.now.saturating_since(self.cycle_stamp).as_micros() > u64::from(self.rtprop_us);
        let bdp = self.bdp();
        let next = if self.pacing_gain > 1.0 {
            full_length && (self.loss_in_cycle || in_flight >= self.pacing_gain * bdp)
        } else if self.pacing_gain < 1.0 {
            full_length || in_flight <= bdp
        } else {
            full_length
        };
        if next {
            self.cycle_index = (self.cycle_index + 1) % CYCLE.len();
            self.cycle_stamp = ctx.now;
            self.loss_in_cycle = false;
            self.pacing_gain = CYCLE[self.cycle_index];
        }
    }

    fn update_rtprop(
        &mut self,
        ctx: &CcContext,
        ctl: &CcControl,
        in_flight: f64,
        round_start: bool,
    ) {
        let expired = ctx.now.saturating_since(self.rtprop_stamp) > RTPROP_WINDOW;
        if ctx.rtt_us > 0 && (ctx.rtt_us <= self.rtprop_us || expired) {
            self.rtprop_us = ctx.rtt_us;
            self.rtprop_stamp = ctx.now;
        }
        if expired && self.mode != BbrMode::ProbeRtt {
            self.mode = BbrMode::ProbeRtt;
            self.pacing_gain = 1.0;
            self.cwnd_gain = 1.0;
            self.prior_cwnd = ctl.cwnd;
            self.probe_rtt_done = None;
        }
        if self.mode != BbrMode::ProbeRtt {
            return;
        }
        match self.probe_rtt_done {
            None if in_flight <= MIN_CWND => {
                self.probe_rtt_done = Some(ctx.now + PROBE_RTT_TIME);
                self.probe_rtt_round_done = false;
            }
            Some(done) => {
                self.probe_rtt_round_done |= round_start;
                if self.probe_rtt_round_done && ctx.now >= done {
                    self.rtprop_stamp = ctx.now;
                    if self.filled_pipe {
                        self.enter_probe_bw(ctx);
                    } else {
                        self.enter_startup();
                    }
                }
            }
            None => {}
        }
    }

    fn enter_startup(&mut self) {
        self.mode = BbrMode::Startup;
        self.pacing_gain = HIGH_GAIN;
        self.cwnd_gain = HIGH_GAIN;
    }

    fn set_pacing(&self, ctx: &CcContext, ctl: &mut CcControl) {
        let bw = self.btl_bw();
        let period = if bw > 0.0 {
            1e6 / (self.pacing_gain * bw)
        } else {
            // No sample yet: the initial window over the handshake RTT.
            f64::from(ctx.rtt_us.max(1)) / (self.pacing_gain * ctl.cwnd)
        };
        // Until the pipe is full, never slow down on a low early sample.
        if self.filled_pipe || period < ctl.pkt_snd_period_us {
            ctl.pkt_snd_period_us = period;
        }
    }

    fn set_cwnd(&mut self, ctl: &mut CcControl, acked: u32) {
        let acked = f64::from(acked);
        if self.mode == BbrMode::ProbeRtt {
            ctl.cwnd = ctl.cwnd.min(MIN_CWND);
            return;
        }
        if ctl.cwnd < self.prior_cwnd {
            // Leaving PROBE_RTT: restore the window it saved.
            ctl.cwnd = self.prior_cwnd;
            self.prior_cwnd = 0.0;
        }
        let bdp = self.bdp();
        if bdp == 0.0 {
            ctl.cwnd += acked;
            return;
        }
        // A few packets above gain × BDP, as Linux adds for ACK aggregation.
        let target = self.cwnd_gain * bdp + 3.0;
        ctl.cwnd = if self.filled_pipe {
            (ctl.cwnd + acked).min(target)
        } else if ctl.cwnd < target {
            ctl.cwnd + acked
        } else {
            ctl.cwnd
        };
        ctl.cwnd = ctl.cwnd.max(MIN_CWND);
    }
}

impl CongestionControl for Bbr {
    fn init(&mut self, ctx: &CcContext, ctl: &mut CcControl) {
        *self = Bbr {
            acks: AckTracker::new(ctx),
            rounds: Rounds::new(ctx),
            rtprop_us: ctx.rtt_us.max(1),
            rtprop_stamp: ctx.now,
            cycle_stamp: ctx.now,
            ..Bbr::default()
        };
        self.enter_startup();
        ctl.cwnd = INITIAL_CWND;
        ctl.ack_period = None;
        ctl.ack_interval = 0;
        ctl.rto = None;
        ctl.pkt_snd_period_us = f64::INFINITY;
        self.set_pacing(ctx, ctl);
    }

    fn on_ack(&mut self, ctx: &CcContext, ctl: &mut CcControl, ack: SeqNumber) {
        let acked = self.acks.acked(ack);
        if acked == 0 {
            return;
        }
        let round_start = self.rounds.on_ack(ctx, ack);
        let in_flight = self.acks.in_flight(ctx);
        match self.hole {
            Some(hole) => {
                // Repairing a loss: the ACK is stalled or jumps over the packets
                // received meanwhile, which says nothing about the delivery rate.
                if hole < ack {
                    self.hole = None;
                }
                self.rate.restart(ctx.now);
            }
            None => self.update_bw(ctx, acked),
        }
        self.update_cycle(ctx, in_flight);
        if round_start {
            self.check_full_pipe();
        }
        if self.mode == BbrMode::Startup && self.filled_pipe {
            self.mode = BbrMode::Drain;
            self.pacing_gain = 1.0 / HIGH_GAIN;
            self.cwnd_gain = HIGH_GAIN;
        }
        if self.mode == BbrMode::Drain && in_flight <= self.bdp() {
            self.enter_probe_bw(ctx);
        }
        self.update_rtprop(ctx, ctl, in_flight, round_start);
        self.set_pacing(ctx, ctl);
        self.set_cwnd(ctl, acked);
    }

    fn on_loss(&mut self, _ctx: &CcContext, _ctl: &mut CcControl, losses: LossList<'_>) {
        self.loss_in_cycle = true;
        for (_, last) in losses.ranges() {
            if self.hole.is_none_or(|h| h < last) {
                self.hole = Some(last);
            }
        }
    }

    fn on_timeout(&mut self, ctx: &CcContext, ctl: &mut CcControl) {
        ctl.cwnd = MIN_CWND;
        // Everything outstanding may be resent.
        self.hole = Some(ctx.snd_curr_seq);
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::Harness;
    use super::*;

    /// After `ms`, a full ACK of `n` packets that leaves `in_flight` unacknowledged.
    fn ack(h: &mut Harness<Bbr>, ms: u64, n: u32, in_flight: u32) {
        h.ctx.snd_curr_seq = h.acked.add(n + in_flight - 1);
        h.ack_after(Duration::from_millis(ms), n);
    }

    /// One round (RTT 100 ms) at a delivery rate of `pps`: ACKs every 10 ms, with
    /// one RTT's worth of packets plus one in flight.
    fn round_at(h: &mut Harness<Bbr>, pps: u32) {
        for _ in 0..10 {
            ack(h, 10, pps / 100, pps / 10 + 1);
        }
    }

    fn connected() -> Harness<Bbr> {
        let mut h = Harness::new(Bbr::default());
        h.auto_fill = false;
        h
    }

    #[test]
    fn startup_paces_at_high_gain_and_grows_the_window() {
        let mut h = connected();
        assert_eq!(h.cc.mode(), BbrMode::Startup);
        assert_eq!(h.ctl.cwnd, 16.0);
        round_at(&mut h, 1000);
        assert!((h.cc.btl_bw() - 1000.0).abs() < 1.0, "{}", h.cc.btl_bw());
        let period = 1e6 / (HIGH_GAIN * 1000.0);
        assert!((h.ctl.pkt_snd_period_us - period).abs() < 0.01);
        assert!(
            h.ctl.cwnd > 100.0,
            "grows by the packets acknowledged: {}",
            h.ctl.cwnd
        );
    }

    #[test]
    fn leaves_startup_when_bandwidth_stops_growing_then_drains() {
        let mut h = connected();
        let mut pps = 1000;
        for _ in 0..4 {
            round_at(&mut h, pps);
            pps *= 2;
        }
        assert_eq!(h.cc.mode(), BbrMode::Startup);
        // Flat bandwidth: three rounds without 25 % growth fill the pipe.
        let flat = pps / 2;
        let mut rounds_in_startup = 0;
        while h.cc.mode() == BbrMode::Startup {
            round_at(&mut h, flat);
            rounds_in_startup += 1;
            assert!(rounds_in_startup <= 4);
        }
        assert!(rounds_in_startup >= 3, "{rounds_in_startup}");
        assert_eq!(h.cc.mode(), BbrMode::Drain);
        assert!((h.cc.pacing_gain() - 1.0 / HIGH_GAIN).abs() < 1e-9);
        // In flight falls to a BDP (8000 pkt/s × 100 ms): PROBE_BW.
        let bdp = h.cc.bdp();
        assert!((bdp - 800.0).abs() < 1.0, "{bdp}");
        ack(&mut h, 10, 80, 790);
        assert_eq!(h.cc.mode(), BbrMode::ProbeBw);
        assert!(h.ctl.cwnd <= 2.0 * bdp + 3.0 + 1e-9, "{}", h.ctl.cwnd);
    }

    /// Through STARTUP at 1000 packets/s into PROBE_BW.
    fn probing_bandwidth() -> Harness<Bbr> {
        let mut h = connected();
        for _ in 0..6 {
            round_at(&mut h, 1000);
        }
        ack(&mut h, 10, 10, 50);
        assert_eq!(h.cc.mode(), BbrMode::ProbeBw);
        h
    }

    #[test]
    fn probe_bw_cycles_the_pacing_gain_once_per_rtprop() {
        let mut h = probing_bandwidth();
        let mut gains = vec![h.cc.pacing_gain()];
        for _ in 0..200 {
            // 1.3 BDP in flight, so the probing phase may end on time.
            ack(&mut h, 10, 10, 130);
            if gains.last() != Some(&h.cc.pacing_gain()) {
                gains.push(h.cc.pacing_gain());
            }
            let period = 1e6 / (h.cc.pacing_gain() * h.cc.btl_bw());
            assert!((h.ctl.pkt_snd_period_us - period).abs() < 1e-6);
        }
        let i = gains.iter().position(|&g| g == 1.25).unwrap();
        assert_eq!(gains[i..i + 4], [1.25, 0.75, 1.0, 1.25], "{gains:?}");
    }

    #[test]
    fn probes_rtt_after_ten_seconds_without_a_lower_sample() {
        let mut h = probing_bandwidth();
        h.ctx.rtt_us = 120_000;
        while h.cc.mode() != BbrMode::ProbeRtt {
            round_at(&mut h, 1000);
            assert!(h.ctx.now.as_micros() < 12_000_000);
        }
        assert_eq!(h.ctl.cwnd, MIN_CWND);
        h.ctx.rtt_us = 100_000;
        // What was in flight drains; then 4 packets at most for 200 ms and a round.
        ack(&mut h, 100, 101, 3);
        assert_eq!(h.cc.mode(), BbrMode::ProbeRtt);
        for _ in 0..19 {
            ack(&mut h, 10, 1, 3);
            assert_eq!(h.cc.mode(), BbrMode::ProbeRtt);
        }
        ack(&mut h, 10, 1, 3);
        assert_eq!(h.cc.mode(), BbrMode::ProbeBw);
        assert!(h.ctl.cwnd > 100.0, "window restored: {}", h.ctl.cwnd);
    }

    #[test]
    fn ignores_loss_and_restarts_small_after_a_timeout() {
        let mut h = probing_bandwidth();
        let before = h.ctl;
        h.nak_newest();
        assert_eq!(h.ctl, before);
        h.timeout();
        assert_eq!(h.ctl.cwnd, MIN_CWND);
        round_at(&mut h, 1000);
        assert!(h.ctl.cwnd > 100.0, "{}", h.ctl.cwnd);
    }
}
