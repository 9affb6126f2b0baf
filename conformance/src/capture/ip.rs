//! IPv4, IPv6 and UDP headers: parsing what a capture holds and building what the
//! writer emits, with the Internet checksum (RFC 1071) and the UDP pseudo-header
//! (RFC 768 for IPv4, RFC 8200 §8.1 for IPv6).
//!
//! The headers, their checks and the checksums are etherparse's; this module adds the
//! rules of a capture reader on top and keeps the errors users see ([`IpError`]). Parsing
//! reads every length from the headers themselves (IHL, total length, payload length,
//! extension-header lengths, UDP length); nothing assumes a fixed offset. A frame may be
//! cut short by the capture's snaplen: the parsers then return the bytes that are there
//! together with the lengths the headers declare (etherparse's strict slices would refuse
//! such a packet, and its lax ones do not say what the headers declared).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use etherparse::checksum::Sum16BitWords;
use etherparse::err::{ipv4, ipv6, LenError};
use etherparse::{
    IpNumber, Ipv4Header, Ipv4HeaderSlice, Ipv6FlowLabel, Ipv6Header, Ipv6HeaderSlice, UdpHeader,
    UdpHeaderSlice,
};

/// IP protocol number of UDP.
pub const PROTO_UDP: u8 = 17;
/// Bytes in an IPv4 header without options.
pub const IPV4_HEADER_LEN: usize = 20;
/// Bytes in the fixed IPv6 header.
pub const IPV6_HEADER_LEN: usize = 40;
/// Bytes in a UDP header.
pub const UDP_HEADER_LEN: usize = 8;
/// Hop limit / TTL the writer puts in every packet.
pub const DEFAULT_TTL: u8 = 64;

/// Why an IP or UDP packet was not taken from a frame.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IpError {
    /// A header is cut short by the end of the captured bytes.
    #[error(
        "{layer} header truncated: needs {needed} bytes at offset {offset}, {available} captured"
    )]
    Truncated {
        /// "IPv4", "IPv6", "IPv6 extension" or "UDP".
        layer: &'static str,
        /// Offset of the header from the start of the IP packet.
        offset: usize,
        /// Bytes the header needs.
        needed: usize,
        /// Bytes available from that offset.
        available: usize,
    },
    /// The version nibble is neither 4 nor 6 (or not what the link layer announced).
    #[error("IP version {found} where {expected} was expected")]
    Version {
        /// The version nibble found.
        found: u8,
        /// What was expected.
        expected: &'static str,
    },
    /// A length field that contradicts the rest of the packet.
    #[error("{layer} {field} is {value}, {reason}")]
    BadLength {
        /// The layer.
        layer: &'static str,
        /// The length field.
        field: &'static str,
        /// Its value.
        value: usize,
        /// Why it is wrong.
        reason: &'static str,
    },
    /// A fragment other than the first: it carries no UDP header.
    #[error("non-first IP fragment (offset {offset} bytes)")]
    LaterFragment {
        /// Fragment offset in bytes.
        offset: usize,
    },
    /// Not UDP.
    #[error("IP protocol {0} is not UDP")]
    NotUdp(u8),
}

/// An IP packet's addresses, transport protocol and transport bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpView<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Transport protocol number (after any IPv6 extension headers).
    pub protocol: u8,
    /// The transport bytes that were captured (at most `declared_len`).
    pub payload: &'a [u8],
    /// The transport length the IP header declares.
    pub declared_len: usize,
    /// Whether this is the first fragment of a fragmented packet.
    pub first_fragment: bool,
}

/// A UDP datagram's header and the payload bytes that were captured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpView<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// The UDP length field (header + payload).
    pub length: u16,
    /// The checksum field.
    pub checksum: u16,
    /// Captured payload bytes (at most `length - 8`).
    pub payload: &'a [u8],
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn need(layer: &'static str, bytes: &[u8], offset: usize, needed: usize) -> Result<(), IpError> {
    let available = bytes.len().saturating_sub(offset);
    if available < needed {
        Err(IpError::Truncated {
            layer,
            offset,
            needed,
            available,
        })
    } else {
        Ok(())
    }
}

/// Parses an IPv4 or IPv6 packet, choosing by the version nibble.
pub fn parse_ip(bytes: &[u8]) -> Result<IpView<'_>, IpError> {
    need("IP", bytes, 0, 1)?;
    match bytes[0] >> 4 {
        4 => parse_ipv4(bytes),
        6 => parse_ipv6(bytes),
        found => Err(IpError::Version {
            found,
            expected: "4 or 6",
        }),
    }
}

