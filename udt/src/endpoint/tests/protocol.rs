//! The protocol doing its job: handshakes, transfers, close, timeouts.

use super::*;

#[test]
fn client_server_handshake() {
    let mut p = Pipe::new(2, 1);
    let (c, s) = p.connected_pair(SocketOptions::default());
    assert_eq!(p.endpoints[0].state(c), SocketState::Connected);
    assert_eq!(p.endpoints[1].state(s), SocketState::Connected);
    let (cid, c_peer) = p.endpoints[0].socket_ids(c).unwrap();
    let (sid, s_peer) = p.endpoints[1].socket_ids(s).unwrap();
    assert_eq!((c_peer, s_peer), (sid, cid));
    // Four handshake packets, one round trip each way and back: ~40 ms.
    assert_eq!(p.now, Instant::from_micros(40_000));
}

#[test]
fn stream_transfer_is_byte_exact_under_loss_reordering_and_duplication() {
    let mut p = Pipe::new(2, 7);
    p.loss = 0.05;
    p.duplicate = 0.01;
    p.jitter_us = 3000;
    let data = pattern(10 << 20, 3);
    let got = transfer(&mut p, &data, Duration::from_secs(600));
    assert_eq!(got.len(), data.len());
    assert!(got == data, "payload differs");
}

#[test]
fn clean_transfer_then_close_delivers_shutdown() {
    let mut p = Pipe::new(2, 2);
    let data = pattern(1 << 20, 4);
    let got = transfer(&mut p, &data, Duration::from_secs(30));
    assert!(got == data);
    assert!(p.run_until(Duration::from_secs(5), |p| p
        .saw(1, |e| matches!(e, Event::Broken(_)))
        .is_some()));
    let s = p.saw(1, |e| matches!(e, Event::Broken(_))).unwrap();
    assert_eq!(
        p.endpoints[1].recv(s, &mut [0u8; 16]),
        Err(Error::ConnectionLost)
    );
}

#[test]
fn socket_type_mismatch_is_rejected() {
    let mut p = Pipe::new(2, 3);
    let now = p.now;
    p.endpoints[1]
        .listen(now, SocketOptions::default(), 4)
        .unwrap();
    let dgram = SocketOptions {
        socket_type: SocketType::Dgram,
        ..Default::default()
    };
    p.endpoints[0].connect(now, addr(1), dgram).unwrap();
    assert!(p.run_until(Duration::from_secs(4), |p| p
        .saw(0, |e| *e == Event::ConnectFailed(Error::Rejected))
        .is_some()));
    assert_eq!(p.endpoints[1].connection_count(), 0);
    assert_eq!(p.endpoints[1].endpoint_stats().rejected, 1);
}

#[test]
fn connect_times_out_after_three_seconds() {
    let mut p = Pipe::new(2, 4);
    let now = p.now;
    p.endpoints[0]
        .connect(now, addr(1), SocketOptions::default())
        .unwrap();
    assert!(p.run_until(Duration::from_secs(10), |p| p
        .saw(0, |e| *e == Event::ConnectFailed(Error::NoServer))
        .is_some()));
    assert_eq!(p.now, Instant::from_micros(3_000_000));
}

#[test]
fn rendezvous_connects_whoever_starts_first() {
    for (delay_b, seed) in [(0u64, 5u64), (200_000, 6), (2_000_000, 7)] {
        let mut p = Pipe::new(2, seed);
        let a = p.endpoints[0]
            .rendezvous(Instant::ZERO, addr(1), SocketOptions::default())
            .unwrap();
        p.run_until(Duration::from_micros(delay_b), |_| false);
        let now = p.now;
        let b = p.endpoints[1]
            .rendezvous(now, addr(0), SocketOptions::default())
            .unwrap();
        assert!(p.run_until(Duration::from_secs(5), |p| {
            p.endpoints[0].state(a) == SocketState::Connected
                && p.endpoints[1].state(b) == SocketState::Connected
        }));
        let now = p.now;
        p.endpoints[0].send(now, a, b"ping").unwrap();
        let mut buf = [0u8; 8];
        assert!(
            p.run_until(Duration::from_secs(2), |p| p.endpoints[1].recv(b, &mut buf)
                == Ok(4))
        );
        assert_eq!(&buf[..4], b"ping");
    }
}

