//! When the receiver last reported each of its outstanding losses in a NAK, so the
//! periodic re-report repeats a loss only once its retransmission is overdue (the
//! draft UDT's per-entry feedback time, kept as a step function over sequence numbers).

use std::collections::BTreeMap;

use crate::time::Instant;

/// A step function: sequence number `s` was last reported at the value of the greatest
/// key at or below `s`.
#[derive(Clone, Debug, Default)]
pub(crate) struct ReportTimes {
    steps: BTreeMap<u64, Instant>,
}

impl ReportTimes {
    /// When `seq` was last reported, if ever.
    pub(crate) fn last(&self, seq: u64) -> Option<Instant> {
        self.steps.range(..=seq).next_back().map(|(_, &t)| t)
    }

    /// `first ..= last` were reported at `now`; numbers above keep their times.
    pub(crate) fn reported(&mut self, first: u64, last: u64, now: Instant) {
        let after = last.checked_add(1).and_then(|a| Some((a, self.last(a)?)));
        let inside: Vec<u64> = self.steps.range(first..=last).map(|(&k, _)| k).collect();
        for k in inside {
            self.steps.remove(&k);
        }
        self.steps.insert(first, now);
        if let Some((a, t)) = after {
            self.steps.entry(a).or_insert(t);
        }
    }

    /// Forgets the times of numbers below `seq` (no longer outstanding), keeping that of
    /// `seq` itself.
    pub(crate) fn forget_below(&mut self, seq: u64) {
        let Some(t) = self.last(seq) else { return };
        self.steps = self.steps.split_off(&seq);
        self.steps.entry(seq).or_insert(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(us: u64) -> Instant {
        Instant::from_micros(us)
    }

    #[test]
    fn a_rereport_moves_only_its_range() {
        let mut r = ReportTimes::default();
        r.reported(10, 12, t(1));
        r.reported(20, 20, t(2));
        r.reported(30, 35, t(3));
        r.reported(31, 32, t(9));
        assert_eq!(r.last(9), None);
        assert_eq!(r.last(11), Some(t(1)));
        assert_eq!(r.last(20), Some(t(2)));
        assert_eq!(r.last(30), Some(t(3)), "numbers below keep their time");
        assert_eq!(r.last(32), Some(t(9)));
        assert_eq!(r.last(33), Some(t(3)), "numbers above keep their time");
        r.forget_below(30);
        assert_eq!(r.last(30), Some(t(3)));
        assert_eq!(r.last(20), None);
        assert_eq!(r.last(29), None, "times below are forgotten");
    }

    proptest! {
        #[test]
        fn behaves_like_a_time_per_number(ops in proptest::collection::vec((0u8..4, 0u64..40, 0u64..5), 1..60)) {
            let mut r = ReportTimes::default();
            let mut model: BTreeMap<u64, Instant> = BTreeMap::new();
            let mut floor = 0;
            for (i, (op, a, n)) in ops.into_iter().enumerate() {
                let now = t(i as u64);
                if op == 0 {
                    r.forget_below(a);
                    floor = floor.max(a);
                    model.retain(|&k, _| k >= a);
                } else {
                    r.reported(a, a + n, now);
                    for k in a..=a + n {
                        model.insert(k, now);
                    }
                }
                for (&k, &v) in model.range(floor..) {
                    prop_assert_eq!(r.last(k), Some(v), "number {}", k);
                }
            }
        }
    }
}
