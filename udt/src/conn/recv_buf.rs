//! The receive buffer: packet slots indexed by unwrapped sequence number. Data up
//! to the ACK point is readable; stream reads take bytes across packets, message
//! reads take whole messages.
//!
//! Memory follows the data: the slots reach from the read point to the highest
//! packet stored, not over the whole configured window, and give memory back as
//! they are read. Payload buffers are recycled through a free list no longer than
//! the slot queue's capacity (or [`FREE_BUFFERS`]), so a connection in steady state
//! allocates nothing per packet, and one that drained its buffer keeps only a few
//! ([`FREE_BUFFERS`]).
//! The capacity, not the length: it is the recent high-water mark (the queue
//! shrinks only below a quarter full), so a read that drains a burst keeps the
//! buffers the next burst needs instead of freeing and allocating them again.
//! A payload the driver hands over as shared bytes is kept as it is, without a copy.

use std::collections::VecDeque;
use std::ops::Deref;

use bytes::Bytes;

use super::send_buf::Data;
use crate::packet::Boundary;
use crate::seq::MsgNumber;

/// Payload buffers kept for reuse after their packets are read, at least; while
/// more packets are buffered, as many as there are slots.
const FREE_BUFFERS: usize = 32;

/// Below this many slots the slot queue is never shrunk.
const MIN_SLOTS: usize = 64;

/// A stored payload: a buffer of our own (recycled once read), or the driver's bytes.
#[derive(Debug)]
enum Stored {
    Own(Vec<u8>),
    Kept(Bytes),
}

impl Deref for Stored {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Stored::Own(v) => v,
            Stored::Kept(b) => b,
        }
    }
}

#[derive(Debug)]
struct Slot {
    data: Stored,
    boundary: Boundary,
    msg: MsgNumber,
    dropped: bool,
}

/// The message at the head of the buffer.
enum Head {
    /// Whole, ending at this sequence number.
    Complete(u64),
    /// Not yet whole; its missing packets can still arrive.
    Pending,
    /// Can never be delivered.
    Unusable,
}

#[derive(Debug)]
pub(crate) struct RecvBuffer {
    /// Slot `i` holds packet `base + i`; as long as the highest packet stored.
    slots: VecDeque<Option<Slot>>,
    /// Unwrapped sequence number of the next packet to read.
    pub(crate) base: u64,
    /// Bytes of the packet at `base` already read (stream mode).
    read_offset: usize,
    /// The configured size, packets: the window packets are accepted in.
    capacity: u64,
    free: Vec<Vec<u8>>,
}

impl RecvBuffer {
    pub(crate) fn new(base: u64, capacity_packets: u32) -> Self {
        RecvBuffer {
            slots: VecDeque::new(),
            base,
            read_offset: 0,
            capacity: u64::from(capacity_packets.max(2)),
            free: Vec::new(),
        }
    }

    fn slot(&self, seq: u64) -> Option<&Slot> {
        let i = usize::try_from(seq.checked_sub(self.base)?).ok()?;
        self.slots.get(i)?.as_ref()
    }

    pub(crate) fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Free packets as UDT4 reports them in ACKs: capacity − acknowledged but
    /// unread − 1.
    pub(crate) fn available(&self, ack: u64) -> u64 {
        self.capacity()
            .saturating_sub(ack.saturating_sub(self.base))
            .saturating_sub(1)
    }

    /// Stores a packet; false if the slot is outside the window or already full.
    pub(crate) fn insert(
        &mut self,
        seq: u64,
        payload: Data<'_>,
        boundary: Boundary,
        msg: MsgNumber,
    ) -> bool {
        if seq < self.base || seq >= self.base + self.capacity() {
            return false;
        }
        let i = (seq - self.base) as usize;
        if self.slots.get(i).is_some_and(Option::is_some) {
            return false;
        }
        let data = match payload {
            Data::Copied(bytes) => {
                let mut own = self.free.pop().unwrap_or_default();
                own.clear();
                own.extend_from_slice(bytes);
                Stored::Own(own)
            }
            Data::Shared(bytes) => Stored::Kept(bytes),
        };
        let slot = Some(Slot {
            data,
            boundary,
            msg,
            dropped: false,
        });
        match self.slots.get_mut(i) {
            Some(s) => *s = slot,
            // Past the last slot; most often the next one (packets arrive in order).
            None => {
                self.slots.resize_with(i, || None);
                self.slots.push_back(slot);
            }
        }
        true
    }

