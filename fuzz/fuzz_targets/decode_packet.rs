//! `decode_packet`: the UDT4 decoder against arbitrary datagrams.
//!
//! Properties checked for every input:
//! 1. `Packet::parse` never panics (it returns `Ok` or `Err`).
//! 2. If it parses, `emit` into a buffer of exactly `buffer_len()` bytes succeeds and
//!    reports `buffer_len()` bytes written; a buffer one byte short is refused.
//!    Into a larger buffer holding garbage it writes the same bytes and nothing past
//!    them.
//!    For a data packet, `DataPacket::emit_header` writes the same 16 header bytes.
//! 3. The emitted bytes parse back to a packet equal to the first one
//!    (`parse(emit(parse(x))) == parse(x)`).
//! 4. Emitting that re-parsed packet reproduces the same bytes: the encoding is
//!    canonical after one round (`emit(parse(emit(p))) == emit(p)`).
//!
//! The input itself need not come back byte-for-byte: UDT4 ignores some bits (the
//! pad words of empty control bodies, the info word of a keep-alive, ...) and `emit`
//! writes them canonically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use udt::packet::{Packet, HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = Packet::parse(data) else {
        return;
    };

    let len = packet.buffer_len();
    let mut buf = vec![0u8; len];
    let written = packet.emit(&mut buf).unwrap_or_else(|e| {
        panic!("emit into buffer_len() = {len} bytes failed: {e}\npacket: {packet:?}")
    });
    assert_eq!(
        written, len,
        "emit wrote {written} bytes, buffer_len() said {len}\npacket: {packet:?}"
    );

    if len > 0 {
        let mut short = vec![0u8; len - 1];
        assert!(
            packet.emit(&mut short).is_err(),
            "emit accepted a {}-byte buffer for a {len}-byte packet\npacket: {packet:?}",
            len - 1
        );
    }

    // Into a larger, dirty buffer: the same bytes at the front, the tail untouched.
    let mut big = vec![0xA5u8; len + 7];
    assert_eq!(packet.emit(&mut big), Ok(len));
    assert_eq!(
        &big[..len],
        &buf[..],
        "emit depends on the buffer's size or contents"
    );
    assert!(
        big[len..].iter().all(|&b| b == 0xA5),
        "emit wrote past buffer_len()"
    );

    // Senders write a data header alone and place the payload themselves.
    if let Packet::Data(d) = &packet {
        let mut header = [0u8; HEADER_LEN];
        d.emit_header(&mut header);
        assert_eq!(
            &header[..],
            &buf[..HEADER_LEN],
            "emit_header differs from emit"
        );
    }

    let reparsed = Packet::parse(&buf).unwrap_or_else(|e| {
        panic!("emitted bytes do not parse: {e}\npacket: {packet:?}\nemitted: {buf:02x?}")
    });
    assert_eq!(
        reparsed, packet,
        "round trip changed the packet\nemitted: {buf:02x?}"
    );

    let mut again = vec![0u8; reparsed.buffer_len()];
    let written_again = reparsed.emit(&mut again).expect("second emit");
    assert_eq!(
        &again[..written_again],
        &buf[..],
        "second emit differs from the first\npacket: {packet:?}"
    );
});
