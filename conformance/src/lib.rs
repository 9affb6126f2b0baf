//! UDT4 conformance tooling.
//!
//! * [`capture`]: read UDP datagrams out of pcap/pcapng captures (many link types,
//!   IPv4 and IPv6) and write deterministic pcaps that Wireshark's UDT dissector reads.
//! * [`decode`]: one line per UDT packet, for people and for snapshot tests.
//!
//! * [`check`]: rebuild the UDT connections of a capture and run named protocol
//!   checks on each (handshake grammar, sequence numbers, ACK/ACK2/NAK, shutdown).
//! * [`replay`]: feed one side of a recorded connection into the project's
//!   `udt::Endpoint` and compare what it sends with what the recorded peer sent.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod capture;
pub mod check;
pub mod decode;
pub mod replay;
