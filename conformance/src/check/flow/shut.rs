//! SHUT-1: nothing after shutdown.

use super::{applies_if, push, Track};
use crate::check::{fail, Cx, Finding, Kind, Pkt, Rule, Verdict};

/// SHUT-1: a side sends nothing after its own shutdown, and its peer nothing later than
/// two of the largest RTTs the ACKs reported after it.
pub struct Shut1 {
    /// Per side: frame and time of its shutdown.
    shutdown: [Option<(u64, u64)>; 2],
    /// The largest RTT a full ACK reported, µs (100 ms before any).
    max_rtt_us: u64,
    found: Vec<Finding>,
}

impl Default for Shut1 {
    fn default() -> Self {
        Shut1 {
            shutdown: [None, None],
            max_rtt_us: 100_000,
            found: vec![],
        }
    }
}

impl Rule for Shut1 {
    fn packet(&mut self, cx: &Cx, _: &Track, _: usize, p: &Pkt) {
        let (s, r) = (p.side, 1 - p.side);
        let f = &mut self.found;
        if let Some((frame, _)) = self.shutdown[s] {
            let msg = format!("{} sent a packet after its shutdown", cx.conn.addrs[s]);
            push(f, fail(vec![p.frame, frame], msg));
        }
        if let Some((frame, t)) = self.shutdown[r] {
            let grace = 2 * self.max_rtt_us * 1000;
            let after = p.time_ns.saturating_sub(t);
            if after > grace {
                let msg = format!(
                    "{} sent a packet {} ms after the peer's shutdown",
                    cx.conn.addrs[s],
                    after / 1_000_000
                );
                push(f, fail(vec![p.frame, frame], msg));
            }
        }
        match &p.kind {
            Kind::Ack(ack) => {
                if let Some(info) = ack.full {
                    self.max_rtt_us = self.max_rtt_us.max(u64::from(info.rtt));
                }
            }
            Kind::Shutdown => {
                self.shutdown[s].get_or_insert((p.frame, p.time_ns));
            }
            _ => {}
        }
    }

    fn finish(self: Box<Self>, _: &Cx, _: &Track) -> Verdict {
        let any = self.shutdown.iter().any(Option::is_some);
        applies_if(any, self.found, "no shutdown")
    }
}