#[test]
fn messages_arrive_whole_and_expired_ones_are_dropped() {
    let mut p = Pipe::new(2, 8);
    let opts = SocketOptions {
        socket_type: SocketType::Dgram,
        ..Default::default()
    };
    let (c, s) = p.connected_pair(opts);
    let now = p.now;
    let big = pattern(5000, 9);
    p.endpoints[0].send_msg(now, c, &big, None, true).unwrap();
    p.endpoints[0]
        .send_msg(now, c, b"small", None, false)
        .unwrap();
    let mut got = Vec::new();
    p.run_until(Duration::from_secs(2), |p| {
        while let Ok(Some(m)) = p.endpoints[1].recv_msg(s) {
            got.push(m);
        }
        got.len() == 2
    });
    assert_eq!(got, vec![big.clone(), b"small".to_vec()]);

    // Now every packet is lost: a message with a 50 ms TTL is given up on at the
    // first retransmission, and the next message still gets through.
    p.loss = 1.0;
    let now = p.now;
    p.endpoints[0]
        .send_msg(now, c, &big, Some(Duration::from_millis(50)), false)
        .unwrap();
    p.run_until(Duration::from_millis(100), |_| false);
    p.loss = 0.0;
    assert!(p.run_until(Duration::from_secs(2), |p| p.endpoints[0]
        .stats(c)
        .unwrap()
        .msg_dropped_total
        > 0));
    let now = p.now;
    p.endpoints[0]
        .send_msg(now, c, b"after", None, false)
        .unwrap();
    let mut after = None;
    let ok = p.run_until(Duration::from_secs(5), |p| {
        after = p.endpoints[1].recv_msg(s).unwrap();
        after.is_some()
    });
    assert!(ok, "the message after the dropped one never arrived");
    assert_eq!(after.as_deref(), Some(&b"after"[..]));
    assert!(p.endpoints[0].stats(c).unwrap().msg_dropped_total >= 1);
}

#[test]
fn a_silent_peer_is_declared_broken() {
    let mut p = Pipe::new(2, 9);
    let (c, _s) = p.connected_pair(SocketOptions::default());
    let start = p.now;
    p.cut[1] = true;
    assert!(p.run_until(Duration::from_secs(120), |p| p
        .saw(0, |e| *e == Event::Broken(Error::ConnectionLost))
        .is_some()));
    let took = p.now.saturating_since(start).as_secs_f64();
    assert!(
        (30.0..60.0).contains(&took),
        "declared broken after {took} s"
    );
    let now = p.now;
    assert_eq!(
        p.endpoints[0].send(now, c, b"x"),
        Err(Error::ConnectionLost)
    );
}

#[test]
fn sequence_numbers_cross_the_31_bit_wrap() {
    let mut p = Pipe::new(2, 10);
    p.endpoints[0].next_isn = Some(SeqNumber::new(SeqNumber::MAX - 300));
    p.loss = 0.02;
    let data = pattern(2 << 20, 11);
    let got = transfer(&mut p, &data, Duration::from_secs(120));
    assert!(got == data);
}

#[test]
fn garbage_never_panics_and_creates_nothing() {
    let mut p = Pipe::new(2, 12);
    let now = p.now;
    p.endpoints[1]
        .listen(now, SocketOptions::default(), 4)
        .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for i in 0..20_000 {
        let len = rng.random_range(0..100);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        if i % 2 == 0 && bytes.len() >= 64 {
            // Well-formed handshakes with random fields and bad cookies.
            bytes.truncate(64);
            bytes[..4].copy_from_slice(&0x8000_0000u32.to_be_bytes());
            bytes[12..16].fill(0);
            bytes[36..40].copy_from_slice(&(-1i32).to_be_bytes());
        }
        p.endpoints[1].handle_datagram(now, addr(0), &bytes);
    }
    assert_eq!(p.endpoints[1].connection_count(), 0);
    let mut buf = [0u8; 1500];
    while p.endpoints[1].poll_transmit(now, &mut buf).is_some() {}
}

