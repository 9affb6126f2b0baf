//! ACK-5 and ACK-6: full ACKs every SYN while data arrives, light ACKs every 64 packets.

use super::{handshake_rtt_ns, ms, InOrder, ACK_LAG_NS, ACK_SLACK_NS, LIGHT_ACK_MAX, SYN_NS};
use crate::check::flow::{applies_if, push, Track, LIGHT_ACK_PACKETS};
use crate::check::{fail, fail_unless, Cx, Finding, Kind, Pkt, Rule, Verdict};

/// Whether full ACK `n` follows `prev` with sub-sequence numbers skipped: a full ACK is
/// missing from the capture.
fn skipped(prev: Option<u32>, n: u32) -> bool {
    prev.is_some_and(|l| n != (l + 1) & 0x7FFF_FFFF)
}

/// One direction of data as ACK-5 follows it.
#[derive(Default)]
struct Period {
    held: InOrder,
    /// The receiver's last full ACK: time, relative number, sub-sequence number.
    last: Option<(u64, i64, u32)>,
    /// The first data packet; the ACK timer counts from there until the first full ACK.
    start_ns: Option<u64>,
    /// The data packet that made a full ACK due: frame, time.
    due: Option<(u64, u64)>,
    /// The first new data packet more than SYN + lag + RTT after that: frame, time.
    deadline: Option<(u64, u64)>,
    /// The receiver's RTT as its last full ACK reported it, ns: a capture away from the
    /// receiver sees its ACKs up to an RTT after the data that made them due.
    rtt_ns: u64,
    /// The RTT the handshake showed at the capture point, ns (before any ACK reports one).
    hs_rtt_ns: Option<u64>,
    judged: bool,
}

/// ACK-5: while data arrives, a full ACK follows every SYN. Once the receiver holds in
/// order data its last full ACK did not cover and SYN has passed since that ACK, a full
/// ACK is due (§5.2); it must show by the first new data packet that arrives more than
/// SYN + [`ACK_LAG_NS`] + the path's RTT later (UDT4's timer fires on arrivals, and a
/// capture at the sender sees the ACK an RTT late): the RTT the receiver's last full ACK
/// reported, or the handshake's before the first.
#[derive(Default)]
pub struct Ack5 {
    /// Per direction, indexed by the data sender.
    dirs: [Period; 2],
    found: Vec<Finding>,
}

impl Ack5 {
    fn late(&mut self, due: (u64, u64), ack: Option<&Pkt>, cx: &Cx, s: usize) {
        let r = cx.conn.addrs[1 - s];
        let msg = match ack {
            Some(a) => format!(
                "full ACK from {r} {} after the data that made it due (UDT4: one every SYN, 10 ms, while data arrives)",
                ms(a.time_ns.saturating_sub(due.1))
            ),
            None => format!("no full ACK from {r} after this data although data kept arriving"),
        };
        let frames = ack.map_or(vec![due.0], |a| vec![a.frame, due.0]);
        push(&mut self.found, fail(frames, msg));
    }
}

impl Rule for Ack5 {
    fn packet(&mut self, cx: &Cx, t: &Track, _: usize, p: &Pkt) {
        let s = p.side;
        let d = &mut self.dirs[s];
        match &p.kind {
            Kind::Data { .. } => {
                // Only new data shows that data flows; retransmissions after an expiry
                // show a receiver that went silent.
                let new = t.sides[s].max.is_none_or(|m| t.rel[0] > m);
                if let Some(due) = d.due.filter(|_| new && d.deadline.is_none()) {
                    let path = d
                        .rtt_ns
                        .max(*d.hs_rtt_ns.get_or_insert_with(|| handshake_rtt_ns(cx)));
                    if p.time_ns > due.1 + SYN_NS + ACK_LAG_NS + path {
                        d.deadline = Some((p.frame, p.time_ns));
                    }
                }
                d.held.arrive(t.rel[0]);
                let start = *d.start_ns.get_or_insert(p.time_ns);
                let origin = d.last.map_or(start, |l| l.0);
                let covered = d.last.map_or(0, |l| l.1);
                let timer_due = p.time_ns >= origin + SYN_NS;
                if d.due.is_none() && timer_due && d.held.next() > covered {
                    d.due = Some((p.frame, p.time_ns));
                }
            }
            Kind::Nak(_) => {
                for ab in t.rel.chunks(2) {
                    self.dirs[1 - s].held.lost(ab[0], ab[1]);
                }
            }
            Kind::Ack(ack) if ack.full.is_some() => {
                let d = &mut self.dirs[1 - s];
                d.rtt_ns = ack.full.map_or(0, |f| u64::from(f.rtt) * 1000);
                let n = ack.ack_number.value();
                let lost_one = skipped(d.last.map(|l| l.2), n);
                let late = d.deadline.filter(|dl| p.time_ns > dl.1 + ACK_SLACK_NS);
                let due = d.due;
                d.judged |= due.is_some();
                d.held.acked(t.rel[0]);
                d.last = Some((p.time_ns, t.rel[0], n));
                d.due = None;
                d.deadline = None;
                // A full ACK missing from the capture may have come in time.
                if let (Some(due), Some(_), false) = (due, late, lost_one) {
                    self.late(due, Some(p), cx, 1 - s);
                }
            }
            _ => {}
        }
    }

