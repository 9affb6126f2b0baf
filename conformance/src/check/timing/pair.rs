//! PAIR-1: packet pairs.

use udt::packet::Boundary;

use super::{ms, PAIR_GAP_NS};
use crate::check::flow::{applies_if, push, Track};
use crate::check::{fail, warn, Cx, Kind, Pkt, Rule, Verdict};

/// A new packet whose sequence number ends in 0x0, waiting for the next data packet.
struct Open {
    frame: u64,
    time_ns: u64,
    /// The sender heard from its peer since: an ACK or NAK may have held the next packet.
    heard: bool,
}

/// PAIR-1: a new data packet whose sequence number ends in 0x0 is followed at once
/// (within [`PAIR_GAP_NS`]) by the sender's next data packet, for the receiver's
/// link-capacity probe (§5.7, §6.1). Not judged when the sender heard from its peer in
/// between (the window may have held it) or the packet ends a message (the application
/// may have had nothing more). A sender that pairs elsewhere but not here was late (a
/// warning); one that never pairs fails.
#[derive(Default)]
pub struct Pair1 {
    open: [Option<Open>; 2],
    /// Per side: pairs sent back to back, and the late ones (second frame, first, gap).
    good: [usize; 2],
    late: [Vec<(u64, u64, u64)>; 2],
}

impl Rule for Pair1 {
    fn packet(&mut self, _: &Cx, t: &Track, _: usize, p: &Pkt) {
        if let Some(o) = &mut self.open[1 - p.side] {
            o.heard = true;
        }
        let Kind::Data { seq, boundary, .. } = &p.kind else {
            return;
        };
        let s = p.side;
        if let Some(o) = self.open[s].take() {
            let gap = p.time_ns.saturating_sub(o.time_ns);
            match (o.heard, gap <= PAIR_GAP_NS) {
                (true, _) => {}
                (false, true) => self.good[s] += 1,
                (false, false) => self.late[s].push((p.frame, o.frame, gap)),
            }
        }
        let new = t.sides[s].max.is_none_or(|m| t.rel[0] > m);
        let ends_message = matches!(boundary, Boundary::Last | Boundary::Solo);
        if new && seq.value() & 0xF == 0 && !ends_message {
            self.open[s] = Some(Open {
                frame: p.frame,
                time_ns: p.time_ns,
                heard: false,
            });
        }
    }

    fn finish(self: Box<Self>, cx: &Cx, _: &Track) -> Verdict {
        let mut found = vec![];
        for s in 0..2 {
            for &(second, first, gap) in &self.late[s] {
                let msg = format!(
                    "{} sent the second packet of a pair {} after the first (UDT4 sends them back to back)",
                    cx.conn.addrs[s],
                    ms(gap)
                );
                let frames = vec![second, first];
                push(
                    &mut found,
                    if self.good[s] > 0 {
                        warn(
                            frames,
                            format!("{msg}; its other pairs are back to back, so it was held up"),
                        )
                    } else {
                        fail(frames, msg)
                    },
                );
            }
        }
        let judged = (0..2).any(|s| self.good[s] + self.late[s].len() > 0);
        applies_if(judged, found, "no packet pair the capture can judge")
    }
}
