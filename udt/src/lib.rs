//! UDT version 4 (UDP-based Data Transfer): the wire format and a sans-IO protocol
//! core, wire-compatible with the reference C++ library (udt4.11).
//!
//! The core never reads a clock, sleeps, touches a socket or draws randomness it was
//! not handed: time comes in as [`time::Instant`], datagrams as bytes, and what to
//! send comes out of [`Endpoint::poll_transmit`]. The simulator (`netsim`) and the
//! tokio driver are thin loops around the same [`Endpoint`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cc;
mod conn;
mod endpoint;
mod error;
mod options;
pub mod packet;
pub mod seq;
mod stats;
pub mod time;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use conn::{Event, SocketState, Timer};
pub use endpoint::{ConnectionHandle, Endpoint, EndpointStats, Transmit};
pub use error::Error;
pub use options::{EndpointConfig, Profile, SocketOptions};
pub use stats::Stats;
