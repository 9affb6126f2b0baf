//! What the window-based algorithms share: counting newly acknowledged packets,
//! the NewReno recovery point, round trips and delivery-rate samples taken from the
//! ACK stream, and [`LossBased`], the slow-start / recovery / timeout skeleton that
//! the TCP variants fill in with a [`WindowRule`].
//!
//! UDT has no duplicate ACKs: a full ACK carries the first sequence number not yet
//! received (everything before it arrived) and losses come explicitly in NAKs. So
//! "packets acknowledged" is the advance of the full-ACK sequence number between
//! two `on_ack` calls, and a NAK is the loss signal that TCP derives from the third
//! duplicate ACK.

use super::{CcContext, CcControl, CongestionControl};
use crate::packet::LossList;
use crate::seq::SeqNumber;
use crate::time::{Duration, Instant};

/// The smallest window the TCP variants use (UDT4 `CTCP` on timeout).
pub(super) const MIN_CWND: f64 = 2.0;
/// "Infinite" initial slow-start threshold (UDT4 `CTCP::m_issthresh`).
pub(super) const INITIAL_SSTHRESH: f64 = 83_333.0;
/// UDT4's `CTCP` fixes the retransmission timeout at 1 s (RFC 6298's minimum).
pub(super) const WINDOW_RTO: Duration = Duration::from_secs(1);

/// A window-based algorithm's start (UDT4 `CTCP::init`): no pacing, a full ACK every
/// two packets (TCP's delayed ACK), a 1 s RTO and the given window.
pub(super) fn init_window(ctl: &mut CcControl, cwnd: f64) {
    ctl.pkt_snd_period_us = 0.0;
    ctl.cwnd = cwnd;
    ctl.ack_period = None;
    ctl.ack_interval = 2;
    ctl.rto = Some(WINDOW_RTO);
}

/// A window after growing from `old` to `new`: growth stops at the peer's flow window
/// (TCP's receive window) but never shrinks a window already above it.
pub(super) fn capped(ctx: &CcContext, old: f64, new: f64) -> f64 {
    new.min(old.max(ctx.max_cwnd))
}

/// Counts packets newly acknowledged by full ACKs.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct AckTracker {
    last: SeqNumber,
}

impl AckTracker {
    /// Nothing acknowledged yet: the first packet is the one after the largest sent.
    pub(super) fn new(ctx: &CcContext) -> Self {
        AckTracker {
            last: ctx.snd_curr_seq.next(),
        }
    }

    /// Packets that `ack` acknowledges beyond the previous ACK (0 for an old one).
    pub(super) fn acked(&mut self, ack: SeqNumber) -> u32 {
        let d = self.last.offset_to(ack);
        if d > 0 {
            self.last = ack;
            d as u32
        } else {
            0
        }
    }

    /// Packets sent and not yet acknowledged by a full ACK.
    pub(super) fn in_flight(&self, ctx: &CcContext) -> f64 {
        f64::from((self.last.offset_to(ctx.snd_curr_seq) + 1).max(0))
    }
}

/// The NewReno recovery point (RFC 6582 "recover"): a loss report starts a new
/// congestion event only if it names a packet sent after the previous event began,
/// so the window is reduced at most once per window of data.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Recovery {
    recover: SeqNumber,
    active: bool,
}

impl Recovery {
    pub(super) fn new(ctx: &CcContext) -> Self {
        Recovery {
            recover: ctx.snd_curr_seq,
            active: false,
        }
    }

    /// Whether this NAK starts a new congestion event (then recovery lasts until
    /// everything sent so far is acknowledged).
    pub(super) fn on_loss(&mut self, ctx: &CcContext, losses: LossList<'_>) -> bool {
        let fresh = losses.ranges().any(|(_, last)| last > self.recover);
        if fresh {
            self.recover = ctx.snd_curr_seq;
            self.active = true;
        }
        fresh
    }