    /// Forgets the packet at `base` (read or discarded) and moves on.
    fn advance(&mut self) {
        if let Some(Some(Slot {
            data: Stored::Own(own),
            ..
        })) = self.slots.pop_front()
        {
            if self.free.len() < self.spares_kept() {
                self.free.push(own);
            }
        }
        self.base += 1;
        self.read_offset = 0;
        let (len, cap) = (self.slots.len(), self.slots.capacity());
        if cap > MIN_SLOTS && len < cap / 4 {
            self.slots.shrink_to(len * 2);
        }
    }

    /// Whether anything before `ack` is waiting to be read.
    pub(crate) fn has_readable(&self, ack: u64) -> bool {
        self.base < ack
    }

    /// Stream read: copies bytes of packets before `ack` into `out`.
    #[cfg(test)]
    pub(crate) fn read_stream(&mut self, out: &mut [u8], ack: u64) -> usize {
        let mut n = 0;
        self.read_stream_with(out.len(), ack, |chunk| {
            out[n..n + chunk.len()].copy_from_slice(chunk);
            n += chunk.len();
        })
    }

    /// Stream read without a copy: hands up to `max` bytes of packets before `ack` to `f`,
    /// in order, a packet's bytes (or what is left of them) at a time; returns how many.
    pub(crate) fn read_stream_with(
        &mut self,
        max: usize,
        ack: u64,
        mut f: impl FnMut(&[u8]),
    ) -> usize {
        let (mut n, first) = (0, self.base);
        while n < max && self.base < ack {
            let done = match self.slots.front().and_then(Option::as_ref) {
                Some(slot) => {
                    let src = &slot.data[self.read_offset..];
                    let k = src.len().min(max - n);
                    f(&src[..k]);
                    n += k;
                    let whole = k == src.len();
                    self.read_offset += k;
                    whole
                }
                // Acknowledged packets are always present; a missing one was
                // dropped by the sender and is skipped.
                None => true,
            };
            if !done {
                break;
            }
            self.advance();
        }
        if self.base != first {
            self.trim_free(); // only `advance` adds spare buffers
        }
        n
    }

    /// Spare payload buffers kept at most: the slot queue's capacity (see the
    /// module docs), or [`FREE_BUFFERS`]; only those once the buffer is drained.
    fn spares_kept(&self) -> usize {
        if self.slots.is_empty() {
            return FREE_BUFFERS;
        }
        self.slots.capacity().max(FREE_BUFFERS)
    }

    /// Keeps no more spare payload buffers than [`Self::spares_kept`].
    fn trim_free(&mut self) {
        let keep = self.spares_kept();
        self.free.truncate(keep);
        if self.free.capacity() > 4 * keep {
            self.free.shrink_to(2 * keep);
        }
    }

    /// Message read: the next whole message before `ack`. Packets of messages
    /// that can no longer complete (dropped, or with a hole below the ACK point,
    /// which only a drop request leaves) are discarded on the way.
    pub(crate) fn read_message(&mut self, ack: u64) -> Option<Vec<u8>> {
        while self.base < ack {
            match self.message_at(self.base, ack) {
                Head::Complete(end) => {
                    let mut msg = Vec::new();
                    while self.base <= end {
                        if let Some(s) = self.slot(self.base) {
                            msg.extend_from_slice(&s.data);
                        }
                        self.advance();
                    }
                    self.trim_free();
                    return Some(msg);
                }
                Head::Pending => break,
                Head::Unusable => self.advance(),
            }
        }
        self.trim_free();
        None
    }

