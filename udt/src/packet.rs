//! The UDT4 wire format: one UDT packet per UDP datagram, a 16-byte header of four
//! big-endian words and a body.
//!
//! [`Packet::parse`] reads untrusted bytes without panicking and without allocating:
//! the result borrows the datagram. [`Packet::emit`] writes into a caller's buffer.
//! `parse(emit(p)) == p` for every packet (property-tested below).
//!
//! Layouts follow the reference (`udt-protocol.md` §1–§3); the UDT4 quirks that
//! matter on the wire are kept: control timestamps are 0, empty control bodies carry
//! a 4-byte zero pad, and the handshake's peer-IP words are byte-swapped.

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::seq::{AckNumber, MsgNumber, SeqNumber};

/// Bytes in a UDT header.
pub const HEADER_LEN: usize = 16;
/// Bytes in a handshake body.
pub const HANDSHAKE_LEN: usize = 48;
/// Bytes UDT4 counts for the IPv4 + UDP headers inside its MSS (also for IPv6).
pub const UDP_IP_OVERHEAD: usize = 28;

const CONTROL_BIT: u32 = 0x8000_0000;
const FIRST_BIT: u32 = 0x8000_0000;
const LAST_BIT: u32 = 0x4000_0000;
const ORDER_BIT: u32 = 0x2000_0000;
const RANGE_BIT: u32 = 0x8000_0000;

/// A decoded UDT packet, borrowing the datagram it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    /// Application data.
    Data(DataPacket<'a>),
    /// A control packet.
    Control(ControlPacket<'a>),
}

/// A data packet (header bit 0 clear).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataPacket<'a> {
    /// 31-bit packet sequence number.
    pub seq: SeqNumber,
    /// Where this packet sits in its message (the FF bits).
    pub boundary: Boundary,
    /// The O bit: the message must be delivered in order.
    pub in_order: bool,
    /// 29-bit message number.
    pub msg: MsgNumber,
    /// µs since the sending socket started (wraps every 2^32 µs).
    pub timestamp: u32,
    /// The receiver's socket id.
    pub dest: u32,
    /// Application bytes, never empty.
    pub payload: &'a [u8],
}

/// The FF bits of a data packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Boundary {
    /// `00`: neither first nor last.
    Middle,
    /// `10`: first packet of a message.
    First,
    /// `01`: last packet of a message.
    Last,
    /// `11`: the whole message.
    Solo,
}

impl Boundary {
    fn from_bits(word: u32) -> Self {
        match (word & FIRST_BIT != 0, word & LAST_BIT != 0) {
            (false, false) => Boundary::Middle,
            (true, false) => Boundary::First,
            (false, true) => Boundary::Last,
            (true, true) => Boundary::Solo,
        }
    }

    fn bits(self) -> u32 {
        match self {
            Boundary::Middle => 0,
            Boundary::First => FIRST_BIT,
            Boundary::Last => LAST_BIT,
            Boundary::Solo => FIRST_BIT | LAST_BIT,
        }
    }

    /// Whether a message starts with this packet.
    pub fn is_first(self) -> bool {
        matches!(self, Boundary::First | Boundary::Solo)
    }

    /// Whether a message ends with this packet.
    pub fn is_last(self) -> bool {
        matches!(self, Boundary::Last | Boundary::Solo)
    }

    /// The boundary for packet `index` of a message of `count` packets.
    pub fn for_position(index: usize, count: usize) -> Self {
        match (index == 0, index + 1 == count) {
            (true, true) => Boundary::Solo,
            (true, false) => Boundary::First,
            (false, true) => Boundary::Last,
            (false, false) => Boundary::Middle,
        }
    }
}

/// A control packet (header bit 0 set). UDT4 always sends timestamp 0 here, but the
/// field is kept so that captures decode and re-encode unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlPacket<'a> {
    /// Header timestamp (0 from UDT4).
    pub timestamp: u32,
    /// Destination socket id (0 for connection requests).
    pub dest: u32,
    /// The type-specific part.
    pub control: Control<'a>,
}

