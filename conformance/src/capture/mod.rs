//! Packet captures: reading UDP datagrams out of pcap/pcapng files and writing UDP
//! datagrams into pcap files that Wireshark/tshark read.
//!
//! * [`read_file`] / [`read_bytes`] / [`read_capture`] parse a whole capture (classic
//!   pcap in either byte order and timestamp resolution, or pcapng) into a [`Capture`]:
//!   the UDP datagrams with frame numbers, nanosecond timestamps and addresses, plus
//!   the frames that were skipped and why.
//! * [`CaptureWriter`] writes a deterministic little-endian, nanosecond pcap with link
//!   type RAW (101), building IPv4 or IPv6 and UDP headers with correct checksums.
//!
//! Nothing here panics on any input: every problem is a [`CaptureError`] (the file as a
//! whole) or a [`SkipReason`] (one frame).

pub mod ip;
mod link;
mod read;
mod write;

use std::io;
use std::path::PathBuf;

pub use link::{LinkType, SkipReason};
pub use read::{read_bytes, read_capture, read_file, Capture, Datagram, Format, SkippedFrame};
pub use write::CaptureWriter;

/// Why a capture could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The file could not be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Reading from or writing to a stream failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The bytes are neither pcap nor pcapng.
    #[error("not a pcap or pcapng file: {found}")]
    NotACapture {
        /// What the start of the file looks like.
        found: String,
    },
    /// The file ends in the middle of a header, record or block.
    #[error("truncated {format} file: the {what} at byte offset {offset} runs past the end of the file ({file_len} bytes)")]
    Truncated {
        /// "pcap" or "pcapng".
        format: Format,
        /// "file header", "record of frame N", "block", ...
        what: String,
        /// Where it starts.
        offset: usize,
        /// The file's length.
        file_len: usize,
    },
    /// A header or block is malformed.
    #[error("malformed {format} file at byte offset {offset}: {reason}")]
    Malformed {
        /// "pcap" or "pcapng".
        format: Format,
        /// Where the bad header or block starts.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// The capture's link type is not one this reader understands.
    #[error("unsupported link type {linktype} (supported: 0 NULL, 1 ETHERNET, 101 RAW, 108 LOOP, 113 LINUX_SLL, 228 IPV4, 229 IPV6, 276 LINUX_SLL2)")]
    UnsupportedLinkType {
        /// The LINKTYPE_* number.
        linktype: u32,
    },
    /// A datagram to write mixes an IPv4 and an IPv6 address.
    #[error("source {src} and destination {dst} are of different IP families")]
    MixedFamilies {
        /// The source address.
        src: std::net::SocketAddr,
        /// The destination address.
        dst: std::net::SocketAddr,
    },
    /// A payload too large for one UDP datagram.
    #[error("UDP payload of {len} bytes exceeds the {max}-byte maximum")]
    PayloadTooLarge {
        /// The payload length.
        len: usize,
        /// The most the IP family allows.
        max: usize,
    },
    /// The pcap library refused a header or record.
    #[error("pcap writer: {0}")]
    Write(String),
}
