//! `next_timer` names the timer behind every wake-up.

use super::*;
use crate::packet::{Control, ControlPacket, Packet};
use crate::Timer;

#[test]
fn each_wake_up_says_which_timer_it_is() {
    let mut p = Pipe::new(2, 41);
    assert_eq!(p.endpoints[0].next_timer(), None, "nothing armed yet");
    let opts = SocketOptions {
        congestion: "fixed:12".into(), // a packet every 1 ms
        ..Default::default()
    };
    let now = p.now;
    p.endpoints[1].listen(now, opts.clone(), 4).unwrap();
    let c = p.endpoints[0].connect(now, addr(1), opts).unwrap();
    assert!(matches!(
        p.endpoints[0].next_timer(),
        Some((_, h, Timer::Handshake)) if h == c
    ));
    assert!(p.run_until(Duration::from_secs(1), |p| p
        .saw(0, |e| *e == Event::Connected)
        .is_some()));
    let s = p.endpoints[1].accept().unwrap();
    // Connected and idle: only the expiry timer (keep-alive) is armed.
    let (_, h, t) = p.endpoints[0].next_timer().unwrap();
    assert_eq!((h, t), (c, Timer::Exp));

    let now = p.now;
    p.endpoints[0].send(now, c, &pattern(100_000, 42)).unwrap();
    p.drain();
    let (at, h, t) = p.endpoints[0].next_timer().unwrap();
    assert_eq!((h, t), (c, Timer::Send));
    assert_eq!(at, now + Duration::from_millis(1), "paced 1 ms apart");

    // The receiver, holding unacknowledged data, waits for its ACK timer.
    p.run_until(Duration::from_millis(15), |_| false);
    let (_, h, t) = p.endpoints[1].next_timer().unwrap();
    assert_eq!((h, t), (s, Timer::Ack));

    // Closed: the connection waits to be reclaimed.
    let now = p.now;
    p.endpoints[1].close(now, s);
    let (_, _, t) = p.endpoints[1].next_timer().unwrap();
    assert_eq!(t, Timer::Reclaim);
}

#[test]
fn timer_driven_full_acks_carry_the_rates() {
    // UDT4 puts the arrival rate and link capacity in a full ACK when more than SYN has
    // passed since it last did; on a real host a timer-driven ACK always finds that, so a
    // steady flow's full ACKs (every SYN here, in virtual time) all carry them.
    let mut p = Pipe::new(2, 43);
    p.trace = Some(Vec::new());
    let opts = SocketOptions {
        congestion: "fixed:12".into(), // a packet every 1 ms
        ..Default::default()
    };
    let (c, _s) = p.connected_pair(opts);
    let now = p.now;
    p.endpoints[0]
        .send(now, c, &pattern(2_000_000, 44))
        .unwrap();
    p.run_until(Duration::from_secs(1), |_| false);
    let (mut with, mut without) = (0, 0);
    for (i, _, b) in p.trace.as_ref().expect("tracing") {
        if let (
            1,
            Ok(Packet::Control(ControlPacket {
                control: Control::Ack(a),
                ..
            })),
        ) = (*i, Packet::parse(b))
        {
            match a.full {
                Some(info) if info.rates.is_some() => with += 1,
                Some(_) => without += 1,
                None => {}
            }
        }
    }
    assert!(with >= 90, "{with} full ACKs with rates in 1 s");
    assert!(without <= 2, "{without} of {} without", with + without);
}
