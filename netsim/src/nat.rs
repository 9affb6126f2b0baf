//! A NAT box with the behaviours of RFC 4787: mapping and filtering each endpoint-independent,
//! address-dependent or address-and-port-dependent; port preservation or random ports; a
//! mapping timeout refreshed by outbound traffic; optional hairpinning.

use crate::rng::SimRng;
use rand::Rng;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// How much of the remote endpoint a mapping or a filter depends on (RFC 4787 §4.1, §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dependence {
    /// Same for every remote endpoint.
    EndpointIndependent,
    /// Depends on the remote IP address.
    AddressDependent,
    /// Depends on the remote IP address and port.
    AddressPortDependent,
}

/// Configuration of one NAT box.
#[derive(Clone, Debug, PartialEq)]
pub struct NatConfig {
    /// The outside address.
    pub public_ip: Ipv4Addr,
    /// Mapping behaviour.
    pub mapping: Dependence,
    /// Filtering behaviour.
    pub filtering: Dependence,
    /// Keep the internal port as the external port when it is free.
    pub port_preservation: bool,
    /// A mapping unused by outbound traffic for this long (ns) expires.
    pub timeout: u64,
    /// Whether packets from inside to the public address are turned back inside.
    pub hairpin: bool,
}

/// The classic names for common combinations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// Endpoint-independent mapping and filtering.
    FullCone,
    /// Endpoint-independent mapping, address-dependent filtering.
    RestrictedCone,
    /// Endpoint-independent mapping, address-and-port-dependent filtering.
    PortRestrictedCone,
    /// Address-and-port-dependent mapping and filtering, random ports.
    Symmetric,
}

impl Preset {
    /// (mapping, filtering, port preservation) of the preset.
    pub fn behaviour(self) -> (Dependence, Dependence, bool) {
        use Dependence::*;
        match self {
            Preset::FullCone => (EndpointIndependent, EndpointIndependent, true),
            Preset::RestrictedCone => (EndpointIndependent, AddressDependent, true),
            Preset::PortRestrictedCone => (EndpointIndependent, AddressPortDependent, true),
            Preset::Symmetric => (AddressPortDependent, AddressPortDependent, false),
        }
    }
}

/// The part of the remote endpoint a mapping is keyed on.
type RemoteKey = (Option<IpAddr>, Option<u16>);

fn remote_key(d: Dependence, remote: SocketAddr) -> RemoteKey {
    match d {
        Dependence::EndpointIndependent => (None, None),
        Dependence::AddressDependent => (Some(remote.ip()), None),
        Dependence::AddressPortDependent => (Some(remote.ip()), Some(remote.port())),
    }
}

struct Mapping {
    internal: SocketAddr,
    key: RemoteKey,
    last_out: u64,
    /// Remote endpoints this mapping sent to, with when.
    permits: Vec<(SocketAddr, u64)>,
}

/// Counters of one NAT.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct NatCounters {
    /// Mappings created.
    pub mappings_created: u64,
    /// Mappings that expired.
    pub mappings_expired: u64,
    /// Inbound packets with no mapping.
    pub dropped_no_mapping: u64,
    /// Inbound packets refused by the filter.
    pub dropped_filtered: u64,
    /// Hairpin packets refused (hairpinning off).
    pub dropped_hairpin: u64,
    /// Outbound packets dropped: no free port.
    pub dropped_no_port: u64,
}

/// Why a NAT refused a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NatDrop {
    /// No mapping for the destination port.
    NoMapping,
    /// The filter refused the source.
    Filtered,
    /// Hairpinning is off.
    Hairpin,
    /// No external port left.
    NoPort,
}

/// A NAT box: translation state only; the network decides which side a packet came from.
pub struct Nat {
    cfg: NatConfig,
    rng: SimRng,
    by_port: BTreeMap<u16, Mapping>,
    by_key: BTreeMap<(SocketAddr, RemoteKey), u16>,
    counters: NatCounters,
}

const PORT_LO: u16 = 1024;

