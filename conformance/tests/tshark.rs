//! Wireshark's UDT dissector reads what `CaptureWriter` writes: a realistic UDT4
//! exchange built with `udt::packet`, over IPv4 and over IPv6, decodes frame by frame
//! with no malformed packet and no bad checksum. Skipped (with a note) when `tshark`
//! is not on PATH.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use common::scratch_dir;
use conformance::capture::CaptureWriter;
use udt::packet::{
    Ack, AckInfo, AckRates, Boundary, Control, ControlPacket, DataPacket, Handshake, LossList,
    Packet, PeerIp, ReqType, SocketType,
};
use udt::seq::{AckNumber, MsgNumber, SeqNumber};

const CLIENT_ID: u32 = 0x1234_5678;
const SERVER_ID: u32 = 0x0abc_def0;
const ISN: u32 = 1_000_000;
const COOKIE: u32 = 0xdead_beef;

fn control(dest: u32, control: Control<'_>) -> Packet<'_> {
    Packet::Control(ControlPacket {
        timestamp: 0,
        dest,
        control,
    })
}

fn handshake(req_type: ReqType, socket_id: u32, cookie: u32, peer: SocketAddr) -> Handshake {
    Handshake {
        version: 4,
        socket_type: SocketType::Stream,
        isn: ISN,
        mss: 1500,
        flight_flag_size: 8192,
        req_type,
        socket_id,
        cookie,
        peer_ip: PeerIp::from_addr(peer.ip()),
    }
}

fn data<'a>(
    seq: u32,
    msg: u32,
    boundary: Boundary,
    timestamp: u32,
    payload: &'a [u8],
) -> Packet<'a> {
    Packet::Data(DataPacket {
        seq: SeqNumber::new(ISN + seq),
        boundary,
        in_order: false,
        msg: MsgNumber::new(msg),
        timestamp,
        dest: SERVER_ID,
        payload,
    })
}

fn full_ack(number: u32, seq: u32, rates: bool) -> Control<'static> {
    Control::Ack(Ack {
        ack_number: AckNumber::new(number),
        seq: SeqNumber::new(ISN + seq),
        full: Some(AckInfo {
            rtt: 10_000,
            rtt_var: 2_500,
            avail_buffer: 8000,
            rates: rates.then_some(AckRates {
                arrival_rate: 5000,
                link_capacity: 20_000,
            }),
        }),
    })
}

/// Writes the exchange and returns the number of packets written.
fn write_exchange(path: &Path, client: SocketAddr, server: SocketAddr) -> usize {
    let payload = vec![0x5Au8; 1456];
    let nak_words = {
        let mut buf = [0u8; 16];
        let n = LossList::encode(
            [
                (SeqNumber::new(ISN + 1), SeqNumber::new(ISN + 1)),
                (SeqNumber::new(ISN + 3), SeqNumber::new(ISN + 4)),
            ],
            &mut buf,
        )
        .expect("16 bytes hold three words");
        buf[..n].to_vec()
    };
    let nak = LossList::parse(&nak_words).expect("a valid loss list");
    let c2s = true;
    let s2c = false;
    let packets: Vec<(bool, Packet<'_>)> = vec![
        (
            c2s,
            control(
                0,
                Control::Handshake(handshake(ReqType::Request, CLIENT_ID, 0, server)),
            ),
        ),
        (
            s2c,
            control(
                CLIENT_ID,
                Control::Handshake(handshake(ReqType::Request, CLIENT_ID, COOKIE, client)),
            ),
        ),
        (
            c2s,
            control(
                0,
                Control::Handshake(handshake(ReqType::Response, CLIENT_ID, COOKIE, server)),
            ),
        ),
        (
            s2c,
            control(
                CLIENT_ID,
                Control::Handshake(handshake(ReqType::Response, SERVER_ID, COOKIE, client)),
            ),
        ),
        (c2s, data(0, 1, Boundary::First, 100, &payload)),
        (c2s, data(1, 1, Boundary::Middle, 110, &payload)),
        (c2s, data(2, 1, Boundary::Middle, 120, &payload)),
        (c2s, data(3, 1, Boundary::Middle, 130, &payload)),
        (c2s, data(4, 1, Boundary::Last, 140, &payload[..100])),
        (c2s, data(5, 2, Boundary::Solo, 150, b"solo message")),
        (s2c, control(CLIENT_ID, Control::Nak(nak))),
        (c2s, data(1, 1, Boundary::Middle, 300, &payload)),
        (c2s, data(3, 1, Boundary::Middle, 310, &payload)),
        (c2s, data(4, 1, Boundary::Last, 320, &payload[..100])),
        (s2c, control(CLIENT_ID, full_ack(1, 6, true))),
        (c2s, control(SERVER_ID, Control::Ack2(AckNumber::new(1)))),
        (c2s, data(6, 3, Boundary::Solo, 400, b"more")),
        (
            s2c,
            control(
                CLIENT_ID,
                Control::Ack(Ack {
                    ack_number: AckNumber::new(0),
                    seq: SeqNumber::new(ISN + 7),
                    full: None,
                }),
            ),
        ),
        (s2c, control(CLIENT_ID, full_ack(2, 7, false))),
        (c2s, control(SERVER_ID, Control::Ack2(AckNumber::new(2)))),
        (c2s, control(SERVER_ID, Control::KeepAlive)),
        (s2c, control(CLIENT_ID, Control::KeepAlive)),
        (c2s, control(SERVER_ID, Control::Shutdown)),
    ];
    let file = std::fs::File::create(path).expect("create capture");
    let mut w = CaptureWriter::new(std::io::BufWriter::new(file)).expect("header");
    let mut buf = vec![0u8; 2048];
    for (i, (from_client, packet)) in packets.iter().enumerate() {
        let n = packet.emit(&mut buf).expect("buffer is large enough");
        let (src, dst) = if *from_client {
            (client, server)
        } else {
            (server, client)
        };
        let t = 1_700_000_000_000_000_000 + i as u64 * 250_000;
        w.write_udp(t, src, dst, &buf[..n]).expect("write");
    }
    use std::io::Write;
    w.into_inner().flush().expect("flush");
    packets.len()
}

