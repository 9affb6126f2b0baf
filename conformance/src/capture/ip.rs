//! IPv4, IPv6 and UDP headers: parsing what a capture holds and building what the
//! writer emits, with the Internet checksum (RFC 1071) and the UDP pseudo-header
//! (RFC 768 for IPv4, RFC 8200 §8.1 for IPv6).
//!
//! Parsing reads every length from the headers themselves (IHL, total length, payload
//! length, extension-header lengths, UDP length); nothing assumes a fixed offset.
//! A frame may be cut short by the capture's snaplen: the parsers then return the bytes
//! that are there together with the lengths the headers declare.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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

/// Parses an IPv4 header (with options) and bounds the payload by the total length.
pub fn parse_ipv4(bytes: &[u8]) -> Result<IpView<'_>, IpError> {
    need("IPv4", bytes, 0, IPV4_HEADER_LEN)?;
    let version = bytes[0] >> 4;
    if version != 4 {
        return Err(IpError::Version {
            found: version,
            expected: "4",
        });
    }
    let header_len = usize::from(bytes[0] & 0x0F) * 4;
    if header_len < IPV4_HEADER_LEN {
        return Err(IpError::BadLength {
            layer: "IPv4",
            field: "header length (IHL×4)",
            value: header_len,
            reason: "below the minimum of 20",
        });
    }
    need("IPv4", bytes, 0, header_len)?;
    let total_len = usize::from(be16(bytes, 2));
    if total_len < header_len {
        return Err(IpError::BadLength {
            layer: "IPv4",
            field: "total length",
            value: total_len,
            reason: "shorter than its own header",
        });
    }
    let flags_frag = be16(bytes, 6);
    let more_fragments = flags_frag & 0x2000 != 0;
    let frag_offset = usize::from(flags_frag & 0x1FFF) * 8;
    if frag_offset != 0 {
        return Err(IpError::LaterFragment {
            offset: frag_offset,
        });
    }
    let src = Ipv4Addr::new(bytes[12], bytes[13], bytes[14], bytes[15]);
    let dst = Ipv4Addr::new(bytes[16], bytes[17], bytes[18], bytes[19]);
    // Ethernet pads short frames: the total length, not the frame, ends the packet.
    let end = total_len.min(bytes.len());
    Ok(IpView {
        src: IpAddr::V4(src),
        dst: IpAddr::V4(dst),
        protocol: bytes[9],
        payload: &bytes[header_len..end],
        declared_len: total_len - header_len,
        first_fragment: more_fragments,
    })
}

/// Parses an IPv6 header and walks the extension-header chain (hop-by-hop, routing,
/// fragment, destination options, authentication) to the transport header.
pub fn parse_ipv6(bytes: &[u8]) -> Result<IpView<'_>, IpError> {
    need("IPv6", bytes, 0, IPV6_HEADER_LEN)?;
    let version = bytes[0] >> 4;
    if version != 6 {
        return Err(IpError::Version {
            found: version,
            expected: "6",
        });
    }
    let payload_len = usize::from(be16(bytes, 4));
    let mut next = bytes[6];
    let mut src = [0u8; 16];
    src.copy_from_slice(&bytes[8..24]);
    let mut dst = [0u8; 16];
    dst.copy_from_slice(&bytes[24..40]);
    let end = (IPV6_HEADER_LEN + payload_len).min(bytes.len());
    let mut at = IPV6_HEADER_LEN;
    let mut first_fragment = false;
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
        src: IpAddr::V6(Ipv6Addr::from(src)),
        dst: IpAddr::V6(Ipv6Addr::from(dst)),
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
    need("UDP", bytes, 0, UDP_HEADER_LEN)?;
    let length = be16(bytes, 4);
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
        src_port: be16(bytes, 0),
        dst_port: be16(bytes, 2),
        length,
        checksum: be16(bytes, 6),
        payload: &bytes[UDP_HEADER_LEN..end],
    })
}

