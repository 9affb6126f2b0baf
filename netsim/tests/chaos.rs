//! Chaos on the simulator: for 200 seeds, a scenario with random impairments (loss up
//! to 20%, bursty loss, reordering, duplication, jitter, link flaps, bandwidth
//! changes) and a random workload. For every seed: each stream transfer completes
//! byte-exact; each message arrives whole and at most once, in order when asked, or
//! is dropped by its TTL; and the run ends by its simulated deadline.
//!
//! A failing seed is printed with its scenario; `CHAOS_SEED=N` runs just that one.
//! Seeds that once failed join `REGRESSIONS`.

use std::fmt::Write as _;

use netsim::run::{run, RunOptions};
use netsim::scenario::Scenario;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Seeds that failed on the way, kept as regression cases.
const REGRESSIONS: &[u64] = &[];

/// A random scenario for `seed`.
fn world(seed: u64) -> String {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    let mut y = String::new();
    let rate = r.random_range(5..=100);
    let delay = r.random_range(1..=100);
    writeln!(y, "name: chaos{seed}\nseed: {seed}\nduration: 120s").unwrap();
    writeln!(
        y,
        "hosts:\n  a: {{ address: 10.0.0.1 }}\n  b: {{ address: 10.0.1.1 }}"
    )
    .unwrap();
    writeln!(y, "links:\n  - name: path\n    between: [a, b]").unwrap();
    writeln!(y, "    rate: {rate}Mbps\n    delay: {delay}ms").unwrap();
    writeln!(y, "    queue: {} packets", r.random_range(20..=2000)).unwrap();
    if r.random_bool(0.5) {
        writeln!(y, "    jitter: {{ uniform: {}ms }}", r.random_range(1..=20)).unwrap();
    }
    if r.random_bool(0.7) {
        writeln!(
            y,
            "    loss: {{ bernoulli: {:.2}% }}",
            r.random_range(0.0..20.0)
        )
        .unwrap();
    } else {
        writeln!(
            y,
            "    loss: {{ gilbert_elliott: {{ p_gb: {:.2}%, p_bg: {}%, loss_good: 0%, loss_bad: {}% }} }}",
            r.random_range(0.1..3.0),
            r.random_range(5..=50),
            r.random_range(10..=80)
        )
        .unwrap();
    }
    if r.random_bool(0.5) {
        writeln!(
            y,
            "    reorder: {{ probability: {:.2}%, delay: {}ms }}",
            r.random_range(0.0..5.0),
            r.random_range(1..=10)
        )
        .unwrap();
    }
    if r.random_bool(0.5) {
        writeln!(y, "    duplicate: {:.2}%", r.random_range(0.0..5.0)).unwrap();
    }
    // Workload.
    writeln!(y, "flows:\n  - name: f\n    from: a\n    to: \"b:9000\"").unwrap();
    let messages = r.random_bool(0.35);
    if messages {
        let ttl = r.random_bool(0.5);
        writeln!(
            y,
            "    mode: message\n    messages: {{ size: {}B, rate: {}, count: {}{} }}",
            r.random_range(16..=8000),
            r.random_range(10..=200),
            r.random_range(10..=300),
            if ttl {
                format!(", ttl: {}ms, in_order: false", r.random_range(50..=500))
            } else {
                ", in_order: true".into()
            }
        )
        .unwrap();
    } else {
        writeln!(y, "    transfer: {}KiB", r.random_range(1..=1024)).unwrap();
    }
    // Link flaps (shorter than the ~46 s UDT takes to give up) and rate changes.
    let mut events = vec![];
    if r.random_bool(0.3) {
        let at = r.random_range(0..5000);
        let down = r.random_range(100..15_000);
        events.push(format!("  - {{ at: {at}ms, link: path, up: false }}"));
        events.push(format!(
            "  - {{ at: {}ms, link: path, up: true }}",
            at + down
        ));
    }
    if r.random_bool(0.3) {
        let at = r.random_range(0..10_000);
        events.push(format!(
            "  - {{ at: {at}ms, link: path, rate: {}Mbps }}",
            r.random_range(1..=100)
        ));
    }
    if !events.is_empty() {
        writeln!(y, "events:\n{}", events.join("\n")).unwrap();
    }
    y
}

fn check(seed: u64) -> Result<(), String> {
    let text = world(seed);
    let s =
        Scenario::parse(&format!("chaos{seed}.yaml"), &text).map_err(|e| format!("{e}\n{text}"))?;
    let out = std::env::temp_dir().join(format!("netsim-chaos-{}-{seed}", std::process::id()));
    let o = run(
        &s,
        &RunOptions {
            out: Some(out.clone()),
            quiet: true,
            no_plots: true,
            ..Default::default()
        },
    )
    .map_err(|e| format!("run failed: {e}\n{text}"))?;
    let _ = std::fs::remove_dir_all(&out);
    let f = &o.summary.flows[0];
    let fail = |why: String| Err(format!("{why}\n{text}"));
    if o.sim.simulated_s > 120.0 + 1e-6 {
        return fail(format!("ran to {} s, past the deadline", o.sim.simulated_s));
    }
    if !f.byte_exact && f.completion_time_s.is_some() {
        return fail("completed but not byte-exact".into());
    }
    match o.sim.messages_of(&f.name) {
        None => {
            if f.completion_time_s.is_none() {
                return fail(format!(
                    "transfer incomplete: {} of {} bytes",
                    f.bytes_received, f.bytes_sent
                ));
            }
        }
        Some(m) => {
            if !f.byte_exact {
                return fail("a message arrived corrupted".into());
            }
            if m.received > m.sent {
                return fail(format!(
                    "{} messages arrived of {} sent",
                    m.received, m.sent
                ));
            }
            let in_order = text.contains("in_order: true");
            if in_order && (m.received != m.sent || m.out_of_order > 0) {
                return fail(format!(
                    "reliable in-order messages: {} of {} arrived, {} out of order",
                    m.received, m.sent, m.out_of_order
                ));
            }
        }
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
        None => (1..=200).chain(REGRESSIONS.iter().copied()).collect(),
    };
    let failures: Vec<String> = seeds
        .iter()
        .filter_map(|&seed| check(seed).err().map(|e| format!("seed {seed}: {e}")))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} seeds failed:\n{}",
        failures.len(),
        seeds.len(),
        failures.join("\n")
    );
}
