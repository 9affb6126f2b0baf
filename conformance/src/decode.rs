//! One line per UDT packet: what a capture holds, for people and for snapshot tests.
//!
//! ```text
//!      1  0.000000  127.0.0.1:39354 → 127.0.0.1:9000  handshake  ver=4 socktype=stream isn=738355030 ...
//!      5  0.003079  127.0.0.1:39354 → 127.0.0.1:9000  data       seq=738355030 msg=1 ff=first order=0 ...
//! ```
//!
//! A datagram that is not a UDT packet gives an `error` line naming the
//! [`DecodeError`]; decoding never stops. A data packet cut short by the capture's
//! snaplen still decodes: its header is complete, and the payload length shown is the
//! one on the wire (from the UDP header), followed by how much was captured.

use std::fmt::Write as _;

use udt::packet::{
    Boundary, Control, ControlPacket, DataPacket, DecodeError, Handshake, Packet, ReqType,
    SocketType,
};

use crate::capture::{Capture, Datagram};

/// Whether `d` was sent from or to UDP port `port` (`None` matches everything).
pub fn matches_port(d: &Datagram, port: Option<u16>) -> bool {
    match port {
        None => true,
        Some(p) => d.src.port() == p || d.dst.port() == p,
    }
}

/// The decode lines of every datagram in `capture` to or from `port`, in file order.
/// Times are relative to the capture's first frame.
pub fn decode_capture(capture: &Capture, port: Option<u16>) -> Vec<String> {
    let base = capture.first_time_ns.unwrap_or(0);
    capture
        .datagrams
        .iter()
        .filter(|d| matches_port(d, port))
        .map(|d| format_datagram(d, base))
        .collect()
}

/// `time_ns - base_ns` as seconds with six decimals (µs), signed.
pub fn relative_time(time_ns: u64, base_ns: u64) -> String {
    let (sign, delta) = if time_ns >= base_ns {
        ("", time_ns - base_ns)
    } else {
        ("-", base_ns - time_ns)
    };
    let us = delta / 1_000;
    format!("{sign}{}.{:06}", us / 1_000_000, us % 1_000_000)
}

/// The full line for one datagram: frame, relative time, addresses, packet type and
/// fields (or `error` and the decode error).
pub fn format_datagram(d: &Datagram, base_ns: u64) -> String {
    let (kind, fields) = match describe(&d.payload, d.wire_payload_len()) {
        Ok(pair) => pair,
        Err(e) => {
            let mut msg = e.to_string();
            if d.payload.len() < d.wire_payload_len() {
                let _ = write!(
                    msg,
                    " (capture holds {} of {} bytes)",
                    d.payload.len(),
                    d.wire_payload_len()
                );
            }
            ("error", msg)
        }
    };
    format!(
        "{:>6}  {}  {} → {}  {:<10} {}",
        d.frame,
        relative_time(d.time_ns, base_ns),
        d.src,
        d.dst,
        kind,
        fields
    )
}

/// Decodes one UDP payload to its type name and its key fields. `wire_len` is the
/// payload length as sent (larger than `payload.len()` for a snaplen-cut frame).
pub fn describe(payload: &[u8], wire_len: usize) -> Result<(&'static str, String), DecodeError> {
    Ok(match Packet::parse(payload)? {
        Packet::Data(d) => ("data", data_fields(&d, wire_len)),
        Packet::Control(c) => (c.control.name(), control_fields(&c)),
    })
}

/// The name of a data packet's boundary flags, as decode prints them.
pub(crate) fn boundary_name(b: Boundary) -> &'static str {
    match b {
        Boundary::First => "first",
        Boundary::Last => "last",
        Boundary::Solo => "solo",
        Boundary::Middle => "middle",
    }
}