    fn finish(mut self: Box<Self>, cx: &Cx, _: &Track) -> Verdict {
        let end = cx.conn.pkts.last().map_or(0, |p| p.time_ns);
        for s in 0..2 {
            let d = &self.dirs[s];
            if let (Some(due), Some(dl)) = (d.due, d.deadline) {
                if end > dl.1 + ACK_SLACK_NS {
                    self.dirs[s].judged = true;
                    self.late(due, None, cx, s);
                }
            }
        }
        let judged = self.dirs.iter().any(|d| d.judged);
        applies_if(
            judged,
            self.found,
            "data never arrived for longer than one SYN (10 ms) without a full ACK",
        )
    }
}

/// One direction of data as ACK-6 follows it.
#[derive(Default)]
struct Light {
    held: InOrder,
    /// The receiver's highest ACK number, full or light (relative).
    acked: Option<i64>,
    /// Data packets since the receiver's last ACK that arrived with in-order data beyond it.
    since: i64,
    last_full: Option<u32>,
}

/// ACK-6: a light ACK comes every 64 packets: the acknowledged point never advances by
/// more than [`LIGHT_ACK_MAX`] with no ACK, counting only data that arrived in order
/// (UDT4 sends no light ACK while a loss holds the ACK number back, §5.3).
#[derive(Default)]
pub struct Ack6 {
    dirs: [Light; 2],
    judged: bool,
    found: Vec<Finding>,
}

impl Rule for Ack6 {
    fn packet(&mut self, cx: &Cx, t: &Track, _: usize, p: &Pkt) {
        match &p.kind {
            Kind::Data { .. } => {
                let d = &mut self.dirs[p.side];
                d.held.arrive(t.rel[0]);
                if d.held.next() > d.acked.unwrap_or(0) {
                    d.since += 1;
                }
            }
            Kind::Nak(_) => {
                for ab in t.rel.chunks(2) {
                    self.dirs[1 - p.side].held.lost(ab[0], ab[1]);
                }
            }
            Kind::Ack(ack) => {
                let s = 1 - p.side;
                let d = &mut self.dirs[s];
                let rel = t.rel[0];
                let advance = d.acked.map_or(0, |a| rel - a);
                // The receiver may lag behind the capture, and an ACK may fill a loss:
                // only both counts together show a missing light ACK.
                let gap = d.since.min(advance);
                self.judged |= gap >= LIGHT_ACK_PACKETS as i64;
                let lost_full = ack.full.is_some() && skipped(d.last_full, ack.ack_number.value());
                if gap > LIGHT_ACK_MAX && !lost_full {
                    let msg = format!(
                        "{} ACKs {advance} packets after its previous ACK, with {} data packets between (UDT4 sends a light ACK every {LIGHT_ACK_PACKETS})",
                        cx.conn.addrs[p.side], d.since
                    );
                    push(
                        &mut self.found,
                        fail_unless(cx.facts.gaps, vec![p.frame], msg),
                    );
                }
                if ack.full.is_some() {
                    d.last_full = Some(ack.ack_number.value());
                }
                d.held.acked(rel);
                d.acked = Some(d.acked.map_or(rel, |a| a.max(rel)));
                d.since = 0;
            }
            _ => {}
        }
    }

    fn finish(self: Box<Self>, _: &Cx, _: &Track) -> Verdict {
        applies_if(
            self.judged,
            self.found,
            "never 64 data packets in order between two ACKs",
        )
    }
}