    /// A timeout: what was sent before it cannot start another event (RFC 6582 §3.2).
    pub(super) fn on_timeout(&mut self, ctx: &CcContext) {
        self.recover = ctx.snd_curr_seq;
        self.active = false;
    }

    /// Ends recovery once `ack` covers the recovery point.
    pub(super) fn on_ack(&mut self, ack: SeqNumber) {
        if self.active && self.recover < ack {
            self.active = false;
        }
    }

    pub(super) fn active(&self) -> bool {
        self.active
    }
}

/// Full ACKs to let pass before the smoothed RTT counts towards a minimum: the
/// connection's estimate starts from UDT's 100 ms default, not a measurement, and is
/// smoothed twice (the receiver's EWMA of ACK2 samples, then the sender's EWMA of
/// what the receiver reports); after 64 updates the default's weight is negligible.
const RTT_SETTLE_ACKS: u32 = 64;

/// The smallest RTT seen ("BaseRTT", "RTT_min") from the smoothed RTT in the
/// context — which has no per-ACK sample — ignoring the first ACKs while the
/// estimate still leans on the 100 ms default.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct MinRtt {
    acks: u32,
    min_us: u32,
}

impl MinRtt {
    pub(super) fn on_ack(&mut self, ctx: &CcContext) {
        if self.acks < RTT_SETTLE_ACKS {
            self.acks += 1;
            return;
        }
        if ctx.rtt_us > 0 && (self.min_us == 0 || ctx.rtt_us < self.min_us) {
            self.min_us = ctx.rtt_us;
        }
    }

    /// The minimum, µs; the current smoothed RTT until there is one.
    pub(super) fn get(&self, ctx: &CcContext) -> u32 {
        if self.min_us == 0 {
            ctx.rtt_us.max(1)
        } else {
            self.min_us
        }
    }
}

/// Round trips counted on the ACK stream: a round ends when the ACK passes the
/// largest sequence number sent when the round began (BBR's "packet-timed round").
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Rounds {
    end: SeqNumber,
    count: u64,
}

impl Rounds {
    pub(super) fn new(ctx: &CcContext) -> Self {
        Rounds {
            end: ctx.snd_curr_seq,
            count: 0,
        }
    }

    /// Whether `ack` starts a new round.
    pub(super) fn on_ack(&mut self, ctx: &CcContext, ack: SeqNumber) -> bool {
        if self.end < ack {
            self.end = ctx.snd_curr_seq;
            self.count += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn count(&self) -> u64 {
        self.count
    }
}

/// Delivery-rate samples from the ACK stream: packets acknowledged over the time
/// between ACKs, aggregated until at least `min_interval` has passed.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct DeliveryRate {
    start: Option<Instant>,
    acked: u64,
}

impl DeliveryRate {
    /// Records `acked` packets at `now`; a rate in packets/s once the interval is
    /// long enough. The first ACK only starts the clock (the time before it
    /// includes the handshake and the first RTT).
    pub(super) fn sample(
        &mut self,
        now: Instant,
        acked: u32,
        min_interval: Duration,
    ) -> Option<f64> {
        let Some(start) = self.start else {
            self.start = Some(now);
            return None;
        };
        self.acked += u64::from(acked);
        let dt = now.saturating_since(start);
        if dt.as_micros() == 0 || dt < min_interval {
            return None;
        }
        let rate = self.acked as f64 / dt.as_secs_f64();
        self.start = Some(now);
        self.acked = 0;
        Some(rate)
    }