fn data_fields(d: &DataPacket<'_>, wire_len: usize) -> String {
    // The UDT payload as sent: the UDP payload minus the 16-byte header.
    let sent = wire_len
        .saturating_sub(udt::packet::HEADER_LEN)
        .max(d.payload.len());
    let mut s = format!(
        "seq={} msg={} ff={} order={} ts={} dest={:#010x} len={}",
        d.seq.value(),
        d.msg.value(),
        boundary_name(d.boundary),
        u8::from(d.in_order),
        d.timestamp,
        d.dest,
        sent
    );
    if d.payload.len() < sent {
        let _ = write!(s, " captured={}", d.payload.len());
    }
    s
}

fn socket_type(t: SocketType) -> String {
    match t {
        SocketType::Stream => "stream".into(),
        SocketType::Dgram => "dgram".into(),
        SocketType::Other(v) => v.to_string(),
    }
}

fn req_type(r: ReqType) -> String {
    let name = match r {
        ReqType::Request => "(request)",
        ReqType::Rendezvous => "(rendezvous)",
        ReqType::Response => "(response)",
        ReqType::RendezvousConnected => "(rendezvous-connected)",
        ReqType::Rejected => "(rejected)",
        ReqType::Other(_) => "",
    };
    format!("{}{name}", r.to_wire())
}

fn handshake_fields(h: &Handshake) -> String {
    format!(
        "ver={} socktype={} isn={} mss={} window={} req={} id={:#010x} cookie={:#010x} peer={}",
        h.version,
        socket_type(h.socket_type),
        h.isn,
        h.mss,
        h.flight_flag_size,
        req_type(h.req_type),
        h.socket_id,
        h.cookie,
        h.peer_ip.to_addr()
    )
}

fn control_fields(c: &ControlPacket<'_>) -> String {
    let mut s = match &c.control {
        Control::Handshake(h) => handshake_fields(h),
        Control::Ack(a) => {
            let mut s = format!("ackno={} seq={}", a.ack_number.value(), a.seq.value());
            if let Some(info) = a.full {
                let _ = write!(
                    s,
                    " rtt={} rttvar={} buf={}",
                    info.rtt, info.rtt_var, info.avail_buffer
                );
                if let Some(r) = info.rates {
                    let _ = write!(s, " rate={} linkcap={}", r.arrival_rate, r.link_capacity);
                }
            }
            s
        }
        Control::Ack2(n) => format!("ackno={}", n.value()),
        Control::Nak(list) => {
            let ranges: Vec<String> = list
                .ranges()
                .map(|(a, b)| {
                    if a == b {
                        a.value().to_string()
                    } else {
                        format!("{}-{}", a.value(), b.value())
                    }
                })
                .collect();
            format!("loss={}", ranges.join(","))
        }
        Control::DropRequest(d) => format!(
            "msg={} first={} last={}",
            d.msg.value(),
            d.first.value(),
            d.last.value()
        ),
        Control::Error { code } => format!("code={code}"),
        Control::UserDefined {
            subtype,
            info,
            body,
        } => format!("subtype={subtype:#06x} info={info} body={}B", body.len()),
        Control::Unknown {
            kind,
            extended,
            info,
            body,
        } => format!(
            "type={kind:#06x} ext={extended:#06x} info={info} body={}B",
            body.len()
        ),
        Control::KeepAlive | Control::Shutdown | Control::CongestionWarning => String::new(),
    };
    if !s.is_empty() {
        s.push(' ');
    }
    let _ = write!(s, "dest={:#010x}", c.dest);
    // UDT4 always sends 0 here; anything else is worth seeing.
    if c.timestamp != 0 {
        let _ = write!(s, " ts={}", c.timestamp);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        assert_eq!(relative_time(1_500_000_000, 0), "1.500000");
        assert_eq!(relative_time(5, 3_000), "-0.000002");
        assert_eq!(relative_time(3_079_999, 0), "0.003079");
    }

    #[test]
    fn not_udt_is_an_error() {
        assert_eq!(
            describe(&[1, 2, 3], 3),
            Err(DecodeError::Truncated { len: 3 })
        );
    }
}