/// Runs tshark over `path` and checks every frame.
fn check_with_tshark(path: &Path, packets: usize) {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args([
            "-o",
            "udp.check_checksum:TRUE",
            "-o",
            "ip.check_checksum:TRUE",
        ])
        .args(["-T", "fields", "-E", "separator=|", "-E", "occurrence=a"])
        .args([
            "-e",
            "frame.number",
            "-e",
            "frame.protocols",
            "-e",
            "udt.iscontrol",
        ])
        .args([
            "-e",
            "udt.type",
            "-e",
            "_ws.malformed",
            "-e",
            "ip.checksum.status",
        ])
        .args(["-e", "udp.checksum.status", "-e", "_ws.expert.group"])
        .output()
        .expect("run tshark");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Vec<&str>> = stdout.lines().map(|l| l.split('|').collect()).collect();
    assert_eq!(rows.len(), packets, "{stdout}");
    for row in &rows {
        let line = row.join("|");
        assert_eq!(row.len(), 8, "{line}");
        assert!(
            row[1].contains(":udp:udt"),
            "frame not decoded as UDT: {line}"
        );
        assert!(!row[2].is_empty(), "no UDT header: {line}");
        assert!(row[4].is_empty(), "malformed: {line}");
        // Checksum status 1 = good (2 would be unverified, 0 bad).
        if !row[5].is_empty() {
            assert_eq!(row[5], "1", "IPv4 header checksum: {line}");
        }
        assert_eq!(row[6], "1", "UDP checksum: {line}");
        // Expert info groups: 0x01000000 = checksum, 0x07000000 = malformed.
        for group in row[7].split(',').filter(|g| !g.is_empty()) {
            assert!(
                group != "0x01000000"
                    && group != "0x07000000"
                    && group != "16777216"
                    && group != "117440512",
                "expert warning: {line}"
            );
        }
    }
    let types: Vec<&str> = rows.iter().map(|r| r[3]).collect();
    // Handshakes, NAK, ACK, ACK2, keep-alive and shutdown are all recognised.
    for t in [
        "0x00000000",
        "0x00000003",
        "0x00000002",
        "0x00000006",
        "0x00000001",
        "0x00000005",
    ] {
        assert!(types.contains(&t), "no control type {t} in {types:?}");
    }
}

#[test]
fn tshark_decodes_written_exchanges() {
    if !common::tshark_or_skip() {
        return;
    }
    let dir = scratch_dir("tshark_decodes_written_exchanges");
    for (name, client, server) in [
        ("v4.pcap", "10.0.0.1:40000", "10.0.1.1:9000"),
        ("v6.pcap", "[2001:db8::1]:40000", "[2001:db8:1::1]:9000"),
    ] {
        let path = dir.join(name);
        let n = write_exchange(&path, client.parse().unwrap(), server.parse().unwrap());
        check_with_tshark(&path, n);
    }
}

/// The check above would notice a bad checksum: corrupt one UDP checksum and tshark
/// reports that frame's status as bad (0).
#[test]
fn tshark_notices_a_corrupted_udp_checksum() {
    if !common::tshark_or_skip() {
        return;
    }
    let dir = scratch_dir("tshark_notices_a_corrupted_udp_checksum");
    let path = dir.join("bad.pcap");
    let client: SocketAddr = "10.0.0.1:40000".parse().unwrap();
    let server: SocketAddr = "10.0.1.1:9000".parse().unwrap();
    write_exchange(&path, client, server);
    let mut bytes = std::fs::read(&path).unwrap();
    // Frame 1 starts after the 24-byte file header and a 16-byte record header; its
    // UDP checksum sits at IPv4 (20) + 6.
    let at = 24 + 16 + 20 + 6;
    bytes[at] ^= 0xFF;
    std::fs::write(&path, &bytes).unwrap();
    let out = Command::new("tshark")
        .arg("-r")
        .arg(&path)
        .args(["-o", "udp.check_checksum:TRUE", "-T", "fields"])
        .args(["-e", "udp.checksum.status"])
        .output()
        .expect("run tshark");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let statuses: Vec<&str> = stdout.lines().collect();
    assert_eq!(statuses.first(), Some(&"0"), "{stdout}");
    assert!(statuses[1..].iter().all(|s| *s == "1"), "{stdout}");
}
