//! Endpoints joined by a deterministic lossy pipe in virtual time: the harness,
//! and the tests grouped by what they exercise.

use super::*;

mod chaos;
mod hostile;
mod profile;
mod protocol;
mod timers;
use crate::packet::SocketType;
use rand::Rng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A datagram on its way: (arrival, tie-break, to, from, bytes).
type InFlight = Reverse<(Instant, u64, usize, SocketAddr, Vec<u8>)>;

/// A pipe between endpoints: fixed delay plus jitter (which reorders), loss and
/// duplication, all drawn from one seeded RNG.
struct Pipe {
    now: Instant,
    endpoints: Vec<Endpoint>,
    flight: BinaryHeap<InFlight>,
    order: u64,
    rng: ChaCha8Rng,
    delay: Duration,
    jitter_us: u64,
    loss: f64,
    duplicate: f64,
    /// Endpoints whose traffic vanishes (a dead peer).
    cut: Vec<bool>,
    events: Vec<(usize, ConnectionHandle, Event)>,
    /// When set, every datagram sent: (sender, time, bytes).
    trace: Option<Vec<(usize, Instant, Vec<u8>)>>,
}

fn addr(i: usize) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, i as u8 + 1], 9000))
}

impl Pipe {
    fn new(n: usize, seed: u64) -> Self {
        let endpoints = (0..n)
            .map(|i| {
                Endpoint::new(
                    EndpointConfig {
                        local_addr: addr(i),
                        seed: seed * 100 + i as u64,
                    },
                    Instant::ZERO,
                )
            })
            .collect();
        Pipe {
            now: Instant::ZERO,
            endpoints,
            flight: BinaryHeap::new(),
            order: 0,
            rng: ChaCha8Rng::seed_from_u64(seed),
            delay: Duration::from_millis(10),
            jitter_us: 0,
            loss: 0.0,
            duplicate: 0.0,
            cut: vec![false; n],
            events: Vec::new(),
            trace: None,
        }
    }

    fn drain(&mut self) {
        let mut buf = [0u8; 1500];
        for i in 0..self.endpoints.len() {
            while let Some(t) = self.endpoints[i].poll_transmit(self.now, &mut buf) {
                if let Some(trace) = &mut self.trace {
                    trace.push((i, self.now, buf[..t.len].to_vec()));
                }
                let copies = if self.rng.random_bool(self.duplicate) {
                    2
                } else {
                    1
                };
                for _ in 0..copies {
                    if self.cut[i] || self.rng.random_bool(self.loss) {
                        continue;
                    }
                    let jitter = if self.jitter_us > 0 {
                        self.rng.random_range(0..self.jitter_us)
                    } else {
                        0
                    };
                    let at = self.now + self.delay + Duration::from_micros(jitter);
                    let to = (0..self.endpoints.len())
                        .find(|&j| addr(j) == t.destination)
                        .expect("known address");
                    self.order += 1;
                    self.flight.push(Reverse((
                        at,
                        self.order,
                        to,
                        addr(i),
                        buf[..t.len].to_vec(),
                    )));
                }
            }
            while let Some((h, e)) = self.endpoints[i].poll_event() {
                self.events.push((i, h, e));
            }
        }
    }

    /// Advances to the next event; false when nothing is left to happen.
    fn step(&mut self) -> bool {
        self.drain();
        let next_packet = self.flight.peek().map(|Reverse(p)| p.0);
        let next_timer = self.endpoints.iter().filter_map(|e| e.poll_timeout()).min();
        let Some(next) = [next_packet, next_timer].into_iter().flatten().min() else {
            return false;
        };
        self.now = self.now.max(next);
        while self.flight.peek().is_some_and(|Reverse(p)| p.0 <= self.now) {
            let Reverse((_, _, to, from, bytes)) = self.flight.pop().expect("peeked");
            if !self.cut[to] {
                self.endpoints[to].handle_datagram(self.now, from, &bytes);
            }
        }
        for e in &mut self.endpoints {
            if e.poll_timeout().is_some_and(|t| t <= self.now) {
                e.handle_timeout(self.now);
            }
        }
        self.drain();
        true
    }

    /// Steps until `done` holds or `limit` of virtual time passes.
    fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&mut Pipe) -> bool) -> bool {
        let end = self.now + limit;
        while self.now < end {
            if done(self) {
                return true;
            }
            if !self.step() {
                return done(self);
            }
        }
        done(self)
    }

    fn saw(&self, ep: usize, want: impl Fn(&Event) -> bool) -> Option<ConnectionHandle> {
        self.events
            .iter()
            .find(|(i, _, e)| *i == ep && want(e))
            .map(|(_, h, _)| *h)
    }

    /// Client on endpoint 0, listener on endpoint 1; returns both handles.
    fn connected_pair(&mut self, opts: SocketOptions) -> (ConnectionHandle, ConnectionHandle) {
        let now = self.now;
        self.endpoints[1].listen(now, opts.clone(), 16).unwrap();
        let c = self.endpoints[0].connect(now, addr(1), opts).unwrap();
        assert!(self.run_until(Duration::from_secs(3), |p| p
            .saw(0, |e| *e == Event::Connected)
            .is_some()));
        let s = self.endpoints[1].accept().expect("the listener accepted");
        (c, s)
    }
}

/// Sends `data` from endpoint 0 to 1 over a connected stream pair and returns
/// what arrived; the sender closes when all is queued.
fn transfer(p: &mut Pipe, data: &[u8], limit: Duration) -> Vec<u8> {
    let (c, s) = p.connected_pair(SocketOptions::default());
    let mut sent = 0;
    let mut got = Vec::with_capacity(data.len());
    let mut buf = vec![0u8; 65536];
    let end = p.now + limit;
    while p.now < end && got.len() < data.len() {
        if sent < data.len() {
            let now = p.now;
            if let Ok(n) =
                p.endpoints[0].send(now, c, &data[sent..(sent + (1 << 20)).min(data.len())])
            {
                sent += n;
                if sent == data.len() {
                    p.endpoints[0].close(now, c);
                }
            }
        }
        while let Ok(n) = p.endpoints[1].recv(s, &mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        if !p.step() {
            break;
        }
    }
    got
}

fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.random()).collect()
}