/// The type-specific contents of a control packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control<'a> {
    /// Type 0: connection set-up.
    Handshake(Handshake),
    /// Type 1: "still alive".
    KeepAlive,
    /// Type 2: acknowledgement (light or full).
    Ack(Ack),
    /// Type 3: loss report.
    Nak(LossList<'a>),
    /// Type 4: congestion warning (UDT4 never sends it).
    CongestionWarning,
    /// Type 5: the peer is closing.
    Shutdown,
    /// Type 6: acknowledgement of a full ACK with this sub-sequence number.
    Ack2(AckNumber),
    /// Type 7: the sender gave up on a message.
    DropRequest(DropRequest),
    /// Type 8: the peer failed (UDT4 sends 4000, a file-system error).
    Error {
        /// UDT error code.
        code: u32,
    },
    /// Type 0x7FFF: a congestion control's own message. UDT4 pads an empty body to
    /// one zero word; the sender chooses the body here.
    UserDefined {
        /// The sub-type (low 16 bits of word 0).
        subtype: u16,
        /// The additional-info word.
        info: u32,
        /// The body, whole 32-bit words.
        body: &'a [u8],
    },
    /// Any other type, kept as it came so that captures are never mangled.
    Unknown {
        /// The 15-bit control type.
        kind: u16,
        /// The low 16 bits of word 0.
        extended: u16,
        /// The additional-info word.
        info: u32,
        /// The body.
        body: &'a [u8],
    },
}

/// Numeric control types.
pub mod control_type {
    /// Handshake.
    pub const HANDSHAKE: u16 = 0;
    /// Keep-alive.
    pub const KEEP_ALIVE: u16 = 1;
    /// ACK.
    pub const ACK: u16 = 2;
    /// NAK.
    pub const NAK: u16 = 3;
    /// Congestion warning.
    pub const CONGESTION_WARNING: u16 = 4;
    /// Shutdown.
    pub const SHUTDOWN: u16 = 5;
    /// ACK2.
    pub const ACK2: u16 = 6;
    /// Message drop request.
    pub const DROP_REQUEST: u16 = 7;
    /// Error signal.
    pub const ERROR: u16 = 8;
    /// User-defined.
    pub const USER_DEFINED: u16 = 0x7FFF;
}

/// The socket type a handshake announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SocketType {
    /// 1: byte stream (`SOCK_STREAM`).
    Stream,
    /// 2: messages (`SOCK_DGRAM`).
    Dgram,
    /// Anything else (UDT4's connected-socket replies carry 0).
    Other(u32),
}

impl SocketType {
    /// The wire value.
    pub fn to_wire(self) -> u32 {
        match self {
            SocketType::Stream => 1,
            SocketType::Dgram => 2,
            SocketType::Other(v) => v,
        }
    }

    /// From the wire value.
    pub fn from_wire(v: u32) -> Self {
        match v {
            1 => SocketType::Stream,
            2 => SocketType::Dgram,
            v => SocketType::Other(v),
        }
    }
}

/// The request type of a handshake (a signed word).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReqType {
    /// 1: a client's first request; also the listener's cookie reply.
    Request,
    /// 0: a rendezvous request.
    Rendezvous,
    /// −1: a client's second request, a listener's answer, a rendezvous answer.
    Response,
    /// −2: an answer from an already connected rendezvous socket.
    RendezvousConnected,
    /// 1002: rejection.
    Rejected,
    /// Any other value.
    Other(i32),
}

impl ReqType {
    /// The wire value.
    pub fn to_wire(self) -> i32 {
        match self {
            ReqType::Request => 1,
            ReqType::Rendezvous => 0,
            ReqType::Response => -1,
            ReqType::RendezvousConnected => -2,
            ReqType::Rejected => 1002,
            ReqType::Other(v) => v,
        }
    }

