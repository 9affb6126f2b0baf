//! Timing checks: when UDT4 sends what, as far as a capture can show it. Full ACKs every
//! SYN and light ACKs every 64 packets ([`ack`]), a NAK on the first sight of a gap
//! ([`nak`]), packet pairs ([`pair`]), handshake retries ([`retry`]), and what a side does
//! when it hears nothing: keep-alives, EXP backoff and the break ([`idle`]).
//!
//! Each tolerance below says what it allows for and what the reference captures
//! (`traces/reference/`, UDT4 on loopback) measured. A capture shows when a packet passed
//! the capture point, not when an endpoint's timer fired: a rule only judges a span the
//! capture covers, and a late packet that capture loss or a loaded host can explain is a
//! warning.

pub mod ack;
pub mod idle;
pub mod nak;
pub mod pair;
pub mod retry;

use super::flow::{RangeSet, EXP_MIN_NS};
use udt::packet::AckInfo;

/// UDT4's SYN, the ACK timer period (§5.1).
pub const SYN_NS: u64 = 10_000_000;

/// How long after a full ACK falls due the receiver may still take to send it, on top of
/// one SYN: its timer fires only when a packet arrives (§5.1), and it may lag behind the
/// capture point. Measured: a full ACK came at most 16.0 ms after the data that made it
/// due (`lossy_transfer_5mib_snap256`, paced at one packet per 16 ms) and never more than
/// 0.05 ms after the first packet that arrived once SYN had passed (`rendezvous`, 323
/// cases over the reference captures).
pub const ACK_LAG_NS: u64 = 10_000_000;

/// How soon after the packet that lets the ACK timer fire the full ACK must show:
/// measured at most 0.05 ms; 1 ms allows for a busy receiver.
pub const ACK_SLACK_NS: u64 = 1_000_000;

/// How far the acknowledged point may advance with no ACK at all while in-order data
/// arrives: two light-ACK periods. UDT4 sends a light ACK every 64 packets (§5.3);
/// measured at most 64 in the loss-free captures (25 light ACKs) and 115 in
/// `lossy_transfer`, where the capture lost the full ACK in between.
pub const LIGHT_ACK_MAX: i64 = 2 * super::flow::LIGHT_ACK_PACKETS as i64;

/// How soon after the packet that shows a gap the receiver's NAK must show: "at once"
/// (§5.4), before its next ACK timer tick. Measured at most 0.52 ms over the 93 gaps of
/// the two lossy captures, with up to 93 data packets queued in between.
pub const NAK_DELAY_NS: u64 = SYN_NS;

/// Two packets of a pair count as back to back within this gap (§5.7, §6.1): measured at
/// most 0.088 ms over 391 pairs, against a pacing of about 8 ms between the other packets
/// of `lossy_transfer_5mib_snap256`.
pub const PAIR_GAP_NS: u64 = 1_000_000;

/// UDT4 re-sends a connection request after more than 250 ms (§3.5), checked by a thread
/// that wakes at least every 10 ms. Measured: 251.9 to 260.0 ms over the 8 retries of
/// `hs_retry`.
pub const HS_RETRY_NS: u64 = 250_000_000;
/// Retries up to 250 ms plus two wake-ups pass.
pub const HS_RETRY_OK_NS: u64 = HS_RETRY_NS + 2 * SYN_NS;
/// Retries sooner than 250 ms less one wake-up fail; between that and 250 ms (less 1 ms
/// of timestamp rounding) they warn: an endpoint's clock reading may precede the
/// request's departure (our tokio driver's first request left 1.9 ms after the core
/// stamped it, so its first retry shows 248.1 ms after it).
pub const HS_RETRY_EARLY_NS: u64 = HS_RETRY_NS - SYN_NS;
/// Longer than two periods is another period (or a missed retry), not a late one.
pub const HS_RETRY_LATE_NS: u64 = 2 * HS_RETRY_NS;

/// How much longer each EXP interval of a silent peer must be than the one before: UDT4's
/// n-th expiry waits n·max(RTT + 4·RTTVar + SYN, 300 ms) (§5.5), so the step is at least
/// 300 ms less up to 100 ms of timer granularity each side. Measured steps: 208 to 372 ms
/// over the 29 steps of `exp_idle` and `exp_data`.
pub const EXP_STEP_NS: u64 = 150_000_000;

/// Expiries without an answer after which UDT4 breaks the connection: the 17th expiry
/// breaks (count > 16 and more than 5 s since the last), sending nothing (§5.5).
/// Measured: exactly 16 in `exp_idle` and `exp_data`.
pub const EXP_BREAK: u32 = 16;

