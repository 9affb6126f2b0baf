//! How a host's UDT driver wakes up.
//!
//! The protocol core asks to be woken at an exact microsecond (the next paced packet, the
//! ACK timer, EXP). A real host does not wake exactly then, and the difference shapes what
//! goes on the wire: a sender that wakes late sends the packets it owes back to back (UDT4's
//! `m_ullTimeDiff` catch-up, the core's too), so its receiver measures the burst's rate, not
//! the mean rate, and UDT's window (`arrival rate × (RTT + SYN) + 16`) follows. A host's
//! timing is therefore part of the scenario, as a host option.
//!
//! The presets, each measured on a Linux host (HZ=250, kernel 6.x; the numbers and the
//! commands are in `netsim/SCENARIOS.md`):
//!
//! - `exact`: wakes when asked, to the nanosecond (a busy-waiting sender; the default, and
//!   the behaviour of every earlier version of the simulator).
//! - `udt4`: the reference library as Debian builds it (`NO_BUSY_WAITING`): the sending
//!   thread sleeps on a condition that only the receiving thread's loop signals, and that
//!   loop turns once per arriving datagram or when its socket's 100 µs receive timeout
//!   expires, which the kernel rounds up to two 4 ms jiffies. Measured: paced at a mean
//!   1.7 ms, it sends bursts of 4–6 packets every 7.8–8.1 ms (10th–90th percentile). The
//!   preset draws each idle turn from 7.8–8.2 ms: a turn of exactly 8 ms locks the bursts
//!   into one phase with the path, which real hosts never hold (on a 200 ms path it
//!   decided whether a retransmission met a full queue, every run alike). For the same
//!   reason the data an arrival causes (a NAK's retransmission) leaves after the sending
//!   thread's measured wake-up, [`REACTION_SIGMA`], not at the arrival's instant. Control
//!   packets (ACK, ACK2, NAK) leave at once: the receiving thread sends them itself. Held
//!   back like data, a quarter of the ACKs reached the sender less than 10 ms apart, and
//!   UDT's rate control, which raises the rate at most once per 10 ms, skipped those raises.
//!   A datagram that wakes the receiving loop from a sleep of 2 ms or more is taken 20 µs
//!   late ([`DEEP_WAKE`]): the reference's packet-pair capacity estimates run that much
//!   above the link's.
//! - `tokio`: the project's tokio driver: tokio's timer wheel fires on whole milliseconds
//!   after the deadline, and every datagram arrival wakes the task too.

use crate::rng::{box_muller, mix};

/// Spread (σ of the logarithm) of the `udt4` reaction delay, a log-normal around the preset's
/// median of 215 µs: the reference library's NAK-to-retransmission turnaround through the
/// relay on a quiet machine (10 Mbit/s, 200 ms, 145 NAKs) was 98 / 243 / 479 µs at the 10th,
/// 50th and 90th percentiles, of which about 30 µs at the median is loopback and relay.
pub const REACTION_SIGMA: f64 = 0.575;

/// A `udt4` receiving loop that slept at least this long (ns) takes the datagram that wakes
/// it [`DEEP_WAKE`] late. Between the two sleeps measured below: 1.2 ms (the second packet of
/// a pair at 10 Mbit/s, which is measured short, so it is not late) and the ~8 ms the loop
/// sleeps at most (its idle turn).
pub const DEEP_SLEEP: u64 = 2_000_000;

/// How late (ns) a `udt4` host takes a datagram that ends a long sleep.
///
/// Measured through the relay: the reference library's receiver reports packet-pair gaps
/// shorter than the path spaces them, so its link capacity in ACKs is above the link's: at
/// 100 Mbit/s (120 µs gaps, 8,333 packets/s) medians of 8,784 and 8,950 packets/s in two runs
/// with the receiver sharing a CPU with the relay, 9,236 with the receiver alone on its CPU;
/// at 10 Mbit/s (1.2 ms, 833) 838. The relay's own capture spaces the pairs 119.9–120.2 µs
/// (10th–90th percentile) and it departs on time (p90 2 µs late), so the receiving host
/// stamps the pair's first packet late. The model's reading, not measured directly: that
/// packet mostly ends a long sleep (the sender's bursts come every ~8 ms), the second a
/// short one, and a CPU waking from a deeper idle state takes longer (consistent with the
/// larger figure alone on its CPU). 20 µs gives the simulated receiver the same medians:
/// 8,795 at 100 Mbit/s (6 seeds), 841 at 10 Mbit/s.
///
/// It matters because UDT's rate increase steps by decades of the spare capacity
/// (`udt-protocol.md` §6.3): at 100 Mbit/s the capacity estimate sits on a step, and an
/// estimate 5% high gives ten times the increase of an exact one. Without it the simulated
/// reference fell into UDT's small-window regime more often at 100 Mbit/s, 100–200 ms, 3%
/// loss (window above 300 packets 66% of the time from 5 s on, the reference 87%) and its
/// goodput was 0.86–0.87 of the reference's over nine seeds.
pub const DEEP_WAKE: u64 = 20_000;

