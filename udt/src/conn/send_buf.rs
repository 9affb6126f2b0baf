//! The send buffer: application bytes cut into packets, kept until acknowledged.
//!
//! Bytes live in one ring (`VecDeque<u8>`) and each packet is a small record, so
//! queueing and sending allocate nothing per packet once the ring has grown.
//! Packet `i` of the buffer carries sequence number `base + i` (sequence numbers
//! are given out in order when packets are first sent).

use std::collections::VecDeque;

use crate::packet::Boundary;
use crate::seq::MsgNumber;
use crate::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub(crate) struct Block {
    len: u32,
    pub(crate) boundary: Boundary,
    pub(crate) in_order: bool,
    pub(crate) msg: MsgNumber,
    enqueued: Instant,
    ttl: Option<Duration>,
}

impl Block {
    /// A message whose time to live ran out must not be retransmitted.
    pub(crate) fn expired(&self, now: Instant) -> bool {
        self.ttl
            .is_some_and(|ttl| now.saturating_since(self.enqueued) > ttl)
    }
}

#[derive(Debug)]
pub(crate) struct SendBuffer {
    bytes: VecDeque<u8>,
    blocks: VecDeque<Block>,
    /// Byte offset in `bytes` of each block, parallel to `blocks`.
    offsets: VecDeque<usize>,
    /// Bytes released from the front since the start (keeps offsets absolute).
    released: usize,
    /// Unwrapped sequence number of the first block.
    pub(crate) base: u64,
    capacity: usize,
}

impl SendBuffer {
    pub(crate) fn new(base: u64, capacity_packets: u32) -> Self {
        SendBuffer {
            bytes: VecDeque::new(),
            blocks: VecDeque::new(),
            offsets: VecDeque::new(),
            released: 0,
            base,
            capacity: capacity_packets as usize,
        }
    }

    pub(crate) fn len_packets(&self) -> usize {
        self.blocks.len()
    }

    pub(crate) fn len_bytes(&self) -> usize {
        self.bytes.len()
    }

    pub(crate) fn free_packets(&self) -> usize {
        self.capacity.saturating_sub(self.blocks.len())
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// The unwrapped sequence number after the last queued packet.
    pub(crate) fn end(&self) -> u64 {
        self.base + self.blocks.len() as u64
    }

    /// Queues `data` as one message cut into packets of at most `payload` bytes.
    /// The caller checks that enough packets are free.
    pub(crate) fn push_message(
        &mut self,
        data: &[u8],
        payload: usize,
        msg: MsgNumber,
        in_order: bool,
        ttl: Option<Duration>,
        now: Instant,
    ) {
        let count = data.len().div_ceil(payload).max(1);
        for (i, chunk) in data.chunks(payload).enumerate() {
            self.offsets.push_back(self.released + self.bytes.len());
            self.blocks.push_back(Block {
                len: chunk.len() as u32,
                boundary: Boundary::for_position(i, count),
                in_order,
                msg,
                enqueued: now,
                ttl,
            });
            self.bytes.extend(chunk);
        }
    }

    pub(crate) fn block(&self, seq: u64) -> Option<&Block> {
        self.blocks.get(seq.checked_sub(self.base)? as usize)
    }

    /// Copies the payload of packet `seq` into `out`; returns its length.
    pub(crate) fn copy_payload(&self, seq: u64, out: &mut [u8]) -> Option<usize> {
        let i = seq.checked_sub(self.base)? as usize;
        let block = self.blocks.get(i)?;
        let start = self.offsets[i] - self.released;
        let len = block.len as usize;
        let out = out.get_mut(..len)?;
        let (front, back) = self.bytes.as_slices();
        // The packet may straddle the ring's two halves.
        if start + len <= front.len() {
            out.copy_from_slice(&front[start..start + len]);
        } else if start >= front.len() {
            let s = start - front.len();
            out.copy_from_slice(back.get(s..s + len)?);
        } else {
            let k = front.len() - start;
            out[..k].copy_from_slice(&front[start..]);
            out[k..].copy_from_slice(back.get(..len - k)?);
        }
        Some(len)
    }

    /// The first and last sequence numbers of the message `seq` belongs to, as
    /// far as it is still buffered.
    pub(crate) fn message_span(&self, seq: u64) -> (u64, u64) {
        let Some(i) = seq.checked_sub(self.base).map(|i| i as usize) else {
            return (seq, seq);
        };
        let mut first = i;
        while first > 0 && !self.blocks[first].boundary.is_first() {
            first -= 1;
        }
        let mut last = i;
        while last + 1 < self.blocks.len() && !self.blocks[last].boundary.is_last() {
            last += 1;
        }
        (self.base + first as u64, self.base + last as u64)
    }

    /// Drops every packet before `seq` (acknowledged).
    pub(crate) fn release_before(&mut self, seq: u64) {
        while self.base < seq && !self.blocks.is_empty() {
            let b = self.blocks.pop_front().expect("checked non-empty");
            self.offsets.pop_front();
            self.bytes.drain(..b.len as usize);
            self.released += b.len as usize;
            self.base += 1;
        }
        if self.blocks.is_empty() {
            self.base = self.base.max(seq);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_messages_and_releases() {
        let mut b = SendBuffer::new(100, 10);
        let data: Vec<u8> = (0..25).collect();
        b.push_message(&data, 10, MsgNumber::new(1), false, None, Instant::ZERO);
        b.push_message(b"xy", 10, MsgNumber::new(2), true, None, Instant::ZERO);
        assert_eq!(b.len_packets(), 4);
        assert_eq!(b.block(100).unwrap().boundary, Boundary::First);
        assert_eq!(b.block(102).unwrap().boundary, Boundary::Last);
        assert_eq!(b.block(103).unwrap().boundary, Boundary::Solo);
        assert_eq!(b.message_span(101), (100, 102));
        assert_eq!(b.message_span(103), (103, 103));
        let mut out = [0u8; 16];
        assert_eq!(b.copy_payload(102, &mut out), Some(5));
        assert_eq!(&out[..5], &[20, 21, 22, 23, 24]);
        b.release_before(102);
        assert_eq!(b.base, 102);
        assert_eq!(b.copy_payload(103, &mut out), Some(2));
        assert_eq!(&out[..2], b"xy");
        assert_eq!(b.copy_payload(101, &mut out), None);
        b.release_before(200);
        assert_eq!((b.base, b.len_bytes()), (200, 0));
    }
}
