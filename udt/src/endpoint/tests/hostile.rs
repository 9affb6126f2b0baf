//! Hostile peers and resource bounds: floods, forged packets, full backlogs,
//! a receiver that stops reading, many connections on one endpoint.

use super::*;
use crate::packet::{Ack, AckInfo, Control, ControlPacket, LossList, Packet, PeerIp, ReqType};
use crate::seq::AckNumber;

fn handshake(req_type: ReqType, socket_id: u32, cookie: u32) -> Vec<u8> {
    let hs = Handshake {
        version: 4,
        socket_type: SocketType::Stream,
        isn: 12345,
        mss: 1500,
        flight_flag_size: 8192,
        req_type,
        socket_id,
        cookie,
        peer_ip: PeerIp::default(),
    };
    control(0, Control::Handshake(hs))
}

fn control(dest: u32, control: Control<'_>) -> Vec<u8> {
    let p = Packet::Control(ControlPacket {
        timestamp: 0,
        dest,
        control,
    });
    let mut buf = vec![0u8; p.buffer_len()];
    p.emit(&mut buf).unwrap();
    buf
}

#[test]
fn a_flood_of_spoofed_requests_leaves_no_state() {
    let mut p = Pipe::new(2, 20);
    let now = p.now;
    p.endpoints[1]
        .listen(now, SocketOptions::default(), 8)
        .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut buf = [0u8; 1500];
    let mut replies = 0;
    for i in 0..100_000u32 {
        let from = SocketAddr::from(([192, 0, 2, (i % 250) as u8 + 1], 1024 + (i % 60_000) as u16));
        // Second requests with guessed cookies; every tenth a first request.
        let bytes = if i % 10 == 0 {
            handshake(ReqType::Request, i + 1, 0)
        } else {
            handshake(ReqType::Response, i + 1, rng.random())
        };
        p.endpoints[1].handle_datagram(now, from, &bytes);
        if i % 1000 == 999 {
            while p.endpoints[1].poll_transmit(now, &mut buf).is_some() {
                replies += 1;
            }
        }
    }
    assert_eq!(p.endpoints[1].connection_count(), 0);
    assert_eq!(p.endpoints[1].endpoint_stats().bad_cookie, 90_000);
    assert_eq!(
        replies, 10_000,
        "every first request gets its cookie, nothing more"
    );
    assert!(p.endpoints[1].stateless.is_empty());
    // A real client still gets in.
    let now = p.now;
    let c = p.endpoints[0]
        .connect(now, addr(1), SocketOptions::default())
        .unwrap();
    assert!(
        p.run_until(Duration::from_secs(3), |p| p.endpoints[0].state(c)
            == SocketState::Connected)
    );
}

#[test]
fn stateless_replies_are_bounded_when_nobody_drains_them() {
    let mut p = Pipe::new(2, 21);
    let now = p.now;
    p.endpoints[1]
        .listen(now, SocketOptions::default(), 8)
        .unwrap();
    for i in 0..50_000u32 {
        let from = SocketAddr::from(([198, 51, 100, 1], (i % 60_000) as u16 + 1));
        p.endpoints[1].handle_datagram(now, from, &handshake(ReqType::Request, i + 1, 0));
    }
    assert!(p.endpoints[1].stateless.len() <= 1024);
}

#[test]
fn a_full_backlog_is_refused_with_1002_and_frees_up_on_accept() {
    let mut p = Pipe::new(5, 22);
    let now = p.now;
    p.endpoints[0]
        .listen(now, SocketOptions::default(), 2)
        .unwrap();
    let clients: Vec<_> = (1..=3)
        .map(|i| {
            p.endpoints[i]
                .connect(now, addr(0), SocketOptions::default())
                .unwrap()
        })
        .collect();
    assert!(p.run_until(Duration::from_secs(4), |p| {
        (1..=3).all(|i| p.endpoints[i].state(clients[i - 1]) != SocketState::Connecting)
    }));
    let connected = (1..=3)
        .filter(|&i| p.endpoints[i].state(clients[i - 1]) == SocketState::Connected)
        .count();
    assert_eq!(connected, 2);
    assert!(p
        .events
        .iter()
        .any(|(_, _, e)| *e == Event::ConnectFailed(Error::Rejected)));
    assert!(p.endpoints[0].accept().is_some());
    let now = p.now;
    let late = p.endpoints[4]
        .connect(now, addr(0), SocketOptions::default())
        .unwrap();
    assert!(
        p.run_until(Duration::from_secs(3), |p| p.endpoints[4].state(late)
            == SocketState::Connected)
    );
}

