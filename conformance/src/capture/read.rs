//! Reading captures: pcap and pcapng containers, frame by frame, to UDP datagrams.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use pcap_file::pcap::{PcapHeader, PcapParser};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::{Block, PcapNgParser};
use pcap_file::{PcapError, TsResolution};

use super::ip::{parse_ip, parse_ipv4, parse_ipv6, parse_udp};
use super::link::{strip, LinkType, NetProto, SkipReason};
use super::CaptureError;

/// The container format of a capture file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Classic libpcap format.
    Pcap,
    /// pcap next generation.
    PcapNg,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Pcap => "pcap",
            Format::PcapNg => "pcapng",
        })
    }
}

/// One UDP datagram taken from a capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// Frame number in the capture, from 1 (as Wireshark counts).
    pub frame: u64,
    /// Capture time, ns since the Unix epoch.
    pub time_ns: u64,
    /// Source address and port.
    pub src: SocketAddr,
    /// Destination address and port.
    pub dst: SocketAddr,
    /// The UDP payload bytes that were captured.
    pub payload: Vec<u8>,
    /// The UDP length field (8-byte header + payload as sent).
    pub udp_len: u16,
    /// Whether the frame was cut by the snaplen (original length > captured length).
    pub truncated: bool,
}

impl Datagram {
    /// The payload length as sent, from the UDP header (may exceed `payload.len()`
    /// when the frame was truncated).
    pub fn wire_payload_len(&self) -> usize {
        usize::from(self.udp_len).saturating_sub(8)
    }
}

/// A frame that holds no usable UDP datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedFrame {
    /// Frame number, from 1.
    pub frame: u64,
    /// Why it was skipped.
    pub reason: SkipReason,
}

/// Everything taken from one capture file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capture {
    /// Container format.
    pub format: Format,
    /// Number of packet records (frames) in the file.
    pub frames: u64,
    /// Timestamp of frame 1, ns since the epoch (`None` for a capture with no frames).
    pub first_time_ns: Option<u64>,
    /// The UDP datagrams, in file order.
    pub datagrams: Vec<Datagram>,
    /// Frames without a usable UDP datagram.
    pub skipped: Vec<SkippedFrame>,
}

/// Reads a capture file from disk.
pub fn read_file(path: impl AsRef<Path>) -> Result<Capture, CaptureError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| CaptureError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    read_bytes(&bytes)
}

/// Reads a whole capture from a stream.
pub fn read_capture<R: std::io::Read>(mut reader: R) -> Result<Capture, CaptureError> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    read_bytes(&bytes)
}

const PCAP_MAGICS: [[u8; 4]; 4] = [
    [0xA1, 0xB2, 0xC3, 0xD4],
    [0xD4, 0xC3, 0xB2, 0xA1],
    [0xA1, 0xB2, 0x3C, 0x4D],
    [0x4D, 0x3C, 0xB2, 0xA1],
];
const PCAPNG_MAGIC: [u8; 4] = [0x0A, 0x0D, 0x0D, 0x0A];

/// Reads a capture held in memory, choosing pcap or pcapng by the magic number.
pub fn read_bytes(bytes: &[u8]) -> Result<Capture, CaptureError> {
    let Some(magic) = bytes.get(..4) else {
        return Err(CaptureError::NotACapture {
            found: if bytes.is_empty() {
                "the file is empty".to_string()
            } else {
                format!("only {} bytes, a pcap header needs 24", bytes.len())
            },
        });
    };
    if PCAP_MAGICS.iter().any(|m| m == magic) {
        read_pcap(bytes)
    } else if magic == PCAPNG_MAGIC {
        read_pcapng(bytes)
    } else {
        Err(CaptureError::NotACapture {
            found: format!(
                "magic number {:02x} {:02x} {:02x} {:02x}",
                magic[0], magic[1], magic[2], magic[3]
            ),
        })
    }
}

/// Collects frames into a [`Capture`].
struct Builder {
    capture: Capture,
}

impl Builder {
    fn new(format: Format) -> Self {
        Builder {
            capture: Capture {
                format,
                frames: 0,
                first_time_ns: None,
                datagrams: Vec::new(),
                skipped: Vec::new(),
            },
        }
    }

    fn frame(&mut self, link: LinkType, time_ns: u64, data: &[u8], orig_len: u32) {
        let c = &mut self.capture;
        c.frames += 1;
        c.first_time_ns.get_or_insert(time_ns);
        match datagram(link, c.frames, time_ns, data, orig_len) {
            Ok(d) => c.datagrams.push(d),
            Err(reason) => c.skipped.push(SkippedFrame {
                frame: c.frames,
                reason,
            }),
        }
    }
}

/// Takes the UDP datagram out of one captured frame.
fn datagram(
    link: LinkType,
    frame: u64,
    time_ns: u64,
    data: &[u8],
    orig_len: u32,
) -> Result<Datagram, SkipReason> {
    let (net, proto) = strip(link, data)?;
    let ip = match proto {
        NetProto::V4 => parse_ipv4(net)?,
        NetProto::V6 => parse_ipv6(net)?,
        NetProto::Any => parse_ip(net)?,
    };
    let udp = parse_udp(&ip)?;
    Ok(Datagram {
        frame,
        time_ns,
        src: SocketAddr::new(ip.src, udp.src_port),
        dst: SocketAddr::new(ip.dst, udp.dst_port),
        payload: udp.payload.to_vec(),
        udp_len: udp.length,
        truncated: orig_len as usize > data.len(),
    })
}

