//! Bad input: typed errors or skipped frames, never a panic; the CLI exits 2.

mod common;

use std::process::Command;

use common::frames::{framed, ipv4_udp, pcap_le, Frame};
use common::{reference_file, scratch_dir};
use conformance::capture::{read_bytes, CaptureError, Format};
use proptest::prelude::*;

#[test]
fn empty_file() {
    let err = read_bytes(&[]).unwrap_err();
    assert!(matches!(err, CaptureError::NotACapture { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "not a pcap or pcapng file: the file is empty"
    );
}

#[test]
fn random_bytes() {
    // A fixed "random" text: not a capture.
    let bytes: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let err = read_bytes(&bytes).unwrap_err();
    assert!(matches!(err, CaptureError::NotACapture { .. }), "{err}");
    assert!(err.to_string().contains("magic number"), "{err}");
}

#[test]
fn truncated_pcap() {
    let whole = std::fs::read(reference_file("cs_idle_keepalive", ".pcap")).unwrap();
    // In the middle of the file header.
    let err = read_bytes(&whole[..10]).unwrap_err();
    match &err {
        CaptureError::Truncated {
            format: Format::Pcap,
            what,
            offset: 0,
            file_len: 10,
        } => assert_eq!(what, "file header"),
        other => panic!("{other}"),
    }
    // In the middle of frame 2's record: frame 1 is 24 + 16 + 106 bytes in.
    let cut = 24 + 16 + 106 + 30;
    let err = read_bytes(&whole[..cut]).unwrap_err();
    match &err {
        CaptureError::Truncated {
            format: Format::Pcap,
            what,
            offset: 146,
            ..
        } => assert_eq!(what, "record of frame 2"),
        other => panic!("{other}"),
    }
    assert!(err.to_string().starts_with("truncated pcap file"), "{err}");
}

#[test]
fn truncated_pcapng() {
    let err = read_bytes(&[0x0A, 0x0D, 0x0D, 0x0A, 0, 0, 0]).unwrap_err();
    assert!(
        matches!(
            err,
            CaptureError::Truncated {
                format: Format::PcapNg,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn unsupported_link_type() {
    // 105 = IEEE 802.11.
    let bytes = pcap_le(105, &[Frame::new(vec![0; 40], 0)]);
    let err = read_bytes(&bytes).unwrap_err();
    assert!(
        matches!(err, CaptureError::UnsupportedLinkType { linktype: 105 }),
        "{err}"
    );
}

#[test]
fn non_udp_packet_is_skipped() {
    let eth = [0u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00];
    let mut icmp = ipv4_udp(b"ping");
    icmp[9] = 1;
    let bytes = pcap_le(
        1,
        &[
            Frame::new(framed(&eth, &icmp), 0),
            Frame::new(framed(&eth, &ipv4_udp(b"pong")), 1),
        ],
    );
    let c = read_bytes(&bytes).unwrap();
    assert_eq!(c.frames, 2);
    assert_eq!(c.skipped.len(), 1);
    assert_eq!(c.skipped[0].frame, 1);
    assert_eq!(c.datagrams.len(), 1);
    assert_eq!(c.datagrams[0].payload, b"pong");
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = read_bytes(&bytes);
    }

    #[test]
    fn arbitrary_pcap_records_never_panic(
        linktype in prop_oneof![Just(0u32), Just(1), Just(101), Just(108), Just(113), Just(228), Just(229), Just(276)],
        tail in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        let mut bytes = pcap_le(linktype, &[]);
        bytes.extend_from_slice(&tail);
        if let Ok(c) = read_bytes(&bytes) {
            for d in &c.datagrams {
                let _ = conformance::decode::format_datagram(d, 0);
            }
        }
    }

    #[test]
    fn arbitrary_frames_never_panic(
        linktype in prop_oneof![Just(0u32), Just(1), Just(101), Just(108), Just(113), Just(228), Just(229), Just(276)],
        frame in proptest::collection::vec(any::<u8>(), 0..200),
        prefix in prop_oneof![Just(vec![]), Just(vec![0x45]), Just(vec![0x60]), Just(vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00, 0x45]), Just(vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x86, 0xDD, 0x60])],
    ) {
        let data = framed(&prefix, &frame);
        let bytes = pcap_le(linktype, &[Frame::new(data, 0)]);
        let c = read_bytes(&bytes).expect("a well-formed container");
        prop_assert_eq!(c.frames, 1);
        for d in &c.datagrams {
            let _ = conformance::decode::format_datagram(d, 0);
        }
    }

    #[test]
    fn arbitrary_pcapng_blocks_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut w = pcap_file::pcapng::PcapNgWriter::new(Vec::new()).unwrap();
        w.write_pcapng_block(pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock::new(pcap_file::DataLink::RAW, 65535)).unwrap();
        let mut bytes = w.into_inner();
        bytes.extend_from_slice(&tail);
        let _ = read_bytes(&bytes);
    }

    #[test]
    fn corrupted_reference_capture_never_panics(
        edits in proptest::collection::vec((0usize..2698, any::<u8>()), 1..8),
        cut in 0usize..2698,
    ) {
        let mut bytes = std::fs::read(reference_file("cs_idle_keepalive", ".pcap")).unwrap();
        for (at, v) in edits {
            bytes[at] = v;
        }
        bytes.truncate(cut.max(1));
        if let Ok(c) = read_bytes(&bytes) {
            for d in &c.datagrams {
                let _ = conformance::decode::format_datagram(d, 0);
            }
        }
    }
}

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(args)
        .output()
        .expect("run the conformance binary")
}

#[test]
fn cli_exits_2_on_bad_input() {
    let dir = scratch_dir("cli_exits_2_on_bad_input");
    let not_pcap = dir.join("not.pcap");
    std::fs::write(&not_pcap, b"this is not a capture file at all").unwrap();
    let whole = std::fs::read(reference_file("cs_idle_keepalive", ".pcap")).unwrap();
    let truncated = dir.join("truncated.pcap");
    std::fs::write(&truncated, &whole[..200]).unwrap();
    let empty = dir.join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    let missing = dir.join("missing.pcap");
    for (path, message) in [
        (&not_pcap, "not a pcap or pcapng file"),
        (&truncated, "truncated pcap file"),
        (&empty, "the file is empty"),
        (&missing, "cannot read"),
    ] {
        let out = cli(&["decode", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", path.display());
        assert!(stderr.contains(message), "{}: {stderr}", path.display());
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
    // Bad arguments are clap's usage errors, also exit 2.
    assert_eq!(cli(&["decode"]).status.code(), Some(2));
    assert_eq!(cli(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn cli_decodes_with_port_filter() {
    let file = reference_file("rendezvous", ".pcap");
    let out = cli(&["decode", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 37);
    assert!(stdout.lines().next().unwrap().contains("handshake"));
    let out = cli(&["decode", file.to_str().unwrap(), "--port", "9999"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
}
