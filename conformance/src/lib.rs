//! UDT4 conformance tooling.
//!
//! * [`capture`]: read UDP datagrams out of pcap/pcapng captures (many link types,
//!   IPv4 and IPv6) and write deterministic pcaps that Wireshark's UDT dissector reads.
//! * [`decode`]: one line per UDT packet, for people and for snapshot tests.
//!
//! Protocol checks (`check`) and replay of captures against the core (`replay`) are
//! planned to sit beside these.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod capture;
pub mod decode;
