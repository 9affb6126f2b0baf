//! Arbitrary text as a scenario: a typed error or a scenario, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = netsim::scenario::Scenario::parse("fuzz.yaml", &text);
});
