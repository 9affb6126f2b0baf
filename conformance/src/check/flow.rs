//! Checks over the connected phase: data sequence numbers, retransmissions, ACK, ACK2,
//! light ACK, NAK, message numbers and shutdown.

use std::collections::BTreeMap;

use udt::packet::{Boundary, ReqType};
use udt::seq::{MsgNumber, SeqNumber};

use super::{
    applies, fail, fail_unless, not_applicable, warn, CheckResult, Conn, Finding, Kind, Mode,
    ACK_1, ACK_2, ACK_3, ACK_4, DATA_1, DATA_2, MSG_1, NAK_1, RTX_1, SHUT_1,
};

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
struct RangeSet(Vec<(i64, i64)>);

impl RangeSet {
    fn insert(&mut self, a: i64, b: i64) {
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

    fn remove(&mut self, v: i64) -> bool {
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

/// Word 1 of a data packet, as the checks compare it.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Word1 {
    boundary: Boundary,
    in_order: bool,
    msg: MsgNumber,
    frame: u64,
}

impl Word1 {
    fn same(&self, o: &Word1) -> bool {
        self.boundary == o.boundary && self.in_order == o.in_order && self.msg == o.msg
    }
}

fn boundary_name(b: Boundary) -> &'static str {
    match b {
        Boundary::First => "first",
        Boundary::Last => "last",
        Boundary::Solo => "solo",
        Boundary::Middle => "middle",
    }
}

/// A forward jump in a side's sequence numbers.
struct Gap {
    first: i64,
    last: i64,
    frame: u64,
    time_ns: u64,
    explained: bool,
}

/// A full ACK waiting for its ACK2.
struct PendingAck {
    number: u32,
    frame: u64,
    time_ns: u64,
    answered: bool,
}

/// Per direction of data: what side `s` sent and what its peer said about it.
#[derive(Default)]
struct Dir {
    base: Option<SeqNumber>,
    max: Option<i64>,
    words: BTreeMap<i64, Word1>,
    eligible: RangeSet,
    gaps: Vec<Gap>,
    /// Highest ACK from the peer (relative), full or light.
    last_ack: Option<i64>,
    /// Frame of that ACK.
    last_ack_frame: u64,
    /// Data packets of this side since the peer's last ACK.
    since_peer_ack: u64,
    /// The peer's full ACKs.
    full_acks: Vec<PendingAck>,
    /// Frames of this side's data packets.
    data: usize,
    acks: usize,
    naks: usize,
}

impl Dir {
    fn rel(&mut self, seq: SeqNumber) -> i64 {
        let base = *self.base.get_or_insert(seq);
        i64::from(base.offset_to(seq))
    }
}

#[derive(Default)]
struct Findings {
    data1: Vec<Finding>,
    data2: Vec<Finding>,
    rtx: Vec<Finding>,
    ack1: Vec<Finding>,
    ack2: Vec<Finding>,
    ack3: Vec<Finding>,
    ack4: Vec<Finding>,
    nak: Vec<Finding>,
    msg: Vec<Finding>,
    shut: Vec<Finding>,
}

/// Caps the findings of one check so a broken capture gives a readable report.
const MAX_FINDINGS: usize = 20;

fn push(v: &mut Vec<Finding>, f: Finding) {
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

pub(super) fn run(conn: &Conn, facts: &Facts) -> Vec<CheckResult> {
    let mut dirs = [Dir::default(), Dir::default()];
    for (side, dir) in dirs.iter_mut().enumerate() {
        dir.base = facts.isn[side];
    }
    let mut f = Findings::default();
    let mut last_heard = [None::<u64>, None::<u64>];
    let mut shutdown: [Option<(u64, u64)>; 2] = [None, None];
    let mut max_rtt_us: u64 = 100_000;
    let headless = conn.mode() == Mode::Headless;
    let gaps = facts.gaps;
    for (i, p) in conn.pkts.iter().enumerate() {
        let s = p.side;
        let r = 1 - s;
        // SHUT-1
        if let Some((frame, _)) = shutdown[s] {
            push(
                &mut f.shut,
                fail(
                    vec![p.frame, frame],
                    format!("{} sent a packet after its shutdown", conn.addrs[s]),
                ),
            );
        }
        if let Some((frame, t)) = shutdown[r] {
            let grace = 2 * max_rtt_us * 1000;
            if p.time_ns.saturating_sub(t) > grace {
                push(
                    &mut f.shut,
                    fail(
                        vec![p.frame, frame],
                        format!(
                            "{} sent a packet {} ms after the peer's shutdown",
                            conn.addrs[s],
                            p.time_ns.saturating_sub(t) / 1_000_000
                        ),
                    ),
                );
            }
        }
        match &p.kind {
            Kind::Data {
                seq,
                boundary,
                in_order,
                msg,
            } => {
                let word = Word1 {
                    boundary: *boundary,
                    in_order: *in_order,
                    msg: *msg,
                    frame: p.frame,
                };
                if !headless && facts.established.is_none_or(|e| i < e) {
                    let what = if facts.rejected {
                        "data on a rejected connection"
                    } else {
                        "data before the handshake completes"
                    };
                    push(
                        &mut f.data1,
                        fail_unless(gaps && !facts.rejected, vec![p.frame], what.into()),
                    );
                }
                let heard = last_heard[s];
                data(
                    &mut dirs[s],
                    &mut f,
                    p.frame,
                    p.time_ns,
                    *seq,
                    word,
                    heard,
                    gaps,
                );
                dirs[s].since_peer_ack += 1;
            }
            Kind::Ack(ack) => {
                // About the data of the peer, `r`.
                let d = &mut dirs[r];
                d.acks += 1;
                let rel = d.rel(ack.seq);
                let prev_ack = d.last_ack;
                if let Some(info) = ack.full {
                    max_rtt_us = max_rtt_us.max(u64::from(info.rtt));
                }
                if let Some(last) = d.last_ack {
                    if rel < last {
                        push(
                            &mut f.ack1,
                            fail(
                                vec![p.frame, d.last_ack_frame],
                                format!(
                                    "ACK {} below the earlier ACK {}",
                                    ack.seq.value(),
                                    d.base.map_or(0, |b| b.add(last as u32).value())
                                ),
                            ),
                        );
                    }
                }
                let top = d.max.map_or(0, |m| m + 1);
                if rel > top {
                    push(
                        &mut f.ack2,
                        fail(
                            vec![p.frame],
                            format!(
                                "ACK {} but the highest sequence number sent is {}",
                                ack.seq.value(),
                                d.max.map_or("none".into(), |m| d
                                    .base
                                    .map_or(0, |b| b.add(m as u32).value())
                                    .to_string())
                            ),
                        ),
                    );
                }
                if d.last_ack.is_none_or(|l| rel >= l) {
                    d.last_ack = Some(rel);
                    d.last_ack_frame = p.frame;
                }
                for g in &mut d.gaps {
                    if rel > g.last {
                        g.explained = true; // the receiver got it; the capture did not
                    }
                }
                let n = ack.ack_number.value();
                match ack.full {
                    None => {
                        if n != 0 {
                            push(
                                &mut f.ack4,
                                fail(vec![p.frame], format!("light ACK with sub-sequence {n}")),
                            );
                        }
                        // The receiver counts arrivals, which the capture only
                        // approximates (a receiver may lag behind what the capture
                        // shows): the spacing holds if either the captured data packets
                        // or the ACK number's advance reach 64.
                        let advance = prev_ack.map_or(i64::MAX, |a| rel - a);
                        if d.since_peer_ack < LIGHT_ACK_PACKETS
                            && advance < LIGHT_ACK_PACKETS as i64
                        {
                            let msg = format!(
                                "light ACK after {} data packets and {} sequence numbers (UDT4 sends one per {LIGHT_ACK_PACKETS} packets received)",
                                d.since_peer_ack, advance
                            );
                            push(&mut f.ack4, fail_unless(gaps, vec![p.frame], msg));
                        }
                    }
                    Some(_) => {
                        if n == 0 {
                            push(
                                &mut f.ack3,
                                fail(vec![p.frame], "full ACK with sub-sequence 0".into()),
                            );
                        }
                        if let Some(prev) = d.full_acks.last() {
                            let expect = if prev.number == 0x7FFF_FFFF {
                                0
                            } else {
                                prev.number + 1
                            };
                            if n != expect {
                                let msg = format!(
                                    "full ACK sub-sequence {n} after {} (must count up by one)",
                                    prev.number
                                );
                                // A forward skip is an ACK lost before the capture
                                // point (a capture taken at one end sees only what
                                // reached it): a warning. Going back is a failure.
                                let gap = n.wrapping_sub(prev.number) & 0x7FFF_FFFF;
                                push(
                                    &mut f.ack3,
                                    fail_unless(gap < 0x4000_0000, vec![p.frame, prev.frame], msg),
                                );
                            }
                        } else if n != 1 && !headless {
                            push(
                                &mut f.ack3,
                                fail_unless(
                                    gaps,
                                    vec![p.frame],
                                    format!("first full ACK has sub-sequence {n}, not 1"),
                                ),
                            );
                        }
                        d.full_acks.push(PendingAck {
                            number: n,
                            frame: p.frame,
                            time_ns: p.time_ns,
                            answered: false,
                        });
                    }
                }
                d.since_peer_ack = 0;
            }
            Kind::Ack2(n) => {
                // Answers a full ACK of the peer, about our own data.
                let d = &mut dirs[s];
                if *n == 0 {
                    push(
                        &mut f.ack4,
                        fail(
                            vec![p.frame],
                            "ACK2 with sub-sequence 0 (light ACKs are never answered)".into(),
                        ),
                    );
                } else if let Some(a) = d.full_acks.iter_mut().rev().find(|a| a.number == *n) {
                    a.answered = true;
                } else {
                    push(
                        &mut f.ack3,
                        fail_unless(
                            gaps || headless,
                            vec![p.frame],
                            format!("ACK2 {n} answers no full ACK seen"),
                        ),
                    );
                }
            }
            Kind::Nak(ranges) => {
                let d = &mut dirs[r];
                d.naks += 1;
                let mut prev: Option<i64> = None;
                for (a, b) in ranges {
                    let (ra, rb) = (d.rel(*a), d.rel(*b));
                    if ra > rb {
                        push(
                            &mut f.nak,
                            fail(
                                vec![p.frame],
                                format!("range {}-{} ends before it starts", a.value(), b.value()),
                            ),
                        );
                        continue;
                    }
                    if prev.is_some_and(|pv| ra <= pv) {
                        push(
                            &mut f.nak,
                            fail(vec![p.frame], "losses not in increasing order".into()),
                        );
                    }
                    prev = Some(rb);
                    match d.max {
                        Some(m) if rb <= m => {}
                        _ => push(
                            &mut f.nak,
                            fail(
                                vec![p.frame],
                                format!(
                                    "reports {} lost, beyond the highest sequence number sent{}",
                                    b.value(),
                                    d.max.map_or(String::new(), |m| format!(
                                        " ({})",
                                        d.base.map_or(0, |x| x.add(m as u32).value())
                                    ))
                                ),
                            ),
                        ),
                    }
                    d.eligible.insert(ra, rb.min(d.max.unwrap_or(rb)));
                    for g in &mut d.gaps {
                        if g.first <= rb && ra <= g.last {
                            g.explained = true;
                        }
                    }
                }
            }
            Kind::Shutdown => {
                shutdown[s].get_or_insert((p.frame, p.time_ns));
            }
            Kind::Handshake { .. } | Kind::Other(_) | Kind::Bad(_) => {}
        }
        last_heard[r] = Some(p.time_ns);
    }

    let end_ns = conn.pkts.last().map_or(0, |p| p.time_ns);
    let established_ns = facts.established.map(|i| conn.pkts[i].time_ns);
    for (side, d) in dirs.iter().enumerate() {
        for g in &d.gaps {
            if g.explained {
                continue;
            }
            let msg = format!(
                "{} jumped over {} sequence numbers that nobody reported lost",
                conn.addrs[side],
                g.last - g.first + 1
            );
            // Only a long stretch of capture after the jump makes capture loss an
            // unlikely explanation.
            let long_after = end_ns.saturating_sub(g.time_ns) > 1_000_000_000;
            push(&mut f.data2, fail_unless(!long_after, vec![g.frame], msg));
        }
        let peer = 1 - side;
        let last_full = d.full_acks.len().saturating_sub(1);
        for (k, a) in d.full_acks.iter().enumerate() {
            if a.answered || k == last_full {
                // The last full ACK may go unanswered at the end (§2.4).
                continue;
            }
            let msg = format!(
                "full ACK {} from {} never answered by an ACK2",
                a.number, conn.addrs[peer]
            );
            // UDT4 enters a new connection into its id table late and drops what
            // arrives in the first moments (§9), typically the first ACK.
            let race = established_ns.is_some_and(|t| a.time_ns.saturating_sub(t) < RACE_NS);
            let finding = if race && !gaps {
                warn(
                    vec![a.frame],
                    format!("{msg} (sent right after the handshake: UDT4's id-table race, §9)"),
                )
            } else {
                fail_unless(gaps, vec![a.frame], msg)
            };
            push(&mut f.ack3, finding);
        }
    }

    let data = dirs[0].data + dirs[1].data;
    let acks = dirs[0].acks + dirs[1].acks;
    let naks = dirs[0].naks + dirs[1].naks;
    let any_shutdown = shutdown.iter().any(Option::is_some);
    let on = |info, cond: bool, v: Vec<Finding>, why: &str| {
        if cond || !v.is_empty() {
            applies(info, v)
        } else {
            not_applicable(info, why)
        }
    };
    vec![
        if headless {
            not_applicable(DATA_1, "no handshake in the capture")
        } else {
            on(DATA_1, data > 0, f.data1, "no data packets")
        },
        on(DATA_2, data > 0, f.data2, "no data packets"),
        on(RTX_1, data > 0, f.rtx, "no data packets"),
        on(ACK_1, acks > 0, f.ack1, "no ACKs"),
        on(ACK_2, acks > 0, f.ack2, "no ACKs"),
        on(ACK_3, acks > 0, f.ack3, "no ACKs"),
        on(ACK_4, acks > 0, f.ack4, "no ACKs"),
        on(NAK_1, naks > 0, f.nak, "no NAKs"),
        on(MSG_1, data > 0, f.msg, "no data packets"),
        on(SHUT_1, any_shutdown, f.shut, "no shutdown"),
    ]
}

/// One data packet of a direction: sequence, retransmission and message checks.
#[allow(clippy::too_many_arguments)]
fn data(
    d: &mut Dir,
    f: &mut Findings,
    frame: u64,
    time_ns: u64,
    seq: SeqNumber,
    word: Word1,
    heard: Option<u64>,
    gaps: bool,
) {
    d.data += 1;
    let rel = d.rel(seq);
    let max = d.max;
    match max {
        None => d.max = Some(rel),
        Some(m) if rel == m + 1 => d.max = Some(rel),
        Some(m) if rel > m + 1 => {
            d.gaps.push(Gap {
                first: m + 1,
                last: rel - 1,
                frame,
                time_ns,
                explained: false,
            });
            d.max = Some(rel);
        }
        Some(m) => {
            // rel <= m: a retransmission (or the first copy the capture shows of a
            // packet it missed).
            for g in &mut d.gaps {
                if g.first <= rel && rel <= g.last {
                    g.explained = true;
                }
            }
            if !d.eligible.remove(rel) {
                let silence = heard.map_or(u64::MAX, |h| time_ns.saturating_sub(h));
                if silence >= EXP_MIN_NS {
                    // An expiry: everything unacknowledged may go again (§5.5).
                    let from = d.last_ack.unwrap_or(0);
                    d.eligible.insert(from, m);
                    d.eligible.remove(rel);
                } else {
                    let msg = format!(
                        "retransmission of {} that no NAK reported, {} ms after the peer's last packet (no expiry)",
                        seq.value(),
                        silence / 1_000_000
                    );
                    push(&mut f.rtx, fail_unless(gaps, vec![frame], msg));
                }
            }
        }
    }
    // MSG-1
    if word.msg.value() == 0 {
        push(
            &mut f.msg,
            fail(vec![frame], "message number 0 (UDT4 counts from 1)".into()),
        );
    }
    if let Some(orig) = d.words.get(&rel) {
        if !orig.same(&word) {
            push(
                &mut f.msg,
                fail(
                    vec![frame, orig.frame],
                    format!(
                        "retransmission of {} changes word 1 (msg {} {} → msg {} {})",
                        seq.value(),
                        orig.msg.value(),
                        boundary_name(orig.boundary),
                        word.msg.value(),
                        boundary_name(word.boundary)
                    ),
                ),
            );
        }
        return;
    }
    d.words.insert(rel, word);
    if let Some(prev) = d.words.get(&(rel - 1)) {
        if let Some(m) = follows(prev, &word) {
            push(&mut f.msg, fail(vec![frame, prev.frame], m));
        }
    }
    if let Some(next) = d.words.get(&(rel + 1)) {
        if let Some(m) = follows(&word, next) {
            push(&mut f.msg, fail(vec![next.frame, frame], m));
        }
    }
}

/// Why `b` cannot be the packet right after `a`, if it cannot.
fn follows(a: &Word1, b: &Word1) -> Option<String> {
    if a.boundary.is_last() {
        if !b.boundary.is_first() {
            return Some(format!(
                "a {} packet follows the end of message {}",
                boundary_name(b.boundary),
                a.msg.value()
            ));
        }
        let want = a.msg.next_message();
        if b.msg != want {
            return Some(format!(
                "message {} follows message {} (expected {})",
                b.msg.value(),
                a.msg.value(),
                want.value()
            ));
        }
    } else {
        if b.boundary.is_first() {
            return Some(format!(
                "message {} starts before message {} ended",
                b.msg.value(),
                a.msg.value()
            ));
        }
        if b.msg != a.msg || b.in_order != a.in_order {
            return Some(format!(
                "message {} continues with message number {} / order bit {}",
                a.msg.value(),
                b.msg.value(),
                u8::from(b.in_order)
            ));
        }
    }
    None
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
    }

    fn w(boundary: Boundary, msg: u32) -> Word1 {
        Word1 {
            boundary,
            in_order: false,
            msg: MsgNumber::new(msg),
            frame: 1,
        }
    }

    #[test]
    fn message_boundaries() {
        use Boundary::*;
        assert_eq!(follows(&w(First, 1), &w(Middle, 1)), None);
        assert_eq!(follows(&w(Middle, 1), &w(Last, 1)), None);
        assert_eq!(follows(&w(Last, 1), &w(Solo, 2)), None);
        assert_eq!(follows(&w(Solo, 2), &w(First, 3)), None);
        assert!(follows(&w(Last, 1), &w(Middle, 2)).is_some());
        assert!(follows(&w(Last, 1), &w(First, 3)).is_some());
        assert!(follows(&w(First, 1), &w(First, 2)).is_some());
        assert!(follows(&w(Middle, 1), &w(Last, 2)).is_some());
        // UDT4 restarts at 1 after 0x1FFFFFFE (§4.3).
        assert_eq!(follows(&w(Solo, 0x1FFF_FFFE), &w(Solo, 1)), None);
    }
}
