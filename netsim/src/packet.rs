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

/// A free list of payload buffers so that the steady state allocates no new ones.
#[derive(Default)]
pub struct BufferPool {
    free: Vec<Vec<u8>>,
}

impl BufferPool {
    /// A buffer of length `len`, reused when one is free.
    pub fn take(&mut self, len: usize) -> Vec<u8> {
        let mut v = self.free.pop().unwrap_or_else(|| Vec::with_capacity(2048));
        v.clear();
        v.resize(len, 0);
        v
    }
    /// Returns a payload's buffer to the pool if this was its last holder.
    pub fn recycle(&mut self, payload: Payload) {
        if let Ok(v) = Rc::try_unwrap(payload) {
            if self.free.len() < 4096 {
                self.free.push(v);
            }
        }
    }
}