    /// From the wire value.
    pub fn from_wire(v: i32) -> Self {
        match v {
            1 => ReqType::Request,
            0 => ReqType::Rendezvous,
            -1 => ReqType::Response,
            -2 => ReqType::RendezvousConnected,
            1002 => ReqType::Rejected,
            v => ReqType::Other(v),
        }
    }
}

/// The 48-byte handshake body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Handshake {
    /// Protocol version (4).
    pub version: u32,
    /// Stream or datagram.
    pub socket_type: SocketType,
    /// Initial sequence number of the sender's direction (client/server: both).
    pub isn: u32,
    /// Maximum segment size, including 28 bytes of IP/UDP header.
    pub mss: u32,
    /// Flow window the sender of this handshake offers (packets).
    pub flight_flag_size: u32,
    /// What this handshake is.
    pub req_type: ReqType,
    /// The sender's own socket id.
    pub socket_id: u32,
    /// SYN cookie.
    pub cookie: u32,
    /// The receiver's address as the sender sees it, as the 16 wire bytes.
    pub peer_ip: PeerIp,
}

/// The handshake's peer-IP field: four 32-bit words that UDT4 fills in host order
/// (little-endian) and then byte-swaps, so each 4-byte group is reversed on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PeerIp(pub [u8; 16]);

impl PeerIp {
    /// Encodes an address the way UDT4 puts it on the wire.
    pub fn from_addr(ip: IpAddr) -> Self {
        let mut out = [0u8; 16];
        match ip {
            IpAddr::V4(v4) => {
                let o = v4.octets();
                out[..4].copy_from_slice(&[o[3], o[2], o[1], o[0]]);
            }
            IpAddr::V6(v6) => {
                let o = v6.octets();
                for (dst, src) in out.chunks_exact_mut(4).zip(o.chunks_exact(4)) {
                    dst.copy_from_slice(&[src[3], src[2], src[1], src[0]]);
                }
            }
        }
        PeerIp(out)
    }

    /// Decodes the field, taking it as IPv4 when the last 12 bytes are zero. UDT4 does
    /// not say which family it holds; nobody validates it.
    pub fn to_addr(&self) -> IpAddr {
        let b = &self.0;
        if b[4..].iter().all(|&x| x == 0) {
            IpAddr::V4(Ipv4Addr::new(b[3], b[2], b[1], b[0]))
        } else {
            let mut o = [0u8; 16];
            for (dst, src) in o.chunks_exact_mut(4).zip(b.chunks_exact(4)) {
                dst.copy_from_slice(&[src[3], src[2], src[1], src[0]]);
            }
            IpAddr::V6(Ipv6Addr::from(o))
        }
    }
}

impl fmt::Debug for PeerIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// An ACK. Full ACKs carry a sub-sequence number ≥ 1 and 16 or 24 bytes of body;
/// light ACKs carry sub-sequence 0 and only the acknowledged sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ack {
    /// The sub-sequence number in the additional-info word (0 for light ACKs).
    pub ack_number: AckNumber,
    /// First sequence number not yet received in order.
    pub seq: SeqNumber,
    /// Present in full ACKs.
    pub full: Option<AckInfo>,
}

/// Words 1–5 of a full ACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AckInfo {
    /// RTT estimate of the ACK sender, µs.
    pub rtt: u32,
    /// RTT variance of the ACK sender, µs.
    pub rtt_var: u32,
    /// Free receive buffer, packets.
    pub avail_buffer: u32,
    /// Present in 24-byte ACKs.
    pub rates: Option<AckRates>,
}

/// Words 4–5 of a 24-byte ACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AckRates {
    /// Packet arrival rate, packets/s.
    pub arrival_rate: u32,
    /// Estimated link capacity, packets/s.
    pub link_capacity: u32,
}

