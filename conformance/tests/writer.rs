//! `CaptureWriter`: what it writes reads back the same, with valid IP and UDP headers,
//! byte for byte the same on every run.

use std::io::Cursor;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use conformance::capture::ip::{internet_checksum, udp_checksum_ok};
use conformance::capture::{read_bytes, CaptureError, CaptureWriter, Format};
use pcap_file::pcap::PcapReader;
use proptest::prelude::*;

type Record = (u64, SocketAddr, SocketAddr, Vec<u8>);

fn write(records: &[Record]) -> Vec<u8> {
    let mut w = CaptureWriter::new(Vec::new()).expect("header");
    for (t, src, dst, payload) in records {
        w.write_udp(*t, *src, *dst, payload).expect("record");
    }
    w.into_inner()
}

fn check_round_trip(records: &[Record]) {
    let bytes = write(records);
    let capture = read_bytes(&bytes).expect("our own capture reads");
    assert_eq!(capture.format, Format::Pcap);
    assert_eq!(capture.frames, records.len() as u64);
    assert!(capture.skipped.is_empty(), "{:?}", capture.skipped);
    assert_eq!(capture.datagrams.len(), records.len());
    for (i, (d, (t, src, dst, payload))) in capture.datagrams.iter().zip(records).enumerate() {
        assert_eq!(d.frame, i as u64 + 1);
        assert_eq!(d.time_ns, *t);
        assert_eq!(d.src, *src);
        assert_eq!(d.dst, *dst);
        assert_eq!(&d.payload, payload);
        assert_eq!(usize::from(d.udp_len), payload.len() + 8);
        assert!(!d.truncated);
    }
    check_headers(&bytes);
}

/// Every IPv4 header checksum and every UDP checksum in the file verifies.
fn check_headers(bytes: &[u8]) {
    let mut reader = PcapReader::new(Cursor::new(bytes)).expect("pcap");
    assert_eq!(u32::from(reader.header().datalink), 101);
    while let Some(packet) = reader.next_packet() {
        let ip = packet.expect("record").data.into_owned();
        let (src, dst, udp) = match ip[0] >> 4 {
            4 => {
                assert_eq!(internet_checksum(&ip[..20]), 0, "IPv4 header checksum");
                assert_eq!(ip[8], 64, "TTL");
                assert_eq!(ip[6] & 0x40, 0x40, "DF");
                let src = IpAddr::from(<[u8; 4]>::try_from(&ip[12..16]).unwrap());
                let dst = IpAddr::from(<[u8; 4]>::try_from(&ip[16..20]).unwrap());
                (src, dst, &ip[20..])
            }
            6 => {
                assert_eq!(ip[7], 64, "hop limit");
                let src = IpAddr::from(<[u8; 16]>::try_from(&ip[8..24]).unwrap());
                let dst = IpAddr::from(<[u8; 16]>::try_from(&ip[24..40]).unwrap());
                (src, dst, &ip[40..])
            }
            v => panic!("IP version {v}"),
        };
        assert!(udp_checksum_ok(src, dst, udp), "UDP checksum");
        assert_ne!(u16::from_be_bytes([udp[6], udp[7]]), 0, "checksum present");
    }
}

fn v4(a: u8, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, a)), port)
}

fn v6(a: u16, port: u16) -> SocketAddr {
    SocketAddr::new(
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, a)),
        port,
    )
}

#[test]
fn ipv4_round_trip() {
    check_round_trip(&[
        (0, v4(1, 9000), v4(2, 9001), b"hello".to_vec()),
        (1_000, v4(2, 9001), v4(1, 9000), vec![0xAB; 1456]),
        (1_700_000_000_123_456_789, v4(1, 9000), v4(2, 9001), vec![]),
    ]);
}

#[test]
fn ipv6_round_trip() {
    check_round_trip(&[
        (5, v6(1, 7000), v6(2, 7001), b"odd".to_vec()),
        (6, v6(2, 7001), v6(1, 7000), vec![0x55; 65_000]),
    ]);
}

