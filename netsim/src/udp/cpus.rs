//! Keeping the relay and the programs it carries from starving one another.
//!
//! The relay stands for a network, the programs for hosts with CPUs of their own. On this
//! 2-core machine, left to the scheduler, a sender filling its buffer at connection start
//! delayed the relay by up to 2 ms: the first 16 packets reached the receiver back to back,
//! the reference library's receiver reported an arrival rate of 1,000,000 packets/s in its
//! second ACK, and its sender left slow start at a period of 7 µs instead of 120 µs
//! (100 Mbit/s, 20 ms RTT: 5 of 6 seeds). With the relay on a CPU of its own and both
//! programs on the other, the reference was clean but the project's receiver, now starved
//! by its sender, reported the same kind of rate. The sender is the only program that is
//! busy for milliseconds at a time; the relay and the receiver wake per datagram and share a
//! CPU without delaying each other: the sender alone on one CPU and the rest on another gave
//! clean reports in 12 of 12 runs (6 seeds, both implementations).

/// The CPU of each party.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// The relay's threads: the last CPU this process may use.
    pub relay: usize,
    /// The sending program: the first.
    pub sender: usize,
    /// The receiving program: the second with three CPUs or more, else the relay's.
    pub receiver: usize,
}

impl Placement {
    /// Places the parties on the CPUs this thread may use; `None` with fewer than two
    /// (everything then shares one).
    pub fn split() -> Option<Placement> {
        let cpus = allowed()?;
        let (&sender, &relay) = (cpus.first()?, cpus.last()?);
        (cpus.len() >= 2).then(|| Placement {
            relay,
            sender,
            receiver: if cpus.len() >= 3 { cpus[1] } else { relay },
        })
    }
}

/// A thread's CPUs, put back when dropped.
pub struct Pinned(Option<Vec<usize>>);

impl Drop for Pinned {
    fn drop(&mut self) {
        if let Some(before) = self.0.take() {
            let _ = set(&before);
        }
    }
}

/// Restricts the calling thread (and the threads and processes it starts from now on) to
/// `cpus` until the guard is dropped. A failure leaves the thread as it was: the placement
/// is a fidelity measure, not a condition of the run.
pub fn pin(cpus: &[usize]) -> Pinned {
    let before = allowed();
    Pinned(before.filter(|_| set(cpus).is_ok()))
}

#[cfg(target_os = "linux")]
fn allowed() -> Option<Vec<usize>> {
    use nix::sched::{sched_getaffinity, CpuSet};
    let set = sched_getaffinity(nix::unistd::Pid::from_raw(0)).ok()?;
    Some(
        (0..CpuSet::count())
            .filter(|&c| set.is_set(c).unwrap_or(false))
            .collect(),
    )
}

#[cfg(target_os = "linux")]
fn set(cpus: &[usize]) -> Result<(), String> {
    use nix::sched::{sched_setaffinity, CpuSet};
    let mut set = CpuSet::new();
    for &c in cpus {
        set.set(c).map_err(|e| e.to_string())?;
    }
    sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).map_err(|e| e.to_string())
}

#[cfg(not(target_os = "linux"))]
fn allowed() -> Option<Vec<usize>> {
    None
}

#[cfg(not(target_os = "linux"))]
fn set(_: &[usize]) -> Result<(), String> {
    Err("CPU affinity is only set on Linux".into())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_thread_runs_where_it_was_put_and_gets_its_cpus_back() {
        std::thread::spawn(|| {
            let all = allowed().expect("affinity readable");
            let one = [all[all.len() - 1]];
            {
                let _g = pin(&one);
                assert_eq!(allowed().unwrap(), one);
                // A thread started now inherits the restriction.
                let inner = std::thread::spawn(allowed).join().unwrap();
                assert_eq!(inner.unwrap(), one);
            }
            assert_eq!(allowed().unwrap(), all);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn the_sender_gets_a_cpu_of_its_own() {
        let all = allowed().expect("affinity readable");
        match Placement::split() {
            Some(p) => {
                assert_eq!((p.sender, p.relay), (all[0], all[all.len() - 1]));
                assert_ne!(p.sender, p.receiver);
                assert!(all.contains(&p.receiver));
            }
            None => assert_eq!(all.len(), 1),
        }
    }
}