/// A message drop request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DropRequest {
    /// The message given up on.
    pub msg: MsgNumber,
    /// First sequence number to drop.
    pub first: SeqNumber,
    /// Last sequence number to drop (inclusive).
    pub last: SeqNumber,
}

/// A NAK body: lost sequence numbers, a word each, or a range as a word with the top
/// bit set (the first) followed by a word with it clear (the last, inclusive).
/// Validated at parse time, so iteration cannot fail.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct LossList<'a> {
    words: &'a [u8],
}

impl<'a> LossList<'a> {
    /// Validates a NAK body.
    pub fn parse(body: &'a [u8]) -> Result<Self, DecodeError> {
        if body.is_empty() || !body.len().is_multiple_of(4) {
            return Err(DecodeError::BodyLength {
                kind: "NAK",
                len: body.len(),
                expected: "a non-zero multiple of 4",
            });
        }
        let mut pending_range = false;
        for (i, w) in body.chunks_exact(4).enumerate() {
            let word = u32::from_be_bytes([w[0], w[1], w[2], w[3]]);
            if pending_range && word & RANGE_BIT != 0 {
                return Err(DecodeError::BadLossList {
                    offset: HEADER_LEN + 4 * i,
                    reason: "a range's end word has the range bit set",
                });
            }
            pending_range = !pending_range && word & RANGE_BIT != 0;
        }
        if pending_range {
            return Err(DecodeError::BadLossList {
                offset: HEADER_LEN + body.len() - 4,
                reason: "the last word starts a range that has no end",
            });
        }
        Ok(LossList { words: body })
    }

    /// The encoded words, as they go on the wire.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.words
    }

    /// The losses as inclusive ranges, in the order the sender listed them.
    pub fn ranges(&self) -> LossRanges<'a> {
        LossRanges {
            words: self.words.chunks_exact(4),
        }
    }

    /// Writes `ranges` into `buf` in the NAK encoding and returns the byte count, or
    /// `None` if `buf` is too short. A single number takes one word, a range two.
    pub fn encode(
        ranges: impl IntoIterator<Item = (SeqNumber, SeqNumber)>,
        buf: &mut [u8],
    ) -> Option<usize> {
        let mut n = 0;
        for (first, last) in ranges {
            if first == last {
                buf.get_mut(n..n + 4)?
                    .copy_from_slice(&first.value().to_be_bytes());
                n += 4;
            } else {
                buf.get_mut(n..n + 4)?
                    .copy_from_slice(&(first.value() | RANGE_BIT).to_be_bytes());
                buf.get_mut(n + 4..n + 8)?
                    .copy_from_slice(&last.value().to_be_bytes());
                n += 8;
            }
        }
        Some(n)
    }
}

impl fmt::Debug for LossList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.ranges().map(|(a, b)| a.value()..=b.value()))
            .finish()
    }
}

/// Iterator over the ranges of a [`LossList`].
#[derive(Clone, Debug)]
pub struct LossRanges<'a> {
    words: core::slice::ChunksExact<'a, u8>,
}

impl Iterator for LossRanges<'_> {
    type Item = (SeqNumber, SeqNumber);

    fn next(&mut self) -> Option<Self::Item> {
        let word = |w: &[u8]| u32::from_be_bytes([w[0], w[1], w[2], w[3]]);
        let first = word(self.words.next()?);
        if first & RANGE_BIT != 0 {
            // Validated at parse time: a range word is always followed by its end.
            let last = self.words.next().map(word).unwrap_or(first);
            Some((SeqNumber::new(first), SeqNumber::new(last)))
        } else {
            Some((SeqNumber::new(first), SeqNumber::new(first)))
        }
    }
}

