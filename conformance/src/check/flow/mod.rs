//! Checks over the connected phase: data sequence numbers and retransmissions ([`seq`]),
//! ACK, ACK2 and light ACK ([`ack`]), NAK ([`nak`]), message numbers ([`msg`]) and
//! shutdown ([`shut`]).
//!
//! Each rule is a visitor (see [`super::Rule`]) that keeps only its own state. What several
//! rules need, the [`Track`] keeps: per direction the highest sequence number sent, the
//! highest ACK, the packet counts, and when each side last heard from its peer. The rules
//! see it as it was *before* the packet they are shown; it learns of the packet after them.

pub mod ack;
pub mod msg;
pub mod nak;
pub mod seq;
pub mod shut;

use udt::packet::ReqType;
use udt::seq::SeqNumber;

use super::{Conn, Finding, Kind, Mode, Pkt, Verdict};

/// The shortest silence after which a UDT4 sender's EXP timer fires: the floor of
/// `max(n·(RTT + 4·RTTVar) + SYN, n·300 ms)` for n = 1 (§5.5), less 1 ms for
/// timestamp rounding.
pub const EXP_MIN_NS: u64 = 299_000_000;

/// How soon after the handshake a packet may be lost to UDT4's id-table race (§9).
pub const RACE_NS: u64 = 5_000_000;

/// Data packets a receiver counts between two light ACKs (§5.3).
pub const LIGHT_ACK_PACKETS: u64 = 64;

/// What the handshake established and what the capture evidently misses.
pub struct Facts {
    /// Each side's sending ISN, where the handshake shows it.
    pub isn: [Option<SeqNumber>; 2],
    /// The MSS that limits each side's packets.
    pub mss: [Option<u32>; 2],
    /// Index in `pkts` of the packet that completes the handshake.
    pub established: Option<usize>,
    /// Whether the listener rejected the client (1002).
    pub rejected: bool,
    /// Each side's first data packet: frame and sequence number.
    pub first_data: [Option<(u64, SeqNumber)>; 2],
    /// The capture evidently misses packets: a NAK, or a jump in a side's sequence
    /// numbers.
    pub gaps: bool,
}

