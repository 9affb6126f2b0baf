//! `conformance check` on the reference captures (golden: they pass) and on broken
//! copies of them, each edited to break one rule, which must fail exactly that check.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use common::edit::{
    ack2s, control, delay_from, edit32, find, full_acks, get32, handshakes, hs,
    insert_after_previous, is_data, keepalives, put32, reference, remove_all, write, BODY, DEST,
    WORD0, WORD1,
};
use common::{conformance, reference_file, scratch_dir, REFERENCE};
use conformance::capture::{read_bytes, read_file, CaptureWriter, Datagram};
use conformance::check::{check_capture, CheckOptions, Report, Status, CHECKS};
use udt::packet::Control;

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
        ("cs_late_listener", &[]),
        ("cs_silent_peer_data", &[]),
        ("cs_silent_peer_idle", &[]),
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

/// A broken capture and what its check must say: the ids that fail and the ids that
/// only warn, over all connections.
struct Broken {
    name: &'static str,
    path: PathBuf,
    fails: &'static [&'static str],
    warns: &'static [&'static str],
}

/// The broken captures: reference packets edited (with `common::edit`) to break one
/// rule each. Most start from `cs_clean_transfer`, which passes every check with no
/// warning; `hs_rdv_cookie` starts from `rendezvous` and keeps its known ACK-3
/// warning (the id-table race). The timing ones start from the capture that shows what
/// the rule talks about, and some only bend it: those must warn, not fail.
fn broken_captures(dir: &Path) -> Vec<Broken> {
    let clean = reference("cs_clean_transfer");
    let mut out = Vec::new();
    let mut add = |name, v: &[Datagram], fails, warns| {
        out.push(Broken {
            name,
            path: write(dir, name, v),
            fails,
            warns,
        })
    };
    let hss = handshakes(&clean); // client request, cookie reply, second request, response
    let acks = full_acks(&clean);
    let data = find(&clean, is_data);

    // PKT-1: a server ACK cut to 2 bytes of body, after the first ACK: it does not
    // decode.
    let mut v = clean.clone();
    let mut bad = v[acks[0]].clone();
    bad.payload.truncate(18);
    insert_after_previous(&mut v, acks[0] + 1, bad);
    add("undecodable_packet", &v, &["PKT-1"], &[]);

    // HS-CS-1: the first request carries a cookie.
    let mut v = clean.clone();
    edit32(&mut v, hss[0], hs::COOKIE, |_| 0x1234_5678);
    add("hs_first_request_with_cookie", &v, &["HS-CS-1"], &[]);

    // HS-CS-2: the cookie reply does not echo the request: it halves the flow
    // window. (Addressing it to another socket id would split the connection in
    // two, since connections are rebuilt by socket ids.)
    let mut v = clean.clone();
    edit32(&mut v, hss[1], hs::WINDOW, |w| w / 2);
    add("hs_cookie_reply_changes_window", &v, &["HS-CS-2"], &[]);

    // HS-CS-3: the second request carries another cookie (and the listener, wrongly
    // accepting it, echoes that one).
    let mut v = clean.clone();
    for i in [hss[2], hss[3]] {
        edit32(&mut v, i, hs::COOKIE, |k| k ^ 0x0101_0101);
    }
    add("bad_cookie_echo", &v, &["HS-CS-3"], &[]);

    // HS-CS-4: the response raises the MSS above the client's 1500.
    let mut v = clean.clone();
    edit32(&mut v, hss[3], hs::MSS, |_| 1600);
    add("hs_response_raises_mss", &v, &["HS-CS-4"], &[]);

    // HS-VER-1: all four handshakes say version 5 and the listener accepts: a
    // failure (and a warning for each request that carries it).
    let mut v = clean.clone();
    for &i in &hss {
        edit32(&mut v, i, hs::VERSION, |_| 5);
    }
    add("hs_version_5_accepted", &v, &["HS-VER-1"], &[]);

    // HS-ISN-1: every handshake names ISN + 1, but the data starts at the old ISN.
    let mut v = clean.clone();
    for &i in &hss {
        edit32(&mut v, i, hs::ISN, |isn| isn + 1);
    }
    add("hs_data_before_isn", &v, &["HS-ISN-1"], &[]);

    // HS-MSS-1: every handshake negotiates an MSS of 1000, but the data packets
    // stay 1472 bytes long.
    let mut v = clean.clone();
    for &i in &hss {
        edit32(&mut v, i, hs::MSS, |_| 1000);
    }
    add("hs_data_over_mss", &v, &["HS-MSS-1"], &[]);

    // HS-RDV-1: a rendezvous request (reqtype 0) with a cookie.
    let mut v = reference("rendezvous");
    let first = handshakes(&v)[0];
    edit32(&mut v, first, hs::COOKIE, |_| 0x1234_5678);
    add("hs_rendezvous_cookie", &v, &["HS-RDV-1"], &["ACK-3"]);

    // DATA-1: the first data packet goes out before the response.
    let mut v = clean.clone();
    let mut d = v.remove(data[0]);
    d.time_ns = v[hss[3]].time_ns - 1_000;
    v.insert(hss[3], d);
    add("data_before_handshake", &v, &["DATA-1"], &[]);

    // DATA-2: the last data packet jumps 100 numbers ahead, nobody reports the
    // skipped ones, and the capture goes on for more than a second after it (the
    // final ACK, ACK2 and shutdown moved 1.5 s later), so capture loss cannot
    // explain it. (The 1.5 s of silence is also a late keep-alive, KA-1; a warning
    // since the capture misses packets.)
    let mut v = clean.clone();
    let last = *data.last().expect("data");
    edit32(&mut v, last, WORD0, |seq| seq + 100);
    for d in &mut v[last + 1..] {
        d.time_ns += 1_500_000_000;
    }
    add("data_sequence_jump", &v, &["DATA-2"], &["KA-1"]);

    // RTX-1: a copy of an early data packet, 1 ms after a later one, with no NAK and
    // no silence before it.
    let mut v = clean.clone();
    let (orig, later) = (data[2], data[20]);
    let mut copy = v[orig].clone();
    copy.time_ns = v[later].time_ns + 1_000;
    v.insert(later + 1, copy);
    add("unrequested_retransmission", &v, &["RTX-1"], &[]);

    // ACK-1: the last ACK goes back below the one before it.
    let mut v = clean.clone();
    let (prev, last) = (acks[acks.len() - 2], acks[acks.len() - 1]);
    let below = get32(&v[prev].payload, BODY) - 1;
    edit32(&mut v, last, BODY, |_| below);
    add("ack_goes_back", &v, &["ACK-1"], &[]);

    // ACK-2: the last ACK acknowledges 5 packets never sent.
    let mut v = clean.clone();
    edit32(&mut v, *acks.last().expect("ACK"), BODY, |seq| seq + 5);
    add("ack_beyond_sent", &v, &["ACK-2"], &[]);

    // ACK-3: the first ACK2 is removed.
    let mut v = clean.clone();
    v.remove(ack2s(&clean)[0]);
    add("missing_ack2", &v, &["ACK-3"], &[]);

    // ACK-4: an ACK2 with sub-sequence 0 (light ACKs are never answered).
    let mut v = clean.clone();
    let a2 = ack2s(&clean)[0];
    let mut zero = v[a2].clone();
    put32(&mut zero.payload, WORD1, 0);
    insert_after_previous(&mut v, a2 + 1, zero);
    add("ack2_for_light_ack", &v, &["ACK-4"], &[]);

    // ACK-4: a light ACK (4-byte body, sub-sequence 0) four data packets after the
    // first full ACK, where UDT4 sends one per 64 packets.
    let mut v = clean.clone();
    let after = data
        .iter()
        .copied()
        .find(|&i| i > acks[0] + 4)
        .expect("data");
    let mut light = v[acks[0]].clone();
    light.payload.truncate(20);
    put32(&mut light.payload, WORD1, 0);
    put32(
        &mut light.payload,
        BODY,
        get32(&v[after].payload, WORD0) + 1,
    );
    insert_after_previous(&mut v, after + 1, light);
    add("light_ack_too_soon", &v, &["ACK-4"], &[]);

    // NAK-1: a NAK (an ACK2-sized packet from the server) for a number never sent.
    let mut v = clean.clone();
    let i = data[0] + 3;
    let mut nak = v[ack2s(&clean)[0]].clone();
    let ack = &v[acks[0]];
    nak.src = ack.src;
    nak.dst = ack.dst;
    put32(&mut nak.payload, WORD0, 0x8003_0000);
    put32(&mut nak.payload, WORD1, 0);
    put32(&mut nak.payload, DEST, get32(&ack.payload, DEST));
    put32(&mut nak.payload, BODY, get32(&v[i].payload, WORD0) + 1000);
    insert_after_previous(&mut v, i + 1, nak);
    add("nak_beyond_sent", &v, &["NAK-1"], &[]);

    // MSG-1: the second message renumbered 3, every later one shifted by one.
    let mut v = clean.clone();
    for &i in &data {
        let w1 = get32(&v[i].payload, WORD1);
        if w1 & 0x1FFF_FFFF == 2 {
            put32(&mut v[i].payload, WORD1, (w1 & !0x1FFF_FFFF) | 3);
        } else if w1 & 0x1FFF_FFFF >= 3 {
            put32(&mut v[i].payload, WORD1, w1 + 1);
        }
    }
    add("message_gap", &v, &["MSG-1"], &[]);

    // SHUT-1: the shutdown moved before the client's last ACK2.
    let mut v = clean.clone();
    let s = find(&v, |d| matches!(control(d), Some(Control::Shutdown)))[0];
    let a = *ack2s(&v).last().expect("ACK2");
    let mut shut = v.remove(s);
    shut.time_ns = v[a].time_ns - 1_000;
    v.insert(a, shut);
    add("after_shutdown", &v, &["SHUT-1"], &[]);
    timing_captures(&mut add);
    out
}