/// Why a datagram is not a UDT packet. Offsets count from the start of the UDT
/// header (the UDP payload).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Shorter than the 16-byte header.
    #[error("UDT header truncated: {len} bytes, a header needs 16")]
    Truncated {
        /// Datagram length.
        len: usize,
    },
    /// A data packet with nothing after the header.
    #[error("data packet without payload")]
    EmptyData,
    /// A control body whose length the type does not allow.
    #[error("{kind} body at offset 16 is {len} bytes, expected {expected}")]
    BodyLength {
        /// The control type's name.
        kind: &'static str,
        /// Body length found.
        len: usize,
        /// What the type allows.
        expected: &'static str,
    },
    /// A NAK body that is not a well-formed loss list.
    #[error("NAK loss list malformed at offset {offset}: {reason}")]
    BadLossList {
        /// Offset of the offending word.
        offset: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Why a packet could not be written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("buffer of {available} bytes is too small for a {needed}-byte UDT packet")]
pub struct EmitError {
    /// Bytes the packet needs.
    pub needed: usize,
    /// Bytes the buffer has.
    pub available: usize,
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

/// Bodies of "empty" control types: UDT4 sends one zero word, but any length that is
/// a whole number of words is accepted, as UDT4 accepts it.
fn check_words(kind: &'static str, body: &[u8]) -> Result<(), DecodeError> {
    if body.len().is_multiple_of(4) {
        Ok(())
    } else {
        Err(DecodeError::BodyLength {
            kind,
            len: body.len(),
            expected: "a multiple of 4",
        })
    }
}

impl DataPacket<'_> {
    /// Writes only the 16-byte header, for senders that put the payload in place
    /// themselves.
    pub fn emit_header(&self, out: &mut [u8; HEADER_LEN]) {
        put32(out, 0, self.seq.value());
        let flags = self.boundary.bits() | if self.in_order { ORDER_BIT } else { 0 };
        put32(out, 4, flags | self.msg.value());
        put32(out, 8, self.timestamp);
        put32(out, 12, self.dest);
    }
}

impl<'a> Packet<'a> {
    /// Decodes one datagram.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        match bytes.split_first_chunk() {
            Some((header, body)) => Self::parse_parts(header, body),
            None => Err(DecodeError::Truncated { len: bytes.len() }),
        }
    }

    /// Decodes a datagram that is `header` followed by `body`, held apart (see
    /// `Endpoint::handle_datagram_parts`).
    pub fn parse_parts(header: &[u8; HEADER_LEN], body: &'a [u8]) -> Result<Self, DecodeError> {
        let w0 = be32(header, 0);
        let w1 = be32(header, 4);
        let timestamp = be32(header, 8);
        let dest = be32(header, 12);
        if w0 & CONTROL_BIT == 0 {
            if body.is_empty() {
                return Err(DecodeError::EmptyData);
            }
            return Ok(Packet::Data(DataPacket {
                seq: SeqNumber::new(w0),
                boundary: Boundary::from_bits(w1),
                in_order: w1 & ORDER_BIT != 0,
                msg: MsgNumber::new(w1),
                timestamp,
                dest,
                payload: body,
            }));
        }
        let kind = ((w0 >> 16) & 0x7FFF) as u16;
        let extended = (w0 & 0xFFFF) as u16;
        let control = match kind {
            control_type::HANDSHAKE => Control::Handshake(Handshake::parse(body)?),
            control_type::KEEP_ALIVE => {
                check_words("keep-alive", body)?;
                Control::KeepAlive
            }
            control_type::ACK => Control::Ack(Ack::parse(w1, body)?),
            control_type::NAK => Control::Nak(LossList::parse(body)?),
            control_type::CONGESTION_WARNING => {
                check_words("congestion warning", body)?;
                Control::CongestionWarning
            }
            control_type::SHUTDOWN => {
                check_words("shutdown", body)?;
                Control::Shutdown
            }
            control_type::ACK2 => {
                check_words("ACK2", body)?;
                Control::Ack2(AckNumber::new(w1))
            }
            control_type::DROP_REQUEST => {
                if body.len() != 8 {
                    return Err(DecodeError::BodyLength {
                        kind: "message drop request",
                        len: body.len(),
                        expected: "8",
                    });
                }
                Control::DropRequest(DropRequest {
                    msg: MsgNumber::new(w1),
                    first: SeqNumber::new(be32(body, 0)),
                    last: SeqNumber::new(be32(body, 4)),
                })
            }
            control_type::ERROR => {
                check_words("error signal", body)?;
                Control::Error { code: w1 }
            }
            control_type::USER_DEFINED => {
                check_words("user-defined", body)?;
                Control::UserDefined {
                    subtype: extended,
                    info: w1,
                    body,
                }
            }
            _ => Control::Unknown {
                kind,
                extended,
                info: w1,
                body,
            },
        };
        Ok(Packet::Control(ControlPacket {
            timestamp,
            dest,
            control,
        }))
    }

    /// The destination socket id.
    pub fn dest(&self) -> u32 {
        match self {
            Packet::Data(d) => d.dest,
            Packet::Control(c) => c.dest,
        }
    }

    /// Bytes [`emit`](Self::emit) will write.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
            + match self {
                Packet::Data(d) => d.payload.len(),
                Packet::Control(c) => c.control.body_len(),
            }
    }

    /// Writes the packet into the front of `buf` and returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let len = self.buffer_len();
        if buf.len() < len {
            return Err(EmitError {
                needed: len,
                available: buf.len(),
            });
        }
        let buf = &mut buf[..len];
        match self {
            Packet::Data(d) => {
                let (header, payload) = buf.split_at_mut(HEADER_LEN);
                d.emit_header(header.try_into().expect("split at HEADER_LEN"));
                payload.copy_from_slice(d.payload);
            }
            Packet::Control(c) => {
                let (kind, extended) = c.control.kind();
                put32(
                    buf,
                    0,
                    CONTROL_BIT | (u32::from(kind) << 16) | u32::from(extended),
                );
                put32(buf, 4, c.control.info());
                put32(buf, 8, c.timestamp);
                put32(buf, 12, c.dest);
                c.control.emit_body(&mut buf[HEADER_LEN..]);
            }
        }
        Ok(len)
    }
}

