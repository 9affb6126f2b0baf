//! The send buffer: application bytes cut into packets, kept until acknowledged.
//!
//! Memory follows what is buffered, not the configured limit: UDT4 grows its send
//! buffer in blocks as the application writes and frees them as ACKs arrive, and so
//! does this one. Copied data goes into blocks of at most [`BLOCK_PACKETS`] packets
//! (one allocation per block, freed when its last packet is acknowledged); data
//! handed in as `Bytes` is kept as it is, without a copy. Each packet is a small
//! record plus a slice of its block, so sending allocates nothing per packet.
//! Packet `i` of the buffer carries sequence number `base + i` (sequence numbers
//! are given out in order when packets are first sent).

use std::collections::VecDeque;

use bytes::Bytes;

use crate::packet::Boundary;
use crate::seq::MsgNumber;
use crate::time::{Duration, Instant};

/// Packets per block of copied data: a block is allocated whole and freed once
/// all of its packets are acknowledged (UDT4's `CSndBuffer` grows by 32 packets).
const BLOCK_PACKETS: usize = 32;

/// Below this many slots the record queues are never shrunk.
const MIN_RECORDS: usize = 64;

/// Bytes handed to a buffer: to copy, or to keep as they are. The application hands them to
/// the send buffer, a driver (a packet's payload) to the receive buffer.
pub(crate) enum Data<'a> {
    /// Copied into memory of the buffer's own.
    Copied(&'a [u8]),
    /// Kept without a copy (a `'static` or reference-counted buffer).
    Shared(Bytes),
}

impl Data<'_> {
    fn len(&self) -> usize {
        match self {
            Data::Copied(d) => d.len(),
            Data::Shared(d) => d.len(),
        }
    }
}

impl<'a> From<&'a [u8]> for Data<'a> {
    fn from(d: &'a [u8]) -> Self {
        Data::Copied(d)
    }
}

