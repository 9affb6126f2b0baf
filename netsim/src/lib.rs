//! netsim: a deterministic discrete-event network simulator for UDT.
//!
//! The simulator drives the `udt` crate's sans-IO endpoints over simulated links, NAT boxes and
//! hosts described by a YAML scenario (see `SCENARIOS.md`). Time is an integer count of
//! nanoseconds; every random draw comes from a ChaCha stream derived from the scenario seed and
//! the component's name, so a scenario and a seed give byte-identical captures and metrics.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod app;
pub mod capture;
pub mod clock;
pub mod error;
pub mod expect;
pub mod fidelity;
pub mod link;
pub mod loss;
pub mod metrics;
pub mod nat;
pub mod net;
pub mod output;
pub mod packet;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod sim;
pub mod summary;
pub mod sweep;
pub mod timing;
pub mod udp;
pub mod world;
