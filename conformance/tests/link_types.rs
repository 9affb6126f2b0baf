//! The reader on every supported link type and container variant.

mod common;

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use common::frames::*;
use conformance::capture::ip::IpError;
use conformance::capture::{read_bytes, Capture, Format, SkipReason};
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::simple_packet::SimplePacketBlock;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::{DataLink, Endianness, TsResolution};

fn v4_pair() -> (SocketAddr, SocketAddr) {
    (
        SocketAddr::new(IpAddr::V4(V4_SRC), 1111),
        SocketAddr::new(IpAddr::V4(V4_DST), 2222),
    )
}

fn v6_pair() -> (SocketAddr, SocketAddr) {
    (
        SocketAddr::new(IpAddr::V6(V6_SRC), 3333),
        SocketAddr::new(IpAddr::V6(V6_DST), 4444),
    )
}

/// Reads `bytes` and checks it holds exactly the expected datagrams, in order.
fn expect(bytes: &[u8], want: &[((SocketAddr, SocketAddr), &[u8])]) -> Capture {
    let c = read_bytes(bytes).expect("capture reads");
    assert!(c.skipped.is_empty(), "skipped: {:?}", c.skipped);
    assert_eq!(c.datagrams.len(), want.len());
    for (d, ((src, dst), payload)) in c.datagrams.iter().zip(want) {
        assert_eq!((d.src, d.dst), (*src, *dst), "frame {}", d.frame);
        assert_eq!(d.payload, *payload, "frame {}", d.frame);
    }
    c
}

#[test]
fn ethernet_with_padding_and_vlan_tags() {
    let eth = |ethertype: &[u8]| {
        let mut h = vec![0u8; 12];
        h.extend_from_slice(ethertype);
        h
    };
    // A 1-byte payload makes a 43-byte frame, which Ethernet pads to 60.
    let mut short = framed(&eth(&[0x08, 0x00]), &ipv4_udp(b"x"));
    short.resize(60, 0);
    let dot1q = framed(
        &eth(&[0x81, 0x00, 0x00, 0x64, 0x08, 0x00]),
        &ipv4_udp(b"vlan"),
    );
    let qinq = framed(
        &eth(&[0x88, 0xA8, 0x00, 0x01, 0x81, 0x00, 0x00, 0x02, 0x86, 0xDD]),
        &ipv6_udp(b"qinq"),
    );
    let bytes = pcap_le(
        1,
        &[
            Frame::new(short, 0),
            Frame::new(dot1q, 1_000),
            Frame::new(qinq, 2_000),
        ],
    );
    let c = expect(
        &bytes,
        &[
            (v4_pair(), b"x"),
            (v4_pair(), b"vlan"),
            (v6_pair(), b"qinq"),
        ],
    );
    assert_eq!(c.format, Format::Pcap);
    assert_eq!(c.datagrams[2].time_ns, 2_000);
}

#[test]
fn raw_ip_link_types() {
    let frames = [
        Frame::new(ipv4_udp(b"four"), 0),
        Frame::new(ipv6_udp(b"six"), 0),
    ];
    expect(
        &pcap_le(101, &frames),
        &[(v4_pair(), b"four"), (v6_pair(), b"six")],
    );
    expect(
        &pcap_le(228, &[Frame::new(ipv4_udp(b"v4 only"), 0)]),
        &[(v4_pair(), b"v4 only")],
    );
    expect(
        &pcap_le(229, &[Frame::new(ipv6_udp(b"v6 only"), 0)]),
        &[(v6_pair(), b"v6 only")],
    );
    // LINKTYPE_IPV4 with an IPv6 packet is an error for that frame only.
    let c = read_bytes(&pcap_le(228, &[Frame::new(ipv6_udp(b"?"), 0)])).unwrap();
    assert!(matches!(
        c.skipped[0].reason,
        SkipReason::Ip(IpError::Version { found: 6, .. })
    ));
}

#[test]
fn linux_cooked_v1_and_v2() {
    let mut sll = vec![0, 0, 0x03, 0x04, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0];
    sll.extend_from_slice(&[0x08, 0x00]);
    let mut sll6 = sll.clone();
    sll6[14..16].copy_from_slice(&[0x86, 0xDD]);
    expect(
        &pcap_le(
            113,
            &[
                Frame::new(framed(&sll, &ipv4_udp(b"sll")), 0),
                Frame::new(framed(&sll6, &ipv6_udp(b"sll6")), 0),
            ],
        ),
        &[(v4_pair(), b"sll"), (v6_pair(), b"sll6")],
    );
    let mut sll2 = vec![0x86, 0xDD, 0, 0, 0, 0, 0, 1, 0x03, 0x04, 0, 6];
    sll2.extend_from_slice(&[0; 8]);
    expect(
        &pcap_le(276, &[Frame::new(framed(&sll2, &ipv6_udp(b"sll2")), 0)]),
        &[(v6_pair(), b"sll2")],
    );
}

#[test]
fn bsd_null_and_loop() {
    expect(
        &pcap_le(
            0,
            &[
                // Little-endian host, AF_INET.
                Frame::new(framed(&[2, 0, 0, 0], &ipv4_udp(b"le")), 0),
                // Big-endian host, AF_INET.
                Frame::new(framed(&[0, 0, 0, 2], &ipv4_udp(b"be")), 0),
                // macOS AF_INET6 = 30.
                Frame::new(framed(&[30, 0, 0, 0], &ipv6_udp(b"darwin6")), 0),
            ],
        ),
        &[
            (v4_pair(), b"le"),
            (v4_pair(), b"be"),
            (v6_pair(), b"darwin6"),
        ],
    );
    expect(
        &pcap_le(
            108,
            &[
                Frame::new(framed(&[0, 0, 0, 2], &ipv4_udp(b"loop")), 0),
                Frame::new(framed(&[0, 0, 0, 24], &ipv6_udp(b"loop6")), 0),
            ],
        ),
        &[(v4_pair(), b"loop"), (v6_pair(), b"loop6")],
    );
}

