use super::*;
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn roundtrip(bytes: &[u8]) -> Packet<'_> {
    let p = Packet::parse(bytes).expect("decodes");
    let mut out = vec![0u8; p.buffer_len()];
    assert_eq!(p.emit(&mut out), Ok(bytes.len()));
    assert_eq!(out, bytes, "re-encoding changes the bytes");
    p
}

/// Frame 2 of `cs_clean_transfer.pcap`: the listener's cookie reply.
#[test]
fn cookie_reply_from_the_reference() {
    let bytes = hex("80000000 00000000 00000000 2da4bc9c
                     00000004 00000001 39eb280d 000005dc 00002000 00000001 2da4bc9c d8d6d392
                     0100007f 00000000 00000000 00000000");
    let Packet::Control(c) = roundtrip(&bytes) else {
        panic!("not control")
    };
    assert_eq!(c.dest, 0x2da4bc9c);
    let Control::Handshake(h) = c.control else {
        panic!("not a handshake")
    };
    assert_eq!(h.version, 4);
    assert_eq!(h.socket_type, SocketType::Stream);
    assert_eq!(h.isn, 971712525);
    assert_eq!(h.mss, 1500);
    assert_eq!(h.flight_flag_size, 8192);
    assert_eq!(h.req_type, ReqType::Request);
    assert_eq!(h.socket_id, 765770908);
    assert_eq!(h.cookie, 0xd8d6d392);
    assert_eq!(h.peer_ip.to_addr(), IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert_eq!(
        PeerIp::from_addr(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        h.peer_ip
    );
}

#[test]
fn ipv6_peer_ip_reverses_each_word() {
    let ip: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let p = PeerIp::from_addr(IpAddr::V6(ip));
    assert_eq!(&p.0[..4], &[0xb8, 0x0d, 0x01, 0x20]);
    assert_eq!(&p.0[12..], &[0x01, 0, 0, 0]);
    assert_eq!(p.to_addr(), IpAddr::V6(ip));
}

#[test]
fn data_packet_flags_and_payload() {
    // Solo, not in order, message 1, as UDT4 sends `send("hello")`.
    let bytes = hex("39eb280d c0000001 000003a5 2861fb84 68656c6c6f");
    let Packet::Data(d) = roundtrip(&bytes) else {
        panic!("not data")
    };
    assert_eq!(d.seq.value(), 971712525);
    assert_eq!(d.boundary, Boundary::Solo);
    assert!(!d.in_order);
    assert_eq!(d.msg.value(), 1);
    assert_eq!(d.timestamp, 0x3a5);
    assert_eq!(d.dest, 0x2861fb84);
    assert_eq!(d.payload, b"hello");

    let bytes = hex("00000005 a0000007 00000000 00000001 00");
    let Packet::Data(d) = roundtrip(&bytes) else {
        panic!("not data")
    };
    assert_eq!(
        (d.boundary, d.in_order, d.msg.value()),
        (Boundary::First, true, 7)
    );
}

#[test]
fn ack_forms() {
    let light = hex("80020000 00000000 00000000 00000001 39eb284d");
    let Packet::Control(c) = roundtrip(&light) else {
        panic!()
    };
    assert_eq!(
        c.control,
        Control::Ack(Ack {
            ack_number: AckNumber::new(0),
            seq: SeqNumber::new(971712589),
            full: None
        })
    );
    let full24 = hex("80020000 00000001 00000000 00000001
                      39eb284d 000186a0 0000c350 00001ff0 00000001 000003e8");
    let Packet::Control(ControlPacket {
        control: Control::Ack(a),
        ..
    }) = roundtrip(&full24)
    else {
        panic!()
    };
    let info = a.full.unwrap();
    assert_eq!(
        (info.rtt, info.rtt_var, info.avail_buffer),
        (100_000, 50_000, 8176)
    );
    assert_eq!(
        info.rates,
        Some(AckRates {
            arrival_rate: 1,
            link_capacity: 1000
        })
    );
    let full16 = &full24[..32];
    let Packet::Control(ControlPacket {
        control: Control::Ack(a),
        ..
    }) = roundtrip(full16)
    else {
        panic!()
    };
    assert_eq!(a.full.unwrap().rates, None);
}

/// Frame 2695 of `lossy_transfer_5mib_snap256.pcap`: the one NAK range.
#[test]
fn nak_range_from_the_reference() {
    let bytes = hex("80030000 00000000 00000000 00000001 fe24c269 7e24c26a");
    let Packet::Control(ControlPacket {
        control: Control::Nak(l),
        ..
    }) = roundtrip(&bytes)
    else {
        panic!()
    };
    let ranges: Vec<_> = l.ranges().map(|(a, b)| (a.value(), b.value())).collect();
    assert_eq!(ranges, vec![(2116338281, 2116338282)]);
}

#[test]
fn nak_encoding_mixes_singles_and_ranges() {
    let s = SeqNumber::new;
    let mut buf = [0u8; 16];
    let n = LossList::encode([(s(2), s(2)), (s(6), s(11)), (s(14), s(14))], &mut buf).unwrap();
    assert_eq!(&buf[..n], &hex("00000002 80000006 0000000b 0000000e")[..]);
    assert_eq!(LossList::encode([(s(1), s(9))], &mut [0u8; 4]), None);
}

#[test]
fn malformed_input_is_a_typed_error() {
    assert_eq!(
        Packet::parse(&[0x80; 15]),
        Err(DecodeError::Truncated { len: 15 })
    );
    assert_eq!(Packet::parse(&[0; 16]), Err(DecodeError::EmptyData));
    let short_hs = hex("80000000 00000000 00000000 00000000 00000004");
    assert!(matches!(
        Packet::parse(&short_hs),
        Err(DecodeError::BodyLength {
            kind: "handshake",
            len: 4,
            ..
        })
    ));
    let ack20 =
        hex("80020000 00000001 00000000 00000001 00000001 00000002 00000003 00000004 00000005");
    assert!(matches!(
        Packet::parse(&ack20),
        Err(DecodeError::BodyLength { kind: "ACK", .. })
    ));
    let open_range = hex("80030000 00000000 00000000 00000001 80000005");
    assert_eq!(
        Packet::parse(&open_range),
        Err(DecodeError::BadLossList {
            offset: 16,
            reason: "the last word starts a range that has no end"
        })
    );
    let double_range = hex("80030000 00000000 00000000 00000001 80000005 80000007");
    assert!(matches!(
        Packet::parse(&double_range),
        Err(DecodeError::BadLossList { offset: 20, .. })
    ));
    let odd_keepalive = hex("80010000 00000000 00000000 00000001 0000");
    assert!(Packet::parse(&odd_keepalive).is_err());
}

#[test]
fn unknown_control_types_survive() {
    let bytes = hex("80090003 0000002a 00000000 00000001 01020304");
    let p = roundtrip(&bytes);
    assert!(matches!(
        p,
        Packet::Control(ControlPacket {
            control: Control::Unknown {
                kind: 9,
                extended: 3,
                info: 42,
                ..
            },
            ..
        })
    ));
}

#[test]
fn emit_reports_a_short_buffer() {
    let p = Packet::Control(ControlPacket {
        timestamp: 0,
        dest: 1,
        control: Control::KeepAlive,
    });
    assert_eq!(
        p.emit(&mut [0u8; 19]),
        Err(EmitError {
            needed: 20,
            available: 19
        })
    );
    let mut buf = [0xffu8; 20];
    assert_eq!(p.emit(&mut buf), Ok(20));
    assert_eq!(
        &buf[..],
        &hex("80010000 00000000 00000000 00000001 00000000")[..]
    );
}

fn seq() -> impl Strategy<Value = SeqNumber> {
    (0..=SeqNumber::MAX).prop_map(SeqNumber::new)
}

fn boundary() -> impl Strategy<Value = Boundary> {
    prop_oneof![
        Just(Boundary::Middle),
        Just(Boundary::First),
        Just(Boundary::Last),
        Just(Boundary::Solo)
    ]
}

fn handshake() -> impl Strategy<Value = Handshake> {
    (
        any::<u32>(),
        any::<u32>().prop_map(SocketType::from_wire),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<i32>().prop_map(ReqType::from_wire),
        any::<u32>(),
        any::<u32>(),
        any::<[u8; 16]>().prop_map(PeerIp),
    )
        .prop_map(
            |(
                version,
                socket_type,
                isn,
                mss,
                flight_flag_size,
                req_type,
                socket_id,
                cookie,
                peer_ip,
            )| {
                Handshake {
                    version,
                    socket_type,
                    isn,
                    mss,
                    flight_flag_size,
                    req_type,
                    socket_id,
                    cookie,
                    peer_ip,
                }
            },
        )
}

fn ack() -> impl Strategy<Value = Ack> {
    let rates = proptest::option::of((any::<u32>(), any::<u32>()).prop_map(|(a, l)| AckRates {
        arrival_rate: a,
        link_capacity: l,
    }));
    let info = proptest::option::of((any::<u32>(), any::<u32>(), any::<u32>(), rates).prop_map(
        |(rtt, rtt_var, avail_buffer, rates)| AckInfo {
            rtt,
            rtt_var,
            avail_buffer,
            rates,
        },
    ));
    ((0..=AckNumber::MAX).prop_map(AckNumber::new), seq(), info).prop_map(
        |(ack_number, seq, full)| Ack {
            ack_number,
            seq,
            full,
        },
    )
}

/// Emits an arbitrary packet description and checks that it parses back unchanged;
/// borrowed bodies live in the strategy's vectors.
fn check_roundtrip(p: Packet<'_>) -> Result<(), TestCaseError> {
    let mut buf = vec![0u8; p.buffer_len()];
    let n = p
        .emit(&mut buf)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(n, buf.len());
    prop_assert_eq!(Packet::parse(&buf), Ok(p));
    Ok(())
}

proptest! {
    #[test]
    fn data_roundtrip(s in seq(), b in boundary(), o in any::<bool>(), m in 0..=MsgNumber::MAX,
                      ts in any::<u32>(), dest in any::<u32>(),
                      payload in proptest::collection::vec(any::<u8>(), 1..1500)) {
        check_roundtrip(Packet::Data(DataPacket {
            seq: s, boundary: b, in_order: o, msg: MsgNumber::new(m), timestamp: ts, dest,
            payload: &payload,
        }))?;
    }

    #[test]
    fn handshake_roundtrip(h in handshake(), ts in any::<u32>(), dest in any::<u32>()) {
        check_roundtrip(Packet::Control(ControlPacket { timestamp: ts, dest, control: Control::Handshake(h) }))?;
    }

    #[test]
    fn ack_roundtrip(a in ack(), dest in any::<u32>()) {
        check_roundtrip(Packet::Control(ControlPacket { timestamp: 0, dest, control: Control::Ack(a) }))?;
    }

    #[test]
    fn nak_roundtrip(ranges in proptest::collection::vec((seq(), 0u32..1000), 1..20), dest in any::<u32>()) {
        let ranges: Vec<_> = ranges.into_iter().map(|(s, n)| (s, s.add(n))).collect();
        let mut body = vec![0u8; ranges.len() * 8];
        let n = LossList::encode(ranges.iter().copied(), &mut body).unwrap();
        let list = LossList::parse(&body[..n]).unwrap();
        prop_assert_eq!(list.ranges().collect::<Vec<_>>(), ranges);
        check_roundtrip(Packet::Control(ControlPacket { timestamp: 0, dest, control: Control::Nak(list) }))?;
    }

    #[test]
    fn simple_controls_roundtrip(which in 0..6u8, info in any::<u32>(), dest in any::<u32>(),
                                 first in seq(), last in seq()) {
        let control = match which {
            0 => Control::KeepAlive,
            1 => Control::CongestionWarning,
            2 => Control::Shutdown,
            3 => Control::Ack2(AckNumber::new(info)),
            4 => Control::Error { code: info },
            _ => Control::DropRequest(DropRequest { msg: MsgNumber::new(info), first, last }),
        };
        check_roundtrip(Packet::Control(ControlPacket { timestamp: 0, dest, control }))?;
    }

    #[test]
    fn user_and_unknown_roundtrip(kind in 9u16..0x7FFF, ext in any::<u16>(), info in any::<u32>(),
                                  words in proptest::collection::vec(any::<[u8; 4]>(), 0..8), user in any::<bool>()) {
        let body: Vec<u8> = words.concat();
        let control = if user {
            Control::UserDefined { subtype: ext, info, body: &body }
        } else {
            Control::Unknown { kind, extended: ext, info, body: &body }
        };
        check_roundtrip(Packet::Control(ControlPacket { timestamp: 0, dest: 3, control }))?;
    }

    /// Any bytes at all: a typed result, never a panic; and whatever parses
    /// re-encodes to a packet that parses the same.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        if let Ok(p) = Packet::parse(&bytes) {
            check_roundtrip(p)?;
        }
    }
}

// Tests for what mutation testing (cargo-mutants, see CONTRIBUTING.md) found unchecked.

/// Every request type has its own wire value, and reads back as itself.
#[test]
fn request_types_on_the_wire() {
    let all = [
        (ReqType::Request, 1),
        (ReqType::Rendezvous, 0),
        (ReqType::Response, -1),
        (ReqType::RendezvousConnected, -2),
        (ReqType::Rejected, 1002),
        (ReqType::Other(7), 7),
    ];
    for (r, v) in all {
        assert_eq!(r.to_wire(), v, "{r:?}");
        assert_eq!(ReqType::from_wire(v), r, "{v}");
    }
}

/// Frame 4 of `cs_clean_transfer.pcap`: the listener's response, reqtype -1
/// (ffffffff) on the wire.
#[test]
fn response_from_the_reference() {
    let bytes = hex("80000000 00000000 00000000 2da4bc9c
                     00000004 00000001 39eb280d 000005dc 00002000 ffffffff 2861fb84 d8d6d392
                     0100007f 00000000 00000000 00000000");
    let Packet::Control(c) = roundtrip(&bytes) else {
        panic!("not control")
    };
    let Control::Handshake(h) = c.control else {
        panic!("not a handshake")
    };
    assert_eq!(h.req_type, ReqType::Response);
    assert_eq!(h.socket_id, 0x2861_fb84);
    let mut rdv = h;
    rdv.req_type = ReqType::RendezvousConnected;
    let p = Packet::Control(ControlPacket {
        timestamp: 0,
        dest: c.dest,
        control: Control::Handshake(rdv),
    });
    let mut out = vec![0u8; p.buffer_len()];
    p.emit(&mut out).unwrap();
    assert_eq!(out[36..40], [0xff, 0xff, 0xff, 0xfe], "reqtype -2");
}

/// A peer address prints as its 16 bytes in hex, as UDT4 stores them.
#[test]
fn peer_ip_debug_is_its_bytes_in_hex() {
    let ip = PeerIp::from_addr("127.0.0.1".parse().unwrap());
    assert_eq!(format!("{ip:?}"), "0100007f000000000000000000000000");
}

/// A NAK body must be a non-zero multiple of 4 bytes: neither empty nor ragged.
#[test]
fn nak_bodies_of_the_wrong_length_are_refused() {
    assert!(LossList::parse(&[]).is_err());
    assert!(LossList::parse(&[0, 0, 0, 1, 0]).is_err());
    assert!(LossList::parse(&[0, 0, 0, 1, 0, 0]).is_err());
    assert!(LossList::parse(&[0, 0, 0, 1]).is_ok());
}

/// A loss-list error names the offset of the offending word in the packet, here the
/// third word of the body.
#[test]
fn a_bad_loss_list_word_is_located() {
    let bad = hex("80030000 00000000 00000000 00000001 00000003 80000005 80000007");
    assert_eq!(
        Packet::parse(&bad),
        Err(DecodeError::BadLossList {
            offset: 24,
            reason: "a range's end word has the range bit set"
        })
    );
}

/// A NAK body reads back as its bytes and prints as its ranges.
#[test]
fn a_loss_list_keeps_its_bytes_and_prints_its_ranges() {
    let body = hex("00000005 80000007 00000009");
    let l = LossList::parse(&body).unwrap();
    assert_eq!(l.as_bytes(), &body[..]);
    assert_eq!(format!("{l:?}"), "[5..=5, 7..=9]");
}

/// `Packet::dest` is the destination socket id of either kind of packet.
#[test]
fn dest_of_data_and_control() {
    let data = hex("00000005 e0000001 00000000 2861fb84 41");
    assert_eq!(Packet::parse(&data).unwrap().dest(), 0x2861_fb84);
    let keepalive = hex("80010000 00000000 00000000 2da4bc9c");
    assert_eq!(Packet::parse(&keepalive).unwrap().dest(), 0x2da4_bc9c);
}

/// The trace names of control packets: a light ACK is told from a full one.
#[test]
fn control_names() {
    let name = |h: &str| match Packet::parse(&hex(h)).unwrap() {
        Packet::Control(c) => c.control.name(),
        Packet::Data(_) => panic!("not control"),
    };
    assert_eq!(name("80010000 00000000 00000000 00000001"), "keepalive");
    assert_eq!(name("80050000 00000000 00000000 00000001"), "shutdown");
    assert_eq!(
        name("80020000 00000000 00000000 00000001 00000010"),
        "ack-light"
    );
    assert_eq!(
        name("80020000 00000001 00000000 00000001 00000010 00000001 00000002 00000003"),
        "ack"
    );
    assert_eq!(name("80060000 00000001 00000000 00000001"), "ack2");
    assert_eq!(name("80030000 00000000 00000000 00000001 00000005"), "nak");
}