impl Control<'_> {
    /// The control type and the low 16 bits of word 0.
    pub fn kind(&self) -> (u16, u16) {
        use control_type::*;
        match self {
            Control::Handshake(_) => (HANDSHAKE, 0),
            Control::KeepAlive => (KEEP_ALIVE, 0),
            Control::Ack(_) => (ACK, 0),
            Control::Nak(_) => (NAK, 0),
            Control::CongestionWarning => (CONGESTION_WARNING, 0),
            Control::Shutdown => (SHUTDOWN, 0),
            Control::Ack2(_) => (ACK2, 0),
            Control::DropRequest(_) => (DROP_REQUEST, 0),
            Control::Error { .. } => (ERROR, 0),
            Control::UserDefined { subtype, .. } => (USER_DEFINED, *subtype),
            Control::Unknown { kind, extended, .. } => (*kind, *extended),
        }
    }

    /// A short name for traces.
    pub fn name(&self) -> &'static str {
        match self {
            Control::Handshake(_) => "handshake",
            Control::KeepAlive => "keepalive",
            Control::Ack(a) if a.full.is_none() => "ack-light",
            Control::Ack(_) => "ack",
            Control::Nak(_) => "nak",
            Control::CongestionWarning => "congestion",
            Control::Shutdown => "shutdown",
            Control::Ack2(_) => "ack2",
            Control::DropRequest(_) => "dropreq",
            Control::Error { .. } => "error",
            Control::UserDefined { .. } => "user",
            Control::Unknown { .. } => "unknown",
        }
    }

    fn info(&self) -> u32 {
        match self {
            Control::Ack(a) => a.ack_number.value(),
            Control::Ack2(n) => n.value(),
            Control::DropRequest(d) => d.msg.value(),
            Control::Error { code } => *code,
            Control::UserDefined { info, .. } | Control::Unknown { info, .. } => *info,
            _ => 0,
        }
    }

    fn body_len(&self) -> usize {
        match self {
            Control::Handshake(_) => HANDSHAKE_LEN,
            Control::Ack(a) => match a.full {
                None => 4,
                Some(AckInfo { rates: None, .. }) => 16,
                Some(_) => 24,
            },
            Control::Nak(l) => l.words.len(),
            Control::DropRequest(_) => 8,
            Control::UserDefined { body, .. } | Control::Unknown { body, .. } => body.len(),
            // The zero pad word UDT4 always sends.
            Control::KeepAlive
            | Control::CongestionWarning
            | Control::Shutdown
            | Control::Ack2(_)
            | Control::Error { .. } => 4,
        }
    }

    /// Writes the body into `buf`, which is exactly `body_len()` bytes.
    fn emit_body(&self, buf: &mut [u8]) {
        match self {
            Control::Handshake(h) => h.emit(buf),
            Control::Ack(a) => {
                put32(buf, 0, a.seq.value());
                if let Some(info) = a.full {
                    put32(buf, 4, info.rtt);
                    put32(buf, 8, info.rtt_var);
                    put32(buf, 12, info.avail_buffer);
                    if let Some(r) = info.rates {
                        put32(buf, 16, r.arrival_rate);
                        put32(buf, 20, r.link_capacity);
                    }
                }
            }
            Control::Nak(l) => buf.copy_from_slice(l.words),
            Control::DropRequest(d) => {
                put32(buf, 0, d.first.value());
                put32(buf, 4, d.last.value());
            }
            Control::UserDefined { body, .. } | Control::Unknown { body, .. } => {
                buf.copy_from_slice(body)
            }
            _ => buf.fill(0),
        }
    }
}