#[test]
fn big_endian_and_nanosecond_pcaps() {
    let t = 1_700_000_000_123_456_789;
    for (endianness, resolution, want) in [
        (Endianness::Big, TsResolution::MicroSecond, t - 789),
        (Endianness::Big, TsResolution::NanoSecond, t),
        (Endianness::Little, TsResolution::NanoSecond, t),
    ] {
        let bytes = pcap(
            101,
            endianness,
            resolution,
            &[Frame::new(ipv4_udp(b"t"), t)],
        );
        let c = expect(&bytes, &[(v4_pair(), b"t")]);
        assert_eq!(
            c.datagrams[0].time_ns, want,
            "{endianness:?} {resolution:?}"
        );
        assert_eq!(c.first_time_ns, Some(want));
    }
}

#[test]
fn pcapng_interfaces_and_timestamp_resolutions() {
    let mut w = PcapNgWriter::new(Vec::new()).unwrap();
    // Interface 0: Ethernet, default resolution (µs).
    w.write_pcapng_block(InterfaceDescriptionBlock::new(DataLink::ETHERNET, 65535))
        .unwrap();
    // Interface 1: raw IP, ns resolution (if_tsresol = 9).
    let mut raw = InterfaceDescriptionBlock::new(DataLink::RAW, 65535);
    raw.options.push(InterfaceDescriptionOption::IfTsResol(9));
    w.write_pcapng_block(raw).unwrap();
    let eth = framed(
        &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00],
        &ipv4_udp(b"ng0"),
    );
    let six = ipv6_udp(b"ng1");
    // pcap-file writes the block's timestamp field as the raw unit count.
    let epb = |interface_id, units, data: &[u8]| EnhancedPacketBlock {
        interface_id,
        timestamp: Duration::from_nanos(units),
        original_len: data.len() as u32,
        data: Cow::Owned(data.to_vec()),
        options: vec![],
    };
    w.write_pcapng_block(epb(0, 1_500_000, &eth)).unwrap();
    w.write_pcapng_block(epb(1, 2_000_000_007, &six)).unwrap();
    w.write_pcapng_block(SimplePacketBlock {
        original_len: eth.len() as u32,
        data: Cow::Owned(eth.clone()),
    })
    .unwrap();
    let bytes = w.into_inner();
    let c = expect(
        &bytes,
        &[
            (v4_pair(), b"ng0"),
            (v6_pair(), b"ng1"),
            (v4_pair(), b"ng0"),
        ],
    );
    assert_eq!(c.format, Format::PcapNg);
    assert_eq!(c.datagrams[0].time_ns, 1_500_000_000);
    assert_eq!(c.datagrams[1].time_ns, 2_000_000_007);
    assert_eq!(
        c.datagrams.iter().map(|d| d.frame).collect::<Vec<_>>(),
        [1, 2, 3]
    );
}

#[test]
fn snaplen_cut_frames_are_flagged() {
    let full = ipv4_udp(&[7; 1000]);
    let cut = Frame {
        data: full[..100].to_vec(),
        orig_len: full.len() as u32,
        time_ns: 0,
    };
    let c = read_bytes(&pcap_le(101, &[cut, Frame::new(full.clone(), 1)])).unwrap();
    assert_eq!(c.datagrams.len(), 2);
    let (a, b) = (&c.datagrams[0], &c.datagrams[1]);
    assert!(a.truncated && !b.truncated);
    assert_eq!(a.payload.len(), 100 - 28);
    assert_eq!(a.wire_payload_len(), 1000);
    assert_eq!(b.payload.len(), 1000);
}

#[test]
fn non_udp_frames_are_skipped_with_a_reason() {
    let arp = framed(&[0; 12], &[0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1]);
    let tcp = framed(
        &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00],
        &ipv4_other(6),
    );
    let udp = framed(
        &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00],
        &ipv4_udp(b"u"),
    );
    let mut later_fragment = ipv4_udp(b"frag");
    later_fragment[6..8].copy_from_slice(&0x0010u16.to_be_bytes());
    let frag = framed(
        &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00],
        &later_fragment,
    );
    let c = read_bytes(&pcap_le(
        1,
        &[
            Frame::new(arp, 0),
            Frame::new(tcp, 0),
            Frame::new(udp, 0),
            Frame::new(frag, 0),
            Frame::new(vec![0; 5], 0),
        ],
    ))
    .unwrap();
    assert_eq!(c.frames, 5);
    assert_eq!(c.datagrams.len(), 1);
    assert_eq!(c.datagrams[0].frame, 3);
    let reasons: Vec<(u64, String)> = c
        .skipped
        .iter()
        .map(|s| (s.frame, s.reason.to_string()))
        .collect();
    assert_eq!(
        reasons,
        [
            (1, "not IP: ethertype 0x0806".to_string()),
            (2, "IP protocol 6 is not UDP".to_string()),
            (4, "non-first IP fragment (offset 128 bytes)".to_string()),
            (
                5,
                "Ethernet header truncated: needs 14 bytes, 5 captured".to_string()
            ),
        ]
    );
}
