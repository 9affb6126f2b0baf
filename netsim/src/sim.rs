//! The event queue: a binary heap ordered by (time, sequence number), so events at the same
//! time run in the order they were scheduled and every run is reproducible.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Something that happens at a simulated time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ev {
    /// Packets arrive at the far end of link direction `2·link + dir`.
    LinkDeliver(u32),
    /// Wake endpoint `n` (its `poll_timeout` came).
    EndpointTimer(u32),
    /// Flow `n` starts (connects).
    FlowStart(u32),
    /// Flow `n` sends its next message.
    FlowMessage(u32),
    /// Flow `n` stops sending new bulk data (`send_for` elapsed).
    FlowSendDeadline(u32),
    /// Flow `n` closes (`stop`).
    FlowStop(u32),
    /// Scheduled link change `n` (index into the scenario's events).
    LinkChange(u32),
    /// Take a metrics sample.
    Sample,
}

/// Something (`item`) due at time `at`, ordered by (time, sequence number) alone: sequence
/// numbers are unique, so the item itself never decides, and comparing two integers is all a
/// heap step costs. The event queue holds events this way, links their held-back packets.
pub struct Timed<T> {
    /// When, ns.
    pub at: u64,
    /// Order among items due at the same time.
    pub seq: u64,
    /// What.
    pub item: T,
}

impl<T> Timed<T> {
    /// (time, sequence number) as one number, so that an order test is one wide comparison.
    fn key(&self) -> u128 {
        (u128::from(self.at) << 64) | u128::from(self.seq)
    }
}

impl<T> PartialEq for Timed<T> {
    fn eq(&self, o: &Self) -> bool {
        self.key() == o.key()
    }
}
impl<T> Eq for Timed<T> {}
// The heap tests with `<=` and `<`: defined directly, they skip building an `Ordering`.
impl<T> PartialOrd for Timed<T> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
    fn lt(&self, o: &Self) -> bool {
        self.key() < o.key()
    }
    fn le(&self, o: &Self) -> bool {
        self.key() <= o.key()
    }
    fn gt(&self, o: &Self) -> bool {
        self.key() > o.key()
    }
    fn ge(&self, o: &Self) -> bool {
        self.key() >= o.key()
    }
}
impl<T> Ord for Timed<T> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.key().cmp(&o.key())
    }
}

/// Time-ordered events; ties broken by insertion order.
#[derive(Default)]
pub struct EventQueue {
    heap: BinaryHeap<Reverse<Timed<Ev>>>,
    seq: u64,
}

impl EventQueue {
    /// Schedules `ev` at `at` (ns).
    pub fn push(&mut self, at: u64, ev: Ev) {
        self.seq += 1;
        self.heap.push(Reverse(Timed {
            at,
            seq: self.seq,
            item: ev,
        }));
    }
    /// The time of the earliest event.
    pub fn peek_time(&self) -> Option<u64> {
        self.heap.peek().map(|r| r.0.at)
    }
    /// Removes the earliest event.
    pub fn pop(&mut self) -> Option<(u64, Ev)> {
        self.heap.pop().map(|Reverse(e)| (e.at, e.item))
    }
    /// Events waiting.
    pub fn len(&self) -> usize {
        self.heap.len()
    }
    /// True when nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_then_insertion_order() {
        let mut q = EventQueue::default();
        q.push(5, Ev::Sample);
        q.push(1, Ev::FlowStop(2));
        q.push(1, Ev::FlowStart(9));
        q.push(1, Ev::FlowStop(1));
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            order,
            vec![
                (1, Ev::FlowStop(2)),
                (1, Ev::FlowStart(9)),
                (1, Ev::FlowStop(1)),
                (5, Ev::Sample)
            ]
        );
    }
}
