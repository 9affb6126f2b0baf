//! Simulator time (integer nanoseconds) and UDT's clock (integer microseconds): the one place
//! they convert. Nanoseconds round down to the microsecond, as UDT's timestamps do.

use udt::time::{Duration, Instant};

/// UDT's instant for simulator time `ns`.
pub fn to_udt(ns: u64) -> Instant {
    Instant::from_micros(ns / 1000)
}

/// Simulator time of UDT's instant `t`.
pub fn from_udt(t: Instant) -> u64 {
    t.as_micros().saturating_mul(1000)
}

/// UDT's duration for a span of `ns` simulator nanoseconds.
pub fn span_to_udt(ns: u64) -> Duration {
    Duration::from_micros(ns / 1000)
}
