//! Link-layer framing: from a captured frame to the IP packet inside it.
//!
//! Supported link types (tcpdump.org LINKTYPE_* numbers): NULL (0), ETHERNET (1, with
//! 802.1Q / 802.1ad VLAN tags), RAW (101), LOOP (108), LINUX_SLL (113), IPV4 (228),
//! IPV6 (229) and LINUX_SLL2 (276).
//!
//! Ethernet and its VLAN tags are read with etherparse's header slices. The cooked and
//! loopback headers are a type field at a fixed place and are read here: etherparse has
//! none for SLL2, NULL and LOOP, and its SLL slice refuses packet and hardware types it
//! does not know, which a capture reader should let through.

use etherparse::{EtherType, Ethernet2HeaderSlice, SingleVlanHeaderSlice};

use super::ip::IpError;

/// A link type this reader understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// 0: BSD loopback, a 4-byte address family in the capturing host's byte order.
    Null,
    /// 1: Ethernet II, optionally with VLAN tags.
    Ethernet,
    /// 101: raw IP, version from the first nibble.
    Raw,
    /// 108: OpenBSD loopback, a 4-byte address family in network byte order.
    Loop,
    /// 113: Linux "cooked" capture v1 (16-byte header).
    LinuxSll,
    /// 228: raw IPv4.
    Ipv4,
    /// 229: raw IPv6.
    Ipv6,
    /// 276: Linux "cooked" capture v2 (20-byte header).
    LinuxSll2,
}

impl LinkType {
    /// The link type for a LINKTYPE_* number, if supported.
    pub fn from_number(n: u32) -> Option<Self> {
        Some(match n {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            101 => LinkType::Raw,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            276 => LinkType::LinuxSll2,
            _ => return None,
        })
    }

    /// The LINKTYPE_* number.
    pub fn number(self) -> u32 {
        match self {
            LinkType::Null => 0,
            LinkType::Ethernet => 1,
            LinkType::Raw => 101,
            LinkType::Loop => 108,
            LinkType::LinuxSll => 113,
            LinkType::Ipv4 => 228,
            LinkType::Ipv6 => 229,
            LinkType::LinuxSll2 => 276,
        }
    }
}

/// Why a frame holds no UDP datagram we can take.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SkipReason {
    /// The link-layer header is cut short.
    #[error("{link:?} header truncated: needs {needed} bytes, {available} captured")]
    LinkTruncated {
        /// The link type.
        link: LinkType,
        /// Bytes the header needs.
        needed: usize,
        /// Bytes captured.
        available: usize,
    },
    /// The link layer carries something other than IPv4/IPv6.
    #[error("not IP: {field} {value:#06x}")]
    NotIp {
        /// "ethertype" or "address family".
        field: &'static str,
        /// Its value.
        value: u32,
    },
    /// The IP or UDP layer was not usable.
    #[error(transparent)]
    Ip(#[from] IpError),
}

/// What the link layer says the payload is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NetProto {
    V4,
    V6,
    /// Decide by the version nibble.
    Any,
}

const VLAN_TAGS: [EtherType; 3] = [
    EtherType::VLAN_TAGGED_FRAME,
    EtherType::PROVIDER_BRIDGING,
    EtherType::VLAN_DOUBLE_TAGGED_FRAME,
];

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn need(link: LinkType, frame: &[u8], needed: usize) -> Result<(), SkipReason> {
    if frame.len() < needed {
        Err(SkipReason::LinkTruncated {
            link,
            needed,
            available: frame.len(),
        })
    } else {
        Ok(())
    }
}

fn by_ethertype(ethertype: EtherType) -> Result<NetProto, SkipReason> {
    match ethertype {
        EtherType::IPV4 => Ok(NetProto::V4),
        EtherType::IPV6 => Ok(NetProto::V6),
        other => Err(SkipReason::NotIp {
            field: "ethertype",
            value: u32::from(other.0),
        }),
    }
}

/// The frame is cut short: a header at `offset` needs what etherparse says.
fn cut(link: LinkType, offset: usize, e: etherparse::err::LenError) -> SkipReason {
    SkipReason::LinkTruncated {
        link,
        needed: offset + e.required_len,
        available: offset + e.len,
    }
}

fn by_family(family: u32) -> Result<NetProto, SkipReason> {
    match family {
        2 => Ok(NetProto::V4),
        // AF_INET6 differs by OS: Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, Darwin 30.
        10 | 24 | 28 | 30 => Ok(NetProto::V6),
        other => Err(SkipReason::NotIp {
            field: "address family",
            value: other,
        }),
    }
}

/// Strips the link-layer header and returns the network-layer bytes and what they are.
pub(crate) fn strip(link: LinkType, frame: &[u8]) -> Result<(&[u8], NetProto), SkipReason> {
    match link {
        LinkType::Raw => Ok((frame, NetProto::Any)),
        LinkType::Ipv4 => Ok((frame, NetProto::V4)),
        LinkType::Ipv6 => Ok((frame, NetProto::V6)),
        LinkType::Ethernet => {
            let eth = Ethernet2HeaderSlice::from_slice(frame).map_err(|e| cut(link, 0, e))?;
            let mut at = eth.slice().len();
            let mut ethertype = eth.ether_type();
            while VLAN_TAGS.contains(&ethertype) {
                // A tag: 2 bytes of TCI, then the inner type.
                let tag = SingleVlanHeaderSlice::from_slice(&frame[at..])
                    .map_err(|e| cut(link, at, e))?;
                at += tag.slice().len();
                ethertype = tag.ether_type();
            }
            Ok((&frame[at..], by_ethertype(ethertype)?))
        }
        LinkType::LinuxSll => {
            need(link, frame, 16)?;
            Ok((&frame[16..], by_ethertype(EtherType(be16(frame, 14)))?))
        }
        LinkType::LinuxSll2 => {
            need(link, frame, 20)?;
            Ok((&frame[20..], by_ethertype(EtherType(be16(frame, 0)))?))
        }
        LinkType::Null => {
            need(link, frame, 4)?;
            let bytes = [frame[0], frame[1], frame[2], frame[3]];
            // Written in the capturing host's order: families are small numbers, so
            // the reading that fits in one byte is the right one.
            let le = u32::from_le_bytes(bytes);
            let family = if le < 256 {
                le
            } else {
                u32::from_be_bytes(bytes)
            };
            Ok((&frame[4..], by_family(family)?))
        }
        LinkType::Loop => {
            need(link, frame, 4)?;
            let family = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
            Ok((&frame[4..], by_family(family)?))
        }
    }
}
