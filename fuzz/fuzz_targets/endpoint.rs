//! Arbitrary datagrams, from the peer or from strangers, at arbitrary times, into a
//! listener and into both ends of a live connection, interleaved with application
//! calls. Nothing may panic, and the endpoints must keep answering.
#![no_main]

use std::net::SocketAddr;

use libfuzzer_sys::fuzz_target;
use udt::packet::SocketType;
use udt::time::{Duration, Instant};
use udt::{Endpoint, EndpointConfig, SocketOptions};

fn addr(i: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, i], 9000))
}

fuzz_target!(|data: &[u8]| {
    let ep = |i: u8| {
        Endpoint::new(
            EndpointConfig {
                local_addr: addr(i),
                seed: u64::from(i),
            },
            Instant::ZERO,
        )
    };
    let (mut a, mut b) = (ep(1), ep(2));
    let dgram = data.first().is_some_and(|x| x & 1 == 1);
    let opts = SocketOptions {
        socket_type: if dgram {
            SocketType::Dgram
        } else {
            SocketType::Stream
        },
        ..Default::default()
    };
    let mut now = Instant::ZERO;
    b.listen(now, opts.clone(), 4).unwrap();
    let c = a.connect(now, addr(2), opts).unwrap();
    let mut buf = vec![0u8; 1500];
    let deliver = |now: Instant, a: &mut Endpoint, b: &mut Endpoint, buf: &mut Vec<u8>| {
        for _ in 0..64 {
            let mut moved = false;
            while let Some(t) = a.poll_transmit(now, buf) {
                b.handle_datagram(now, addr(1), &buf[..t.len]);
                moved = true;
            }
            while let Some(t) = b.poll_transmit(now, buf) {
                a.handle_datagram(now, addr(2), &buf[..t.len]);
                moved = true;
            }
            while a.poll_event().is_some() {}
            while b.poll_event().is_some() {}
            if !moved {
                break;
            }
        }
    };
    // Input: records of [op][target][len][bytes…].
    let mut rest = data.get(1..).unwrap_or_default();
    while let [op, target, len, tail @ ..] = rest {
        let n = (*len as usize).min(tail.len());
        let (bytes, next) = tail.split_at(n);
        rest = next;
        let (to, from) = match target % 4 {
            0 => (&mut b, addr(1)),
            1 => (&mut a, addr(2)),
            2 => (&mut b, addr(9)),
            _ => (&mut a, addr(9)),
        };
        match op % 6 {
            0..=2 => to.handle_datagram(now, from, bytes),
            3 => now += Duration::from_micros(u64::from(*len) * 1000),
            4 => {
                let _ = a.send(now, c, bytes);
                let _ = a.send_msg(now, c, bytes, None, true);
            }
            _ => {
                if let Some(s) = b.accept() {
                    let _ = b.recv(s, &mut [0u8; 4096]);
                    let _ = b.recv_msg(s);
                    if op & 0x80 != 0 {
                        b.close(now, s);
                    }
                }
            }
        }
        a.handle_timeout(now);
        b.handle_timeout(now);
        deliver(now, &mut a, &mut b, &mut buf);
    }
    // Let timers run out for a while: nothing may panic or spin.
    for _ in 0..100 {
        let Some(t) = [a.poll_timeout(), b.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
        else {
            break;
        };
        now = now.max(t);
        a.handle_timeout(now);
        b.handle_timeout(now);
        deliver(now, &mut a, &mut b, &mut buf);
    }
});