impl From<Bytes> for Data<'_> {
    fn from(d: Bytes) -> Self {
        Data::Shared(d)
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Block {
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
    blocks: VecDeque<Block>,
    /// The payload of each packet, parallel to `blocks`.
    payloads: VecDeque<Bytes>,
    /// Payload bytes buffered.
    bytes: usize,
    /// Unwrapped sequence number of the first block.
    pub(crate) base: u64,
    capacity: usize,
}

impl SendBuffer {
    pub(crate) fn new(base: u64, capacity_packets: u32) -> Self {
        SendBuffer {
            blocks: VecDeque::new(),
            payloads: VecDeque::new(),
            bytes: 0,
            base,
            capacity: capacity_packets as usize,
        }
    }

    pub(crate) fn len_packets(&self) -> usize {
        self.blocks.len()
    }

    pub(crate) fn len_bytes(&self) -> usize {
        self.bytes
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
        data: Data<'_>,
        payload: usize,
        msg: MsgNumber,
        in_order: bool,
        ttl: Option<Duration>,
        now: Instant,
    ) {
        let count = data.len().div_ceil(payload).max(1);
        match data {
            Data::Copied(data) => {
                let mut i = 0;
                for chunk in data.chunks(payload.saturating_mul(BLOCK_PACKETS)) {
                    let block = Bytes::copy_from_slice(chunk);
                    i = self.push_packets(block, i, count, payload, msg, in_order, ttl, now);
                }
            }
            Data::Shared(data) => {
                self.push_packets(data, 0, count, payload, msg, in_order, ttl, now);
            }
        }
    }

    /// Cuts `data` into packets `first ..` of a message of `count` packets;
    /// returns the index of the packet after the last one queued.
    #[allow(clippy::too_many_arguments)]
    fn push_packets(
        &mut self,
        data: Bytes,
        first: usize,
        count: usize,
        payload: usize,
        msg: MsgNumber,
        in_order: bool,
        ttl: Option<Duration>,
        now: Instant,
    ) -> usize {
        let mut i = first;
        let mut at = 0;
        while at < data.len() {
            let len = (data.len() - at).min(payload);
            self.blocks.push_back(Block {
                boundary: Boundary::for_position(i, count),
                in_order,
                msg,
                enqueued: now,
                ttl,
            });
            self.payloads.push_back(data.slice(at..at + len));
            self.bytes += len;
            at += len;
            i += 1;
        }
        i
    }

    pub(crate) fn block(&self, seq: u64) -> Option<&Block> {
        self.blocks.get(seq.checked_sub(self.base)? as usize)
    }

    /// The payload of packet `seq`.
    pub(crate) fn payload(&self, seq: u64) -> Option<&Bytes> {
        self.payloads.get(seq.checked_sub(self.base)? as usize)
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

    /// Drops every packet before `seq` (acknowledged); a block's memory goes
    /// with its last packet, and the record queues shrink when mostly empty.
    pub(crate) fn release_before(&mut self, seq: u64) {
        let n = seq.saturating_sub(self.base).min(self.blocks.len() as u64) as usize;
        self.blocks.drain(..n);
        for p in self.payloads.drain(..n) {
            self.bytes -= p.len();
        }
        self.base += n as u64;
        if self.blocks.is_empty() {
            self.base = self.base.max(seq);
        }
        let len = self.blocks.len();
        if self.blocks.capacity() > MIN_RECORDS && len < self.blocks.capacity() / 4 {
            self.blocks.shrink_to(len * 2);
            self.payloads.shrink_to(len * 2);
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
        b.push_message(
            data[..].into(),
            10,
            MsgNumber::new(1),
            false,
            None,
            Instant::ZERO,
        );
        b.push_message(
            b"xy"[..].into(),
            10,
            MsgNumber::new(2),
            true,
            None,
            Instant::ZERO,
        );
        assert_eq!(b.len_packets(), 4);
        assert_eq!(b.block(100).unwrap().boundary, Boundary::First);
        assert_eq!(b.block(102).unwrap().boundary, Boundary::Last);
        assert_eq!(b.block(103).unwrap().boundary, Boundary::Solo);
        assert_eq!(b.message_span(101), (100, 102));
        assert_eq!(b.message_span(103), (103, 103));
        assert_eq!(&b.payload(102).unwrap()[..], &[20, 21, 22, 23, 24]);
        b.release_before(102);
        assert_eq!(b.base, 102);
        assert_eq!(&b.payload(103).unwrap()[..], b"xy");
        assert_eq!(b.payload(101), None);
        b.release_before(200);
        assert_eq!((b.base, b.len_bytes()), (200, 0));
    }

    /// The model: one `Vec` per packet, (payload, boundary), from `base` on.
    #[derive(Default)]
    struct Model {
        base: u64,
        packets: std::collections::VecDeque<(Vec<u8>, Boundary)>,
    }

    proptest::proptest! {
        /// Against the model: the same packets, payloads, boundaries and spans,
        /// messages copied into blocks or kept shared alike, and the record
        /// queues shrinking back as packets are released.
        #[test]
        fn grows_and_shrinks_like_a_list_of_packets(
            ops in proptest::collection::vec((0u8..4, 0usize..3000, 0u64..200), 1..120),
            payload in 1usize..64,
        ) {
            let mut b = SendBuffer::new(1000, 10_000);
            let mut m = Model { base: 1000, ..Model::default() };
            for (k, (op, len, at)) in ops.into_iter().enumerate() {
                match op {
                    0 | 1 => {
                        let data: Vec<u8> = (0..len).map(|i| (i * 31 + k) as u8).collect();
                        let msg = MsgNumber::new(k as u32);
                        if op == 0 {
                            b.push_message(data[..].into(), payload, msg, false, None, Instant::ZERO);
                        } else {
                            let shared = Bytes::from(data.clone());
                            b.push_message(shared.into(), payload, msg, false, None, Instant::ZERO);
                        }
                        let count = data.len().div_ceil(payload);
                        for (i, c) in data.chunks(payload).enumerate() {
                            m.packets.push_back((c.to_vec(), Boundary::for_position(i, count)));
                        }
                    }
                    2 => {
                        let seq = m.base + at * 8;
                        b.release_before(seq);
                        while m.base < seq && m.packets.pop_front().is_some() {
                            m.base += 1;
                        }
                        if m.packets.is_empty() {
                            m.base = m.base.max(seq);
                        }
                        let cap = b.blocks.capacity().max(b.payloads.capacity());
                        proptest::prop_assert!(cap <= MIN_RECORDS.max(4 * b.len_packets() + 3));
                    }
                    _ => {
                        let seq = m.base.saturating_sub(2) + at;
                        let want = seq.checked_sub(m.base).and_then(|i| m.packets.get(i as usize));
                        let got = b.payload(seq).map(|p| p.to_vec());
                        proptest::prop_assert_eq!(got.as_ref(), want.map(|p| &p.0));
                        if let Some((_, boundary)) = want {
                            proptest::prop_assert_eq!(b.block(seq).map(|x| x.boundary), Some(*boundary));
                            let (first, last) = b.message_span(seq);
                            let i = (seq - m.base) as usize;
                            let f = (0..=i).rev().find(|&j| m.packets[j].1.is_first()).unwrap_or(0);
                            let l = (i..m.packets.len()).find(|&j| m.packets[j].1.is_last())
                                .unwrap_or(m.packets.len() - 1);
                            proptest::prop_assert_eq!((first, last), (m.base + f as u64, m.base + l as u64));
                        }
                    }
                }
                proptest::prop_assert_eq!(b.base, m.base);
                proptest::prop_assert_eq!(b.len_packets(), m.packets.len());
                let bytes: usize = m.packets.iter().map(|p| p.0.len()).sum();
                proptest::prop_assert_eq!(b.len_bytes(), bytes);
                proptest::prop_assert_eq!(b.end(), m.base + m.packets.len() as u64);
            }
        }
    }
}