impl Ack {
    fn parse(info: u32, body: &[u8]) -> Result<Self, DecodeError> {
        let full = match body.len() {
            4 => None,
            16 | 24 => Some(AckInfo {
                rtt: be32(body, 4),
                rtt_var: be32(body, 8),
                avail_buffer: be32(body, 12),
                rates: (body.len() == 24).then(|| AckRates {
                    arrival_rate: be32(body, 16),
                    link_capacity: be32(body, 20),
                }),
            }),
            len => {
                return Err(DecodeError::BodyLength {
                    kind: "ACK",
                    len,
                    expected: "4, 16 or 24",
                })
            }
        };
        Ok(Ack {
            ack_number: AckNumber::new(info),
            seq: SeqNumber::new(be32(body, 0)),
            full,
        })
    }
}

impl Handshake {
    fn parse(body: &[u8]) -> Result<Self, DecodeError> {
        if body.len() != HANDSHAKE_LEN {
            return Err(DecodeError::BodyLength {
                kind: "handshake",
                len: body.len(),
                expected: "48",
            });
        }
        let mut peer_ip = [0u8; 16];
        peer_ip.copy_from_slice(&body[32..48]);
        Ok(Handshake {
            version: be32(body, 0),
            socket_type: SocketType::from_wire(be32(body, 4)),
            isn: be32(body, 8),
            mss: be32(body, 12),
            flight_flag_size: be32(body, 16),
            req_type: ReqType::from_wire(be32(body, 20) as i32),
            socket_id: be32(body, 24),
            cookie: be32(body, 28),
            peer_ip: PeerIp(peer_ip),
        })
    }

    fn emit(&self, buf: &mut [u8]) {
        put32(buf, 0, self.version);
        put32(buf, 4, self.socket_type.to_wire());
        put32(buf, 8, self.isn);
        put32(buf, 12, self.mss);
        put32(buf, 16, self.flight_flag_size);
        put32(buf, 20, self.req_type.to_wire() as u32);
        put32(buf, 24, self.socket_id);
        put32(buf, 28, self.cookie);
        buf[32..48].copy_from_slice(&self.peer_ip.0);
    }
}

#[cfg(test)]
mod tests;
