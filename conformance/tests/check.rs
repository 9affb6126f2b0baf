//! `conformance check` on the reference captures (golden: they pass) and on broken
//! copies of them, each edited to break one rule, which must fail exactly that check.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use common::{conformance, reference_file, scratch_dir, REFERENCE};
use conformance::capture::{read_bytes, read_file, CaptureWriter, Datagram};
use conformance::check::{check_capture, CheckOptions, Report, Status};
use udt::packet::{Control, ControlPacket, Packet};

fn check_file(path: &Path) -> Report {
    let capture = read_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    check_capture(&capture, &CheckOptions::default()).expect("UDT capture")
}

/// The (check id, status) pairs that are not pass or n/a, over all connections.
fn not_passing(report: &Report) -> Vec<(String, &'static str)> {
    let mut v: Vec<(String, &'static str)> = report
        .conns
        .iter()
        .flat_map(|c| c.results.iter())
        .filter(|r| matches!(r.status(), Status::Fail | Status::Warn))
        .map(|r| (r.info.id.to_string(), r.status().as_str()))
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn reference_captures_pass() {
    for name in REFERENCE {
        let report = check_file(&reference_file(name, ".pcap"));
        assert_eq!(report.conns.len(), 1, "{name}: connections");
        assert_eq!(report.failed_ids(false), Vec::<&str>::new(), "{name}");
        assert_eq!(report.exit_code(false), 0, "{name}");
    }
}

/// Warnings on the reference captures are all explained: capture loss in the lossy
/// ones, UDT4's id-table race (the first ACK dropped), the raw script's version 5.
#[test]
fn reference_warnings_are_the_known_ones() {
    let expected: &[(&str, &[&str])] = &[
        ("cs_clean_transfer", &[]),
        ("cs_handshake_transfer", &[]),
        ("cs_idle_keepalive", &[]),
        ("lossy_transfer", &["ACK-3"]),
        ("lossy_transfer_5mib_snap256", &["ACK-3"]),
        ("rejected_socktype", &[]),
        ("rejected_version", &["HS-VER-1"]),
        ("rendezvous", &["ACK-3"]),
        ("sendfile_recvfile", &["ACK-3"]),
    ];
    for (name, warns) in expected {
        let report = check_file(&reference_file(name, ".pcap"));
        let got: Vec<String> = not_passing(&report).into_iter().map(|(id, _)| id).collect();
        assert_eq!(got, *warns, "{name}");
        assert_eq!(
            report.exit_code(true),
            u8::from(!warns.is_empty()),
            "{name}"
        );
    }
}

#[test]
fn reference_checks_that_apply() {
    // The client/server handshake checks apply to a transfer, the rendezvous check
    // to rendezvous; NAK-1 only where there are NAKs.
    let r = check_file(&reference_file("lossy_transfer", ".pcap"));
    let status = |r: &Report, id: &str| {
        r.conns[0]
            .results
            .iter()
            .find(|x| x.info.id == id)
            .expect("check")
            .status()
    };
    for id in ["HS-CS-1", "HS-CS-2", "HS-CS-3", "HS-CS-4", "NAK-1", "RTX-1"] {
        assert_eq!(status(&r, id), Status::Pass, "lossy_transfer {id}");
    }
    assert_eq!(status(&r, "HS-RDV-1"), Status::NotApplicable);
    let r = check_file(&reference_file("rendezvous", ".pcap"));
    assert_eq!(status(&r, "HS-RDV-1"), Status::Pass);
    assert_eq!(
        status(&r, "RTX-1"),
        Status::Pass,
        "retransmissions after expiry"
    );
    assert_eq!(status(&r, "HS-CS-1"), Status::NotApplicable);
}

// ---------------------------------------------------------------------------
// Broken captures: reference packets edited one rule at a time
// ---------------------------------------------------------------------------

/// The datagrams of a reference capture, to be edited.
fn datagrams(name: &str) -> Vec<Datagram> {
    read_file(reference_file(name, ".pcap"))
        .expect("reference capture")
        .datagrams
}

/// Writes datagrams with the project's `CaptureWriter` and checks the result.
fn write(dir: &Path, name: &str, dgs: &[Datagram]) -> PathBuf {
    let path = dir.join(format!("{name}.pcap"));
    let mut w = CaptureWriter::new(Vec::new()).expect("header");
    for d in dgs {
        w.write_udp(d.time_ns, d.src, d.dst, &d.payload)
            .expect("write");
    }
    std::fs::write(&path, w.into_inner()).expect("write capture");
    path
}

fn put32(bytes: &mut [u8], offset: usize, v: u32) {
    bytes[offset..offset + 4].copy_from_slice(&v.to_be_bytes());
}

fn get32(bytes: &[u8], offset: usize) -> u32 {
    u32::from_be_bytes(bytes[offset..offset + 4].try_into().expect("4 bytes"))
}

fn control(d: &Datagram) -> Option<Control<'_>> {
    match Packet::parse(&d.payload).ok()? {
        Packet::Control(ControlPacket { control, .. }) => Some(control),
        Packet::Data(_) => None,
    }
}

fn is_data(d: &Datagram) -> bool {
    matches!(Packet::parse(&d.payload), Ok(Packet::Data(_)))
}

/// One broken capture per rule, built from `cs_clean_transfer` (which passes every
/// check with no warning), and the only check each must fail.
fn broken_captures(dir: &Path) -> Vec<(&'static str, PathBuf, &'static str)> {
    let clean = datagrams("cs_clean_transfer");
    let mut out = Vec::new();

    // Bad cookie echo: the second request carries another cookie (and the listener,
    // wrongly accepting it, echoes that one).
    let mut v = clean.clone();
    for i in [2, 3] {
        let k = get32(&v[i].payload, 44);
        put32(&mut v[i].payload, 44, k ^ 0x0101_0101);
    }
    out.push((
        "bad_cookie_echo",
        write(dir, "bad_cookie_echo", &v),
        "HS-CS-3",
    ));

    // ACK beyond what was sent: the last ACK acknowledges 5 packets never sent.
    let mut v = clean.clone();
    let i = v
        .iter()
        .rposition(|d| matches!(control(d), Some(Control::Ack(_))))
        .expect("an ACK");
    let seq = get32(&v[i].payload, 16);
    put32(&mut v[i].payload, 16, seq + 5);
    out.push((
        "ack_beyond_sent",
        write(dir, "ack_beyond_sent", &v),
        "ACK-2",
    ));

    // Missing ACK2: the first ACK2 is removed.
    let mut v = clean.clone();
    let i = v
        .iter()
        .position(|d| matches!(control(d), Some(Control::Ack2(_))))
        .expect("an ACK2");
    v.remove(i);
    out.push(("missing_ack2", write(dir, "missing_ack2", &v), "ACK-3"));

    // Data before the handshake: the first data packet goes out before the response.
    let mut v = clean.clone();
    let first = v.iter().position(is_data).expect("data");
    let mut d = v.remove(first);
    d.time_ns = v[3].time_ns - 1_000;
    v.insert(3, d);
    out.push((
        "data_before_handshake",
        write(dir, "data_before_handshake", &v),
        "DATA-1",
    ));

    // A retransmission nobody asked for: a copy of an early data packet, 1 ms after
    // a later one, with no NAK and no silence before it.
    let mut v = clean.clone();
    let data: Vec<usize> = (0..v.len()).filter(|&i| is_data(&v[i])).collect();
    let (orig, later) = (data[2], data[20]);
    let mut copy = v[orig].clone();
    copy.time_ns = v[later].time_ns + 1_000;
    v.insert(later + 1, copy);
    out.push((
        "unrequested_retransmission",
        write(dir, "unrequested_retransmission", &v),
        "RTX-1",
    ));

    // NAK beyond what was sent: a NAK for a number the client never sent.
    let mut v = clean.clone();
    let i = v.iter().position(is_data).expect("data") + 3;
    let mut nak = v
        .iter()
        .find(|d| matches!(control(d), Some(Control::Ack2(_))))
        .expect("ACK2")
        .clone();
    // An ACK2 from the client has the right size; turn a server ACK into a NAK instead.
    let ack = v
        .iter()
        .find(|d| matches!(control(d), Some(Control::Ack(_))))
        .expect("ACK");
    nak.src = ack.src;
    nak.dst = ack.dst;
    put32(&mut nak.payload, 0, 0x8003_0000);
    put32(&mut nak.payload, 4, 0);
    put32(&mut nak.payload, 12, get32(&ack.payload, 12));
    put32(&mut nak.payload, 16, get32(&v[i].payload, 0) + 1000);
    nak.time_ns = v[i].time_ns + 1_000;
    v.insert(i + 1, nak);
    out.push((
        "nak_beyond_sent",
        write(dir, "nak_beyond_sent", &v),
        "NAK-1",
    ));

    // Something after shutdown: the shutdown moved before the client's last ACK2.
    let mut v = clean.clone();
    let s = v
        .iter()
        .position(|d| matches!(control(d), Some(Control::Shutdown)))
        .expect("shutdown");
    let a = v
        .iter()
        .rposition(|d| matches!(control(d), Some(Control::Ack2(_))))
        .expect("ACK2");
    let mut shut = v.remove(s);
    shut.time_ns = v[a].time_ns - 1_000;
    v.insert(a, shut);
    out.push(("after_shutdown", write(dir, "after_shutdown", &v), "SHUT-1"));

    // A message number that skips one: the second message renumbered.
    let mut v = clean.clone();
    for d in v.iter_mut().filter(|d| is_data(d)) {
        let w1 = get32(&d.payload, 4);
        if w1 & 0x1FFF_FFFF == 2 {
            put32(&mut d.payload, 4, (w1 & !0x1FFF_FFFF) | 3);
        } else if w1 & 0x1FFF_FFFF >= 3 {
            put32(&mut d.payload, 4, w1 + 1);
        }
    }
    out.push(("message_gap", write(dir, "message_gap", &v), "MSG-1"));
    out
}

#[test]
fn broken_captures_fail_exactly_the_check_they_break() {
    let dir = scratch_dir("broken_captures");
    // The base passes cleanly.
    let base = write(&dir, "base", &datagrams("cs_clean_transfer"));
    assert_eq!(not_passing(&check_file(&base)), vec![]);
    for (name, path, id) in broken_captures(&dir) {
        let report = check_file(&path);
        assert_eq!(report.failed_ids(false), vec![id], "{name}: {report:#?}");
        assert_eq!(report.exit_code(false), 1, "{name}");
    }
}

// ---------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------

#[test]
fn cli_check_passes_a_reference_capture() {
    let file = reference_file("cs_clean_transfer", ".pcap");
    let (code, out, err) = conformance(&["check", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("pass HS-CS-3   the second request echoes the cookie"),
        "{out}"
    );
    assert!(
        out.contains("19 checks each: 17 pass, 0 fail, 0 warn, 2 n/a"),
        "{out}"
    );
}

#[test]
fn cli_check_strict_fails_on_warnings() {
    let file = reference_file("rejected_version", ".pcap");
    let file = file.to_str().unwrap();
    assert_eq!(conformance(&["check", file]).0, 0);
    let (code, out, _) = conformance(&["check", file, "--strict"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("fail HS-VER-1"), "{out}");
}

#[test]
fn cli_check_reports_a_broken_capture_with_junit_and_json() {
    let dir = scratch_dir("cli_broken");
    let (_, path, _) = broken_captures(&dir)
        .into_iter()
        .find(|(n, _, _)| *n == "missing_ack2")
        .expect("missing_ack2");
    let junit = dir.join("out.xml");
    let (code, out, err) = conformance(&[
        "check",
        path.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("fail ACK-3"), "{out}");
    assert!(out.contains("never answered by an ACK2"), "{out}");
    let xml = std::fs::read_to_string(&junit).expect("JUnit written");
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert_eq!(xml.matches("<testcase ").count(), 19, "{xml}");
    assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
    assert!(xml.contains("type=\"ACK-3\""), "{xml}");
    assert!(xml.contains("<skipped "), "{xml}");
    assert!(xml.contains("failures=\"1\""), "{xml}");

    let (code, out, _) = conformance(&["check", path.to_str().unwrap(), "--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["failed"], serde_json::json!(["ACK-3"]));
    assert_eq!(v["passed"], false);
    let checks = v["connections"][0]["checks"].as_array().expect("checks");
    assert_eq!(checks.len(), 19);
    let ack3 = checks.iter().find(|c| c["id"] == "ACK-3").expect("ACK-3");
    assert_eq!(ack3["status"], "fail");
    assert_eq!(ack3["section"], "§2.4, §4.2");
    assert!(!ack3["findings"][0]["frames"].as_array().unwrap().is_empty());
}

#[test]
fn cli_check_port_filter() {
    let file = reference_file("cs_clean_transfer", ".pcap");
    let (code, _, err) = conformance(&["check", file.to_str().unwrap(), "--port", "1"]);
    assert_eq!(code, 2);
    assert!(err.contains("no UDT packets found"), "{err}");
    let (code, _, _) = conformance(&["check", file.to_str().unwrap(), "--port", "9001"]);
    assert_eq!(code, 0);
}

#[test]
fn cli_check_bad_input_exits_2() {
    let dir = scratch_dir("check_bad_input");
    let whole = std::fs::read(reference_file("cs_idle_keepalive", ".pcap")).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "the file is empty"),
        (
            "text",
            b"hello, this is not a capture\n".to_vec(),
            "not a pcap",
        ),
        ("truncated", whole[..whole.len() - 7].to_vec(), "truncated"),
        ("header_only", whole[..10].to_vec(), "truncated"),
    ];
    for (name, bytes, msg) in cases {
        let path = dir.join(format!("{name}.pcap"));
        std::fs::write(&path, bytes).unwrap();
        let (code, out, err) = conformance(&["check", path.to_str().unwrap()]);
        assert_eq!(code, 2, "{name}: {out}{err}");
        assert!(err.contains(msg), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
    // A valid capture with no UDT in it: short UDP datagrams only.
    let a: SocketAddr = "192.0.2.1:53".parse().unwrap();
    let b: SocketAddr = "192.0.2.2:5353".parse().unwrap();
    let mut w = CaptureWriter::new(Vec::new()).unwrap();
    w.write_udp(1_000, a, b, b"dns?").unwrap();
    w.write_udp(2_000, b, a, b"no").unwrap();
    let path = dir.join("not_udt.pcap");
    std::fs::write(&path, w.into_inner()).unwrap();
    let (code, _, err) = conformance(&["check", path.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no UDT packets found (2 UDP datagrams"),
        "{err}"
    );
    // A missing file.
    let (code, _, err) = conformance(&["check", "/nonexistent/x.pcap"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// Arbitrary UDP payloads between two addresses never make the checks panic.
    #[test]
    fn arbitrary_datagrams_never_panic(
        payloads in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80), 1..40)
    ) {
        let a: SocketAddr = "192.0.2.1:9000".parse().unwrap();
        let b: SocketAddr = "192.0.2.2:9001".parse().unwrap();
        let mut w = CaptureWriter::new(Vec::new()).unwrap();
        for (i, p) in payloads.iter().enumerate() {
            let (s, d) = if i % 2 == 0 { (a, b) } else { (b, a) };
            w.write_udp(i as u64 * 1_000_000, s, d, p).unwrap();
        }
        let capture = read_bytes(&w.into_inner()).unwrap();
        if let Ok(report) = check_capture(&capture, &CheckOptions::default()) {
            let _ = conformance::check::output::text(&report, true);
            let _ = conformance::check::output::junit(&report, "x", true);
        }
    }
}