#[test]
fn mixed_v4_and_v6_in_one_file() {
    check_round_trip(&[
        (1, v4(1, 1), v4(2, 2), vec![1]),
        (2, v6(1, 1), v6(2, 2), vec![2, 2]),
        (3, v4(2, 2), v4(1, 1), vec![3, 3, 3]),
    ]);
}

#[test]
fn file_header_and_ip_ids() {
    let bytes = write(&[
        (1, v4(1, 1), v4(2, 2), vec![1]),
        (2, v6(1, 1), v6(2, 2), vec![2]),
        (3, v4(1, 1), v4(2, 2), vec![3]),
    ]);
    // Little-endian, nanosecond magic; version 2.4; link type 101.
    assert_eq!(&bytes[..4], &[0x4D, 0x3C, 0xB2, 0xA1]);
    assert_eq!(&bytes[4..8], &[2, 0, 4, 0]);
    assert_eq!(&bytes[20..24], &101u32.to_le_bytes());
    let mut reader = PcapReader::new(Cursor::new(&bytes)).unwrap();
    let mut ids = Vec::new();
    while let Some(p) = reader.next_packet() {
        let data = p.unwrap().data.into_owned();
        if data[0] >> 4 == 4 {
            ids.push(u16::from_be_bytes([data[4], data[5]]));
        }
    }
    assert_eq!(ids, [0, 1]);
}

#[test]
fn deterministic_bytes() {
    let records = [
        (10, v4(1, 9000), v4(2, 9001), b"abc".to_vec()),
        (20, v6(1, 9000), v6(2, 9001), b"defg".to_vec()),
    ];
    assert_eq!(write(&records), write(&records));
}

#[test]
fn rejects_mixed_families_and_oversized_payloads() {
    let mut w = CaptureWriter::new(Vec::new()).unwrap();
    assert!(matches!(
        w.write_udp(0, v4(1, 1), v6(2, 2), b"x"),
        Err(CaptureError::MixedFamilies { .. })
    ));
    assert!(matches!(
        w.write_udp(0, v4(1, 1), v4(2, 2), &vec![0; 65_508]),
        Err(CaptureError::PayloadTooLarge { max: 65_507, .. })
    ));
    w.write_udp(0, v4(1, 1), v4(2, 2), &vec![0; 65_507])
        .unwrap();
    assert!(matches!(
        w.write_udp(0, v6(1, 1), v6(2, 2), &vec![0; 65_528]),
        Err(CaptureError::PayloadTooLarge { max: 65_527, .. })
    ));
    let bytes = w.into_inner();
    assert_eq!(read_bytes(&bytes).unwrap().datagrams.len(), 1);
}

fn addr_pair() -> impl Strategy<Value = (SocketAddr, SocketAddr)> {
    prop_oneof![
        (
            any::<[u8; 4]>(),
            any::<u16>(),
            any::<[u8; 4]>(),
            any::<u16>()
        )
            .prop_map(|(a, p, b, q)| (
                SocketAddr::new(IpAddr::from(a), p),
                SocketAddr::new(IpAddr::from(b), q)
            )),
        (
            any::<[u8; 16]>(),
            any::<u16>(),
            any::<[u8; 16]>(),
            any::<u16>()
        )
            .prop_map(|(a, p, b, q)| (
                SocketAddr::new(IpAddr::from(a), p),
                SocketAddr::new(IpAddr::from(b), q)
            )),
    ]
}

fn record() -> impl Strategy<Value = Record> {
    (
        0u64..(u64::from(u32::MAX) * 1_000_000_000),
        addr_pair(),
        proptest::collection::vec(any::<u8>(), 0..1600),
    )
        .prop_map(|(t, (s, d), p)| (t, s, d, p))
}

proptest! {
    #[test]
    fn write_then_read_is_identity(records in proptest::collection::vec(record(), 0..12)) {
        check_round_trip(&records);
    }
}
