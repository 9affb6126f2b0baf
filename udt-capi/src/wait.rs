//! How blocked calls wait and get woken: a lock that survives poisoning, the
//! slice a blocked call sleeps before it looks again, and the process-wide
//! signal that multiplexers raise for epoll and select waiters.
//!
//! The signal lives down here, below the multiplexers and epoll alike, so a
//! multiplexer can wake epoll waiters without knowing epoll.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, LazyLock, Mutex, MutexGuard};
use std::time::Duration;

/// How long a blocked call sleeps before it looks again even without a wake-up.
pub const SLICE: Duration = Duration::from_millis(20);

/// Locks, ignoring poisoning: a panic caught at the FFI boundary must not make
/// every later call fail.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A count bumped at every raise, and the condition variable it is raised on.
static SIGNAL: LazyLock<(Mutex<u64>, Condvar)> = LazyLock::new(Default::default);

/// Live epoll sets and select calls in progress: with none, raising is skipped.
pub static LISTENERS: AtomicUsize = AtomicUsize::new(0);

/// A multiplexer saw events: wake the epoll and select waiters.
pub fn notify() {
    if LISTENERS.load(Ordering::Relaxed) == 0 {
        return;
    }
    let (m, c) = &*SIGNAL;
    *lock(m) += 1;
    c.notify_all();
}

/// The signal's count now: taken before looking, so that a raise in between
/// is not slept through (see [`wait_after`]).
pub fn seen() -> u64 {
    *lock(&SIGNAL.0)
}

/// Sleeps until the signal is raised past `seen`, or for `slice`.
pub fn wait_after(seen: u64, slice: Duration) {
    let (m, c) = &*SIGNAL;
    let g = lock(m);
    if *g == seen {
        let _ = c.wait_timeout(g, slice);
    }
}