/// One's-complement sum of 16-bit big-endian words over several slices taken as one
/// byte stream (an odd trailing byte is padded with zero), folded to 16 bits.
fn ones_sum(parts: &[&[u8]]) -> u16 {
    let mut sum: u64 = 0;
    let mut pending: Option<u8> = None;
    for part in parts {
        for &b in *part {
            match pending.take() {
                Some(hi) => sum += u64::from(u16::from_be_bytes([hi, b])),
                None => pending = Some(b),
            }
        }
    }
    if let Some(hi) = pending {
        sum += u64::from(u16::from_be_bytes([hi, 0]));
    }
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    // The loop leaves at most 16 bits.
    sum as u16
}

/// The Internet checksum (RFC 1071) of `bytes`: the complement of the one's-complement
/// sum. A header whose checksum field is filled in sums to 0 here.
pub fn internet_checksum(bytes: &[u8]) -> u16 {
    !ones_sum(&[bytes])
}

fn pseudo_sum(src: IpAddr, dst: IpAddr, udp: &[u8]) -> u16 {
    let len = udp.len() as u32;
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let pseudo_tail = [0, PROTO_UDP, (len >> 8) as u8, len as u8];
            ones_sum(&[&s.octets(), &d.octets(), &pseudo_tail, udp])
        }
        _ => {
            let mut pseudo_tail = [0u8; 8];
            pseudo_tail[..4].copy_from_slice(&len.to_be_bytes());
            pseudo_tail[7] = PROTO_UDP;
            ones_sum(&[
                &to_v6(src).octets(),
                &to_v6(dst).octets(),
                &pseudo_tail,
                udp,
            ])
        }
    }
}

/// The UDP checksum to store for `udp` (header, with the checksum field zeroed, plus
/// payload) under the pseudo-header of `src`/`dst`. A computed 0 is stored as 0xFFFF
/// (RFC 768). Mixed families are summed as IPv6, the IPv4 side mapped.
pub fn udp_checksum(src: IpAddr, dst: IpAddr, udp: &[u8]) -> u16 {
    match !pseudo_sum(src, dst, udp) {
        0 => 0xFFFF,
        c => c,
    }
}

/// Whether a UDP datagram's checksum field verifies against its pseudo-header. A zero
/// field means "no checksum", which only IPv4 allows.
pub fn udp_checksum_ok(src: IpAddr, dst: IpAddr, udp: &[u8]) -> bool {
    if udp.len() < UDP_HEADER_LEN {
        return false;
    }
    if be16(udp, 6) == 0 {
        return src.is_ipv4();
    }
    // With a correct field the one's-complement sum is all ones.
    pseudo_sum(src, dst, udp) == 0xFFFF
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
    let len = UDP_HEADER_LEN + payload.len();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&src_port.to_be_bytes());
    out.extend_from_slice(&dst_port.to_be_bytes());
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0]);
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
    let total = (IPV4_HEADER_LEN + payload_len) as u16;
    let mut h = [0u8; IPV4_HEADER_LEN];
    h[0] = 0x45;
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[4..6].copy_from_slice(&id.to_be_bytes());
    h[6..8].copy_from_slice(&0x4000u16.to_be_bytes());
    h[8] = DEFAULT_TTL;
    h[9] = protocol;
    h[12..16].copy_from_slice(&src.octets());
    h[16..20].copy_from_slice(&dst.octets());
    let sum = internet_checksum(&h);
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    h
}

/// Builds a 40-byte IPv6 header: traffic class and flow label 0, hop limit 64.
pub fn build_ipv6_header(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    next_header: u8,
    payload_len: usize,
) -> [u8; IPV6_HEADER_LEN] {
    let mut h = [0u8; IPV6_HEADER_LEN];
    h[0] = 0x60;
    h[4..6].copy_from_slice(&(payload_len as u16).to_be_bytes());
    h[6] = next_header;
    h[7] = DEFAULT_TTL;
    h[8..24].copy_from_slice(&src.octets());
    h[24..40].copy_from_slice(&dst.octets());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(ones_sum(&[&bytes]), 0xddf2);
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