/// Where a header that does not fit the captured bytes starts and what it needs.
fn truncated(layer: &'static str, offset: usize, e: LenError) -> IpError {
    IpError::Truncated {
        layer,
        offset,
        needed: e.required_len,
        available: e.len,
    }
}

/// Parses an IPv4 header (with options) and bounds the payload by the total length.
pub fn parse_ipv4(bytes: &[u8]) -> Result<IpView<'_>, IpError> {
    let h = Ipv4HeaderSlice::from_slice(bytes).map_err(|e| match e {
        ipv4::HeaderSliceError::Len(e) => truncated("IPv4", 0, e),
        ipv4::HeaderSliceError::Content(ipv4::HeaderError::UnexpectedVersion {
            version_number,
        }) => IpError::Version {
            found: version_number,
            expected: "4",
        },
        ipv4::HeaderSliceError::Content(ipv4::HeaderError::HeaderLengthSmallerThanHeader {
            ihl,
        }) => IpError::BadLength {
            layer: "IPv4",
            field: "header length (IHL×4)",
            value: usize::from(ihl) * 4,
            reason: "below the minimum of 20",
        },
    })?;
    let header_len = h.slice().len();
    let total_len = usize::from(h.total_len());
    if total_len < header_len {
        return Err(IpError::BadLength {
            layer: "IPv4",
            field: "total length",
            value: total_len,
            reason: "shorter than its own header",
        });
    }
    let frag_offset = usize::from(h.fragments_offset().value()) * 8;
    if frag_offset != 0 {
        return Err(IpError::LaterFragment {
            offset: frag_offset,
        });
    }
    // Ethernet pads short frames: the total length, not the frame, ends the packet.
    let end = total_len.min(bytes.len());
    Ok(IpView {
        src: IpAddr::V4(h.source_addr()),
        dst: IpAddr::V4(h.destination_addr()),
        protocol: h.protocol().0,
        payload: &bytes[header_len..end],
        declared_len: total_len - header_len,
        first_fragment: h.more_fragments(),
    })
}

/// Parses an IPv6 header and walks the extension-header chain (hop-by-hop, routing,
/// fragment, destination options, authentication) to the transport header.
pub fn parse_ipv6(bytes: &[u8]) -> Result<IpView<'_>, IpError> {
    let h = Ipv6HeaderSlice::from_slice(bytes).map_err(|e| match e {
        ipv6::HeaderSliceError::Len(e) => truncated("IPv6", 0, e),
        ipv6::HeaderSliceError::Content(ipv6::HeaderError::UnexpectedVersion {
            version_number,
        }) => IpError::Version {
            found: version_number,
            expected: "6",
        },
    })?;
    let payload_len = usize::from(h.payload_length());
    let mut next = h.next_header().0;
    let end = (IPV6_HEADER_LEN + payload_len).min(bytes.len());
    let mut at = IPV6_HEADER_LEN;
    let mut first_fragment = false;
    // The chain is walked here rather than by etherparse's extension slices so that a
    // chain cut short by the snaplen is named by the bytes it needs from where it starts.
    // Each extension header is at least 8 bytes, so the walk ends; the cap guards
    // against pathological chains anyway.
    for _ in 0..16 {
        let ext_len = match next {
            0 | 43 | 60 => {
                need("IPv6 extension", &bytes[..end], at, 2)?;
                (usize::from(bytes[at + 1]) + 1) * 8
            }
            44 => {
                need("IPv6 fragment", &bytes[..end], at, 8)?;
                let frag = be16(bytes, at + 2);
                let offset = usize::from(frag >> 3) * 8;
                if offset != 0 {
                    return Err(IpError::LaterFragment { offset });
                }
                first_fragment = frag & 1 != 0;
                8
            }
            51 => {
                need("IPv6 authentication", &bytes[..end], at, 2)?;
                (usize::from(bytes[at + 1]) + 2) * 4
            }
            _ => break,
        };
        need("IPv6 extension", &bytes[..end], at, ext_len)?;
        next = bytes[at];
        at += ext_len;
    }
    let declared_len =
        (IPV6_HEADER_LEN + payload_len)
            .checked_sub(at)
            .ok_or(IpError::BadLength {
                layer: "IPv6",
                field: "payload length",
                value: payload_len,
                reason: "shorter than its extension headers",
            })?;
    Ok(IpView {
        src: IpAddr::V6(h.source_addr()),
        dst: IpAddr::V6(h.destination_addr()),
        protocol: next,
        payload: &bytes[at.min(end)..end],
        declared_len,
        first_fragment,
    })
}

