//! A small editor for reference captures: the broken captures of `tests/check.rs`
//! are real captures of the reference library with one rule broken by hand, built
//! here at test time (no opaque binaries in the tree). Read a capture's datagrams,
//! change fields in place (offsets into the UDT packet, names below), insert, move
//! or drop datagrams, and write the result with the project's `CaptureWriter`.
//!
//! UDT4 layout (all big-endian 32-bit words): the header is 16 bytes, word 0 the
//! sequence number (data) or control type (bit 31 set, type in bits 16-30), word 1
//! the message number (data) or the additional info (ACK sub-sequence number), word 2
//! the timestamp, word 3 the destination socket id. A handshake's body follows.

use std::path::{Path, PathBuf};

use conformance::capture::{read_file, CaptureWriter, Datagram};
use udt::packet::{Control, ControlPacket, Packet};

/// Word 0: data sequence number, or control bit and type.
pub const WORD0: usize = 0;
/// Word 1: message number and flags (data), additional info (control).
pub const WORD1: usize = 4;
/// Word 3: destination socket id.
pub const DEST: usize = 12;
/// First word of a control body: an ACK's acknowledged sequence number.
pub const BODY: usize = 16;

/// Handshake body fields (offsets into the packet).
pub mod hs {
    /// UDT version (4).
    pub const VERSION: usize = 16;
    /// Socket type (1 stream, 2 datagram).
    pub const SOCKET_TYPE: usize = 20;
    /// Initial sequence number.
    pub const ISN: usize = 24;
    /// Maximum segment size.
    pub const MSS: usize = 28;
    /// Flow window.
    pub const WINDOW: usize = 32;
    /// Request type (1, 0, -1, -2, 1002).
    pub const REQ_TYPE: usize = 36;
    /// The sender's socket id.
    pub const ID: usize = 40;
    /// SYN cookie.
    pub const COOKIE: usize = 44;
}

/// The datagrams of the reference capture `name`.
pub fn reference(name: &str) -> Vec<Datagram> {
    read_file(super::reference_file(name, ".pcap"))
        .expect("reference capture")
        .datagrams
}

/// Writes datagrams to `dir/name.pcap` with the project's `CaptureWriter`.
pub fn write(dir: &Path, name: &str, dgs: &[Datagram]) -> PathBuf {
    let path = dir.join(format!("{name}.pcap"));
    let mut w = CaptureWriter::new(Vec::new()).expect("header");
    for d in dgs {
        w.write_udp(d.time_ns, d.src, d.dst, &d.payload)
            .expect("write");
    }
    std::fs::write(&path, w.into_inner()).expect("write capture");
    path
}

/// Sets the 32-bit word at `offset` of a packet.
pub fn put32(bytes: &mut [u8], offset: usize, v: u32) {
    bytes[offset..offset + 4].copy_from_slice(&v.to_be_bytes());
}

/// The 32-bit word at `offset` of a packet.
pub fn get32(bytes: &[u8], offset: usize) -> u32 {
    u32::from_be_bytes(bytes[offset..offset + 4].try_into().expect("4 bytes"))
}

/// Applies `f` to the word at `offset` of datagram `i`.
pub fn edit32(v: &mut [Datagram], i: usize, offset: usize, f: impl Fn(u32) -> u32) {
    let old = get32(&v[i].payload, offset);
    put32(&mut v[i].payload, offset, f(old));
}

/// The control message of a datagram, if it is a control packet.
pub fn control(d: &Datagram) -> Option<Control<'_>> {
    match Packet::parse(&d.payload).ok()? {
        Packet::Control(ControlPacket { control, .. }) => Some(control),
        Packet::Data(_) => None,
    }
}

/// Whether a datagram is a data packet.
pub fn is_data(d: &Datagram) -> bool {
    matches!(Packet::parse(&d.payload), Ok(Packet::Data(_)))
}

/// Indices of the datagrams that `pick` selects.
pub fn find(v: &[Datagram], pick: impl Fn(&Datagram) -> bool) -> Vec<usize> {
    (0..v.len()).filter(|&i| pick(&v[i])).collect()
}

/// Indices of the handshakes.
pub fn handshakes(v: &[Datagram]) -> Vec<usize> {
    find(v, |d| matches!(control(d), Some(Control::Handshake(_))))
}

/// Indices of the full ACKs.
pub fn full_acks(v: &[Datagram]) -> Vec<usize> {
    find(
        v,
        |d| matches!(control(d), Some(Control::Ack(a)) if a.full.is_some()),
    )
}

/// Indices of the ACK2s.
pub fn ack2s(v: &[Datagram]) -> Vec<usize> {
    find(v, |d| matches!(control(d), Some(Control::Ack2(_))))
}

/// Inserts `d` at `at`, stamped 1 µs after the datagram before it.
pub fn insert_after_previous(v: &mut Vec<Datagram>, at: usize, mut d: Datagram) {
    d.time_ns = v[at - 1].time_ns + 1_000;
    v.insert(at, d);
}

/// Delays datagram `from` and every later one by `ns`: a pause in the capture.
pub fn delay_from(v: &mut [Datagram], from: usize, ns: u64) {
    for d in &mut v[from..] {
        d.time_ns += ns;
    }
}

/// Indices of the keep-alives.
pub fn keepalives(v: &[Datagram]) -> Vec<usize> {
    find(v, |d| matches!(control(d), Some(Control::KeepAlive)))
}

/// Removes the datagrams at `idx` (any order).
pub fn remove_all(v: &mut Vec<Datagram>, idx: &[usize]) {
    let mut i = 0;
    v.retain(|_| {
        i += 1;
        !idx.contains(&(i - 1))
    });
}
