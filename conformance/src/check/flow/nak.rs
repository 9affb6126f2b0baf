//! NAK-1: NAK ranges are well formed and within what was sent.

use super::{applies_if, push, Track};
use crate::check::{fail, Cx, Finding, Kind, Pkt, Rule, Verdict};

/// NAK-1: every range starts before it ends, ranges come in increasing order, and none
/// reaches beyond the highest sequence number sent.
#[derive(Default)]
pub struct Nak1(Vec<Finding>);

impl Rule for Nak1 {
    fn packet(&mut self, _: &Cx, t: &Track, _: usize, p: &Pkt) {
        let Kind::Nak(ranges) = &p.kind else { return };
        let r = 1 - p.side;
        let max = t.sides[r].max;
        let f = &mut self.0;
        let mut prev: Option<i64> = None;
        for ((a, b), rel) in ranges.iter().zip(t.rel.chunks(2)) {
            let (ra, rb) = (rel[0], rel[1]);
            if ra > rb {
                let msg = format!("range {}-{} ends before it starts", a.value(), b.value());
                push(f, fail(vec![p.frame], msg));
                continue;
            }
            if prev.is_some_and(|pv| ra <= pv) {
                push(
                    f,
                    fail(vec![p.frame], "losses not in increasing order".into()),
                );
            }
            prev = Some(rb);
            if max.is_none_or(|m| rb > m) {
                let sent = max.map_or(String::new(), |m| format!(" ({})", t.absolute(r, m)));
                let msg = format!(
                    "reports {} lost, beyond the highest sequence number sent{sent}",
                    b.value()
                );
                push(f, fail(vec![p.frame], msg));
            }
        }
    }

    fn finish(self: Box<Self>, _: &Cx, t: &Track) -> Verdict {
        applies_if(t.naks() > 0, self.0, "no NAKs")
    }
}