/// How late an expiry may fire: UDT4 checks the timers of an idle socket only when its
/// last check is 100 ms old, in a loop that waits up to 10 ms for a packet (§5.1), plus
/// 10 ms for scheduling. Measured: at most 419.98 ms = 310 + 110 ms after the peer's
/// packet (`rendezvous`); 312 to 328 ms in `cs_idle_keepalive`, `exp_idle`, `exp_data`.
pub const TIMER_GRANULARITY_NS: u64 = 120_000_000;

/// UDT4's initial RTT and RTT variance, µs, before any ACK reports others (§5.6).
const INITIAL_RTT_US: (u64, u64) = (100_000, 50_000);

/// The longest EXP period (count 1) any side of the connection may use, from the largest
/// `RTT + 4·RTTVar` the full ACKs reported so far: `max(RTT + 4·RTTVar + SYN, 300 ms)`.
#[derive(Clone, Copy, Debug)]
pub struct ExpPeriod {
    rtt_4var_us: u64,
    max_rtt_us: u64,
}

impl Default for ExpPeriod {
    fn default() -> Self {
        let (rtt, var) = INITIAL_RTT_US;
        ExpPeriod {
            rtt_4var_us: rtt + 4 * var,
            max_rtt_us: rtt,
        }
    }
}

impl ExpPeriod {
    /// Learns of a full ACK's estimates.
    pub fn learn(&mut self, info: &AckInfo) {
        let (rtt, var) = (u64::from(info.rtt), u64::from(info.rtt_var));
        self.rtt_4var_us = self.rtt_4var_us.max(rtt + 4 * var);
        self.max_rtt_us = self.max_rtt_us.max(rtt);
    }

    /// One EXP period, ns.
    pub fn ns(&self) -> u64 {
        (self.rtt_4var_us * 1000 + SYN_NS).max(EXP_MIN_NS + 1_000_000)
    }

    /// Half the largest RTT, ns: how long two packets may cross on the way.
    pub fn crossing_ns(&self) -> u64 {
        self.max_rtt_us * 500
    }
}

/// What a receiver holds in order, as far as the capture shows: data packets below
/// [`InOrder::next`] all arrived (or were acknowledged, which proves they did), unless a
/// NAK says otherwise (a capture at the sender sees packets that the link loses later).
#[derive(Default)]
pub struct InOrder {
    /// Highest number seen.
    max: Option<i64>,
    /// Numbers below it not seen, or reported lost.
    missing: RangeSet,
}

impl InOrder {
    /// The first relative sequence number not held in order.
    pub fn next(&self) -> i64 {
        let after = self.max.map_or(0, |m| m + 1);
        self.missing.first().unwrap_or(after)
    }

    /// A data packet arrived.
    pub fn arrive(&mut self, rel: i64) {
        match self.max {
            Some(m) if rel <= m => {
                self.missing.remove(rel);
            }
            _ => {
                self.missing
                    .insert(self.max.map_or(rel, |m| m + 1), rel - 1);
                self.max = Some(rel);
            }
        }
    }

    /// An ACK says everything below `rel` arrived.
    pub fn acked(&mut self, rel: i64) {
        self.missing.remove_below(rel);
        if self.max.is_none_or(|m| m + 1 < rel) {
            self.max = Some(rel - 1);
        }
    }

    /// A NAK says `a..=b` did not arrive.
    pub fn lost(&mut self, a: i64, b: i64) {
        self.missing.insert(a, b.min(self.max.unwrap_or(b)));
    }
}

/// How long the handshake took to be answered as the capture saw it: the path's RTT when
/// the capture is at the side that asked, about 0 at the side that answered.
pub fn handshake_rtt_ns(cx: &super::Cx) -> u64 {
    let Some(i) = cx.facts.established else {
        return 0;
    };
    let pkts = &cx.conn.pkts;
    let answer = &pkts[i];
    pkts[..i]
        .iter()
        .rev()
        .find(|p| p.side != answer.side && matches!(p.kind, super::Kind::Handshake { .. }))
        .map_or(0, |q| answer.time_ns.saturating_sub(q.time_ns))
}

/// Milliseconds with one decimal, for findings.
pub fn ms(ns: u64) -> String {
    format!("{:.1} ms", ns as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_follows_arrivals_acks_and_naks() {
        let mut h = InOrder::default();
        assert_eq!(h.next(), 0);
        h.arrive(0);
        h.arrive(1);
        h.arrive(4); // 2 and 3 missing
        assert_eq!(h.next(), 2);
        h.arrive(3);
        assert_eq!(h.next(), 2);
        h.arrive(2);
        assert_eq!(h.next(), 5);
        h.lost(1, 1); // a capture at the sender: the link lost 1 after all
        assert_eq!(h.next(), 1);
        h.acked(4); // the receiver got it
        assert_eq!(h.next(), 5);
        h.acked(9); // and 5..=8, which the capture missed
        assert_eq!(h.next(), 9);
    }
}
