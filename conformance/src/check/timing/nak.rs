//! NAK-2: a gap is reported at once.

use super::{ms, NAK_DELAY_NS};
use crate::check::flow::{applies_if, push, Track};
use crate::check::{fail, warn, Cx, Kind, Pkt, Rule, Verdict};

/// A jump in one side's data, as the receiver saw it.
struct Gap {
    first: i64,
    last: i64,
    frame: u64,
    time_ns: u64,
    /// The first NAK that reports it: frame, time.
    nak: Option<(u64, u64)>,
    /// A packet of it was sent again.
    resent: bool,
    /// An ACK passed it.
    acked: bool,
}

/// NAK-2: the receiver reports a loss when it first sees the gap (§5.4), within
/// [`NAK_DELAY_NS`] of the packet that shows it, not only later or periodically. A gap
/// that an ACK passes with no NAK and no retransmission was capture loss, not a loss.
#[derive(Default)]
pub struct Nak2 {
    /// Per direction of data.
    gaps: [Vec<Gap>; 2],
}

impl Rule for Nak2 {
    fn packet(&mut self, _: &Cx, t: &Track, _: usize, p: &Pkt) {
        let r = 1 - p.side;
        match &p.kind {
            Kind::Data { .. } => {
                let rel = t.rel[0];
                match t.sides[p.side].max {
                    Some(m) if rel > m + 1 => self.gaps[p.side].push(Gap {
                        first: m + 1,
                        last: rel - 1,
                        frame: p.frame,
                        time_ns: p.time_ns,
                        nak: None,
                        resent: false,
                        acked: false,
                    }),
                    Some(m) if rel <= m => {
                        for g in &mut self.gaps[p.side] {
                            g.resent |= g.first <= rel && rel <= g.last;
                        }
                    }
                    _ => {}
                }
            }
            Kind::Nak(_) => {
                for g in self.gaps[r].iter_mut().filter(|g| g.nak.is_none()) {
                    if t.rel
                        .chunks(2)
                        .any(|ab| ab[0] <= g.first && g.first <= ab[1])
                    {
                        g.nak = Some((p.frame, p.time_ns));
                    }
                }
            }
            Kind::Ack(_) => {
                for g in &mut self.gaps[r] {
                    g.acked |= t.rel[0] > g.last;
                }
            }
            _ => {}
        }
    }

    fn finish(self: Box<Self>, cx: &Cx, t: &Track) -> Verdict {
        let mut found = vec![];
        let mut judged = false;
        for (s, gaps) in self.gaps.iter().enumerate() {
            let in_time = |g: &Gap| {
                g.nak
                    .is_some_and(|n| n.1.saturating_sub(g.time_ns) <= NAK_DELAY_NS)
            };
            // A receiver that reported another gap at once does so: a late or missing
            // NAK here was lost before the capture point.
            let nak_at_once = gaps.iter().any(in_time);
            for g in gaps {
                let (a, b) = (t.absolute(s, g.first), t.absolute(s, g.last));
                let range = if a == b {
                    a.to_string()
                } else {
                    format!("{a}..={b}")
                };
                let what = format!("{} missed {range} ", cx.conn.addrs[1 - s]);
                let (frames, msg) = match g.nak {
                    _ if in_time(g) => {
                        judged = true;
                        continue;
                    }
                    Some((f, at)) => (
                        vec![f, g.frame],
                        format!(
                            "{what}but reported it only {} later",
                            ms(at.saturating_sub(g.time_ns))
                        ),
                    ),
                    // Never resent nor acknowledged: the capture cannot tell.
                    None if !g.resent && !g.acked => continue,
                    // Acknowledged without a retransmission: the receiver had it.
                    None if !g.resent => continue,
                    None => (
                        vec![g.frame],
                        format!("{what}and never reported it by a NAK"),
                    ),
                };
                judged = true;
                let msg = format!("{msg} (UDT4 sends a NAK at once, §5.4)");
                push(
                    &mut found,
                    if nak_at_once {
                        warn(
                            frames,
                            format!("{msg}; its first NAK may be missing from the capture"),
                        )
                    } else {
                        fail(frames, msg)
                    },
                );
            }
        }
        applies_if(
            judged,
            found,
            "no gap in the data that the capture can judge",
        )
    }
}
