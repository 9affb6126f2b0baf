//! What an integration test does when something it needs from the machine (tshark, g++
//! with libudt-dev, valgrind, an IPv6 loopback) is missing, for every crate's tests:
//! `#[path = ".../udt/tests/support/tools.rs"] mod tools;`.
//!
//! By default it says why on stderr and passes, so `cargo test` works on a bare machine.
//! With `UDT_REQUIRE_TOOLS=1` (CI sets it in `.ci/run`) a missing tool is a failure. A tool
//! that is there but fails (g++ cannot compile the peer) is a failure everywhere: callers
//! panic for that themselves, it never comes here.
#![allow(dead_code)]

/// The variable that turns a missing tool into a failure.
pub const REQUIRE_TOOLS: &str = "UDT_REQUIRE_TOOLS";

/// Whether [`REQUIRE_TOOLS`] is set to `1`.
pub fn tools_required() -> bool {
    std::env::var(REQUIRE_TOOLS).is_ok_and(|v| v == "1")
}

/// A test cannot run because `why`: panics when tools are required, otherwise prints the
/// reason; the caller then returns.
pub fn missing(why: &str) {
    assert!(
        !tools_required(),
        "{why}; {REQUIRE_TOOLS}=1 makes a missing tool a failure"
    );
    eprintln!("skipped: {why}");
}
