//! The receive buffer: a ring of packet slots indexed by unwrapped sequence
//! number. Data up to the ACK point is readable; stream reads take bytes across
//! packets, message reads take whole messages.
//!
//! Payload buffers are recycled through a free list, so a connection in steady
//! state allocates nothing per packet.

use crate::packet::Boundary;
use crate::seq::MsgNumber;

#[derive(Debug)]
struct Slot {
    data: Vec<u8>,
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
    slots: Vec<Option<Slot>>,
    /// Unwrapped sequence number of the next packet to read.
    pub(crate) base: u64,
    /// Bytes of the packet at `base` already read (stream mode).
    read_offset: usize,
    free: Vec<Vec<u8>>,
}

impl RecvBuffer {
    pub(crate) fn new(base: u64, capacity_packets: u32) -> Self {
        let cap = capacity_packets.max(2) as usize;
        RecvBuffer {
            slots: (0..cap).map(|_| None).collect(),
            base,
            read_offset: 0,
            free: Vec::new(),
        }
    }

    fn index(&self, seq: u64) -> usize {
        (seq % self.slots.len() as u64) as usize
    }

    pub(crate) fn capacity(&self) -> u64 {
        self.slots.len() as u64
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
        payload: &[u8],
        boundary: Boundary,
        msg: MsgNumber,
    ) -> bool {
        if seq < self.base || seq >= self.base + self.capacity() {
            return false;
        }
        let i = self.index(seq);
        if self.slots[i].is_some() {
            return false;
        }
        let mut data = self.free.pop().unwrap_or_default();
        data.clear();
        data.extend_from_slice(payload);
        self.slots[i] = Some(Slot {
            data,
            boundary,
            msg,
            dropped: false,
        });
        true
    }

    fn take(&mut self, seq: u64) {
        let i = self.index(seq);
        if let Some(slot) = self.slots[i].take() {
            self.free.push(slot.data);
        }
    }

    /// Whether anything before `ack` is waiting to be read.
    pub(crate) fn has_readable(&self, ack: u64) -> bool {
        self.base < ack
    }

    /// Stream read: copies bytes of packets before `ack` into `out`.
    pub(crate) fn read_stream(&mut self, out: &mut [u8], ack: u64) -> usize {
        let mut n = 0;
        while n < out.len() && self.base < ack {
            let i = self.index(self.base);
            let done = match &self.slots[i] {
                Some(slot) => {
                    let src = &slot.data[self.read_offset..];
                    let k = src.len().min(out.len() - n);
                    out[n..n + k].copy_from_slice(&src[..k]);
                    n += k;
                    self.read_offset += k;
                    self.read_offset == slot.data.len()
                }
                // Acknowledged packets are always present; a missing one was
                // dropped by the sender and is skipped.
                None => true,
            };
            if !done {
                break;
            }
            self.take(self.base);
            self.base += 1;
            self.read_offset = 0;
        }
        n
    }

    /// Message read: the next whole message before `ack`. Packets of messages
    /// that can no longer complete (dropped, or with a hole below the ACK point,
    /// which only a drop request leaves) are discarded on the way.
    pub(crate) fn read_message(&mut self, ack: u64) -> Option<Vec<u8>> {
        while self.base < ack {
            let first = self.base;
            match self.message_at(first, ack) {
                Head::Complete(end) => {
                    let mut msg = Vec::new();
                    for seq in first..=end {
                        if let Some(s) = &self.slots[self.index(seq)] {
                            msg.extend_from_slice(&s.data);
                        }
                        self.take(seq);
                    }
                    self.base = end + 1;
                    return Some(msg);
                }
                Head::Pending => return None,
                Head::Unusable => {
                    self.take(first);
                    self.base += 1;
                }
            }
        }
        None
    }

    /// What the packets from `first` on make of a message.
    fn message_at(&self, first: u64, ack: u64) -> Head {
        let Some(head) = self.slots[self.index(first)].as_ref() else {
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
            match self.slots[self.index(seq)].as_ref() {
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
        let lo = first.max(self.base);
        let hi = last.min(self.base + self.capacity() - 1);
        for seq in lo..=hi {
            let i = self.index(seq);
            if let Some(s) = &mut self.slots[i] {
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
        assert!(b.insert(10, b"abc", Boundary::Solo, MsgNumber::new(1)));
        assert!(b.insert(11, b"de", Boundary::Solo, MsgNumber::new(2)));
        assert!(
            !b.insert(11, b"zz", Boundary::Solo, MsgNumber::new(2)),
            "duplicate"
        );
        assert!(
            !b.insert(14, b"z", Boundary::Solo, MsgNumber::new(3)),
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
        assert!(b.insert(14, b"z", Boundary::Solo, MsgNumber::new(3)));
    }

    #[test]
    fn messages_come_whole_and_dropped_ones_are_skipped() {
        let mut b = RecvBuffer::new(0, 8);
        let m = MsgNumber::new;
        b.insert(0, b"a", Boundary::First, m(1));
        b.insert(1, b"b", Boundary::Last, m(1));
        b.insert(2, b"c", Boundary::First, m(2));
        b.insert(3, b"d", Boundary::Middle, m(2));
        b.insert(4, b"e", Boundary::Last, m(2));
        b.insert(5, b"f", Boundary::Solo, m(3));
        assert_eq!(b.read_message(4), Some(b"ab".to_vec()));
        assert_eq!(b.read_message(4), None, "message 2 ends past the ACK point");
        b.drop_message(2, 4, m(2));
        assert_eq!(b.read_message(6), Some(b"f".to_vec()));
        assert_eq!(b.base, 6);
    }
}