fn linktype(n: u32) -> Result<LinkType, CaptureError> {
    LinkType::from_number(n).ok_or(CaptureError::UnsupportedLinkType { linktype: n })
}

fn pcap_error(
    format: Format,
    err: PcapError,
    what: impl FnOnce() -> String,
    offset: usize,
    file_len: usize,
) -> CaptureError {
    match err {
        PcapError::IncompleteBuffer => CaptureError::Truncated {
            format,
            what: what(),
            offset,
            file_len,
        },
        other => CaptureError::Malformed {
            format,
            offset,
            reason: other.to_string(),
        },
    }
}

fn read_pcap(bytes: &[u8]) -> Result<Capture, CaptureError> {
    let len = bytes.len();
    let err = |e, what: &dyn Fn() -> String, rest: &[u8]| {
        pcap_error(Format::Pcap, e, what, len - rest.len(), len)
    };
    let (mut rest, parser) =
        PcapParser::new(bytes).map_err(|e| err(e, &|| "file header".into(), bytes))?;
    let header: PcapHeader = parser.header();
    let link = linktype(u32::from(header.datalink))?;
    let frac_ns: u64 = match header.ts_resolution {
        TsResolution::MicroSecond => 1_000,
        TsResolution::NanoSecond => 1,
    };
    let mut out = Builder::new(Format::Pcap);
    while !rest.is_empty() {
        let frame = out.capture.frames + 1;
        let (next, record) = parser
            .next_raw_packet(rest)
            .map_err(|e| err(e, &|| format!("record of frame {frame}"), rest))?;
        let time_ns = u64::from(record.ts_sec)
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::from(record.ts_frac).saturating_mul(frac_ns));
        out.frame(link, time_ns, &record.data, record.orig_len);
        rest = next;
    }
    Ok(out.capture)
}

/// An interface's link type and timestamp unit, from its description block.
struct Interface {
    link: Result<LinkType, u32>,
    /// Timestamp units per second as a resolution code (if_tsresol).
    tsresol: u8,
    /// Seconds added to every timestamp (if_tsoffset).
    tsoffset: u64,
}

impl Interface {
    fn from_block(idb: &InterfaceDescriptionBlock<'_>) -> Self {
        let n = u32::from(idb.linktype);
        let mut iface = Interface {
            link: LinkType::from_number(n).ok_or(n),
            tsresol: 6,
            tsoffset: 0,
        };
        for opt in &idb.options {
            match opt {
                InterfaceDescriptionOption::IfTsResol(r) => iface.tsresol = *r,
                InterfaceDescriptionOption::IfTsOffset(o) => iface.tsoffset = *o,
                _ => {}
            }
        }
        iface
    }

    /// Converts a raw timestamp in this interface's units to ns since the epoch.
    fn time_ns(&self, units: u64) -> u64 {
        let units = u128::from(units);
        let ns = if self.tsresol & 0x80 == 0 {
            // 10^-r seconds per unit.
            let r = u32::from(self.tsresol);
            if r <= 9 {
                units * 10u128.pow(9 - r)
            } else {
                units / 10u128.checked_pow(r - 9).unwrap_or(u128::MAX)
            }
        } else {
            // 2^-r seconds per unit.
            let r = u32::from(self.tsresol & 0x7F);
            (units * 1_000_000_000).checked_shr(r).unwrap_or(0)
        };
        let ns = ns + u128::from(self.tsoffset) * 1_000_000_000;
        u64::try_from(ns).unwrap_or(u64::MAX)
    }
}

fn read_pcapng(bytes: &[u8]) -> Result<Capture, CaptureError> {
    let len = bytes.len();
    let err = |e, what: &dyn Fn() -> String, rest: &[u8]| {
        pcap_error(Format::PcapNg, e, what, len - rest.len(), len)
    };
    let (mut rest, mut parser) =
        PcapNgParser::new(bytes).map_err(|e| err(e, &|| "section header block".into(), bytes))?;
    let mut interfaces: Vec<Interface> = Vec::new();
    let mut out = Builder::new(Format::PcapNg);
    while !rest.is_empty() {
        let offset = len - rest.len();
        let (next, block) = parser
            .next_block(rest)
            .map_err(|e| err(e, &|| "block".into(), rest))?;
        let iface = |id: u32| {
            interfaces
                .get(id as usize)
                .ok_or_else(|| CaptureError::Malformed {
                    format: Format::PcapNg,
                    offset,
                    reason: format!("packet on interface {id}, which was never described"),
                })
                .and_then(|i| {
                    let link = i
                        .link
                        .map_err(|n| CaptureError::UnsupportedLinkType { linktype: n })?;
                    Ok((i, link))
                })
        };
        match block {
            Block::SectionHeader(_) => interfaces.clear(),
            Block::InterfaceDescription(idb) => interfaces.push(Interface::from_block(&idb)),
            Block::EnhancedPacket(epb) => {
                let (i, link) = iface(epb.interface_id)?;
                // pcap-file hands the raw 64-bit timestamp over as if it were ns.
                let units = u64::try_from(epb.timestamp.as_nanos()).unwrap_or(u64::MAX);
                out.frame(link, i.time_ns(units), &epb.data, epb.original_len);
            }
            Block::SimplePacket(spb) => {
                let (_, link) = iface(0)?;
                out.frame(link, 0, &spb.data, spb.original_len);
            }
            Block::Packet(pb) => {
                let (i, link) = iface(u32::from(pb.interface_id))?;
                out.frame(link, i.time_ns(pb.timestamp), &pb.data, pb.original_len);
            }
            _ => {}
        }
        rest = next;
    }
    Ok(out.capture)
}
