//! DATA-1, DATA-2 and RTX-1: when data may flow, how its sequence numbers advance, and
//! which packets may go again.

use super::{applies_if, push, RangeSet, Track, EXP_MIN_NS};
use crate::check::{fail_unless, Cx, Finding, Kind, Pkt, Rule, Verdict};

/// DATA-1: no data before the handshake completes (or on a rejected connection).
#[derive(Default)]
pub struct Data1(Vec<Finding>);

impl Rule for Data1 {
    fn packet(&mut self, cx: &Cx, _: &Track, i: usize, p: &Pkt) {
        let Kind::Data { .. } = p.kind else { return };
        let f = cx.facts;
        if !cx.headless && f.established.is_none_or(|e| i < e) {
            let what = if f.rejected {
                "data on a rejected connection"
            } else {
                "data before the handshake completes"
            };
            push(
                &mut self.0,
                fail_unless(f.gaps && !f.rejected, vec![p.frame], what.into()),
            );
        }
    }

    fn finish(self: Box<Self>, cx: &Cx, t: &Track) -> Verdict {
        if cx.headless {
            Verdict::NotApplicable("no handshake in the capture".into())
        } else {
            applies_if(t.data() > 0, self.0, "no data packets")
        }
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

/// DATA-2: data sequence numbers advance by one except for retransmissions. A jump is
/// explained (capture loss) when the receiver acknowledges past it, a NAK reports it or a
/// packet of it shows up later.
#[derive(Default)]
pub struct Data2 {
    gaps: [Vec<Gap>; 2],
}

impl Data2 {
    fn explain(&mut self, side: usize, first: i64, last: i64) {
        for g in &mut self.gaps[side] {
            if g.first <= last && first <= g.last {
                g.explained = true;
            }
        }
    }
}

impl Rule for Data2 {
    fn packet(&mut self, _: &Cx, t: &Track, _: usize, p: &Pkt) {
        let r = 1 - p.side;
        match &p.kind {
            Kind::Data { .. } => match t.sides[p.side].max {
                Some(m) if t.rel[0] > m + 1 => self.gaps[p.side].push(Gap {
                    first: m + 1,
                    last: t.rel[0] - 1,
                    frame: p.frame,
                    time_ns: p.time_ns,
                    explained: false,
                }),
                // A retransmission, or the first copy the capture shows of a packet it
                // missed.
                Some(m) if t.rel[0] <= m => self.explain(p.side, t.rel[0], t.rel[0]),
                _ => {}
            },
            Kind::Ack(_) => {
                for g in &mut self.gaps[r] {
                    if t.rel[0] > g.last {
                        g.explained = true; // the receiver got it; the capture did not
                    }
                }
            }
            Kind::Nak(_) => {
                for ab in t.rel.chunks(2) {
                    if ab[0] <= ab[1] {
                        self.explain(r, ab[0], ab[1]);
                    }
                }
            }
            _ => {}
        }
    }

    fn finish(self: Box<Self>, cx: &Cx, t: &Track) -> Verdict {
        let end_ns = cx.conn.pkts.last().map_or(0, |p| p.time_ns);
        let mut f = vec![];
        for (side, gaps) in self.gaps.iter().enumerate() {
            for g in gaps.iter().filter(|g| !g.explained) {
                let msg = format!(
                    "{} jumped over {} sequence numbers that nobody reported lost",
                    cx.conn.addrs[side],
                    g.last - g.first + 1
                );
                // Only a long stretch of capture after the jump makes capture loss an
                // unlikely explanation.
                let long_after = end_ns.saturating_sub(g.time_ns) > 1_000_000_000;
                push(&mut f, fail_unless(!long_after, vec![g.frame], msg));
            }
        }
        applies_if(t.data() > 0, f, "no data packets")
    }
}

/// RTX-1: every retransmission was reported lost by a NAK or follows an expiry (a
/// silence of at least [`EXP_MIN_NS`], after which everything unacknowledged may go again).
#[derive(Default)]
pub struct Rtx1 {
    /// Per direction: what may be sent again.
    eligible: [RangeSet; 2],
    found: Vec<Finding>,
}

impl Rule for Rtx1 {
    fn packet(&mut self, cx: &Cx, t: &Track, _: usize, p: &Pkt) {
        let (s, r) = (p.side, 1 - p.side);
        match &p.kind {
            Kind::Data { seq, .. } => {
                let rel = t.rel[0];
                let Some(m) = t.sides[s].max.filter(|&m| rel <= m) else {
                    return;
                };
                if self.eligible[s].remove(rel) {
                    return;
                }
                let silence = t.last_heard[s].map_or(u64::MAX, |h| p.time_ns.saturating_sub(h));
                if silence >= EXP_MIN_NS {
                    // An expiry: everything unacknowledged may go again (§5.5).
                    let from = t.sides[s].last_ack.unwrap_or(0);
                    self.eligible[s].insert(from, m);
                    self.eligible[s].remove(rel);
                } else {
                    let msg = format!(
                        "retransmission of {} that no NAK reported, {} ms after the peer's last packet (no expiry)",
                        seq.value(),
                        silence / 1_000_000
                    );
                    push(
                        &mut self.found,
                        fail_unless(cx.facts.gaps, vec![p.frame], msg),
                    );
                }
            }
            Kind::Nak(_) => {
                let max = t.sides[r].max;
                for ab in t.rel.chunks(2) {
                    if ab[0] <= ab[1] {
                        self.eligible[r].insert(ab[0], ab[1].min(max.unwrap_or(ab[1])));
                    }
                }
            }
            _ => {}
        }
    }

    fn finish(self: Box<Self>, _: &Cx, t: &Track) -> Verdict {
        applies_if(t.data() > 0, self.found, "no data packets")
    }
}
