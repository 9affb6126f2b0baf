//! A loss list: sorted, merged inclusive ranges of unwrapped sequence numbers.
//! The sender keeps the numbers to retransmit here, the receiver the gaps it is
//! waiting for.

use std::collections::BTreeMap;

/// Sorted disjoint ranges `start ..= end`, never adjacent (adjacent ranges merge).
#[derive(Clone, Debug, Default)]
pub(crate) struct LossList {
    ranges: BTreeMap<u64, u64>,
    len: u64,
}

impl LossList {
    pub(crate) fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// How many sequence numbers are listed.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    pub(crate) fn first(&self) -> Option<u64> {
        self.ranges.first_key_value().map(|(&k, _)| k)
    }

    /// Adds `start ..= end`; returns how many numbers were new.
    pub(crate) fn insert(&mut self, mut start: u64, mut end: u64) -> u64 {
        if start > end {
            return 0;
        }
        let before = self.len;
        // Absorb a range that starts before and reaches `start - 1` or further.
        if let Some((&s, &e)) = self.ranges.range(..=start).next_back() {
            if e.saturating_add(1) >= start {
                if e >= end {
                    return 0;
                }
                start = s;
                end = end.max(e);
                self.remove_entry(s);
            }
        }
        // Absorb every range starting inside `start ..= end + 1`.
        while let Some((&s, &e)) = self.ranges.range(start..=end.saturating_add(1)).next() {
            end = end.max(e);
            self.remove_entry(s);
        }
        self.ranges.insert(start, end);
        self.len += end - start + 1;
        self.len - before
    }

    fn remove_entry(&mut self, start: u64) {
        if let Some(end) = self.ranges.remove(&start) {
            self.len -= end - start + 1;
        }
    }

    /// Removes one number; returns whether it was listed.
    pub(crate) fn remove(&mut self, seq: u64) -> bool {
        let Some((&s, &e)) = self.ranges.range(..=seq).next_back() else {
            return false;
        };
        if e < seq {
            return false;
        }
        self.remove_entry(s);
        if s < seq {
            self.ranges.insert(s, seq - 1);
            self.len += seq - s;
        }
        if seq < e {
            self.ranges.insert(seq + 1, e);
            self.len += e - seq;
        }
        true
    }

    /// Removes every number below `seq`.
    pub(crate) fn remove_below(&mut self, seq: u64) {
        while let Some((&s, &e)) = self.ranges.iter().next() {
            if s >= seq {
                break;
            }
            self.remove_entry(s);
            if e >= seq {
                self.ranges.insert(seq, e);
                self.len += e - seq + 1;
                break;
            }
        }
    }

    /// Removes `start ..= end`.
    pub(crate) fn remove_range(&mut self, start: u64, end: u64) {
        // Few ranges are ever removed this way (message drops); keep it simple.
        let hit: Vec<(u64, u64)> = self
            .ranges
            .range(..=end)
            .filter(|(_, &e)| e >= start)
            .map(|(&s, &e)| (s, e))
            .collect();
        for (s, e) in hit {
            self.remove_entry(s);
            if s < start {
                self.ranges.insert(s, start - 1);
                self.len += start - s;
            }
            if e > end {
                self.ranges.insert(end + 1, e);
                self.len += e - end;
            }
        }
    }

    /// Takes the smallest number out.
    pub(crate) fn pop_first(&mut self) -> Option<u64> {
        let s = self.first()?;
        self.remove(s);
        Some(s)
    }

    pub(crate) fn ranges(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.ranges.iter().map(|(&s, &e)| (s, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn merges_and_splits() {
        let mut l = LossList::default();
        assert_eq!(l.insert(10, 12), 3);
        assert_eq!(l.insert(13, 13), 1);
        assert_eq!(l.insert(5, 8), 4);
        assert_eq!(l.insert(9, 9), 1);
        assert_eq!(l.ranges().collect::<Vec<_>>(), vec![(5, 13)]);
        assert!(l.remove(7));
        assert_eq!(l.ranges().collect::<Vec<_>>(), vec![(5, 6), (8, 13)]);
        l.remove_below(10);
        assert_eq!(l.ranges().collect::<Vec<_>>(), vec![(10, 13)]);
        assert_eq!(l.pop_first(), Some(10));
        assert_eq!(l.len(), 3);
    }

    proptest! {
        #[test]
        fn behaves_like_a_set(ops in proptest::collection::vec((0u8..5, 0u64..60, 0u64..6), 1..80)) {
            let mut l = LossList::default();
            let mut model = BTreeSet::new();
            for (op, a, n) in ops {
                match op {
                    0 | 1 => {
                        let new = (a..=a + n).filter(|x| model.insert(*x)).count() as u64;
                        prop_assert_eq!(l.insert(a, a + n), new);
                    }
                    2 => prop_assert_eq!(l.remove(a), model.remove(&a)),
                    3 => { l.remove_below(a); model.retain(|&x| x >= a); }
                    _ => { l.remove_range(a, a + n); model.retain(|&x| x < a || x > a + n); }
                }
                prop_assert_eq!(l.len(), model.len() as u64);
                prop_assert_eq!(l.first(), model.iter().next().copied());
                let flat: Vec<u64> = l.ranges().flat_map(|(s, e)| s..=e).collect();
                prop_assert_eq!(flat, model.iter().copied().collect::<Vec<_>>());
                // Never two adjacent ranges.
                let r: Vec<_> = l.ranges().collect();
                prop_assert!(r.windows(2).all(|w| w[0].1 + 1 < w[1].0));
            }
        }
    }
}

#[cfg(test)]
#[path = "loss_tests.rs"]
mod more_tests;