impl Facts {
    /// Reads the facts off a connection.
    pub fn new(conn: &Conn) -> Self {
        let mut isn = [None, None];
        let mut mss = [None, None];
        let mut established = None;
        let mut rejected = false;
        let mut own_hs = [None, None];
        let mut sent_response = [None, None];
        match conn.mode() {
            Mode::ClientServer { client } => {
                for (i, p) in conn.pkts.iter().enumerate() {
                    let Kind::Handshake { hs, .. } = &p.kind else {
                        continue;
                    };
                    if p.side == client && own_hs[client].is_none() {
                        own_hs[client] = Some(*hs);
                    }
                    if p.side != client && established.is_none() {
                        match hs.req_type {
                            ReqType::Response => {
                                established = Some(i);
                                isn = [Some(SeqNumber::new(hs.isn)); 2];
                                mss = [Some(hs.mss); 2];
                            }
                            ReqType::Rejected => rejected = true,
                            _ => {}
                        }
                    }
                }
                if established.is_none() {
                    if let Some(hs) = own_hs[client] {
                        isn = [Some(SeqNumber::new(hs.isn)); 2];
                        mss = [Some(hs.mss); 2];
                    }
                }
            }
            Mode::Rendezvous => {
                for (i, p) in conn.pkts.iter().enumerate() {
                    let Kind::Handshake { hs, .. } = &p.kind else {
                        continue;
                    };
                    if hs.version != 0 && own_hs[p.side].is_none() {
                        own_hs[p.side] = Some(*hs);
                    }
                    if hs.req_type == ReqType::Response && sent_response[p.side].is_none() {
                        sent_response[p.side] = Some(i);
                    }
                }
                if let [Some(a), Some(b)] = sent_response {
                    established = Some(a.max(b));
                }
                for side in 0..2 {
                    isn[side] = own_hs[side].map(|h| SeqNumber::new(h.isn));
                    mss[side] = own_hs[1 - side].or(own_hs[side]).map(|h| h.mss);
                }
            }
            Mode::Headless => {}
        }
        let mut first_data = [None, None];
        let mut max: [Option<SeqNumber>; 2] = [None, None];
        let mut gaps = false;
        for p in &conn.pkts {
            match &p.kind {
                Kind::Nak(_) => gaps = true,
                Kind::Data { seq, .. } => {
                    first_data[p.side].get_or_insert((p.frame, *seq));
                    match max[p.side] {
                        None => max[p.side] = Some(*seq),
                        Some(m) => {
                            let off = m.offset_to(*seq);
                            if off > 1 {
                                gaps = true;
                            }
                            if off > 0 {
                                max[p.side] = Some(*seq);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        Facts {
            isn,
            mss,
            established,
            rejected,
            first_data,
            gaps,
        }
    }
}

/// Inclusive ranges of relative sequence numbers, sorted and disjoint.
#[derive(Default)]
pub struct RangeSet(Vec<(i64, i64)>);

impl RangeSet {
    /// Adds `a..=b` (nothing when `a > b`).
    pub fn insert(&mut self, a: i64, b: i64) {
        if a > b {
            return;
        }
        let mut out = Vec::with_capacity(self.0.len() + 1);
        let (mut a, mut b) = (a, b);
        for &(x, y) in &self.0 {
            if y + 1 < a || b + 1 < x {
                out.push((x, y));
            } else {
                a = a.min(x);
                b = b.max(y);
            }
        }
        out.push((a, b));
        out.sort_unstable();
        self.0 = out;
    }

    /// The smallest number in the set.
    pub fn first(&self) -> Option<i64> {
        self.0.first().map(|r| r.0)
    }

    /// Takes out every number below `v`.
    pub fn remove_below(&mut self, v: i64) {
        self.0.retain(|r| r.1 >= v);
        if let Some(r) = self.0.first_mut() {
            r.0 = r.0.max(v);
        }
    }

    /// Takes `v` out; whether it was in.
    pub fn remove(&mut self, v: i64) -> bool {
        let Some(i) = self.0.iter().position(|&(x, y)| x <= v && v <= y) else {
            return false;
        };
        let (x, y) = self.0.remove(i);
        if v < y {
            self.0.insert(i, (v + 1, y));
        }
        if x < v {
            self.0.insert(i, (x, v - 1));
        }
        true
    }
}

/// What one direction's data and its peer's acknowledgements established so far.
#[derive(Clone, Copy, Debug, Default)]
pub struct Side {
    /// The sequence number that relative numbers count from (the ISN, or the first seen).
    pub base: Option<SeqNumber>,
    /// Highest sequence number sent (relative).
    pub max: Option<i64>,
    /// Highest ACK from the peer (relative), full or light.
    pub last_ack: Option<i64>,
    /// Frame of that ACK.
    pub last_ack_frame: u64,
    /// Data packets sent.
    pub data: usize,
    /// ACKs received about them.
    pub acks: usize,
    /// NAKs received about them.
    pub naks: usize,
}

/// The state several rules share, kept per direction of data (indexed by the sending side).
pub struct Track {
    /// Per direction.
    pub sides: [Side; 2],
    /// When each side last received a packet from its peer (capture time, ns).
    pub last_heard: [Option<u64>; 2],
    /// The current packet's sequence numbers, relative to their direction's base: the data
    /// packet's, the ACK's, or each NAK range's two ends.
    pub rel: Vec<i64>,
}

impl Track {
    /// Starts from the ISNs the handshake established.
    pub fn new(facts: &Facts) -> Self {
        let mut sides = [Side::default(); 2];
        for (side, s) in sides.iter_mut().enumerate() {
            s.base = facts.isn[side];
        }
        Track {
            sides,
            last_heard: [None, None],
            rel: vec![],
        }
    }

    fn relative(&mut self, side: usize, seq: SeqNumber) -> i64 {
        let base = *self.sides[side].base.get_or_insert(seq);
        i64::from(base.offset_to(seq))
    }

    /// Reads `p`'s sequence numbers into [`Track::rel`] (a direction without a base takes
    /// the first number it sees).
    pub fn resolve(&mut self, p: &Pkt) {
        self.rel.clear();
        let r = 1 - p.side;
        match &p.kind {
            Kind::Data { seq, .. } => {
                let v = self.relative(p.side, *seq);
                self.rel.push(v);
            }
            Kind::Ack(ack) => {
                let v = self.relative(r, ack.seq);
                self.rel.push(v);
            }
            Kind::Nak(ranges) => {
                for (a, b) in ranges {
                    let (a, b) = (self.relative(r, *a), self.relative(r, *b));
                    self.rel.extend([a, b]);
                }
            }
            _ => {}
        }
    }

    /// Learns of `p`, after the rules have seen it.
    pub fn advance(&mut self, p: &Pkt) {
        let r = 1 - p.side;
        match &p.kind {
            Kind::Data { .. } => {
                let d = &mut self.sides[p.side];
                d.data += 1;
                let rel = self.rel[0];
                if d.max.is_none_or(|m| rel > m) {
                    d.max = Some(rel);
                }
            }
            Kind::Ack(_) => {
                let d = &mut self.sides[r];
                d.acks += 1;
                let rel = self.rel[0];
                if d.last_ack.is_none_or(|l| rel >= l) {
                    d.last_ack = Some(rel);
                    d.last_ack_frame = p.frame;
                }
            }
            Kind::Nak(_) => self.sides[r].naks += 1,
            _ => {}
        }
        self.last_heard[r] = Some(p.time_ns);
    }

    /// The absolute sequence number of `rel` in `side`'s direction.
    pub fn absolute(&self, side: usize, rel: i64) -> u32 {
        self.sides[side]
            .base
            .map_or(0, |b| b.add(rel as u32).value())
    }

    /// Data packets of both directions.
    pub fn data(&self) -> usize {
        self.sides[0].data + self.sides[1].data
    }

    /// ACKs of both directions.
    pub fn acks(&self) -> usize {
        self.sides[0].acks + self.sides[1].acks
    }

    /// NAKs of both directions.
    pub fn naks(&self) -> usize {
        self.sides[0].naks + self.sides[1].naks
    }
}

/// Caps the findings of one check so a broken capture gives a readable report.
const MAX_FINDINGS: usize = 20;

/// Adds a finding, up to [`MAX_FINDINGS`] and a last one saying more were left out.
pub fn push(v: &mut Vec<Finding>, f: Finding) {
    if v.len() < MAX_FINDINGS {
        v.push(f);
    } else if v.len() == MAX_FINDINGS {
        v.push(Finding {
            severity: f.severity,
            frames: f.frames,
            message: "... more findings of this check left out".into(),
        });
    }
}

/// The rule applies when the connection has what it talks about (`cond`) or it found
/// something; otherwise it does not, for the reason `why`.
pub fn applies_if(cond: bool, findings: Vec<Finding>, why: &str) -> Verdict {
    if cond || !findings.is_empty() {
        Verdict::Applies(findings)
    } else {
        Verdict::NotApplicable(why.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_set_merges_and_splits() {
        let mut r = RangeSet::default();
        r.insert(5, 7);
        r.insert(8, 9);
        r.insert(1, 2);
        assert_eq!(r.0, vec![(1, 2), (5, 9)]);
        assert!(r.remove(7));
        assert_eq!(r.0, vec![(1, 2), (5, 6), (8, 9)]);
        assert!(!r.remove(7));
        assert!(r.remove(1) && r.remove(2));
        assert_eq!(r.0, vec![(5, 6), (8, 9)]);
        r.insert(3, 1); // empty
        assert_eq!(r.0.len(), 2);
        r.remove_below(6);
        assert_eq!((r.0.clone(), r.first()), (vec![(6, 6), (8, 9)], Some(6)));
        r.remove_below(10);
        assert_eq!(r.first(), None);
    }
}