/// Parses the UDP header at the start of an IP packet's transport bytes.
pub fn parse_udp<'a>(ip: &IpView<'a>) -> Result<UdpView<'a>, IpError> {
    if ip.protocol != PROTO_UDP {
        return Err(IpError::NotUdp(ip.protocol));
    }
    let bytes = ip.payload;
    let h = UdpHeaderSlice::from_slice(bytes).map_err(|e| truncated("UDP", 0, e))?;
    let length = h.length();
    let len = usize::from(length);
    if len < UDP_HEADER_LEN {
        return Err(IpError::BadLength {
            layer: "UDP",
            field: "length",
            value: len,
            reason: "below the 8-byte header",
        });
    }
    if len > ip.declared_len && !ip.first_fragment {
        return Err(IpError::BadLength {
            layer: "UDP",
            field: "length",
            value: len,
            reason: "longer than the IP payload",
        });
    }
    let end = len.min(bytes.len());
    Ok(UdpView {
        src_port: h.source_port(),
        dst_port: h.destination_port(),
        length,
        checksum: h.checksum(),
        payload: &bytes[UDP_HEADER_LEN..end],
    })
}

/// The Internet checksum (RFC 1071) of `bytes`: the complement of the one's-complement
/// sum. A header whose checksum field is filled in sums to 0 here.
pub fn internet_checksum(bytes: &[u8]) -> u16 {
    // etherparse sums words in native byte order: its result's native bytes are the
    // checksum's bytes on the wire.
    u16::from_be_bytes(
        Sum16BitWords::new()
            .add_slice(bytes)
            .ones_complement()
            .to_ne_bytes(),
    )
}

/// The UDP header of `udp` (header and payload, the header's length field taken from
/// `udp.len()`) with its checksum computed over the pseudo-header of `src`/`dst`.
/// Mixed families are summed as IPv6, the IPv4 side mapped.
fn with_checksum(src: IpAddr, dst: IpAddr, udp: &[u8]) -> Option<UdpHeader> {
    let h = UdpHeaderSlice::from_slice(udp).ok()?;
    let mut h = h.to_header();
    h.length = u16::try_from(udp.len()).ok()?;
    let payload = &udp[UDP_HEADER_LEN..];
    h.checksum = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => h.calc_checksum_ipv4_raw(s.octets(), d.octets(), payload),
        _ => h.calc_checksum_ipv6_raw(to_v6(src).octets(), to_v6(dst).octets(), payload),
    }
    .ok()?;
    Some(h)
}

/// The UDP checksum to store for `udp` (header, with the checksum field zeroed, plus
/// payload) under the pseudo-header of `src`/`dst`. A computed 0 is stored as 0xFFFF
/// (RFC 768). Mixed families are summed as IPv6, the IPv4 side mapped.
pub fn udp_checksum(src: IpAddr, dst: IpAddr, udp: &[u8]) -> u16 {
    with_checksum(src, dst, udp).map_or(0xFFFF, |h| h.checksum)
}

/// Whether a UDP datagram's checksum field verifies against its pseudo-header. A zero
/// field means "no checksum", which only IPv4 allows.
pub fn udp_checksum_ok(src: IpAddr, dst: IpAddr, udp: &[u8]) -> bool {
    let Ok(h) = UdpHeaderSlice::from_slice(udp) else {
        return false;
    };
    if h.checksum() == 0 {
        return src.is_ipv4();
    }
    with_checksum(src, dst, udp).is_some_and(|c| c.checksum == h.checksum())
}

fn to_v6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// Builds a UDP header and payload with its checksum over the pseudo-header.
/// The caller guarantees `8 + payload.len()` fits the 16-bit length field.
pub fn build_udp(
    src: IpAddr,
    dst: IpAddr,
    src_port: u16,
    dst_port: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(UDP_HEADER_LEN + payload.len());
    let header = UdpHeader {
        source_port: src_port,
        destination_port: dst_port,
        length: (UDP_HEADER_LEN + payload.len()) as u16,
        checksum: 0,
    };
    out.extend_from_slice(&header.to_bytes());
    out.extend_from_slice(payload);
    let sum = udp_checksum(src, dst, &out);
    out[6..8].copy_from_slice(&sum.to_be_bytes());
    out
}

