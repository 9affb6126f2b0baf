//! Shared by the integration tests that need something from the machine (a reference
//! tool, IPv6 loopback); what a missing one does is `udt/tests/support/tools.rs`.
#![allow(dead_code)]

#[path = "../support/tools.rs"]
mod tools;
pub use tools::missing;

/// Whether this machine has an IPv6 loopback; when not, reports it through
/// [`missing`] and returns false.
pub fn ipv6_loopback() -> bool {
    match std::net::UdpSocket::bind("[::1]:0") {
        Ok(_) => true,
        Err(e) => {
            missing(&format!("no IPv6 loopback on this machine ({e})"));
            false
        }
    }
}
