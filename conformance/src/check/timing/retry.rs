//! HS-RTX-1: handshake retries.

use udt::packet::ReqType;

use super::{ms, HS_RETRY_EARLY_NS, HS_RETRY_LATE_NS, HS_RETRY_NS, HS_RETRY_OK_NS};
use crate::check::flow::{applies_if, push, Track};
use crate::check::{fail, fail_unless, warn, Cx, Finding, Kind, Mode, Pkt, Rule, Verdict};

/// HS-RTX-1: a connecting side re-sends its unanswered request every 250 ms (§3.5):
/// sooner than [`HS_RETRY_EARLY_NS`] fails and up to 250 ms warns; later than
/// [`HS_RETRY_OK_NS`] warns (a loaded host) and later than [`HS_RETRY_LATE_NS`] fails. Only requests sent again with nothing
/// from the peer in between are judged: an answer changes the state, and the next
/// request goes at once.
#[derive(Default)]
pub struct HsRtx1 {
    /// Per side: its last request (reqtype, frame, time) since the peer's last packet.
    last: [Option<(ReqType, u64, u64)>; 2],
    judged: bool,
    found: Vec<Finding>,
}

impl Rule for HsRtx1 {
    fn packet(&mut self, cx: &Cx, _: &Track, _: usize, p: &Pkt) {
        let s = p.side;
        self.last[1 - s] = None;
        let Kind::Handshake { hs, .. } = &p.kind else {
            self.last[s] = None;
            return;
        };
        // A listener only answers.
        if matches!(cx.conn.mode(), Mode::ClientServer { client } if client != s) {
            return;
        }
        if let Some((req, frame, at)) = self.last[s].filter(|l| l.0 == hs.req_type) {
            self.judged = true;
            let gap = p.time_ns.saturating_sub(at);
            let msg = format!(
                "{} sent its request (reqtype {}) again {} after the last (UDT4: every 250 ms)",
                cx.conn.addrs[s],
                req.to_wire(),
                ms(gap)
            );
            let frames = vec![p.frame, frame];
            if gap < HS_RETRY_EARLY_NS {
                push(&mut self.found, fail(frames, msg));
            } else if gap + 1_000_000 < HS_RETRY_NS {
                // 1 ms for timestamp rounding.
                push(&mut self.found, warn(frames, msg));
            } else if gap > HS_RETRY_LATE_NS {
                push(&mut self.found, fail_unless(cx.facts.gaps, frames, msg));
            } else if gap > HS_RETRY_OK_NS {
                push(&mut self.found, warn(frames, msg));
            }
        }
        self.last[s] = Some((hs.req_type, p.frame, p.time_ns));
    }

    fn finish(self: Box<Self>, _: &Cx, _: &Track) -> Verdict {
        applies_if(self.judged, self.found, "no request was sent again")
    }
}
