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
//! Sockets, ids and UDT4's state rules live in [`socket`], data calls,
//! options and perfmon in [`data`], epoll in [`epoll`], the exported functions
//! in [`ffi`]. The Rust side exposes nothing else: the interface is C.
#![deny(missing_docs)]

mod addr;
mod data;
mod epoll;
mod error;
mod ffi;
mod mux;
mod options;
mod perf;
mod socket;

/// How long a blocked call sleeps before it looks again even without a wake-up.
pub(crate) const WAIT_SLICE: std::time::Duration = std::time::Duration::from_millis(20);

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
