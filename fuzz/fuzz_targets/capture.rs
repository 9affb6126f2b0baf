//! Arbitrary bytes as a capture file: a typed error or datagrams, never a panic;
//! every datagram found also goes through the UDT decoder.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(capture) = conformance::capture::read_bytes(data) {
        for d in &capture.datagrams {
            let _ = udt::packet::Packet::parse(&d.payload);
        }
    }
});