    /// Drops what was counted and starts a new interval at `now`. While a loss is
    /// being repaired the cumulative ACK stalls at the hole and then jumps over
    /// everything received meanwhile; counting that jump would report a rate far
    /// above what the path delivered.
    pub(super) fn restart(&mut self, now: Instant) {
        self.start = Some(now);
        self.acked = 0;
    }
}

/// The part of a loss-based TCP variant that differs from Reno: how the window
/// grows in congestion avoidance and where it goes on a congestion event.
pub trait WindowRule: Send + core::fmt::Debug + Default {
    /// Sees every full ACK that acknowledges `acked` new packets, before any window
    /// change (for estimators such as Westwood's). `recovering` is set while a loss
    /// is being repaired, including for the ACK that ends the repair.
    fn on_ack(&mut self, _ctx: &CcContext, _acked: u32, _recovering: bool) {}
    /// Congestion avoidance: the window after `acked` more packets were
    /// acknowledged at window `cwnd`.
    fn increase(&mut self, ctx: &CcContext, cwnd: f64, acked: f64) -> f64;
    /// A congestion event (a NAK of new data, or a timeout) at window `cwnd`: the new
    /// slow-start threshold, which is also the window after a NAK.
    fn on_congestion(&mut self, ctx: &CcContext, cwnd: f64) -> f64;
}

/// TCP's loss-based window control (RFC 5681 with RFC 6582's recovery point) around
/// a [`WindowRule`]: slow start below the threshold, the rule's increase above it,
/// the rule's decrease once per window on a NAK (the window then holds until the
/// recovery point is acknowledged — retransmissions ignore the window in UDT, so
/// no inflation is needed), and a window of 2 after a timeout.
#[derive(Clone, Debug, Default)]
pub struct LossBased<R> {
    rule: R,
    acks: AckTracker,
    recovery: Recovery,
    ssthresh: f64,
}

impl<R: WindowRule> LossBased<R> {
    /// A controller around `rule`.
    pub fn new(rule: R) -> Self {
        LossBased {
            rule,
            acks: AckTracker::default(),
            recovery: Recovery::default(),
            ssthresh: INITIAL_SSTHRESH,
        }
    }

    /// The rule, for inspection.
    pub fn rule(&self) -> &R {
        &self.rule
    }

    /// The slow-start threshold, packets.
    pub fn ssthresh(&self) -> f64 {
        self.ssthresh
    }
}

impl<R: WindowRule> CongestionControl for LossBased<R> {
    fn init(&mut self, ctx: &CcContext, ctl: &mut CcControl) {
        self.acks = AckTracker::new(ctx);
        self.recovery = Recovery::new(ctx);
        self.ssthresh = INITIAL_SSTHRESH;
        init_window(ctl, MIN_CWND);
    }

    fn on_ack(&mut self, ctx: &CcContext, ctl: &mut CcControl, ack: SeqNumber) {
        let n = self.acks.acked(ack);
        if n == 0 {
            return;
        }
        // The window holds during recovery, including the ACK that ends it (RFC
        // 6582's "full acknowledgment" deflates to ssthresh, where cwnd already is).
        let recovering = self.recovery.active();
        self.rule.on_ack(ctx, n, recovering);
        self.recovery.on_ack(ack);
        if recovering {
            return;
        }
        let old = ctl.cwnd;
        let mut cwnd = old;
        let mut left = f64::from(n);
        if cwnd < self.ssthresh {
            // Slow start: one packet per packet acknowledged, up to the threshold;
            // the rest of this ACK counts towards congestion avoidance.
            let used = left.min(self.ssthresh - cwnd);
            cwnd += used;
            left -= used;
        }
        if left > 0.0 {
            cwnd = self.rule.increase(ctx, cwnd, left);
        }
        ctl.cwnd = capped(ctx, old, cwnd).max(MIN_CWND);
    }

    fn on_loss(&mut self, ctx: &CcContext, ctl: &mut CcControl, losses: LossList<'_>) {
        if self.recovery.on_loss(ctx, losses) {
            self.ssthresh = self.rule.on_congestion(ctx, ctl.cwnd).max(MIN_CWND);
            ctl.cwnd = ctl.cwnd.min(self.ssthresh);
        }
    }

    fn on_timeout(&mut self, ctx: &CcContext, ctl: &mut CcControl) {
        self.ssthresh = self.rule.on_congestion(ctx, ctl.cwnd).max(MIN_CWND);
        ctl.cwnd = MIN_CWND;
        self.recovery.on_timeout(ctx);
    }
}
