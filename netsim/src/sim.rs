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
    /// Endpoint `n`'s host takes the datagrams it holds (see `HostTiming::take_delay`).
    EndpointTake(u32),
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
///
/// The event [`pop`](Self::pop) hands out stays at the top of the heap until the next call:
/// most events schedule another, which then takes its place with one sift instead of a
/// removal and an insertion. Keys are unique, so the order events come out in does not
/// depend on the heap's layout.
#[derive(Default)]
pub struct EventQueue {
    heap: BinaryHeap<Reverse<Timed<Ev>>>,
    seq: u64,
    /// The top is the event `pop` handed out last.
    popped: bool,
}

impl EventQueue {
    /// Schedules `ev` at `at` (ns).
    pub fn push(&mut self, at: u64, ev: Ev) {
        self.seq += 1;
        let e = Reverse(Timed {
            at,
            seq: self.seq,
            item: ev,
        });
        if std::mem::take(&mut self.popped) {
            *self.heap.peek_mut().expect("a popped event is at the top") = e;
        } else {
            self.heap.push(e);
        }
    }
    /// Removes the event `pop` handed out, if nothing took its place.
    fn settle(&mut self) {
        if std::mem::take(&mut self.popped) {
            self.heap.pop();
        }
    }
    /// The time of the earliest event.
    pub fn peek_time(&mut self) -> Option<u64> {
        self.settle();
        self.heap.peek().map(|r| r.0.at)
    }
    /// Removes the earliest event.
    pub fn pop(&mut self) -> Option<(u64, Ev)> {
        self.settle();
        let e = &self.heap.peek()?.0;
        self.popped = true;
        Some((e.at, e.item))
    }
    /// Events waiting.
    pub fn len(&self) -> usize {
        self.heap.len() - usize::from(self.popped)
    }
    /// True when nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        assert!(q.is_empty());
    }

    #[test]
    fn an_event_scheduled_while_handling_one_takes_its_place() {
        let mut q = EventQueue::default();
        for t in [4, 2, 6] {
            q.push(t, Ev::Sample);
        }
        assert_eq!(q.pop(), Some((2, Ev::Sample)));
        assert_eq!(q.len(), 2);
        q.push(5, Ev::FlowStart(1));
        q.push(3, Ev::FlowStart(2));
        assert_eq!(q.peek_time(), Some(3));
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            order,
            vec![
                (3, Ev::FlowStart(2)),
                (4, Ev::Sample),
                (5, Ev::FlowStart(1)),
                (6, Ev::Sample)
            ]
        );
        assert_eq!((q.len(), q.peek_time()), (0, None));
    }
}
