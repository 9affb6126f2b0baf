//! Chaos: for many seeds, random impairments (loss up to 20%, duplication,
//! reordering through jitter, link flaps) and random workloads. Every stream must
//! arrive byte-exact; every message whole and once, or not at all when its TTL
//! allows dropping it; and every run must end by its deadline.
//!
//! A failing seed is printed; `CHAOS_SEED=N cargo test -p udt chaos` runs just it.

use super::*;

/// Seeds that once failed stay here as regression cases (none yet).
const REGRESSIONS: &[u64] = &[];

struct Chaos {
    loss: f64,
    duplicate: f64,
    jitter_us: u64,
    /// (start, length) of an outage of both directions.
    flap: Option<(Duration, Duration)>,
    messages: bool,
    size: usize,
}

impl Chaos {
    fn draw(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xC4A0_5000);
        Chaos {
            loss: rng.random_range(0.0..0.20),
            duplicate: rng.random_range(0.0..0.05),
            jitter_us: rng.random_range(0..20_000),
            flap: rng.random_bool(0.3).then(|| {
                (
                    Duration::from_millis(rng.random_range(0..2000)),
                    Duration::from_millis(rng.random_range(100..8000)),
                )
            }),
            messages: rng.random_bool(0.4),
            size: rng.random_range(1..300_000),
        }
    }
}

fn run_one(seed: u64) -> Result<(), String> {
    let chaos = Chaos::draw(seed);
    let mut p = Pipe::new(2, seed);
    let opts = SocketOptions {
        socket_type: if chaos.messages {
            SocketType::Dgram
        } else {
            SocketType::Stream
        },
        ..Default::default()
    };
    let (c, s) = p.connected_pair(opts);
    // Impairments start once connected: the handshake has its own tests.
    p.loss = chaos.loss;
    p.duplicate = chaos.duplicate;
    p.jitter_us = chaos.jitter_us;
    let start = p.now;
    let deadline = start + Duration::from_secs(120);
    let data = pattern(chaos.size, seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);

    // Workload: a stream of `size` bytes, or messages cut from it at random sizes.
    let mut pieces: Vec<(usize, usize, bool)> = Vec::new(); // (start, end, may be dropped)
    let mut at = 0;
    while at < data.len() {
        let end = (at + rng.random_range(1..20_000)).min(data.len());
        pieces.push((at, end, chaos.messages && rng.random_bool(0.3)));
        at = end;
    }
    let mut next_piece = 0;
    let mut sent = 0;
    let mut got = Vec::new();
    let mut messages: Vec<Vec<u8>> = Vec::new();
    let mut buf = vec![0u8; 65536];
    let done = p.run_until(deadline.saturating_since(p.now), |p| {
        let now = p.now;
        if let Some((from, len)) = chaos.flap {
            let cut = now >= start + from && now < start + from + len;
            p.cut = vec![cut, cut];
        }
        if chaos.messages {
            while let Some(&(a, b, droppable)) = pieces.get(next_piece) {
                let ttl = droppable.then(|| Duration::from_millis(200));
                match p.endpoints[0].send_msg(now, c, &data[a..b], ttl, !droppable) {
                    Ok(()) => next_piece += 1,
                    Err(_) => break,
                }
            }
            while let Ok(Some(m)) = p.endpoints[1].recv_msg(s) {
                messages.push(m);
            }
            // Done once every message that must arrive did, and the sender is idle.
            let must = pieces.iter().filter(|x| !x.2).count();
            let arrived = messages.len() >= must;
            arrived
                && next_piece == pieces.len()
                && p.endpoints[0]
                    .stats(c)
                    .is_some_and(|st| st.send_buffer_bytes == 0)
        } else {
            if sent < data.len() {
                if let Ok(n) = p.endpoints[0].send(now, c, &data[sent..]) {
                    sent += n;
                }
            }
            while let Ok(n @ 1..) = p.endpoints[1].recv(s, &mut buf) {
                got.extend_from_slice(&buf[..n]);
            }
            got.len() >= data.len()
        }
    });
    if !done {
        return Err(format!(
            "did not finish by {deadline}: loss {:.3} dup {:.3} jitter {} flap {:?} msgs {} size {}; got {} msgs {}/{}; tx {:?}; rx {:?}",
            chaos.loss, chaos.duplicate, chaos.jitter_us, chaos.flap, chaos.messages, chaos.size,
            got.len(), messages.len(), pieces.len(),
            p.endpoints[0].stats(c), p.endpoints[1].stats(s)
        ));
    }
    if chaos.messages {
        let mut expected = pieces.iter().peekable();
        for m in &messages {
            // Each message is one of the pieces, whole, in sending order, once.
            loop {
                let Some(&(a, b, droppable)) = expected.next() else {
                    return Err("a message arrived that was never sent, or twice".into());
                };
                if data[a..b] == m[..] {
                    break;
                }
                if !droppable {
                    return Err(format!("message {a}..{b} (no TTL) is missing or corrupted"));
                }
            }
        }
        if expected.any(|x| !x.2) {
            return Err("a message without TTL never arrived".into());
        }
    } else if got != data {
        return Err(format!(
            "stream of {} bytes arrived as {} bytes, differing",
            data.len(),
            got.len()
        ));
    }
    Ok(())
}

#[test]
fn two_hundred_random_worlds() {
    let seeds: Vec<u64> = match std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(one) => vec![one],
        None => (0..200).chain(REGRESSIONS.iter().copied()).collect(),
    };
    let failures: Vec<String> = seeds
        .iter()
        .filter_map(|&seed| run_one(seed).err().map(|e| format!("seed {seed}: {e}")))
        .collect();
    assert!(
        failures.is_empty(),
        "{} failing seeds:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
