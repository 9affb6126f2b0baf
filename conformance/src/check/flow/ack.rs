//! ACK-1 to ACK-4: ACK numbers, ACK2 answers and light ACKs.

use super::{applies_if, push, Track, LIGHT_ACK_PACKETS, RACE_NS};
use crate::check::{fail, fail_unless, warn, Cx, Finding, Kind, Pkt, Rule, Verdict};

/// ACK-1: ACK numbers never decrease.
#[derive(Default)]
pub struct Ack1(Vec<Finding>);

impl Rule for Ack1 {
    fn packet(&mut self, _: &Cx, t: &Track, _: usize, p: &Pkt) {
        let Kind::Ack(ack) = &p.kind else { return };
        let (r, rel) = (1 - p.side, t.rel[0]);
        let d = &t.sides[r];
        if let Some(last) = d.last_ack.filter(|&last| rel < last) {
            push(
                &mut self.0,
                fail(
                    vec![p.frame, d.last_ack_frame],
                    format!(
                        "ACK {} below the earlier ACK {}",
                        ack.seq.value(),
                        t.absolute(r, last)
                    ),
                ),
            );
        }
    }

    fn finish(self: Box<Self>, _: &Cx, t: &Track) -> Verdict {
        applies_if(t.acks() > 0, self.0, "no ACKs")
    }
}

/// ACK-2: ACK numbers never pass what was sent.
#[derive(Default)]
pub struct Ack2(Vec<Finding>);

impl Rule for Ack2 {
    fn packet(&mut self, _: &Cx, t: &Track, _: usize, p: &Pkt) {
        let Kind::Ack(ack) = &p.kind else { return };
        let r = 1 - p.side;
        let max = t.sides[r].max;
        if t.rel[0] > max.map_or(0, |m| m + 1) {
            let sent = max.map_or("none".into(), |m| t.absolute(r, m).to_string());
            push(
                &mut self.0,
                fail(
                    vec![p.frame],
                    format!(
                        "ACK {} but the highest sequence number sent is {sent}",
                        ack.seq.value()
                    ),
                ),
            );
        }
    }

    fn finish(self: Box<Self>, _: &Cx, t: &Track) -> Verdict {
        applies_if(t.acks() > 0, self.0, "no ACKs")
    }
}

/// A full ACK waiting for its ACK2.
struct PendingAck {
    number: u32,
    frame: u64,
    time_ns: u64,
    answered: bool,
}

/// ACK-3: every full ACK is answered by an ACK2 with the same sub-sequence number, and
/// the sub-sequence numbers count up by one from 1.
#[derive(Default)]
pub struct Ack3 {
    /// Per direction of data: the peer's full ACKs about it.
    full: [Vec<PendingAck>; 2],
    found: Vec<Finding>,
}

impl Ack3 {
    fn full_ack(&mut self, cx: &Cx, r: usize, n: u32, p: &Pkt) {
        let f = &mut self.found;
        if n == 0 {
            push(
                f,
                fail(vec![p.frame], "full ACK with sub-sequence 0".into()),
            );
        }
        if let Some(prev) = self.full[r].last() {
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
                // A forward skip is an ACK lost before the capture point (a capture taken
                // at one end sees only what reached it): a warning. Going back is a failure.
                let gap = n.wrapping_sub(prev.number) & 0x7FFF_FFFF;
                push(
                    f,
                    fail_unless(gap < 0x4000_0000, vec![p.frame, prev.frame], msg),
                );
            }
        } else if n != 1 && !cx.headless {
            push(
                f,
                fail_unless(
                    cx.facts.gaps,
                    vec![p.frame],
                    format!("first full ACK has sub-sequence {n}, not 1"),
                ),
            );
        }
        self.full[r].push(PendingAck {
            number: n,
            frame: p.frame,
            time_ns: p.time_ns,
            answered: false,
        });
    }
}

impl Rule for Ack3 {
    fn packet(&mut self, cx: &Cx, _: &Track, _: usize, p: &Pkt) {
        match &p.kind {
            Kind::Ack(ack) if ack.full.is_some() => {
                self.full_ack(cx, 1 - p.side, ack.ack_number.value(), p);
            }
            // Answers a full ACK of the peer, about our own data (0 is ACK-4's).
            Kind::Ack2(n) if *n != 0 => {
                match self.full[p.side].iter_mut().rev().find(|a| a.number == *n) {
                    Some(a) => a.answered = true,
                    None => push(
                        &mut self.found,
                        fail_unless(
                            cx.facts.gaps || cx.headless,
                            vec![p.frame],
                            format!("ACK2 {n} answers no full ACK seen"),
                        ),
                    ),
                }
            }
            _ => {}
        }
    }

    fn finish(mut self: Box<Self>, cx: &Cx, t: &Track) -> Verdict {
        let established_ns = cx.facts.established.map(|i| cx.conn.pkts[i].time_ns);
        let gaps = cx.facts.gaps;
        for (side, acks) in self.full.iter().enumerate() {
            let peer = 1 - side;
            let last_full = acks.len().saturating_sub(1);
            for (k, a) in acks.iter().enumerate() {
                if a.answered || k == last_full {
                    // The last full ACK may go unanswered at the end (§2.4).
                    continue;
                }
                let msg = format!(
                    "full ACK {} from {} never answered by an ACK2",
                    a.number, cx.conn.addrs[peer]
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
                push(&mut self.found, finding);
            }
        }
        applies_if(t.acks() > 0, self.found, "no ACKs")
    }
}

/// ACK-4: light ACKs carry sub-sequence 0 and come once per [`LIGHT_ACK_PACKETS`] data
/// packets; an ACK2 never answers one.
#[derive(Default)]
pub struct Ack4 {
    /// Per direction: data packets since the peer's last ACK.
    since_ack: [u64; 2],
    found: Vec<Finding>,
}

impl Rule for Ack4 {
    fn packet(&mut self, cx: &Cx, t: &Track, _: usize, p: &Pkt) {
        let r = 1 - p.side;
        match &p.kind {
            Kind::Data { .. } => self.since_ack[p.side] += 1,
            Kind::Ack(ack) => {
                if ack.full.is_none() {
                    let n = ack.ack_number.value();
                    if n != 0 {
                        push(
                            &mut self.found,
                            fail(vec![p.frame], format!("light ACK with sub-sequence {n}")),
                        );
                    }
                    // The receiver counts arrivals, which the capture only approximates (a
                    // receiver may lag behind what the capture shows): the spacing holds if
                    // either the captured data packets or the ACK number's advance reach 64.
                    let since = self.since_ack[r];
                    let advance = t.sides[r].last_ack.map_or(i64::MAX, |a| t.rel[0] - a);
                    if since < LIGHT_ACK_PACKETS && advance < LIGHT_ACK_PACKETS as i64 {
                        let msg = format!(
                            "light ACK after {since} data packets and {advance} sequence numbers (UDT4 sends one per {LIGHT_ACK_PACKETS} packets received)"
                        );
                        push(
                            &mut self.found,
                            fail_unless(cx.facts.gaps, vec![p.frame], msg),
                        );
                    }
                }
                self.since_ack[r] = 0;
            }
            Kind::Ack2(0) => push(
                &mut self.found,
                fail(
                    vec![p.frame],
                    "ACK2 with sub-sequence 0 (light ACKs are never answered)".into(),
                ),
            ),
            _ => {}
        }
    }

    fn finish(self: Box<Self>, _: &Cx, t: &Track) -> Verdict {
        applies_if(t.acks() > 0, self.found, "no ACKs")
    }
}
