//! Cost of the core per data packet, each way: the send path (queue, pace, build,
//! encode; ACK processing) and the receive path (decode, buffer, loss and ACK
//! bookkeeping; reading the stream). Two endpoints exchange datagrams directly in
//! virtual time; only one side's calls are timed in each benchmark.
//!
//! `cargo bench -p udt --bench core`

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration as WallDuration, Instant as WallInstant};

use criterion::{criterion_group, Criterion, Throughput};
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
        for _ in 0..10 {
            p.exchange(&mut Split::default());
        }
        p.s = p.rx.accept().expect("accepted");
        while p
            .tx
            .poll_event()
            .is_some_and(|(_, e)| e != Event::Connected)
        {}
        p
    }

    /// Moves every due datagram across once; returns the data packets moved.
    fn exchange(&mut self, t: &mut Split) -> usize {
        let mut data = 0;
        while let Some(x) = t.tx(|| self.tx.poll_transmit(self.now, &mut self.buf)) {
            data += usize::from(self.buf[0] & 0x80 == 0);
            t.rx(|| {
                self.rx
                    .handle_datagram(self.now, x.destination, &self.buf[..x.len])
            });
        }
        while let Some(x) = t.rx(|| self.rx.poll_transmit(self.now, &mut self.buf)) {
            t.tx(|| {
                self.tx
                    .handle_datagram(self.now, addr(2), &self.buf[..x.len])
            });
        }
        data
    }

    /// Sends `packets` data packets through.
    fn run(&mut self, packets: u64, t: &mut Split) {
        let mut sent = 0u64;
        while sent < packets {
            t.tx(|| self.tx.send(self.now, self.c, &self.chunk)).ok();
            sent += self.exchange(t) as u64;
            t.rx(|| {
                while let Ok(n) = self.rx.recv(self.s, &mut self.sink) {
                    if n == 0 {
                        break;
                    }
                    black_box(&self.sink[..n]);
                }
            });
            // Jump to the next timer (pacing, ACK) of either side.
            let next = [self.tx.poll_timeout(), self.rx.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            self.now = next.unwrap_or(self.now).max(self.now);
            t.tx(|| {
                self.tx.handle_timeout(self.now);
                while self.tx.poll_event().is_some() {}
            });
            t.rx(|| {
                self.rx.handle_timeout(self.now);
                while self.rx.poll_event().is_some() {}
            });
        }
    }
}

/// Wall time spent in each side's calls, or nothing when `on` is false (the clock
/// reads cost more than some of the calls they time).
#[derive(Default)]
struct Split {
    on: bool,
    tx: WallDuration,
    rx: WallDuration,
}

impl Split {
    fn timed(on: bool) -> Self {
        Split {
            on,
            ..Default::default()
        }
    }

    fn measure<R>(on: bool, acc: &mut WallDuration, f: impl FnOnce() -> R) -> R {
        if !on {
            return f();
        }
        let t0 = WallInstant::now();
        let r = f();
        *acc += t0.elapsed();
        r
    }

    fn tx<R>(&mut self, f: impl FnOnce() -> R) -> R {
        Self::measure(self.on, &mut self.tx, f)
    }

    fn rx<R>(&mut self, f: impl FnOnce() -> R) -> R {
        Self::measure(self.on, &mut self.rx, f)
    }
}

fn per_packet(c: &mut Criterion) {
    let mut g = c.benchmark_group("per_data_packet");
    g.throughput(Throughput::Elements(1));
    g.bench_function("send_path", |b| {
        let mut p = Pair::connected();
        b.iter_custom(|iters| {
            let mut t = Split::timed(true);
            p.run(iters, &mut t);
            t.tx
        });
    });
    g.bench_function("recv_path", |b| {
        let mut p = Pair::connected();
        b.iter_custom(|iters| {
            let mut t = Split::timed(true);
            p.run(iters, &mut t);
            t.rx
        });
    });
    // Both sides together, timed as a whole: free of the per-call clock reads
    // that the split figures above include.
    g.bench_function("both_paths", |b| {
        let mut p = Pair::connected();
        b.iter(|| p.run(1, &mut Split::default()));
    });
    g.bench_function("clock_read_overhead", |b| {
        b.iter(|| black_box(WallInstant::now()).elapsed())
    });
    g.finish();
}

criterion_group!(benches, per_packet);

/// `UDT_PROFILE_PACKETS=N` runs N packets through the pair once, without
/// criterion, for instruction counting: `valgrind --tool=callgrind BENCH_BINARY`.
fn main() {
    if let Some(n) = std::env::var("UDT_PROFILE_PACKETS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Pair::connected().run(n, &mut Split::default());
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