/// Ids of a connected pair: (client's own id, server's own id).
fn ids(p: &Pipe, c: ConnectionHandle, s: ConnectionHandle) -> (u32, u32) {
    (
        p.endpoints[0].socket_ids(c).unwrap().0,
        p.endpoints[1].socket_ids(s).unwrap().0,
    )
}

#[test]
fn an_ack_for_data_never_sent_breaks_the_connection() {
    let mut p = Pipe::new(2, 23);
    let (c, s) = p.connected_pair(SocketOptions::default());
    let (cid, _) = ids(&p, c, s);
    // Learn the sequence numbers in use from the first data packet.
    let now = p.now;
    p.endpoints[0].send(now, c, b"x").unwrap();
    let mut buf = [0u8; 1500];
    let t = p.endpoints[0].poll_transmit(now, &mut buf).unwrap();
    let Ok(Packet::Data(d)) = Packet::parse(&buf[..t.len]) else {
        panic!("expected the data packet")
    };
    let forged = control(
        cid,
        Control::Ack(Ack {
            ack_number: AckNumber::new(7),
            seq: d.seq.add(1000),
            full: Some(AckInfo {
                rtt: 1,
                rtt_var: 1,
                avail_buffer: 100,
                rates: None,
            }),
        }),
    );
    // From a stranger: dropped, nothing changes.
    p.endpoints[0].handle_datagram(now, addr(3), &forged);
    assert_eq!(p.endpoints[0].state(c), SocketState::Connected);
    // From the peer's address (a forger on the path): UDT4 treats it as an attack.
    p.endpoints[0].handle_datagram(now, addr(1), &forged);
    assert_eq!(p.endpoints[0].state(c), SocketState::Broken);
}

#[test]
fn naks_for_data_never_sent_break_the_connection_without_growth() {
    let mut p = Pipe::new(2, 24);
    let (c, s) = p.connected_pair(SocketOptions::default());
    let (cid, _) = ids(&p, c, s);
    let now = p.now;
    p.endpoints[0].send(now, c, &[1u8; 10_000]).unwrap();
    p.step();
    // The widest range there is: every sequence number.
    let mut body = [0u8; 8];
    let n = LossList::encode(
        [(SeqNumber::new(0), SeqNumber::new(SeqNumber::MAX))],
        &mut body,
    )
    .unwrap();
    let nak = control(cid, Control::Nak(LossList::parse(&body[..n]).unwrap()));
    let now = p.now;
    p.endpoints[0].handle_datagram(now, addr(1), &nak);
    assert_eq!(p.endpoints[0].state(c), SocketState::Broken);
    let stats = p.endpoints[0].stats(c).unwrap();
    assert!(
        stats.pkt_snd_loss_total < 100,
        "no loss list for data never sent"
    );
}

#[test]
fn a_handshake_in_the_middle_of_a_connection_is_answered_and_harmless() {
    let mut p = Pipe::new(2, 25);
    let (c, s) = p.connected_pair(SocketOptions::default());
    let (cid, sid) = ids(&p, c, s);
    let now = p.now;
    p.endpoints[1].handle_datagram(now, addr(0), &{
        let mut hs = handshake(ReqType::Request, cid, 0);
        hs[12..16].copy_from_slice(&sid.to_be_bytes());
        hs
    });
    let mut buf = [0u8; 1500];
    let t = p.endpoints[1]
        .poll_transmit(now, &mut buf)
        .expect("an answer");
    let Ok(Packet::Control(ControlPacket {
        dest,
        control: Control::Handshake(answer),
        ..
    })) = Packet::parse(&buf[..t.len])
    else {
        panic!("not a handshake")
    };
    assert_eq!(
        (dest, answer.req_type, answer.socket_id, answer.version),
        (cid, ReqType::Response, sid, 0)
    );
    // The transfer goes on.
    let data = pattern(200_000, 1);
    let got = {
        let now = p.now;
        p.endpoints[0].send(now, c, &data).unwrap();
        let mut got = Vec::new();
        let mut b = vec![0u8; 65536];
        p.run_until(Duration::from_secs(10), |p| {
            while let Ok(n @ 1..) = p.endpoints[1].recv(s, &mut b) {
                got.extend_from_slice(&b[..n]);
            }
            got.len() == data.len()
        });
        got
    };
    assert!(got == data);
}