impl Nat {
    /// A NAT drawing random ports from `rng`.
    pub fn new(cfg: NatConfig, rng: SimRng) -> Self {
        Nat {
            cfg,
            rng,
            by_port: BTreeMap::new(),
            by_key: BTreeMap::new(),
            counters: NatCounters::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &NatConfig {
        &self.cfg
    }

    /// Counters so far.
    pub fn counters(&self) -> &NatCounters {
        &self.counters
    }

    fn expire(&mut self, now: u64, port: u16) -> bool {
        let Some(m) = self.by_port.get(&port) else {
            return false;
        };
        if now.saturating_sub(m.last_out) < self.cfg.timeout {
            return false;
        }
        let m = self
            .by_port
            .remove(&port)
            .expect("present: looked up just above");
        self.by_key.remove(&(m.internal, m.key));
        self.counters.mappings_expired += 1;
        true
    }

    fn alloc_port(&mut self, now: u64, wanted: u16) -> Option<u16> {
        let free = |s: &mut Self, p: u16| {
            s.expire(now, p);
            !s.by_port.contains_key(&p)
        };
        if self.cfg.port_preservation && wanted >= PORT_LO && free(self, wanted) {
            return Some(wanted);
        }
        for _ in 0..64 {
            let p = self.rng.random_range(49152..=65535u16);
            if free(self, p) {
                return Some(p);
            }
        }
        (PORT_LO..=u16::MAX).find(|&p| free(self, p))
    }

    /// Translates an outbound packet's source; `None` when no port is free.
    pub fn outbound(
        &mut self,
        now: u64,
        src: SocketAddr,
        dst: SocketAddr,
    ) -> Result<SocketAddr, NatDrop> {
        let key = remote_key(self.cfg.mapping, dst);
        let port = match self.by_key.get(&(src, key)).copied() {
            Some(p) if !self.expire(now, p) => p,
            _ => {
                let Some(p) = self.alloc_port(now, src.port()) else {
                    self.counters.dropped_no_port += 1;
                    return Err(NatDrop::NoPort);
                };
                self.counters.mappings_created += 1;
                self.by_key.insert((src, key), p);
                self.by_port.insert(
                    p,
                    Mapping {
                        internal: src,
                        key,
                        last_out: now,
                        permits: Vec::new(),
                    },
                );
                p
            }
        };
        let m = self
            .by_port
            .get_mut(&port)
            .expect("mapping inserted or found above");
        m.last_out = now;
        match m.permits.iter_mut().find(|(a, _)| *a == dst) {
            Some(e) => e.1 = now,
            None => m.permits.push((dst, now)),
        }
        Ok(SocketAddr::new(IpAddr::V4(self.cfg.public_ip), port))
    }

    /// Translates an inbound packet to the public address (`dst_port`) into the internal
    /// destination, applying the filter.
    pub fn inbound(
        &mut self,
        now: u64,
        src: SocketAddr,
        dst_port: u16,
    ) -> Result<SocketAddr, NatDrop> {
        if self.expire(now, dst_port) || !self.by_port.contains_key(&dst_port) {
            self.counters.dropped_no_mapping += 1;
            return Err(NatDrop::NoMapping);
        }
        let m = &self.by_port[&dst_port];
        let timeout = self.cfg.timeout;
        let live = |t: u64| now.saturating_sub(t) < timeout;
        let ok = match self.cfg.filtering {
            Dependence::EndpointIndependent => true,
            Dependence::AddressDependent => m
                .permits
                .iter()
                .any(|(a, t)| a.ip() == src.ip() && live(*t)),
            Dependence::AddressPortDependent => {
                m.permits.iter().any(|(a, t)| *a == src && live(*t))
            }
        };
        if !ok {
            self.counters.dropped_filtered += 1;
            return Err(NatDrop::Filtered);
        }
        Ok(m.internal)
    }

    /// A packet from inside addressed to the public address: translated out and back in.
    /// Returns the (new source, internal destination).
    pub fn hairpin(
        &mut self,
        now: u64,
        src: SocketAddr,
        dst: SocketAddr,
    ) -> Result<(SocketAddr, SocketAddr), NatDrop> {
        if !self.cfg.hairpin {
            self.counters.dropped_hairpin += 1;
            return Err(NatDrop::Hairpin);
        }
        let outside_src = self.outbound(now, src, dst)?;
        let inside_dst = self.inbound(now, outside_src, dst.port())?;
        Ok((outside_src, inside_dst))
    }
}

#[cfg(test)]
mod tests;
