//! UDT4's socket API for C and C++ programs, over the project's sans-IO
//! [`udt::Endpoint`].
//!
//! The library exports a C ABI (`udt_startup`, `udt_socket`, `udt_bind`, …,
//! declared in `include/udt/udt_c.h`) and ships a C++ header,
//! `include/udt/udt.h`, with UDT4's namespace `UDT`, types, constants and
//! signatures forwarding to it, so a program written against UDT4
//! (`#include <udt/udt.h>`, `-ludt`) recompiles unchanged.
//!
//! It is one more thin driver of the core: one background thread per
//! multiplexer (UDP port) drives one `udt::Endpoint` against the OS clock
//! ([`mux`]); blocking calls wait on the multiplexer's condition variable.
//! The Rust side exposes nothing else: the interface is C.
//!
//! Layers, each module using only those below it (no import circles):
//! 1. [`error`], [`addr`], [`options`], [`perf`] (values and conversions) and
//!    [`wait`] (locking, the wait slice, the signal that wakes epoll waiters);
//! 2. [`mux`]: the UDP port, its endpoint and thread; it raises [`wait`]'s signal;
//! 3. [`registry`]: the id table and each socket's state, UDTSTATUS, readiness;
//! 4. [`socket`] (create … close), [`data`] (data calls, options, perfmon) and
//!    [`epoll`] (sets and waits), side by side; then [`ffi`], the exported C functions.
#![deny(missing_docs)]

mod addr;
mod data;
mod epoll;
mod error;
mod ffi;
mod mux;
mod options;
mod perf;
mod registry;
mod socket;
mod wait;

/// The core's clock: microseconds since the library's first use.
pub(crate) mod clock {
    use std::sync::LazyLock;

    static ORIGIN: LazyLock<std::time::Instant> = LazyLock::new(std::time::Instant::now);

    /// Now, as the core counts time.
    pub fn now() -> udt::time::Instant {
        udt::time::Instant::from_micros(ORIGIN.elapsed().as_micros() as u64)
    }
}

/// 64 random bits from the standard library's per-process hash keys and the
/// clock (seeds for socket ids and each endpoint; no other RNG is needed).
pub(crate) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}
