//! The reference captures from the C++ UDT4 library: every packet decodes, the decode
//! output is pinned as a snapshot, and the decoded fields match tshark's.

mod common;

use common::{reference_file, REFERENCE};
use conformance::capture::{read_file, Capture, Datagram};
use conformance::decode::decode_capture;
use udt::packet::{Control, Packet};

fn load(name: &str) -> Capture {
    read_file(reference_file(name, ".pcap")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_reference_packet_decodes() {
    for name in REFERENCE {
        let capture = load(name);
        assert!(capture.frames > 0, "{name}: no frames");
        assert!(
            capture.skipped.is_empty(),
            "{name}: skipped {:?}",
            capture.skipped
        );
        assert_eq!(capture.datagrams.len() as u64, capture.frames, "{name}");
        for d in &capture.datagrams {
            if let Err(e) = Packet::parse(&d.payload) {
                panic!("{name} frame {}: {e}", d.frame);
            }
        }
        for line in decode_capture(&capture, None) {
            assert!(!line.contains(" error "), "{name}: {line}");
        }
    }
}

#[test]
fn snaplen_cut_data_packets_report_the_wire_length() {
    let capture = load("lossy_transfer_5mib_snap256");
    let cut: Vec<&Datagram> = capture.datagrams.iter().filter(|d| d.truncated).collect();
    assert!(cut.iter().filter(|d| d.udp_len == 1480).count() > 3000);
    for d in &cut {
        assert_eq!(d.payload.len(), 256 - 14 - 20 - 8, "frame {}", d.frame);
        assert!(d.wire_payload_len() > d.payload.len(), "frame {}", d.frame);
    }
    let lines = decode_capture(&capture, None);
    let line = lines
        .iter()
        .find(|l| l.starts_with(&format!("{:>6} ", cut[0].frame)))
        .expect("a line for the first cut frame");
    assert!(line.contains(" len=1456 captured=198"), "{line}");
}

#[test]
fn port_filter() {
    let capture = load("rendezvous");
    assert_eq!(decode_capture(&capture, Some(9100)).len(), 37);
    assert_eq!(decode_capture(&capture, Some(9101)).len(), 37);
    assert_eq!(decode_capture(&capture, Some(9102)).len(), 0);
}

/// Snapshots above this size keep their first lines and a count instead.
const SNAPSHOT_LIMIT: usize = 1_000_000;
const SNAPSHOT_HEAD: usize = 2000;

#[test]
fn decode_snapshots() {
    for name in REFERENCE {
        let lines = decode_capture(&load(name), None);
        let mut text = lines.join("\n");
        if text.len() > SNAPSHOT_LIMIT {
            text = lines[..SNAPSHOT_HEAD].join("\n");
            text.push_str(&format!(
                "\n... {} lines in all, the first {SNAPSHOT_HEAD} shown",
                lines.len()
            ));
        }
        insta::assert_snapshot!(name, text);
    }
}

/// Our decode of one datagram in the column layout of `NAME.summary.txt`, time excepted.
fn summary_row(d: &Datagram) -> Vec<String> {
    let mut row = vec![String::new(); 15];
    row[0] = d.frame.to_string();
    row[2] = d.src.port().to_string();
    row[3] = d.dst.port().to_string();
    row[4] = d.udp_len.to_string();
    let packet = Packet::parse(&d.payload).expect("reference packets decode");
    row[9] = format!("{:#010x}", packet.dest());
    match packet {
        Packet::Data(p) => {
            row[5] = "0".into();
            row[7] = p.seq.value().to_string();
            row[8] = p.msg.value().to_string();
        }
        Packet::Control(c) => {
            row[5] = "1".into();
            row[6] = format!("{:#010x}", c.control.kind().0);
            match c.control {
                Control::Ack(a) => {
                    // tshark: ack_no is the header's ACK sub-sequence number (0 for a
                    // light ACK), ack_seqno the body's first word.
                    row[10] = a.ack_number.value().to_string();
                    row[11] = a.seq.value().to_string();
                }
                Control::Ack2(n) => row[10] = n.value().to_string(),
                Control::Handshake(h) => {
                    row[12] = h.req_type.to_wire().to_string();
                    row[13] = h.isn.to_string();
                    row[14] = format!("{:#010x}", h.cookie);
                }
                _ => {}
            }
        }
    }
    row
}

fn relative_ns(d: &Datagram, base: u64) -> String {
    let ns = d.time_ns - base;
    format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000)
}

#[test]
fn fields_match_tshark_summaries() {
    const COLUMNS: [&str; 15] = [
        "frame",
        "time",
        "srcport",
        "dstport",
        "udp_len",
        "is_ctrl",
        "ctrl_type",
        "seqno",
        "msgno",
        "dst_sockid",
        "ack_no",
        "ack_seqno",
        "hs_reqtype",
        "hs_isn",
        "hs_cookie",
    ];
    for name in REFERENCE {
        let capture = load(name);
        let base = capture.first_time_ns.expect("non-empty");
        let text = std::fs::read_to_string(reference_file(name, ".summary.txt")).unwrap();
        let mut lines = text.lines();
        let header = lines.next().expect("header line");
        assert_eq!(
            header.trim_start_matches("# "),
            COLUMNS.join("\t"),
            "{name}"
        );
        let mut rows = 0;
        for line in lines.filter(|l| !l.is_empty()) {
            let theirs: Vec<&str> = line.split('\t').collect();
            assert_eq!(theirs.len(), 15, "{name}: {line}");
            let frame: u64 = theirs[0].parse().unwrap();
            let d = capture
                .datagrams
                .iter()
                .find(|d| d.frame == frame)
                .unwrap_or_else(|| panic!("{name}: no datagram for frame {frame}"));
            let mut ours = summary_row(d);
            ours[1] = relative_ns(d, base);
            for (i, column) in COLUMNS.iter().enumerate() {
                assert_eq!(
                    ours[i], theirs[i],
                    "{name} frame {frame}: column {column} differs"
                );
            }
            rows += 1;
        }
        assert_eq!(rows as u64, capture.frames, "{name}: one row per frame");
    }
}
