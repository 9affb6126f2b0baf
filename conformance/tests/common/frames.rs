//! Building captures with arbitrary link types for the reader tests.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use conformance::capture::ip::{build_ipv4_header, build_ipv6_header, build_udp, PROTO_UDP};
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness, TsResolution};

pub const V4_SRC: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub const V4_DST: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
pub const V6_SRC: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
pub const V6_DST: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);

/// An IPv4 packet holding one UDP datagram from port 1111 to 2222.
pub fn ipv4_udp(payload: &[u8]) -> Vec<u8> {
    let udp = build_udp(V4_SRC.into(), V4_DST.into(), 1111, 2222, payload);
    let mut p = build_ipv4_header(V4_SRC, V4_DST, PROTO_UDP, 1, udp.len()).to_vec();
    p.extend_from_slice(&udp);
    p
}

/// An IPv6 packet holding one UDP datagram from port 3333 to 4444.
pub fn ipv6_udp(payload: &[u8]) -> Vec<u8> {
    let udp = build_udp(IpAddr::V6(V6_SRC), IpAddr::V6(V6_DST), 3333, 4444, payload);
    let mut p = build_ipv6_header(V6_SRC, V6_DST, PROTO_UDP, udp.len()).to_vec();
    p.extend_from_slice(&udp);
    p
}

/// An IPv4 packet with another transport protocol.
pub fn ipv4_other(protocol: u8) -> Vec<u8> {
    let mut p = build_ipv4_header(V4_SRC, V4_DST, protocol, 1, 20).to_vec();
    p.extend_from_slice(&[0; 20]);
    p
}

/// `frame` with `header` in front.
pub fn framed(header: &[u8], packet: &[u8]) -> Vec<u8> {
    let mut f = header.to_vec();
    f.extend_from_slice(packet);
    f
}

/// A frame to put in a test capture: bytes, original length and timestamp (ns).
pub struct Frame {
    pub data: Vec<u8>,
    pub orig_len: u32,
    pub time_ns: u64,
}

impl Frame {
    pub fn new(data: Vec<u8>, time_ns: u64) -> Self {
        Frame {
            orig_len: data.len() as u32,
            data,
            time_ns,
        }
    }
}

/// A classic pcap with the given link type, byte order and resolution.
pub fn pcap(
    linktype: u32,
    endianness: Endianness,
    ts_resolution: TsResolution,
    frames: &[Frame],
) -> Vec<u8> {
    let header = PcapHeader {
        version_major: 2,
        version_minor: 4,
        ts_correction: 0,
        ts_accuracy: 0,
        snaplen: 65535,
        datalink: DataLink::from(linktype),
        ts_resolution,
        endianness,
    };
    let mut w = PcapWriter::with_header(Vec::new(), header).unwrap();
    for f in frames {
        let p = PcapPacket {
            timestamp: Duration::from_nanos(f.time_ns),
            orig_len: f.orig_len,
            data: Cow::Borrowed(&f.data),
        };
        w.write_packet(&p).unwrap();
    }
    w.into_writer()
}

/// A little-endian, microsecond pcap.
pub fn pcap_le(linktype: u32, frames: &[Frame]) -> Vec<u8> {
    pcap(
        linktype,
        Endianness::Little,
        TsResolution::MicroSecond,
        frames,
    )
}
