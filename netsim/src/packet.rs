//! The packets that travel the simulated network: UDP datagrams with shared payloads.

use std::net::SocketAddr;
use std::rc::Rc;

/// A UDP payload shared between hops, duplicates and capture points without copying.
pub type Payload = Rc<Vec<u8>>;

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

/// A free list of payloads (the shared box and its buffer) so that the steady state
/// allocates nothing per packet.
#[derive(Default)]
pub struct BufferPool {
    free: Vec<Payload>,
}

impl BufferPool {
    /// A payload holding a copy of `bytes`, reusing a free one when there is one.
    pub fn make(&mut self, bytes: &[u8]) -> Payload {
        let mut p = self
            .free
            .pop()
            .unwrap_or_else(|| Rc::new(Vec::with_capacity(bytes.len())));
        let v = Rc::get_mut(&mut p).expect("pooled payloads have no other holder");
        v.clear();
        v.extend_from_slice(bytes);
        p
    }
    /// Returns a payload to the pool if this was its last holder.
    pub fn recycle(&mut self, payload: Payload) {
        if Rc::strong_count(&payload) == 1
            && Rc::weak_count(&payload) == 0
            && self.free.len() < 4096
        {
            self.free.push(payload);
        }
    }
}