/// The wake-up rule of one host's driver.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HostTiming {
    /// Wakes exactly at the requested time.
    #[default]
    Exact,
    /// Wakes at the first multiple of `tick` (ns) at or after the requested time, and on
    /// every arrival.
    Grid {
        /// The timer granularity, ns.
        tick: u64,
    },
    /// Wakes only on a datagram arrival or after an idle turn without one.
    ArrivalOrIdle {
        /// How long the receiving loop waits for a datagram before it turns anyway, ns:
        /// at least this long,
        idle: u64,
        /// plus up to this much more, drawn per turn (ns; 0: every turn is `idle`),
        spread: u64,
        /// Median delay from a datagram's arrival to what it makes the driver send, ns (0:
        /// at once); log-normal with spread [`REACTION_SIGMA`], drawn per datagram (see
        /// [`HostTiming::reaction`]).
        reaction: u64,
        /// A datagram that ends a sleep of at least `deep` ns is taken `wake` ns after it
        /// arrived (0: every datagram at its arrival); see [`HostTiming::take_delay`].
        deep: u64,
        /// See `deep`.
        wake: u64,
        /// Draws use this seed (the host's).
        seed: u64,
    },
}

impl HostTiming {
    /// The preset names, for error messages and docs.
    pub const PRESETS: [&'static str; 3] = ["exact", "udt4", "tokio"];

    /// A preset by name.
    pub fn preset(name: &str) -> Option<HostTiming> {
        match name {
            "exact" => Some(HostTiming::Exact),
            "udt4" => Some(HostTiming::ArrivalOrIdle {
                idle: 7_800_000,
                spread: 400_000,
                reaction: 215_000,
                deep: DEEP_SLEEP,
                wake: DEEP_WAKE,
                seed: 0,
            }),
            "tokio" => Some(HostTiming::Grid { tick: 1_000_000 }),
            _ => None,
        }
    }

    /// When a driver that wants to run at `want` (ns) really runs, given that it last
    /// turned (an arrival or an idle wake) at `last_turn` and it is `now`.
    pub fn wake_at(self, want: u64, now: u64, last_turn: u64) -> u64 {
        if want <= now {
            return want;
        }
        match self {
            HostTiming::Exact => want,
            HostTiming::Grid { tick } => want.div_ceil(tick) * tick,
            HostTiming::ArrivalOrIdle {
                idle, spread: 0, ..
            } => {
                let turns = (want.saturating_sub(last_turn)).div_ceil(idle).max(1);
                last_turn + turns * idle
            }
            HostTiming::ArrivalOrIdle {
                idle, spread, seed, ..
            } => {
                // Turn k after `last_turn` lasts a hash of (seed, last_turn, k): the same
                // schedule however often the driver re-arms its timer.
                let mut at = last_turn;
                for k in 0u64.. {
                    at += idle + mix(seed ^ mix(last_turn ^ mix(k))) % (spread + 1);
                    if at >= want {
                        break;
                    }
                }
                at
            }
        }
    }

    /// How long after datagram number `n` (counted per endpoint) arrives the driver sends
    /// what it caused, ns; 0 for hosts that react at once. UDT4's receiving thread takes
    /// the datagram (and its arrival time) at once, then signals the sending thread, which
    /// wakes some hundred microseconds later.
    pub fn reaction(self, n: u64) -> u64 {
        match self {
            HostTiming::ArrivalOrIdle { reaction, seed, .. } if reaction > 0 => {
                // A standard normal from two hashed uniforms in (0, 1], capped at four σ
                // either way.
                let unit =
                    |k: u64| ((mix(seed ^ mix(n ^ k)) >> 11) + 1) as f64 / (1u64 << 53) as f64;
                let (u, v) = (unit(0x5EAC_7100), unit(0x5EAC_7101));
                let z = box_muller(u, v);
                (reaction as f64 * (REACTION_SIGMA * z.clamp(-4.0, 4.0)).exp()) as u64
            }
            _ => 0,
        }
    }

    /// How long after its arrival a datagram is taken (its arrival time for the protocol),
    /// ns, when the receiving loop last turned `slept` ns before: a `udt4` host's loop that
    /// slept long wakes late (see [`DEEP_WAKE`]); every other host takes it at once.
    pub fn take_delay(self, slept: u64) -> u64 {
        match self {
            HostTiming::ArrivalOrIdle { deep, wake, .. } if wake > 0 && slept >= deep => wake,
            _ => 0,
        }
    }

    /// This rule for the host whose own seed is `seed` (only drawn turns use it).
    pub fn seeded(self, seed: u64) -> HostTiming {
        match self {
            HostTiming::ArrivalOrIdle {
                idle,
                spread,
                reaction,
                deep,
                wake,
                ..
            } => HostTiming::ArrivalOrIdle {
                idle,
                spread,
                reaction,
                deep,
                wake,
                seed,
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn exact_wakes_when_asked() {
        assert_eq!(HostTiming::Exact.wake_at(1_234, 0, 0), 1_234);
    }

    #[test]
    fn grid_rounds_up_to_the_tick() {
        let g = HostTiming::preset("tokio").unwrap();
        assert_eq!(g.wake_at(MS + 1, 0, 0), 2 * MS);
        assert_eq!(g.wake_at(2 * MS, 0, 0), 2 * MS);
        assert_eq!(g.wake_at(5, 10, 0), 5, "a time already due is not delayed");
    }

    #[test]
    fn idle_turns_count_from_the_last_turn() {
        let u = HostTiming::ArrivalOrIdle {
            idle: 8 * MS,
            spread: 0,
            reaction: 0,
            deep: 0,
            wake: 0,
            seed: 0,
        };
        // Last turn at 3 ms: turns at 11, 19, 27 ms.
        assert_eq!(u.wake_at(4 * MS, 3 * MS, 3 * MS), 11 * MS);
        assert_eq!(u.wake_at(11 * MS, 3 * MS, 3 * MS), 11 * MS);
        assert_eq!(u.wake_at(12 * MS, 5 * MS, 3 * MS), 19 * MS);
    }

    #[test]
    fn a_udt4_host_takes_late_only_what_ends_a_long_sleep() {
        let u = HostTiming::preset("udt4").unwrap();
        assert_eq!(u.take_delay(DEEP_SLEEP), DEEP_WAKE);
        assert_eq!(u.take_delay(8 * MS), DEEP_WAKE);
        assert_eq!(u.take_delay(DEEP_SLEEP - 1), 0);
        assert_eq!(u.take_delay(120_000), 0, "the second packet of a pair");
        assert_eq!(
            u.seeded(3).take_delay(8 * MS),
            DEEP_WAKE,
            "seeding keeps it"
        );
        for other in ["exact", "tokio"] {
            assert_eq!(HostTiming::preset(other).unwrap().take_delay(8 * MS), 0);
        }
    }

    #[test]
    fn udt4_reactions_follow_the_measured_turnaround() {
        let u = HostTiming::preset("udt4").unwrap().seeded(7);
        let mut d: Vec<u64> = (1..=10_000).map(|n| u.reaction(n)).collect();
        assert_eq!(u.reaction(42), d[41], "a draw repeats");
        d.sort_unstable();
        let q = |p: f64| d[(p * (d.len() - 1) as f64) as usize] as f64 / 1000.0;
        // Log-normal, median 215 µs, σ 0.575: 103 / 215 / 450 µs.
        assert!((95.0..112.0).contains(&q(0.1)), "p10 {} µs", q(0.1));
        assert!((205.0..225.0).contains(&q(0.5)), "p50 {} µs", q(0.5));
        assert!((420.0..480.0).contains(&q(0.9)), "p90 {} µs", q(0.9));
        assert_eq!(HostTiming::Exact.reaction(1), 0);
        assert_eq!(HostTiming::preset("tokio").unwrap().reaction(1), 0);
    }

    #[test]
    fn udt4_turns_spread_over_the_measured_range_and_repeat_for_a_seed() {
        let u = HostTiming::preset("udt4").unwrap().seeded(7);
        let mut firsts = std::collections::BTreeSet::new();
        for last in (0..200).map(|i| i * 3 * MS) {
            let first = u.wake_at(last + 1, last, last) - last;
            assert!((7_800_000..=8_200_000).contains(&first), "{first}");
            firsts.insert(first);
            // Re-arming gives the same turn; a later want lands on a later turn.
            assert_eq!(u.wake_at(last + 5 * MS, last + 2 * MS, last) - last, first);
            let second = u.wake_at(last + first + 1, last, last) - last;
            assert!((first + 7_800_000..=first + 8_200_000).contains(&second));
        }
        assert!(firsts.len() > 150, "{} distinct turns of 200", firsts.len());
        let other = HostTiming::preset("udt4").unwrap().seeded(8);
        assert_ne!(other.wake_at(1, 0, 0), u.wake_at(1, 0, 0));
    }
}
