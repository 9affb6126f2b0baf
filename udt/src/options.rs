//! Per-connection options (UDT4's socket options, `udt-protocol.md` §7.1) and
//! endpoint configuration.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use crate::packet::SocketType;
use crate::time::Duration;

/// Options of one UDT connection. Defaults are UDT4's.
#[derive(Clone, Debug, PartialEq)]
pub struct SocketOptions {
    /// Stream (byte stream) or datagram (messages).
    pub socket_type: SocketType,
    /// Maximum segment size in bytes, including 28 bytes of IP/UDP header.
    pub mss: u32,
    /// Largest flow window, packets (UDT_FC).
    pub flight_flag_size: u32,
    /// Send buffer, packets (UDT_SNDBUF / (MSS − 28)).
    pub send_buffer: u32,
    /// Receive buffer, packets (UDT_RCVBUF / (MSS − 28)).
    pub recv_buffer: u32,
    /// How long close waits for unacknowledged data (UDT_LINGER).
    pub linger: Duration,
    /// Pacing floor, bytes/s (UDT_MAXBW); `None` is unlimited.
    pub max_bandwidth: Option<u64>,
    /// Congestion control, by name (see [`crate::cc::by_name`]).
    pub congestion: String,
    /// A congestion control of the application's own, built per connection; takes
    /// precedence over `congestion` when set (see [`SocketOptions::congestion_control`]).
    pub cc_factory: Option<crate::cc::CcFactory>,
    /// Which protocol behaviour to follow where the project departs from UDT 4.11.
    pub profile: Profile,
}

/// The project's UDT, or UDT 4.11 exactly as the reference library behaves.
///
/// Every place where the default departs from the reference is switched by this
/// one value, so a researcher can measure either. The departures:
///
/// | behaviour | `Improved` (default) | `Reference` (UDT 4.11) |
/// | --- | --- | --- |
/// | outstanding losses | re-reported every NAK interval (draft, UDT ≤ 4.8), and at once when a later retransmission overtakes a lost one | reported once; a lost retransmission waits for EXP |
/// | expired message (TTL) | the drop request names the whole message | it names the packet up to one past the message's end |
/// | a late sender | catches up at most one SYN (10 ms) of lateness in a burst | catches up all accumulated lateness |
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Profile {
    /// The project's UDT: UDT 4.11 plus the fixes listed on [`Profile`].
    #[default]
    Improved,
    /// UDT 4.11 as the reference library behaves, departures switched back.
    Reference,
}

impl Profile {
    /// Every profile, by name.
    pub const NAMES: [&'static str; 2] = ["improved", "reference"];

    /// The profile called `name` (`improved` or `reference`).
    pub fn by_name(name: &str) -> Option<Profile> {
        match name {
            "improved" => Some(Profile::Improved),
            "reference" => Some(Profile::Reference),
            _ => None,
        }
    }

    /// The profile's name.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Improved => "improved",
            Profile::Reference => "reference",
        }
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions {
            socket_type: SocketType::Stream,
            mss: 1500,
            flight_flag_size: 25600,
            send_buffer: 8192,
            recv_buffer: 8192,
            linger: Duration::from_secs(180),
            max_bandwidth: None,
            congestion: "udt".into(),
            cc_factory: None,
            profile: Profile::Improved,
        }
    }
}

impl SocketOptions {
    /// Checks the ranges UDT4 enforces (error 5003 otherwise).
    pub fn validate(&self) -> Result<(), crate::Error> {
        let ok = self.mss >= 76
            && self.mss <= 65_535
            && self.flight_flag_size >= 1
            && self.send_buffer >= 1
            && self.recv_buffer >= 1
            && matches!(self.socket_type, SocketType::Stream | SocketType::Dgram)
            && self.congestion_control().is_some();
        if ok {
            Ok(())
        } else {
            Err(crate::Error::InvalidParameter)
        }
    }

    /// A fresh congestion control for one connection: the factory's if there is one,
    /// else the one named by `congestion`.
    pub fn congestion_control(&self) -> Option<Box<dyn crate::cc::CongestionControl>> {
        match &self.cc_factory {
            Some(factory) => Some(factory.build()),
            None => crate::cc::by_name(&self.congestion),
        }
    }

    /// The flow window offered in handshakes: min(receive buffer, FC), FC at least 32.
    pub(crate) fn offered_window(&self) -> u32 {
        self.recv_buffer.max(32).min(self.flight_flag_size.max(32))
    }
}

/// Configuration of one endpoint (one UDP port).
#[derive(Clone, Debug, PartialEq)]
pub struct EndpointConfig {
    /// The address the endpoint's UDP socket is bound to, as peers see it.
    pub local_addr: SocketAddr,
    /// Seed for every random choice (socket ids, ISNs, cookie secret).
    pub seed: u64,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            local_addr: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)),
            seed: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cc::{CcContext, CcControl, CcFactory, Fixed};
    use crate::seq::SeqNumber;
    use crate::time::Instant;

    #[test]
    fn a_factory_takes_precedence_and_compares_by_identity() {
        let factory = CcFactory::new(|| Box::new(Fixed::new(42.0).unwrap()));
        let opts = SocketOptions {
            cc_factory: Some(factory.clone()),
            ..Default::default()
        };
        assert_eq!(opts.clone(), opts);
        assert_ne!(
            opts,
            SocketOptions {
                cc_factory: Some(CcFactory::new(|| Box::new(Fixed::default()))),
                ..Default::default()
            }
        );
        assert!(format!("{opts:?}").contains("CcFactory(..)"));
        let mut cc = opts.congestion_control().unwrap();
        let ctx = CcContext {
            now: Instant::from_micros(0),
            mss: 1500,
            max_cwnd: 100.0,
            snd_curr_seq: SeqNumber::new(0),
            rtt_us: 100_000,
            rcv_rate: 0,
            bandwidth: 0,
        };
        let mut ctl = CcControl::default();
        cc.init(&ctx, &mut ctl);
        assert!((ctl.pkt_snd_period_us - 1500.0 * 8.0 / 42.0).abs() < 1e-9);
        assert!(opts.validate().is_ok());
    }
}
