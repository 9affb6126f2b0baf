//! Writing captures: UDP datagrams into a pcap file with link type RAW (101).
//!
//! The output depends only on the calls made: same datagrams, same bytes. The file is
//! little-endian with nanosecond timestamps; IPv4 packets get TTL 64, don't-fragment
//! and an identification that counts up from 0 per writer; IPv6 packets hop limit 64.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness, TsResolution};

use super::ip::{
    build_ipv4_header, build_ipv6_header, build_udp, IPV4_HEADER_LEN, IPV6_HEADER_LEN, PROTO_UDP,
    UDP_HEADER_LEN,
};
use super::CaptureError;

/// Snaplen announced in the file header: large enough for any IPv6 UDP packet.
const SNAPLEN: u32 = 262_144;

/// Writes UDP datagrams as a pcap capture (RAW link type, ns timestamps).
pub struct CaptureWriter<W: Write> {
    inner: PcapWriter<W>,
    next_ip_id: u16,
}

impl<W: Write> CaptureWriter<W> {
    /// Writes the pcap file header to `w`.
    pub fn new(w: W) -> Result<Self, CaptureError> {
        let header = PcapHeader {
            version_major: 2,
            version_minor: 4,
            ts_correction: 0,
            ts_accuracy: 0,
            snaplen: SNAPLEN,
            datalink: DataLink::RAW,
            ts_resolution: TsResolution::NanoSecond,
            endianness: Endianness::Little,
        };
        let inner = PcapWriter::with_header(w, header).map_err(write_error)?;
        Ok(CaptureWriter {
            inner,
            next_ip_id: 0,
        })
    }

    /// Appends one UDP datagram sent at `time_ns` (ns since the epoch, or since the
    /// start of a simulation) from `src` to `dst`. Both addresses must be of the same
    /// family; the payload must fit one UDP datagram.
    pub fn write_udp(
        &mut self,
        time_ns: u64,
        src: SocketAddr,
        dst: SocketAddr,
        payload: &[u8],
    ) -> Result<(), CaptureError> {
        let packet = match (src.ip(), dst.ip()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                check_len(
                    payload.len(),
                    u16::MAX as usize - IPV4_HEADER_LEN - UDP_HEADER_LEN,
                )?;
                let udp = build_udp(src.ip(), dst.ip(), src.port(), dst.port(), payload);
                let id = self.next_ip_id;
                self.next_ip_id = id.wrapping_add(1);
                let mut p = build_ipv4_header(s, d, PROTO_UDP, id, udp.len()).to_vec();
                p.extend_from_slice(&udp);
                p
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                check_len(payload.len(), u16::MAX as usize - UDP_HEADER_LEN)?;
                let udp = build_udp(src.ip(), dst.ip(), src.port(), dst.port(), payload);
                let mut p = Vec::with_capacity(IPV6_HEADER_LEN + udp.len());
                p.extend_from_slice(&build_ipv6_header(s, d, PROTO_UDP, udp.len()));
                p.extend_from_slice(&udp);
                p
            }
            _ => return Err(CaptureError::MixedFamilies { src, dst }),
        };
        // Packets are at most 40 + 65535 bytes, far below u32::MAX.
        let len = packet.len() as u32;
        let record = PcapPacket::new(Duration::from_nanos(time_ns), len, &packet);
        self.inner.write_packet(&record).map_err(write_error)?;
        Ok(())
    }

    /// Finishes writing and returns the underlying writer.
    pub fn into_inner(self) -> W {
        self.inner.into_writer()
    }
}

fn check_len(len: usize, max: usize) -> Result<(), CaptureError> {
    if len > max {
        Err(CaptureError::PayloadTooLarge { len, max })
    } else {
        Ok(())
    }
}

fn write_error(e: pcap_file::PcapError) -> CaptureError {
    match e {
        pcap_file::PcapError::IoError(io) => CaptureError::Io(io),
        other => CaptureError::Write(other.to_string()),
    }
}
