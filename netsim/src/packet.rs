//! The packets that travel the simulated network: UDP datagrams with shared payloads.

use bytes::Bytes;
use std::borrow::Cow;
use std::net::SocketAddr;
use std::rc::Rc;

/// A UDP payload shared between hops, duplicates and capture points without copying: one
/// allocation (counts and bytes together) and the length in the pointer, so handing a packet on
/// touches no memory of the payload until its bytes are read.
pub type Payload = Rc<[u8]>;

/// Bytes of IPv4 (20) and UDP (8) headers added to the payload on the wire.
pub const IP_UDP_OVERHEAD: usize = 28;

/// One UDP datagram in flight.
#[derive(Clone, Debug)]
pub struct Packet {
    /// Source address as currently written in the IP/UDP header (NATs rewrite it).
    pub src: SocketAddr,
    /// Destination address as currently written in the header.
    pub dst: SocketAddr,
    /// The UDP payload, or its first part when `tail` holds the rest.
    pub payload: Payload,
    /// The rest of the UDP payload, if it travels apart: a UDT data packet's payload, the
    /// sending endpoint's own bytes (`udt::Endpoint::poll_transmit_parts`), which go into the
    /// receiver's buffer as they are instead of being copied at both ends.
    pub tail: Option<Bytes>,
}

impl Packet {
    /// A datagram in one piece.
    pub fn new(src: SocketAddr, dst: SocketAddr, payload: Payload) -> Self {
        Packet {
            src,
            dst,
            payload,
            tail: None,
        }
    }

    /// Size of the IP datagram: payload plus IPv4 and UDP headers.
    pub fn wire_len(&self) -> usize {
        self.payload.len() + self.tail.as_ref().map_or(0, Bytes::len) + IP_UDP_OVERHEAD
    }

    /// The whole UDP payload (joined, when it travels in two parts).
    pub fn bytes(&self) -> Cow<'_, [u8]> {
        match &self.tail {
            None => Cow::Borrowed(&self.payload),
            Some(tail) => Cow::Owned([&self.payload[..], tail].concat()),
        }
    }
}

/// Payloads of this many distinct lengths are pooled (data packets of a few sizes, a few
/// control packet sizes); others are allocated afresh.
const POOLED_LENGTHS: usize = 32;

/// Free payloads kept, at most.
const POOLED_PAYLOADS: usize = 4096;

/// Free lists of payloads by length, so that the steady state allocates nothing per packet.
#[derive(Default)]
pub struct BufferPool {
    free: Vec<(usize, Vec<Payload>)>,
    count: usize,
}

impl BufferPool {
    /// A payload holding a copy of `bytes`, reusing a free one of that length when there is one.
    pub fn make(&mut self, bytes: &[u8]) -> Payload {
        let mut p = self.take(bytes.len());
        Rc::get_mut(&mut p)
            .expect("pooled and new payloads have no other holder")
            .copy_from_slice(bytes);
        p
    }
    /// A payload of `len` bytes to write into (its contents are stale), reusing a free one of
    /// that length when there is one; it has no other holder.
    pub fn take(&mut self, len: usize) -> Payload {
        let reused = self
            .free
            .iter_mut()
            .find(|(l, _)| *l == len)
            .and_then(|(_, list)| list.pop());
        match reused {
            Some(p) => {
                self.count -= 1;
                p
            }
            None => std::iter::repeat_n(0, len).collect(),
        }
    }

    /// Returns a payload to the pool if this was its last holder.
    pub fn recycle(&mut self, payload: Payload) {
        if Rc::strong_count(&payload) != 1
            || Rc::weak_count(&payload) != 0
            || self.count >= POOLED_PAYLOADS
        {
            return;
        }
        let len = payload.len();
        let list = match self.free.iter().position(|(l, _)| *l == len) {
            Some(i) => &mut self.free[i].1,
            None if self.free.len() < POOLED_LENGTHS => {
                self.free.push((len, Vec::new()));
                &mut self.free.last_mut().expect("just pushed").1
            }
            None => return,
        };
        list.push(payload);
        self.count += 1;
    }
}
