//! Cost of the core per data packet, each way: the send path (queue, pace, build,
//! encode; ACK processing) and the receive path (decode, buffer, loss and ACK
//! bookkeeping; reading the stream). Two endpoints exchange datagrams directly in
//! virtual time; only one side's calls are timed in each benchmark.
//!
//! `cargo bench -p udt --bench core`

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration as WallDuration, Instant as WallInstant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use udt::time::Instant;
use udt::{ConnectionHandle, Endpoint, EndpointConfig, Event, SocketOptions};

struct Pair {
    now: Instant,
    tx: Endpoint,
    rx: Endpoint,
    c: ConnectionHandle,
    s: ConnectionHandle,
    buf: Vec<u8>,
    chunk: Vec<u8>,
    sink: Vec<u8>,
}

fn addr(i: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, i], 9000))
}

impl Pair {
    fn connected() -> Self {
        let ep = |i: u8| {
            Endpoint::new(
                EndpointConfig {
                    local_addr: addr(i),
                    seed: u64::from(i),
                },
                Instant::ZERO,
            )
        };
        let (mut tx, mut rx) = (ep(1), ep(2));
        rx.listen(Instant::ZERO, SocketOptions::default(), 4)
            .unwrap();
        let c = tx
            .connect(Instant::ZERO, addr(2), SocketOptions::default())
            .unwrap();
        let mut p = Pair {
            now: Instant::ZERO,
            tx,
            rx,
            c,
            s: c,
            buf: vec![0; 1500],
            chunk: vec![7; 1 << 20],
            sink: vec![0; 1 << 20],
        };
        let (mut a, mut b) = (WallDuration::ZERO, WallDuration::ZERO);
        for _ in 0..10 {
            p.exchange(&mut a, &mut b);
        }
        p.s = p.rx.accept().expect("accepted");
        while p
            .tx
            .poll_event()
            .is_some_and(|(_, e)| e != Event::Connected)
        {}
        p
    }

    /// Moves every due datagram across once, timing each side's calls.
    fn exchange(&mut self, tx_time: &mut WallDuration, rx_time: &mut WallDuration) -> usize {
        let mut data = 0;
        loop {
            let t0 = WallInstant::now();
            let Some(t) = self.tx.poll_transmit(self.now, &mut self.buf) else {
                *tx_time += t0.elapsed();
                break;
            };
            *tx_time += t0.elapsed();
            data += usize::from(self.buf[0] & 0x80 == 0);
            let t0 = WallInstant::now();
            self.rx
                .handle_datagram(self.now, t.destination, &self.buf[..t.len]);
            *rx_time += t0.elapsed();
        }
        loop {
            let t0 = WallInstant::now();
            let Some(t) = self.rx.poll_transmit(self.now, &mut self.buf) else {
                *rx_time += t0.elapsed();
                break;
            };
            *rx_time += t0.elapsed();
            let t0 = WallInstant::now();
            self.tx
                .handle_datagram(self.now, addr(2), &self.buf[..t.len]);
            *tx_time += t0.elapsed();
        }
        data
    }

    /// Sends `packets` data packets through, returning the time each side took.
    fn run(&mut self, packets: u64) -> (WallDuration, WallDuration) {
        let (mut tx_time, mut rx_time) = (WallDuration::ZERO, WallDuration::ZERO);
        let mut sent = 0u64;
        while sent < packets {
            let t0 = WallInstant::now();
            let _ = self.tx.send(self.now, self.c, &self.chunk);
            tx_time += t0.elapsed();
            sent += self.exchange(&mut tx_time, &mut rx_time) as u64;
            let t0 = WallInstant::now();
            while let Ok(n) = self.rx.recv(self.s, &mut self.sink) {
                if n == 0 {
                    break;
                }
                black_box(&self.sink[..n]);
            }
            rx_time += t0.elapsed();
            // Jump to the next timer (pacing, ACK) of either side.
            let next = [self.tx.poll_timeout(), self.rx.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            self.now = next.unwrap_or(self.now).max(self.now);
            let t0 = WallInstant::now();
            self.tx.handle_timeout(self.now);
            tx_time += t0.elapsed();
            let t0 = WallInstant::now();
            self.rx.handle_timeout(self.now);
            rx_time += t0.elapsed();
            while self.tx.poll_event().is_some() {}
            while self.rx.poll_event().is_some() {}
        }
        (tx_time, rx_time)
    }
}

fn per_packet(c: &mut Criterion) {
    let mut g = c.benchmark_group("per_data_packet");
    g.throughput(Throughput::Elements(1));
    g.bench_function("send_path", |b| {
        let mut p = Pair::connected();
        b.iter_custom(|iters| p.run(iters).0);
    });
    g.bench_function("recv_path", |b| {
        let mut p = Pair::connected();
        b.iter_custom(|iters| p.run(iters).1);
    });
    // Both sides together, timed as a whole: free of the per-call clock reads
    // that the split figures above include.
    g.bench_function("both_paths_untimed_calls", |b| {
        let mut p = Pair::connected();
        b.iter_custom(|iters| {
            let t0 = WallInstant::now();
            p.run(iters);
            t0.elapsed()
        });
    });
    g.bench_function("clock_read_overhead", |b| {
        b.iter(|| black_box(WallInstant::now()).elapsed())
    });
    g.finish();
}

criterion_group!(benches, per_packet);
criterion_main!(benches);
