//! MSG-1: message numbers and boundary flags are consistent.

use std::collections::BTreeMap;

use udt::packet::Boundary;
use udt::seq::MsgNumber;

use super::{applies_if, push, Track};
use crate::check::{fail, Cx, Finding, Kind, Pkt, Rule, Verdict};
use crate::decode::boundary_name;

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

/// MSG-1: message numbers start at 1, a retransmission repeats word 1 of the original,
/// and neighbouring packets agree on where messages begin and end.
#[derive(Default)]
pub struct Msg1 {
    /// Per direction: word 1 of every packet sent, by relative sequence number.
    words: [BTreeMap<i64, Word1>; 2],
    found: Vec<Finding>,
}

impl Rule for Msg1 {
    fn packet(&mut self, _: &Cx, t: &Track, _: usize, p: &Pkt) {
        let Kind::Data {
            seq,
            boundary,
            in_order,
            msg,
        } = &p.kind
        else {
            return;
        };
        let word = Word1 {
            boundary: *boundary,
            in_order: *in_order,
            msg: *msg,
            frame: p.frame,
        };
        let (rel, frame, f) = (t.rel[0], p.frame, &mut self.found);
        let words = &mut self.words[p.side];
        if word.msg.value() == 0 {
            push(
                f,
                fail(vec![frame], "message number 0 (UDT4 counts from 1)".into()),
            );
        }
        if let Some(orig) = words.get(&rel) {
            if !orig.same(&word) {
                push(
                    f,
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
        words.insert(rel, word);
        if let Some(prev) = words.get(&(rel - 1)) {
            if let Some(m) = follows(prev, &word) {
                push(f, fail(vec![frame, prev.frame], m));
            }
        }
        if let Some(next) = words.get(&(rel + 1)) {
            if let Some(m) = follows(&word, next) {
                push(f, fail(vec![next.frame, frame], m));
            }
        }
    }

    fn finish(self: Box<Self>, _: &Cx, t: &Track) -> Verdict {
        applies_if(t.data() > 0, self.found, "no data packets")
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
