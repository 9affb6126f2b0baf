//! Heap footprint of connections, measured by a counting global allocator (this
//! test binary's own): a connection that has sent nothing costs a few KB whatever
//! its configured buffer sizes, buffers grow with what is buffered, and a
//! connection that has moved data and had it all acknowledged gives the memory back.
//!
//! One test function, so that no other test thread allocates while it measures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicIsize, Ordering};

use udt::time::Instant;
use udt::{Endpoint, EndpointConfig, Event, SocketOptions};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; the counters
// are only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let n = LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed) + layout.size() as isize;
        PEAK.fetch_max(n, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

fn addr(i: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, i], 9000))
}

/// Two endpoints joined without delay or loss; time jumps to the next timer.
struct Pair {
    now: Instant,
    a: Endpoint,
    b: Endpoint,
    buf: Vec<u8>,
    /// The client saw `Connected`.
    connected: bool,
}

impl Pair {
    fn new() -> Self {
        let ep = |i: u8| {
            Endpoint::new(
                EndpointConfig {
                    local_addr: addr(i),
                    seed: u64::from(i),
                },
                Instant::ZERO,
            )
        };
        Pair {
            now: Instant::ZERO,
            a: ep(1),
            b: ep(2),
            buf: vec![0; 1500],
            connected: false,
        }
    }

    /// Moves every due datagram and event; then, if nothing moved, jumps to the
    /// next timer. False when nothing is left to happen.
    fn step(&mut self) -> bool {
        let mut moved = false;
        while let Some(t) = self.a.poll_transmit(self.now, &mut self.buf) {
            self.b
                .handle_datagram(self.now, addr(1), &self.buf[..t.len]);
            moved = true;
        }
        while let Some(t) = self.b.poll_transmit(self.now, &mut self.buf) {
            self.a
                .handle_datagram(self.now, addr(2), &self.buf[..t.len]);
            moved = true;
        }
        while let Some((_, e)) = self.a.poll_event() {
            self.connected |= e == Event::Connected;
        }
        while self.b.poll_event().is_some() {}
        if moved {
            return true;
        }
        let next = [self.a.poll_timeout(), self.b.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = next else { return false };
        self.now = self.now.max(next);
        self.a.handle_timeout(self.now);
        self.b.handle_timeout(self.now);
        true
    }
}

#[test]
fn connections_cost_what_they_buffer() {
    // Large limits: what a connection costs must not depend on them.
    let opts = SocketOptions {
        send_buffer: 100_000,
        recv_buffer: 100_000,
        flight_flag_size: 100_000,
        ..SocketOptions::default()
    };
    let mut p = Pair::new();
    p.b.listen(p.now, opts.clone(), 16).unwrap();
    let before = live();
    let c = p.a.connect(p.now, addr(2), opts).unwrap();
    while !p.connected {
        assert!(p.step(), "the handshake completes");
    }
    let s = p.b.accept().expect("the listener accepted");
    let idle = live() - before;
    // Both ends of one connection, endpoint tables included.
    assert!(
        idle < 2 * 8 * 1024,
        "an idle connection pair holds {idle} heap bytes"
    );

    // 8 MB in one go: the send buffer holds it all, then gives it back as it is
    // acknowledged; the receiver is read as data becomes readable. At most two
    // copies exist at once (the sender's until acknowledged, the receiver's until
    // read), plus small records.
    let data: Vec<u8> = (0..8 << 20).map(|i: u32| (i * 7 / 5) as u8).collect();
    let base = live();
    PEAK.store(base, Ordering::Relaxed);
    let mut sent = 0;
    while sent < data.len() {
        sent +=
            p.a.send(p.now, c, &data[sent..])
                .expect("room in the buffer");
    }
    let queued = live() - base;
    assert!(
        queued >= data.len() as isize && queued < data.len() as isize * 11 / 10,
        "{queued} bytes to queue {} (a copy and ~5% of records)",
        data.len()
    );
    let mut got = 0;
    let mut read = vec![0u8; 1 << 16];
    while got < data.len() {
        assert!(p.step(), "the transfer finishes");
        while let Ok(n) = p.b.recv(s, &mut read) {
            if n == 0 {
                break;
            }
            assert_eq!(read[..n], data[got..got + n]);
            got += n;
        }
    }
    // Let the last ACK and its ACK2 go by.
    let end = p.now + udt::time::Duration::from_millis(100);
    while p.now < end && p.step() {}
    let peak = PEAK.load(Ordering::Relaxed) - base;
    let len = data.len();
    assert!(
        peak < len as isize * 22 / 10,
        "peak {peak} bytes while moving {len}"
    );
    drop((data, read));
    let after = live() - before;
    assert!(
        after < idle + 64 * 1024,
        "after the transfer the pair holds {after} heap bytes (idle: {idle})"
    );
    eprintln!("idle pair {idle} B, {len} B queued in {queued} B, peak {peak} B, drained {after} B");
}