/// A 16n data packet that does not end a message, first sent.
fn pair_first(d: &Datagram) -> bool {
    let w1 = get32(&d.payload, WORD1);
    is_data(d) && get32(&d.payload, WORD0) & 0xF == 0 && w1 & 0x4000_0000 == 0
}

/// The broken captures of the timing checks, each a real capture with its timing bent.
fn timing_captures(
    add: &mut impl FnMut(&'static str, &[Datagram], &'static [&'static str], &'static [&'static str]),
) {
    const MS: u64 = 1_000_000;

    // HS-RTX-1: the client's requests to a listener that starts late go every 100 ms.
    let late = reference("cs_late_listener");
    let hss = handshakes(&late);
    let client = late[hss[0]].src;
    let requests: Vec<usize> = hss
        .into_iter()
        .take_while(|&i| late[i].src == client)
        .collect();
    assert_eq!(
        requests.len(),
        9,
        "cs_late_listener: the first request and 8 retries"
    );
    let mut v = late.clone();
    let t0 = v[requests[0]].time_ns;
    for (k, &i) in requests.iter().enumerate() {
        v[i].time_ns = t0 + k as u64 * 100 * MS;
    }
    add("hs_retry_too_soon", &v, &["HS-RTX-1"], &[]);
    // A 150 ms pause before the 5th retry: 400 ms, late but not a missed period.
    let mut v = late.clone();
    delay_from(&mut v, requests[5], 150 * MS);
    add("hs_retry_late", &v, &[], &["HS-RTX-1"]);
    // The 4th retry 245 ms after the 3rd: early by less than a wake-up.
    let mut v = late.clone();
    v[requests[4]].time_ns = v[requests[3]].time_ns + 245 * MS;
    add("hs_retry_early", &v, &[], &["HS-RTX-1"]);

    // ACK-5: two full ACKs (sub-sequence 64 and 65) of a paced stretch of data go, with
    // their ACK2s, and the later ones are renumbered: no skip shows a capture loss.
    let paced = reference("lossy_transfer_5mib_snap256");
    let acks: Vec<usize> = find(&paced, |d| {
        matches!(control(d), Some(Control::Ack(a)) if a.full.is_some())
            || matches!(control(d), Some(Control::Ack2(_)))
    });
    let mut v = paced.clone();
    let gone: Vec<usize> = acks
        .iter()
        .copied()
        .filter(|&i| matches!(get32(&v[i].payload, WORD1), 64 | 65))
        .collect();
    assert_eq!(gone.len(), 4, "two full ACKs and their ACK2s");
    for &i in &acks {
        edit32(&mut v, i, WORD1, |n| if n > 65 { n - 2 } else { n });
    }
    remove_all(&mut v, &gone);
    add("full_ack_late", &v, &["ACK-5"], &["ACK-3"]);

    // ACK-6: no light ACKs (the receiver waits for its full ACK timer).
    let light = |d: &Datagram| matches!(control(d), Some(Control::Ack(a)) if a.full.is_none());
    let mut v = reference("sendfile_recvfile");
    v.retain(|d| !light(d));
    add("no_light_acks", &v, &["ACK-6"], &["ACK-3"]);

    // NAK-2: no NAKs (the receiver leaves losses to the sender's expiry); the
    // retransmissions then answer no NAK either.
    let lossy = reference("lossy_transfer");
    let nak = |d: &Datagram| matches!(control(d), Some(Control::Nak(_)));
    let mut v = lossy.clone();
    v.retain(|d| !nak(d));
    add("no_naks", &v, &["NAK-2"], &["ACK-3", "RTX-1"]);
    // Only the first NAK missing: the receiver reports the other gaps at once, so that
    // NAK was lost before the capture point.
    let mut v = lossy.clone();
    v.remove(find(&lossy, nak)[0]);
    add("first_nak_missing", &v, &[], &["ACK-3", "NAK-2", "RTX-1"]);

    // PAIR-1: 2 ms between the packets of every pair.
    let clean = reference("cs_clean_transfer");
    let firsts = find(&clean, pair_first);
    let mut v = clean.clone();
    for &i in &firsts {
        delay_from(&mut v, i + 1, 2 * MS);
    }
    add("no_packet_pairs", &v, &["PAIR-1"], &[]);
    let mut v = clean.clone();
    delay_from(&mut v, firsts[0] + 1, 2 * MS);
    add("one_pair_late", &v, &[], &["PAIR-1"]);

    // KA-1: the idle sides send keep-alives 1 s after each other's (every 2 s each).
    let idle = reference("cs_idle_keepalive");
    let kas = keepalives(&idle);
    let mut v = idle.clone();
    let base = v[kas[0] - 1].time_ns;
    for (k, &i) in kas.iter().enumerate() {
        let at = base + (k as u64 + 1) * 1000 * MS;
        let pause = at - v[i].time_ns;
        delay_from(&mut v, i, pause);
    }
    add("keepalive_every_second", &v, &["KA-1"], &[]);
    // A keep-alive 50 ms after the peer's: no EXP period passed.
    let mut v = idle.clone();
    let mut early = v[kas[3]].clone();
    early.time_ns = v[kas[2]].time_ns + 50 * MS;
    v.insert(kas[2] + 1, early);
    add("keepalive_too_soon", &v, &["KA-1"], &[]);
    // One keep-alive 150 ms late (462 ms after the peer's): a loaded host.
    let mut v = idle.clone();
    delay_from(&mut v, kas[3], 150 * MS);
    add("keepalive_late", &v, &[], &["KA-1"]);

    // EXP-1: the client re-sends its unacknowledged packet every 600 ms to the stopped
    // listener, with no backoff; the shutdown of the break stays 5 s after the last.
    let data = reference("cs_silent_peer_data");
    let sent = find(&data, is_data);
    let mut v = data.clone();
    for (k, &i) in sent.iter().enumerate() {
        v[i].time_ns = v[sent[0]].time_ns + k as u64 * 600 * MS;
    }
    let last = *sent.last().expect("data");
    v[last + 1].time_ns = v[last].time_ns + 5000 * MS;
    add("exp_no_backoff", &v, &["EXP-1"], &[]);

    // EXP-2: two more keep-alives after the 16th unanswered one, backing off still:
    // the client never breaks.
    let mut v = reference("cs_silent_peer_idle");
    let kas = keepalives(&v);
    let last = *kas.last().expect("keep-alives");
    for extra in [5300, 10_900] {
        let mut ka = v[last].clone();
        ka.time_ns += extra * MS;
        v.insert(last + 1 + usize::from(extra > 5300), ka);
    }
    let shut = last + 3;
    v[shut].time_ns = v[shut - 1].time_ns + 1000 * MS;
    add("exp_never_breaks", &v, &["EXP-2"], &[]);
}

/// The ids with status `status`, over all connections, sorted and deduplicated.
fn ids_with(report: &Report, status: Status) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = report
        .conns
        .iter()
        .flat_map(|c| c.results.iter())
        .filter(|r| r.status() == status)
        .map(|r| r.info.id)
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

#[test]
fn broken_captures_fail_exactly_the_check_they_break() {
    let dir = scratch_dir("broken_captures");
    // The base passes cleanly, written through the same writer.
    let base = write(&dir, "base", &reference("cs_clean_transfer"));
    assert_eq!(not_passing(&check_file(&base)), vec![]);
    for b in broken_captures(&dir) {
        let report = check_file(&b.path);
        assert_eq!(
            ids_with(&report, Status::Fail),
            b.fails,
            "{}: {report:#?}",
            b.name
        );
        assert_eq!(
            ids_with(&report, Status::Warn),
            b.warns,
            "{}: {report:#?}",
            b.name
        );
        let code = u8::from(!b.fails.is_empty());
        assert_eq!(report.exit_code(false), code, "{}", b.name);
    }
}

/// Every check of the table has been seen to fail: some broken capture fails it.
#[test]
fn every_check_fails_on_some_broken_capture() {
    let dir = scratch_dir("broken_captures_all");
    let mut failed: Vec<&str> = broken_captures(&dir)
        .iter()
        .flat_map(|b| ids_with(&check_file(&b.path), Status::Fail))
        .collect();
    failed.sort_unstable();
    failed.dedup();
    let mut all: Vec<&str> = CHECKS.iter().map(|c| c.id).collect();
    all.sort_unstable();
    assert_eq!(failed, all, "checks no broken capture fails");
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
    let report = check_file(&file);
    let na = ids_with(&report, Status::NotApplicable).len();
    let line = format!(
        "{} checks each: {} pass, 0 fail, 0 warn, {na} n/a",
        CHECKS.len(),
        CHECKS.len() - na
    );
    assert!(out.contains(&line), "{out}");
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
    let path = broken_captures(&dir)
        .into_iter()
        .find(|b| b.name == "missing_ack2")
        .expect("missing_ack2")
        .path;
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
    assert_eq!(xml.matches("<testcase ").count(), CHECKS.len(), "{xml}");
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
    assert_eq!(checks.len(), CHECKS.len());
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