#[test]
fn closed_connections_are_reclaimed_and_ids_count_down() {
    let mut p = Pipe::new(2, 13);
    let (c, s) = p.connected_pair(SocketOptions::default());
    let (c_id, s_id) = (
        p.endpoints[0].socket_ids(c).unwrap().0,
        p.endpoints[1].socket_ids(s).unwrap().0,
    );
    assert!(c_id <= SOCKET_ID_SPAN && s_id <= SOCKET_ID_SPAN);
    let now = p.now;
    let second = p.endpoints[0]
        .connect(now, addr(1), SocketOptions::default())
        .unwrap();
    assert_eq!(
        p.endpoints[0].socket_ids(second).unwrap().0,
        c_id - 1,
        "ids count down"
    );
    p.endpoints[0].close(now, second);
    p.endpoints[0].close(now, c);
    // The server learns of the shutdown, the application closes its side too.
    assert!(
        p.run_until(Duration::from_secs(2), |p| p.endpoints[1].state(s)
            == SocketState::Broken)
    );
    let now = p.now;
    p.endpoints[1].close(now, s);
    assert!(p.run_until(Duration::from_secs(5), |p| {
        p.endpoints[0].connection_count() == 0 && p.endpoints[1].connection_count() == 0
    }));
    assert_eq!(p.endpoints[0].state(c), SocketState::NonExist);
    assert!(p.saw(0, |e| *e == Event::Closed).is_some());
}

#[test]
fn a_long_connection_crosses_the_timestamp_and_sequence_wraps() {
    let mut p = Pipe::new(2, 14);
    p.endpoints[0].next_isn = Some(SeqNumber::new(SeqNumber::MAX - 2000));
    p.loss = 0.01;
    let (c, s) = p.connected_pair(SocketOptions::default());
    let start = p.now;
    let data = pattern(100_000, 15);
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    // The header timestamps of the client's data packets, in sending order.
    let mut stamps: Vec<u32> = Vec::new();
    p.trace = Some(Vec::new());
    // 100 kB a minute for 75 minutes: past 2^32 µs (71.6 min) of data timestamps.
    for minute in 0..75u64 {
        let now = p.now;
        assert_eq!(
            p.endpoints[0].send(now, c, &data),
            Ok(data.len()),
            "minute {minute}"
        );
        let until = start + Duration::from_secs(60 * (minute + 1));
        p.run_until(until.saturating_since(p.now), |p| {
            while let Ok(n @ 1..) = p.endpoints[1].recv(s, &mut buf) {
                got.extend_from_slice(&buf[..n]);
            }
            false
        });
        assert_eq!(
            got.len(),
            data.len() * (minute as usize + 1),
            "minute {minute}"
        );
        // Keep only the timestamps, a minute at a time.
        let sent = p.trace.replace(Vec::new()).unwrap_or_default();
        stamps.extend(
            sent.iter()
                .filter(|(from, _, bytes)| *from == 0 && bytes[0] & 0x80 == 0)
                .map(|(_, _, bytes)| u32::from_be_bytes(bytes[8..12].try_into().unwrap())),
        );
    }
    p.trace = None;
    // The timestamps wrapped exactly once, from the top of the 32-bit space (within
    // the last minute of it) to its bottom (within the first minute), and otherwise
    // never went back.
    let minute_us = 61_000_000;
    let wraps: Vec<(u32, u32)> = stamps
        .windows(2)
        .filter(|w| w[1] < w[0])
        .map(|w| (w[0], w[1]))
        .collect();
    assert_eq!(wraps.len(), 1, "timestamp wraps: {wraps:?}");
    let (before, after) = wraps[0];
    assert!(before > u32::MAX - minute_us, "wrapped from {before}");
    assert!(after < minute_us, "wrapped to {after}");
    assert!(got.chunks(data.len()).all(|chunk| chunk == data));
    assert!(p.now.saturating_since(start).as_micros() > u64::from(u32::MAX));
    assert_eq!(p.endpoints[0].state(c), SocketState::Connected);
}

