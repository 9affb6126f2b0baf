//! `conformance replay`: one side of a recorded connection against our endpoint, via
//! the library (`replay_capture`) and the command line.

mod common;

use common::sim::run_scenario;
use common::{conformance, reference_file, scratch_dir};
use conformance::capture::read_file;
use conformance::replay::{replay_capture, DiffLine, ReplayOptions, Role};

fn replay(name: &str, role: Role) -> conformance::replay::ReplayReport {
    let capture = read_file(reference_file(name, ".pcap")).expect("capture");
    replay_capture(
        &capture,
        &ReplayOptions {
            role,
            port: None,
            seed: 7,
        },
    )
    .expect("replayable")
}

/// The recorded lines that differ, as text.
fn changed(r: &conformance::replay::ReplayReport) -> Vec<String> {
    r.diff
        .iter()
        .filter_map(|d| match d {
            DiffLine::Same(_) => None,
            DiffLine::Recorded(l) => Some(format!("- {}", l.text)),
            DiffLine::Ours(l) => Some(format!("+ {}", l.text)),
        })
        .collect()
}

#[test]
fn listener_replays_of_reference_clients_match() {
    // Keep-alive cadence, first ACK and shutdown as the reference listener; the
    // rejections field for field.
    for name in ["cs_idle_keepalive", "rejected_version", "rejected_socktype"] {
        let r = replay(name, Role::Server);
        assert!(r.matches(), "{name}:\n{}", r.diff_text(3));
    }
}

#[test]
fn listener_replay_of_a_transfer_differs_only_in_ack_timing() {
    // The handshake matches; UDT4's ACKs come late (its timers are checked every
    // ~100 ms when idle, §5.1) and its first full ACK is a 24-byte one (§2.2), so
    // only ACK lines differ.
    let r = replay("cs_clean_transfer", Role::Server);
    assert!(matches!(&r.diff[0], DiffLine::Same(l) if l.text.starts_with("handshake req=1")));
    assert!(matches!(&r.diff[1], DiffLine::Same(l) if l.text.starts_with("handshake req=-1")));
    let diff = changed(&r);
    assert!(!diff.is_empty());
    for line in &diff {
        assert!(line[2..].starts_with("ack #"), "{line}\n{}", r.diff_text(2));
    }
}

#[test]
fn client_replay_of_the_idle_reference_differs_by_one_keepalive() {
    // UDT4's client skipped one keep-alive that our EXP timer sends: the recorded
    // client heard the server's keep-alive 4 µs later than ours would (§5.5).
    let r = replay("cs_idle_keepalive", Role::Client);
    assert_eq!(
        changed(&r),
        vec!["+ keepalive dest=<peer>"],
        "{}",
        r.diff_text(2)
    );
}

/// When each line was sent, µs.
fn micros(lines: &[conformance::replay::Line]) -> Vec<u64> {
    lines.iter().map(|l| l.at_us).collect()
}

#[test]
fn simulator_sides_replay_exactly() {
    // The simulator's endpoints are our own core: fed the other side's packets with
    // the recorded timing, a fresh endpoint sends what the recorded one sent
    // (from the client's capture as client, from the server's as server).
    let dir = scratch_dir("replay_sim");
    let pcaps = run_scenario("cs_handshake", 3_000_000_000, None, &dir);
    for (file, role) in [("client.pcap", Role::Client), ("server.pcap", Role::Server)] {
        let path = pcaps.iter().find(|p| p.ends_with(file)).expect("capture");
        let capture = read_file(path).expect("capture");
        let r = replay_capture(
            &capture,
            &ReplayOptions {
                role,
                port: Some(9000),
                seed: 3,
            },
        )
        .expect("replayable");
        assert!(r.ours.len() > 20, "{file}: {}", r.ours.len());
        assert_eq!(
            r.ours.len(),
            r.recorded.len(),
            "{file}:\n{}",
            r.diff_text(3)
        );
        // To the microsecond: the replay keeps the capture clock's microsecond boundaries
        // (our core's clock) and pins the recorded ISN (packet pairs go at seq & 0xF == 0).
        assert_eq!(
            micros(&r.recorded),
            micros(&r.ours),
            "{file}: the same microseconds"
        );
        assert_eq!(r.differences(), 0, "{file}:\n{}", r.diff_text(3));
    }
}

/// A known deviation of the core, found by replay: UDT4 sends its first full ACK with
/// the rate fields (24-byte body, §2.2: "this includes the first ACK of a
/// connection"), while our endpoint sends a 16-byte one when it comes within 10 ms of
/// the connection's start. When the core is fixed, this diff disappears: update the
/// expectation.
#[test]
fn first_full_ack_is_24_bytes_like_udt4() {
    // Once a deviation (the core sent 16 bytes within 10 ms of connecting); the
    // first full ACK now matches the recording, and only later ACK timing differs.
    let r = replay("sendfile_recvfile", Role::Client);
    let diff = changed(&r);
    assert!(
        !diff.iter().any(|l| l.contains("ack #1 ")),
        "{}",
        r.diff_text(2)
    );
}

#[test]
fn cli_replay_exit_codes_and_diff() {
    let idle = reference_file("cs_idle_keepalive", ".pcap");
    let (code, out, err) = conformance(&["replay", idle.to_str().unwrap(), "--role", "server"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("our endpoint sent the same 9 packets"),
        "{out}"
    );

    let clean = reference_file("cs_clean_transfer", ".pcap");
    let (code, out, _) = conformance(&["replay", clean.to_str().unwrap(), "--role", "server"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("differences (- recorded server"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("- ") && l.contains("ack #")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("+ ") && l.contains("ack #")),
        "{out}"
    );

    // Rendezvous has no client/server roles; bad files and arguments exit 2.
    let rdv = reference_file("rendezvous", ".pcap");
    let (code, _, err) = conformance(&["replay", rdv.to_str().unwrap(), "--role", "client"]);
    assert_eq!(code, 2);
    assert!(err.contains("no client/server UDT connection"), "{err}");
    let (code, _, _) = conformance(&["replay", idle.to_str().unwrap(), "--role", "peer"]);
    assert_eq!(code, 2);
    let dir = scratch_dir("replay_bad");
    let empty = dir.join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    let (code, _, err) = conformance(&["replay", empty.to_str().unwrap(), "--role", "server"]);
    assert_eq!(code, 2);
    assert!(err.contains("empty"), "{err}");
}
