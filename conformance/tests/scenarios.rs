//! The simulator's captures pass `check`: every scenario in `scenarios/` is run with
//! the netsim library (shortened), and every capture it writes is checked. The small
//! deterministic ones have their decoded packets pinned as insta snapshots, and where
//! tshark is installed its UDT dissector must agree with our decoder on every packet.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::scratch_dir;
use common::sim::{run_scenario, scenario_names};
use conformance::capture::read_file;
use conformance::check::{check_capture, output, CheckOptions};
use conformance::decode::decode_capture;
use udt::packet::{Control, Packet};

/// Simulated time per scenario: enough for handshakes, slow start, losses and
/// (for the small transfers) shutdown.
const MAX_NS: u64 = 3_000_000_000;

/// Check ids that fail on a scenario's captures because of a known defect of the
/// core (none today). A fix makes the assertion below fail: then empty the entry.
fn known_failures(_scenario: &str) -> Vec<&'static str> {
    Vec::new()
}

fn checked(name: &str, pcap: &Path) -> Vec<&'static str> {
    let capture = read_file(pcap).unwrap_or_else(|e| panic!("{}: {e}", pcap.display()));
    let report = check_capture(&capture, &CheckOptions::default())
        .unwrap_or_else(|e| panic!("{name} {}: {e}", pcap.display()));
    let failed = report.failed_ids(false);
    if !failed.is_empty() {
        eprintln!(
            "{name} {}:\n{}",
            pcap.display(),
            output::text(&report, false)
        );
    }
    failed
}

#[test]
fn every_scenario_capture_passes_check() {
    let names = scenario_names();
    assert!(names.len() >= 9, "scenarios: {names:?}");
    for name in names {
        let dir = scratch_dir(&format!("scenario_check/{name}"));
        let pcaps = run_scenario(&name, MAX_NS, Some(4000), &dir);
        let mut failed: Vec<&'static str> = pcaps.iter().flat_map(|p| checked(&name, p)).collect();
        failed.sort_unstable();
        failed.dedup();
        assert_eq!(failed, known_failures(&name), "{name}");
    }
}

/// A scenario's captures, decoded (first `n` packets of each).
fn decoded(name: &str, max_packets: u64) -> String {
    let dir = scratch_dir(&format!("scenario_snap/{name}"));
    let pcaps = run_scenario(name, MAX_NS, Some(max_packets), &dir);
    let mut out = String::new();
    for p in pcaps {
        let capture = read_file(&p).expect("capture");
        out.push_str(&format!(
            "== {}\n",
            p.file_name().unwrap_or_default().to_string_lossy()
        ));
        for line in decode_capture(&capture, None) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn cs_handshake_packets_are_pinned() {
    insta::assert_snapshot!("sim_cs_handshake", decoded("cs_handshake", 120));
}

#[test]
fn rendezvous_packets_are_pinned() {
    insta::assert_snapshot!("sim_rendezvous", decoded("rendezvous", 120));
}

#[test]
fn lossy_transfer_packets_are_pinned() {
    // lossy_wan's client capture over its first 250 packets: handshake, slow start,
    // the first losses, NAKs and retransmissions.
    insta::assert_snapshot!("sim_lossy_wan", decoded("lossy_wan", 250));
}

// ---------------------------------------------------------------------------
// Wireshark cross-check
// ---------------------------------------------------------------------------

/// What our decoder says about one frame, in tshark's field format: is_control,
/// type, seqno, ack sub-sequence, acknowledged seqno.
fn ours(payload: &[u8]) -> [String; 5] {
    let hex = |v: u32| format!("0x{v:08x}");
    match Packet::parse(payload).expect("decodes") {
        Packet::Data(d) => [
            "0".into(),
            String::new(),
            d.seq.value().to_string(),
            String::new(),
            String::new(),
        ],
        Packet::Control(c) => {
            let (kind, _) = c.control.kind();
            let (ackno, ack_seq) = match &c.control {
                Control::Ack(a) => (a.ack_number.value().to_string(), a.seq.value().to_string()),
                Control::Ack2(n) => (n.value().to_string(), String::new()),
                _ => (String::new(), String::new()),
            };
            [
                "1".into(),
                hex(u32::from(kind)),
                String::new(),
                ackno,
                ack_seq,
            ]
        }
    }
}

fn tshark_agrees(pcap: &Path) {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args(["-T", "fields", "-E", "separator=|", "-E", "occurrence=f"])
        .args(["-e", "frame.number", "-e", "frame.protocols"])
        .args(["-e", "udt.iscontrol", "-e", "udt.type", "-e", "udt.seqno"])
        .args([
            "-e",
            "udt.ackno",
            "-e",
            "udt.ack_seqno",
            "-e",
            "_ws.malformed",
        ])
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let capture = read_file(pcap).expect("capture");
    let rows: Vec<Vec<&str>> = stdout.lines().map(|l| l.split('|').collect()).collect();
    assert_eq!(rows.len(), capture.datagrams.len(), "{}", pcap.display());
    for (row, d) in rows.iter().zip(&capture.datagrams) {
        let line = row.join("|");
        let what = format!("{} frame {}: {line}", pcap.display(), d.frame);
        assert_eq!(row.len(), 8, "{what}");
        assert_eq!(row[0], d.frame.to_string(), "{what}");
        assert!(
            row[1].ends_with(":udp:udt") || row[1].contains(":udp:udt:"),
            "not UDT: {what}"
        );
        assert!(row[7].is_empty(), "malformed: {what}");
        let o = ours(&d.payload);
        let theirs = [row[2], row[3], row[4], row[5], row[6]];
        // tshark prints iscontrol as 0/1 or False/True depending on the version.
        let is_ctrl = match theirs[0] {
            "True" | "1" => "1",
            "False" | "0" => "0",
            other => other,
        };
        assert_eq!(is_ctrl, o[0], "iscontrol: {what}");
        if o[0] == "1" {
            assert_eq!(theirs[1], o[1], "type: {what}");
            assert_eq!(theirs[3], o[3], "ACK number: {what}");
            assert_eq!(theirs[4], o[4], "ACK'd sequence number: {what}");
        } else {
            assert_eq!(theirs[2], o[2], "seqno: {what}");
        }
    }
}

#[test]
fn tshark_decodes_simulator_captures_like_we_do() {
    if !common::tshark_or_skip() {
        return;
    }
    let mut pcaps: Vec<PathBuf> = Vec::new();
    for name in ["cs_handshake", "rendezvous", "lossy_wan", "rendezvous_nat"] {
        let dir = scratch_dir(&format!("scenario_tshark/{name}"));
        pcaps.extend(run_scenario(name, MAX_NS, Some(1500), &dir));
    }
    for p in &pcaps {
        tshark_agrees(p);
    }
}
