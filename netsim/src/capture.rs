//! Capture points: every packet a node sends or receives on an interface, written as pcap with
//! simulated timestamps.

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};

/// Where captured packets go.
pub trait CaptureSink {
    /// Records one UDP datagram at simulated time `time_ns`.
    fn write_udp(&mut self, time_ns: u64, src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> io::Result<()>;
    /// Flushes everything written.
    fn finish(&mut self) -> io::Result<()>;
}

/// A pcap writer (nanosecond timestamps, LINKTYPE_RAW IPv4/UDP with valid checksums).
///
/// Stand-in until `conformance::capture::CaptureWriter` is available on main.
pub struct PcapWriter<W: Write> {
    out: W,
    scratch: Vec<u8>,
    ip_id: u16,
}

fn checksum_add(mut sum: u32, bytes: &[u8]) -> u32 {
    let mut chunks = bytes.chunks_exact(2);
    for c in &mut chunks {
        sum += u16::from_be_bytes([c[0], c[1]]) as u32;
    }
    if let [b] = chunks.remainder() {
        sum += (*b as u32) << 8;
    }
    sum
}

fn checksum_fold(mut sum: u32) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

impl<W: Write> PcapWriter<W> {
    /// Writes the pcap file header.
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(&0xa1b2_3c4du32.to_le_bytes())?; // nanosecond-resolution magic
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&0i32.to_le_bytes())?;
        out.write_all(&0u32.to_le_bytes())?;
        out.write_all(&65535u32.to_le_bytes())?;
        out.write_all(&101u32.to_le_bytes())?; // LINKTYPE_RAW
        Ok(PcapWriter { out, scratch: Vec::with_capacity(2048), ip_id: 0 })
    }
}

impl<W: Write> CaptureSink for PcapWriter<W> {
    fn write_udp(&mut self, time_ns: u64, src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> io::Result<()> {
        let (IpAddr::V4(s), IpAddr::V4(d)) = (src.ip(), dst.ip()) else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "IPv4 only"));
        };
        let udp_len = (8 + payload.len()) as u16;
        let total = 20 + udp_len;
        self.ip_id = self.ip_id.wrapping_add(1);
        let b = &mut self.scratch;
        b.clear();
        b.extend_from_slice(&[0x45, 0]);
        b.extend_from_slice(&total.to_be_bytes());
        b.extend_from_slice(&self.ip_id.to_be_bytes());
        b.extend_from_slice(&[0x40, 0, 64, 17, 0, 0]); // DF, TTL 64, UDP, checksum below
        b.extend_from_slice(&s.octets());
        b.extend_from_slice(&d.octets());
        let ip_sum = checksum_fold(checksum_add(0, &b[..20]));
        b[10..12].copy_from_slice(&ip_sum.to_be_bytes());
        b.extend_from_slice(&src.port().to_be_bytes());
        b.extend_from_slice(&dst.port().to_be_bytes());
        b.extend_from_slice(&udp_len.to_be_bytes());
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(payload);
        let mut sum = checksum_add(0, &s.octets());
        sum = checksum_add(sum, &d.octets());
        sum += 17 + udp_len as u32;
        sum = checksum_add(sum, &b[20..]);
        let udp_sum = match checksum_fold(sum) {
            0 => 0xffff,
            x => x,
        };
        b[26..28].copy_from_slice(&udp_sum.to_be_bytes());
        self.out.write_all(&((time_ns / 1_000_000_000) as u32).to_le_bytes())?;
        self.out.write_all(&((time_ns % 1_000_000_000) as u32).to_le_bytes())?;
        self.out.write_all(&(b.len() as u32).to_le_bytes())?;
        self.out.write_all(&(b.len() as u32).to_le_bytes())?;
        self.out.write_all(b)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_record_layout() {
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        w.write_udp(1_500_000_001, "10.0.0.1:9000".parse().unwrap(), "10.0.0.2:9001".parse().unwrap(), b"hi")
            .unwrap();
        let v = w.out;
        assert_eq!(v.len(), 24 + 16 + 30);
        assert_eq!(&v[24..28], &1u32.to_le_bytes());
        assert_eq!(&v[28..32], &500_000_001u32.to_le_bytes());
        // The IPv4 header checksum verifies to zero.
        assert_eq!(checksum_fold(checksum_add(0, &v[40..60])), 0);
    }
}
