//! A congestion control of one's own: a window-based AIMD in a few dozen lines,
//! handed to the connections through `SocketOptions::cc_factory`, and a 16 MiB
//! transfer between two in-memory endpoints (20 ms each way, every 400th datagram
//! lost) to watch it work.
//!
//! `cargo run -p udt --example custom_cc`
//!
//! The connection must build its control with `SocketOptions::congestion_control` (which
//! prefers the factory) for the AIMD to run; a connection that still resolves
//! `SocketOptions::congestion` by name runs UDT's native control instead, and the
//! example says so at the end.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use udt::cc::{CcContext, CcControl, CcFactory, CongestionControl};
use udt::packet::LossList;
use udt::seq::SeqNumber;
use udt::time::{Duration, Instant};
use udt::{Endpoint, EndpointConfig, Event, SocketOptions};

/// Additive increase (one packet per window acknowledged), multiplicative decrease
/// (halve on a loss report, at most once per RTT).
#[derive(Debug)]
struct Aimd {
    last_ack: SeqNumber,
    last_decrease: Instant,
    /// How many loss reports it reacted to, for the demonstration.
    decreases: Arc<AtomicU64>,
}

impl CongestionControl for Aimd {
    fn init(&mut self, ctx: &CcContext, ctl: &mut CcControl) {
        self.last_ack = ctx.snd_curr_seq.next();
        ctl.cwnd = 16.0;
        ctl.pkt_snd_period_us = 0.0; // window-based: no pacing
        ctl.ack_interval = 2; // a full ACK every 2 packets, as TCP
    }

    fn on_ack(&mut self, ctx: &CcContext, ctl: &mut CcControl, ack: SeqNumber) {
        let acked = self.last_ack.offset_to(ack).max(0) as f64;
        self.last_ack = ack;
        ctl.cwnd = (ctl.cwnd + acked / ctl.cwnd).min(ctx.max_cwnd.max(ctl.cwnd));
    }

    fn on_loss(&mut self, ctx: &CcContext, ctl: &mut CcControl, _losses: LossList<'_>) {
        let rtt = Duration::from_micros(u64::from(ctx.rtt_us));
        if ctx.now.saturating_since(self.last_decrease) > rtt {
            ctl.cwnd = (ctl.cwnd / 2.0).max(2.0);
            self.last_decrease = ctx.now;
            self.decreases.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn on_timeout(&mut self, _ctx: &CcContext, ctl: &mut CcControl) {
        ctl.cwnd = 2.0;
    }
}

/// A datagram on its way: (arrival, order, destination index, source, bytes).
type InFlight = (Instant, u64, usize, SocketAddr, Vec<u8>);

const BYTES: usize = 16 << 20;
const ONE_WAY: Duration = Duration::from_millis(20);
const LOSS_EVERY: u64 = 400;

fn main() {
    let decreases = Arc::new(AtomicU64::new(0));
    let counter = decreases.clone();
    let opts = SocketOptions {
        cc_factory: Some(CcFactory::new(move || {
            Box::new(Aimd {
                last_ack: SeqNumber::new(0),
                last_decrease: Instant::ZERO,
                decreases: counter.clone(),
            })
        })),
        ..Default::default()
    };

    let addrs: [SocketAddr; 2] = [
        "10.0.0.1:9000".parse().unwrap(),
        "10.0.0.2:9000".parse().unwrap(),
    ];
    let mut eps: Vec<Endpoint> = (0..2)
        .map(|i| {
            let config = EndpointConfig {
                local_addr: addrs[i],
                seed: i as u64 + 1,
            };
            Endpoint::new(config, Instant::ZERO)
        })
        .collect();
    let mut now = Instant::ZERO;
    eps[1].listen(now, opts.clone(), 4).expect("valid options");
    let client = eps[0].connect(now, addrs[1], opts).expect("valid options");

    let mut wire: BinaryHeap<Reverse<InFlight>> = BinaryHeap::new();
    let (mut order, mut sent, mut received) = (0u64, 0usize, 0usize);
    let (mut server, mut done_at) = (None, None);
    let chunk = vec![7u8; 64 * 1024];
    let mut buf = vec![0u8; 1500];
    while done_at.is_none() && now < Instant::from_micros(120_000_000) {
        for i in 0..2 {
            eps[i].handle_timeout(now);
            while let Some(t) = eps[i].poll_transmit(now, &mut buf) {
                order += 1;
                if order % LOSS_EVERY != 0 {
                    let to = addrs
                        .iter()
                        .position(|a| *a == t.destination)
                        .expect("one of two");
                    let bytes = buf[..t.len].to_vec();
                    wire.push(Reverse((now + ONE_WAY, order, to, addrs[i], bytes)));
                }
            }
        }
        while let Some((h, ev)) = eps[1].poll_event() {
            if ev == Event::Accepted {
                server = eps[1].accept().or(Some(h));
            }
        }
        while eps[0].poll_event().is_some() {}
        while sent < BYTES {
            match eps[0].send(now, client, &chunk[..chunk.len().min(BYTES - sent)]) {
                Ok(n) if n > 0 => sent += n,
                _ => break,
            }
        }
        if let Some(s) = server {
            let mut rbuf = [0u8; 65536];
            while let Ok(n) = eps[1].recv(s, &mut rbuf) {
                if n == 0 {
                    break;
                }
                received += n;
            }
            if received >= BYTES {
                done_at = Some(now);
            }
        }
        // Jump to the next thing that happens.
        let next_arrival = wire.peek().map(|Reverse(d)| d.0);
        let next = [next_arrival, eps[0].poll_timeout(), eps[1].poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now + Duration::SYN);
        now = next.max(now);
        while wire.peek().is_some_and(|Reverse(d)| d.0 <= now) {
            let Reverse((_, _, to, from, bytes)) = wire.pop().expect("peeked");
            eps[to].handle_datagram(now, from, &bytes);
        }
    }

    let stats = eps[0].stats(client).expect("still open");
    let secs = done_at.unwrap_or(now).as_micros() as f64 / 1e6;
    println!(
        "{} MiB in {secs:.2} s simulated: {:.1} Mbit/s",
        BYTES >> 20,
        received as f64 * 8.0 / secs / 1e6
    );
    println!(
        "custom AIMD: {} window halvings; final cwnd {:.1} packets, {} retransmissions",
        decreases.load(Ordering::Relaxed),
        stats.cwnd,
        stats.pkt_retrans_total
    );
    if decreases.load(Ordering::Relaxed) == 0 {
        println!("(the connection did not consult cc_factory: it built its control by name)");
    }
}