/// When endpoint `from` sent handshakes while nothing it sent arrived.
fn unanswered_requests(p: &mut Pipe, from: usize, limit: Duration) -> Vec<Instant> {
    p.cut[from] = true;
    p.trace = Some(Vec::new());
    p.run_until(limit, |_| false);
    let is_handshake = |bytes: &[u8]| {
        matches!(
            crate::packet::Packet::parse(bytes),
            Ok(crate::packet::Packet::Control(
                crate::packet::ControlPacket {
                    control: crate::packet::Control::Handshake(_),
                    ..
                }
            ))
        )
    };
    let trace = p.trace.take().unwrap_or_default();
    trace
        .into_iter()
        .filter(|(i, _, bytes)| *i == from && is_handshake(bytes))
        .map(|(_, at, _)| at)
        .collect()
}

#[test]
fn connection_requests_repeat_every_250_ms_until_the_deadline() {
    let mut p = Pipe::new(2, 16);
    let now = p.now;
    p.endpoints[0]
        .connect(now, addr(1), SocketOptions::default())
        .unwrap();
    let sent = unanswered_requests(&mut p, 0, Duration::from_secs(5));
    // At 0, 250, 500, … 2750 ms; the deadline at 3 s ends it.
    let expected: Vec<Instant> = (0..12).map(|i| Instant::from_micros(i * 250_000)).collect();
    assert_eq!(sent, expected);
    assert!(p
        .saw(0, |e| *e == Event::ConnectFailed(Error::NoServer))
        .is_some());
}

#[test]
fn rendezvous_gives_up_after_thirty_seconds() {
    let mut p = Pipe::new(2, 17);
    let now = p.now;
    p.endpoints[0]
        .rendezvous(now, addr(1), SocketOptions::default())
        .unwrap();
    let sent = unanswered_requests(&mut p, 0, Duration::from_secs(40));
    assert_eq!(sent.len(), 120, "one request every 250 ms for 30 s");
    assert_eq!(sent.last(), Some(&Instant::from_micros(29_750_000)));
    assert!(p
        .saw(0, |e| *e == Event::ConnectFailed(Error::NoServer))
        .is_some());
}

/// A driver that hands datagrams on in parts (`poll_transmit_parts`, then
/// `handle_datagram_parts`) carries the same stream: the data packets' payloads are the
/// sender's own bytes, and a datagram split elsewhere than after its header is joined.
#[test]
fn datagrams_handed_on_in_parts_carry_the_stream() {
    let mut p = Pipe::new(2, 3);
    let (c, s) = p.connected_pair(SocketOptions::default());
    let data = Bytes::from(pattern(200_000, 5));
    let mut now = p.now;
    let sent = p.endpoints[0].send_bytes(now, c, data.clone()).unwrap();
    assert_eq!(sent, data.len());
    let (mut buf, mut chunk) = ([0u8; 1500], vec![0u8; 65536]);
    let (mut got, mut in_parts) = (Vec::new(), 0);
    for _ in 0..100_000 {
        for (from, to) in [(0, 1), (1, 0)] {
            while let Some((t, tail)) = p.endpoints[from].poll_transmit_parts(now, &mut buf) {
                let (ep, head) = (&mut p.endpoints[to], &buf[..t.len]);
                match tail {
                    Some(tail) => {
                        in_parts += 1;
                        ep.handle_datagram_parts(now, addr(from), head, tail);
                    }
                    None => {
                        let rest = Bytes::copy_from_slice(&head[4..]);
                        ep.handle_datagram_parts(now, addr(from), &head[..4], rest);
                    }
                }
            }
        }
        while let Ok(n @ 1..) = p.endpoints[1].recv(s, &mut chunk) {
            got.extend_from_slice(&chunk[..n]);
        }
        if got.len() == data.len() {
            break;
        }
        let next = p.endpoints.iter().filter_map(|e| e.poll_timeout()).min();
        now = now.max(next.expect("connected endpoints keep a timer"));
        for e in &mut p.endpoints {
            if e.poll_timeout().is_some_and(|t| t <= now) {
                e.handle_timeout(now);
            }
        }
    }
    assert!(
        got[..] == data[..],
        "{} of {} bytes arrived intact",
        got.len(),
        data.len()
    );
    assert!(
        in_parts >= data.len() / 1500,
        "{in_parts} datagrams in parts"
    );
}