    /// What the packets from `first` on make of a message.
    fn message_at(&self, first: u64, ack: u64) -> Head {
        let Some(head) = self.slot(first) else {
            return Head::Unusable;
        };
        if !head.boundary.is_first() || head.dropped {
            return Head::Unusable;
        }
        let mut seq = first;
        loop {
            if seq >= ack {
                return Head::Pending; // the rest is still arriving
            }
            match self.slot(seq) {
                Some(s) if !s.dropped && s.msg == head.msg => {
                    if s.boundary.is_last() {
                        return Head::Complete(seq);
                    }
                }
                _ => return Head::Unusable,
            }
            seq += 1;
        }
    }

    /// Marks buffered packets of message `msg` in `first ..= last` as dropped.
    pub(crate) fn drop_message(&mut self, first: u64, last: u64, msg: MsgNumber) {
        let end = self.base + self.slots.len() as u64; // past the last slot
        for seq in first.max(self.base)..last.saturating_add(1).min(end) {
            if let Some(Some(s)) = self.slots.get_mut((seq - self.base) as usize) {
                if s.msg == msg {
                    s.dropped = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_reads_span_packets_up_to_the_ack() {
        let mut b = RecvBuffer::new(10, 4);
        assert!(b.insert(10, b"abc"[..].into(), Boundary::Solo, MsgNumber::new(1)));
        assert!(b.insert(11, b"de"[..].into(), Boundary::Solo, MsgNumber::new(2)));
        assert!(
            !b.insert(11, b"zz"[..].into(), Boundary::Solo, MsgNumber::new(2)),
            "duplicate"
        );
        assert!(
            !b.insert(14, b"z"[..].into(), Boundary::Solo, MsgNumber::new(3)),
            "beyond the ring"
        );
        let mut out = [0u8; 4];
        assert_eq!(
            b.read_stream(&mut out, 11),
            3,
            "packet 11 is not acknowledged"
        );
        assert_eq!(b.read_stream(&mut out, 12), 2);
        assert_eq!(&out[..2], b"de");
        assert_eq!(b.base, 12);
        assert!(b.insert(14, b"z"[..].into(), Boundary::Solo, MsgNumber::new(3)));
    }

    #[test]
    fn messages_come_whole_and_dropped_ones_are_skipped() {
        let mut b = RecvBuffer::new(0, 8);
        let m = MsgNumber::new;
        b.insert(0, b"a"[..].into(), Boundary::First, m(1));
        b.insert(1, b"b"[..].into(), Boundary::Last, m(1));
        b.insert(2, b"c"[..].into(), Boundary::First, m(2));
        b.insert(3, b"d"[..].into(), Boundary::Middle, m(2));
        b.insert(4, b"e"[..].into(), Boundary::Last, m(2));
        b.insert(5, b"f"[..].into(), Boundary::Solo, m(3));
        assert_eq!(b.read_message(4), Some(b"ab".to_vec()));
        assert_eq!(b.read_message(4), None, "message 2 ends past the ACK point");
        b.drop_message(2, 4, m(2));
        assert_eq!(b.read_message(6), Some(b"f".to_vec()));
        assert_eq!(b.base, 6);
    }

    /// The model: a map from sequence number to (payload, boundary, message,
    /// dropped), read from `base`; a stream read may stop inside a packet.
    struct Model {
        base: u64,
        offset: usize,
        cap: u64,
        packets: std::collections::BTreeMap<u64, (Vec<u8>, Boundary, MsgNumber, bool)>,
    }

    impl Model {
        fn pop(&mut self) -> Option<(Vec<u8>, Boundary, MsgNumber, bool)> {
            self.offset = 0;
            self.base += 1;
            self.packets.remove(&(self.base - 1))
        }

        /// The message at `base`: `Some(Some(end))` whole, `Some(None)` still
        /// arriving, `None` never deliverable.
        fn head(&self, ack: u64) -> Option<Option<u64>> {
            let (_, b, msg, dropped) = self.packets.get(&self.base)?;
            if !b.is_first() || *dropped {
                return None;
            }
            for seq in self.base..ack {
                let (_, b, m, d) = self.packets.get(&seq)?;
                if *d || m != msg {
                    return None;
                }
                if b.is_last() {
                    return Some(Some(seq));
                }
            }
            Some(None)
        }
    }

    fn boundary(i: u8) -> Boundary {
        [
            Boundary::Solo,
            Boundary::First,
            Boundary::Middle,
            Boundary::Last,
        ][usize::from(i % 4)]
    }

    proptest::proptest! {
        /// Against the model: inserts (copied or shared), stream and message reads, drops and the
        /// advertised window agree; the slots reach exactly from the read point to
        /// the highest packet stored and shrink back as they are read.
        #[test]
        fn grows_and_shrinks_like_a_map_of_packets(
            ops in proptest::collection::vec((0u8..5, 0u64..400, 0u8..8, 1usize..40), 1..150),
            stream in proptest::bool::ANY,
        ) {
            let mut b = RecvBuffer::new(500, 300);
            let mut m = Model { base: 500, offset: 0, cap: 300, packets: Default::default() };
            for (k, (op, at, x, len)) in ops.into_iter().enumerate() {
                let seq = m.base.saturating_sub(3) + at;
                let ack = m.base + at / 2;
                match op {
                    0 | 1 => {
                        let data: Vec<u8> = (0..len).map(|i| (i + k) as u8).collect();
                        let (bd, msg) = (boundary(x), MsgNumber::new(u32::from(x / 2)));
                        let fits = seq >= m.base && seq < m.base + m.cap && !m.packets.contains_key(&seq);
                        // Copied (op 0) or kept as shared bytes (op 1) alike.
                        let payload = if op == 0 {
                            data[..].into()
                        } else {
                            Data::Shared(Bytes::from(data.clone()))
                        };
                        proptest::prop_assert_eq!(b.insert(seq, payload, bd, msg), fits);
                        if fits {
                            m.packets.insert(seq, (data, bd, msg, false));
                        }
                    }
                    2 if stream => {
                        let mut out = vec![0u8; len];
                        let mut want = Vec::new();
                        while want.len() < len && m.base < ack {
                            let whole = match m.packets.get(&m.base) {
                                Some((d, ..)) => {
                                    let k = (d.len() - m.offset).min(len - want.len());
                                    want.extend_from_slice(&d[m.offset..m.offset + k]);
                                    m.offset += k;
                                    m.offset == d.len()
                                }
                                None => true,
                            };
                            if !whole {
                                break;
                            }
                            m.pop();
                        }
                        let n = b.read_stream(&mut out, ack);
                        proptest::prop_assert_eq!(&out[..n], &want[..]);
                    }
                    2 => {
                        let mut want = None;
                        while m.base < ack {
                            match m.head(ack) {
                                Some(Some(end)) => {
                                    let mut msg = Vec::new();
                                    while m.base <= end {
                                        msg.extend(m.pop().map(|p| p.0).unwrap_or_default());
                                    }
                                    want = Some(msg);
                                    break;
                                }
                                Some(None) => break,
                                None => drop(m.pop()),
                            }
                        }
                        proptest::prop_assert_eq!(b.read_message(ack), want);
                    }
                    3 => {
                        let msg = MsgNumber::new(u32::from(x / 2));
                        b.drop_message(seq, seq + len as u64, msg);
                        for (_, p) in m.packets.range_mut(seq..=seq + len as u64) {
                            p.3 |= p.2 == msg;
                        }
                    }
                    _ => {}
                }
                proptest::prop_assert_eq!(b.base, m.base);
                proptest::prop_assert_eq!(b.available(ack), m.cap.saturating_sub(ack.saturating_sub(m.base)).saturating_sub(1));
                proptest::prop_assert_eq!(b.has_readable(ack), m.base < ack);
                let span = m.packets.keys().next_back().map_or(0, |&last| last + 1 - m.base);
                proptest::prop_assert_eq!(b.slots.len() as u64, span);
                proptest::prop_assert!(b.slots.capacity() <= MIN_SLOTS.max(4 * b.slots.len() + 3));
                if op == 2 {
                    proptest::prop_assert!(b.free.len() <= b.spares_kept());
                }
            }
        }
    }
}