/// Builds a 20-byte IPv4 header: TTL 64, don't-fragment, protocol `protocol`, the given
/// identification, and a correct header checksum.
pub fn build_ipv4_header(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    id: u16,
    payload_len: usize,
) -> [u8; IPV4_HEADER_LEN] {
    let mut h = Ipv4Header {
        total_len: (IPV4_HEADER_LEN + payload_len) as u16,
        identification: id,
        dont_fragment: true,
        time_to_live: DEFAULT_TTL,
        protocol: IpNumber(protocol),
        source: src.octets(),
        destination: dst.octets(),
        ..Default::default()
    };
    h.header_checksum = h.calc_header_checksum();
    let mut out = [0u8; IPV4_HEADER_LEN];
    out.copy_from_slice(&h.to_bytes());
    out
}

/// Builds a 40-byte IPv6 header: traffic class and flow label 0, hop limit 64.
pub fn build_ipv6_header(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    next_header: u8,
    payload_len: usize,
) -> [u8; IPV6_HEADER_LEN] {
    Ipv6Header {
        traffic_class: 0,
        flow_label: Ipv6FlowLabel::ZERO,
        payload_length: payload_len as u16,
        next_header: IpNumber(next_header),
        hop_limit: DEFAULT_TTL,
        source: src.octets(),
        destination: dst.octets(),
    }
    .to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet_checksum(&bytes), !0xddf2);
    }

    #[test]
    fn built_headers_verify() {
        let h = build_ipv4_header(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 1, 1),
            PROTO_UDP,
            7,
            100,
        );
        assert_eq!(internet_checksum(&h), 0);
        let src: IpAddr = "10.0.0.1".parse().unwrap();
        let dst: IpAddr = "10.0.1.1".parse().unwrap();
        let udp = build_udp(src, dst, 1, 2, b"hello");
        assert!(udp_checksum_ok(src, dst, &udp));
        let src6: IpAddr = "fe80::1".parse().unwrap();
        let dst6: IpAddr = "2001:db8::2".parse().unwrap();
        let udp6 = build_udp(src6, dst6, 1, 2, b"odd");
        assert!(udp_checksum_ok(src6, dst6, &udp6));
    }

    #[test]
    fn ipv4_options_and_padding() {
        let mut pkt = vec![
            0x46, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8,
        ];
        pkt.extend_from_slice(&[1, 1, 1, 0]); // options: NOP NOP NOP EOL
        let udp = [0, 1, 0, 2, 0, 9, 0, 0, 0xAA];
        pkt.extend_from_slice(&udp);
        let total = pkt.len() as u16;
        pkt[2..4].copy_from_slice(&total.to_be_bytes());
        pkt.extend_from_slice(&[0; 10]); // Ethernet padding
        let ip = parse_ip(&pkt).unwrap();
        let u = parse_udp(&ip).unwrap();
        assert_eq!((u.src_port, u.dst_port, u.payload), (1, 2, &[0xAA][..]));
    }

    #[test]
    fn later_fragment_is_skipped() {
        let mut pkt =
            build_ipv4_header(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST, PROTO_UDP, 1, 8).to_vec();
        pkt[6..8].copy_from_slice(&0x0001u16.to_be_bytes());
        pkt.extend_from_slice(&[0; 8]);
        assert_eq!(parse_ip(&pkt), Err(IpError::LaterFragment { offset: 8 }));
    }

    #[test]
    fn ipv6_extension_chain() {
        let udp = [0, 5, 0, 6, 0, 9, 0, 0, 0xBB];
        let mut ext = vec![PROTO_UDP, 0, 0, 0, 0, 0, 0, 0]; // destination options, 8 bytes
        ext.extend_from_slice(&udp);
        let h = build_ipv6_header(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST, 60, ext.len());
        let mut pkt = h.to_vec();
        pkt.extend_from_slice(&ext);
        let ip = parse_ip(&pkt).unwrap();
        assert_eq!(ip.protocol, PROTO_UDP);
        let u = parse_udp(&ip).unwrap();
        assert_eq!((u.src_port, u.dst_port, u.payload), (5, 6, &[0xBB][..]));
    }
}
