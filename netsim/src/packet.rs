//! The packets that travel the simulated network: UDP datagrams with shared payloads.

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
    /// The UDP payload.
    pub payload: Payload,
}

impl Packet {
    /// Size of the IP datagram: payload plus IPv4 and UDP headers.
    pub fn wire_len(&self) -> usize {
        self.payload.len() + IP_UDP_OVERHEAD
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