#[test]
fn packets_for_unknown_ids_or_from_strangers_are_dropped() {
    let mut p = Pipe::new(2, 26);
    let (c, s) = p.connected_pair(SocketOptions::default());
    let (cid, _) = ids(&p, c, s);
    let now = p.now;
    let before = p.endpoints[0].endpoint_stats().unroutable;
    p.endpoints[0].handle_datagram(
        now,
        addr(1),
        &control(cid.wrapping_add(1), Control::Shutdown),
    );
    p.endpoints[0].handle_datagram(now, addr(4), &control(cid, Control::Shutdown));
    p.endpoints[0].handle_datagram(now, addr(1), &control(0x8000_0001, Control::Shutdown));
    assert_eq!(p.endpoints[0].endpoint_stats().unroutable, before + 3);
    assert_eq!(p.endpoints[0].state(c), SocketState::Connected);
}

#[test]
fn a_receiver_that_stops_reading_makes_the_sender_wait() {
    let mut p = Pipe::new(2, 27);
    let opts = SocketOptions {
        recv_buffer: 64,
        send_buffer: 128,
        ..Default::default()
    };
    let (c, s) = p.connected_pair(opts);
    let data = pattern(1 << 20, 2);
    let mut sent = 0;
    // Nobody reads: the sender fills its buffer and then is refused.
    p.run_until(Duration::from_secs(5), |p| {
        let now = p.now;
        if let Ok(n) = p.endpoints[0].send(now, c, &data[sent..]) {
            sent += n;
        }
        false
    });
    let now = p.now;
    assert_eq!(
        p.endpoints[0].send(now, c, &data[sent..]),
        Err(Error::WouldBlock)
    );
    assert!(sent <= (64 + 128) * 1456, "sender accepted {sent} bytes");
    assert!(p.endpoints[0].stats(c).unwrap().send_buffer_bytes <= 128 * 1456);
    // Reading resumes: everything arrives.
    let mut got = Vec::new();
    let mut b = vec![0u8; 65536];
    assert!(p.run_until(Duration::from_secs(60), |p| {
        let now = p.now;
        if sent < data.len() {
            if let Ok(n) = p.endpoints[0].send(now, c, &data[sent..]) {
                sent += n;
            }
        }
        while let Ok(n @ 1..) = p.endpoints[1].recv(s, &mut b) {
            got.extend_from_slice(&b[..n]);
        }
        got.len() == data.len()
    }));
    assert!(got == data);
}

#[test]
fn a_thousand_connections_share_one_endpoint() {
    let mut p = Pipe::new(2, 28);
    let now = p.now;
    p.endpoints[1]
        .listen(now, SocketOptions::default(), 1000)
        .unwrap();
    let clients: Vec<_> = (0..1000)
        .map(|_| {
            p.endpoints[0]
                .connect(now, addr(1), SocketOptions::default())
                .unwrap()
        })
        .collect();
    assert!(p.run_until(Duration::from_secs(3), |p| {
        clients
            .iter()
            .all(|&c| p.endpoints[0].state(c) == SocketState::Connected)
    }));
    let servers: Vec<_> = std::iter::from_fn(|| p.endpoints[1].accept()).collect();
    assert_eq!(servers.len(), 1000);
    // Each connection's content says whose it is and where each word belongs:
    // word j of client i is (i << 16) | j, so bytes that cross connections, or move
    // within one, show.
    let content = |i: usize| -> Vec<u8> {
        (0..500u32)
            .flat_map(|j| (((i as u32) << 16) | j).to_be_bytes())
            .collect()
    };
    let now = p.now;
    for (i, &c) in clients.iter().enumerate() {
        p.endpoints[0].send(now, c, &content(i)).unwrap();
    }
    let mut got = vec![Vec::new(); servers.len()];
    let mut b = [0u8; 4096];
    assert!(p.run_until(Duration::from_secs(20), |p| {
        for (k, &s) in servers.iter().enumerate() {
            while let Ok(n @ 1..) = p.endpoints[1].recv(s, &mut b) {
                got[k].extend_from_slice(&b[..n]);
            }
        }
        got.iter().all(|g| g.len() == 2000)
    }));
    // Every server connection holds exactly one client's bytes, each client's once.
    let mut owners: Vec<usize> = got
        .iter()
        .map(|g| {
            let i = (u32::from_be_bytes(g[..4].try_into().unwrap()) >> 16) as usize;
            assert!(
                *g == content(i),
                "a connection's bytes are not client {i}'s"
            );
            i
        })
        .collect();
    owners.sort_unstable();
    assert_eq!(owners, (0..1000).collect::<Vec<_>>());
}
