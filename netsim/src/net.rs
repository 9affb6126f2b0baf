//! Topology and forwarding: hosts, routers and NAT boxes joined by links; static routes from a
//! breadth-first search; packet handling at each node; capture taps on interfaces.
//!
//! Forwarding inside a node takes no time; only links delay packets. Routers and NATs do not
//! forward transit traffic across a NAT: a NAT only translates (inside → outside, outside →
//! inside for a live mapping, and hairpinning).

use crate::capture::CaptureSink;
use crate::link::{Jitter, LinkDir, LinkParams};
use crate::loss::LossModel;
use crate::nat::{Nat, NatConfig};
use crate::packet::{BufferPool, Packet};
use crate::rng::stream;
use crate::scenario::{DirSpec, Direction, EventSpec, JitterSpec, LossSpec, Scenario};
use crate::sim::{Ev, EventQueue};
use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr};

/// What a node is.
pub enum NodeKind {
    /// An end host with an address; its endpoints are bound to ports.
    Host {
        /// The host's address.
        ip: Ipv4Addr,
    },
    /// A router.
    Router,
    /// A NAT; `inside[i]` tells whether interface `i` faces the inside.
    Nat {
        /// Translation state.
        nat: Box<Nat>,
        /// Per interface: inside?
        inside: Vec<bool>,
    },
}

/// One interface: the link it attaches to and which end of it this node is.
pub struct Iface {
    /// Link index.
    pub link: usize,
    /// 0 when this node is `between[0]` (it sends on direction 0).
    pub side: usize,
    /// The node at the other end.
    pub peer: usize,
}

/// A node of the topology.
pub struct Node {
    /// Name from the scenario.
    pub name: String,
    /// Host, router or NAT.
    pub kind: NodeKind,
    /// Interfaces in scenario link order.
    pub ifaces: Vec<Iface>,
    /// Destination address → interface.
    pub routes: BTreeMap<Ipv4Addr, usize>,
    /// Bound endpoints (hosts): port → endpoint index.
    pub ports: BTreeMap<u16, usize>,
    /// Capture points per interface.
    caps: Vec<Vec<usize>>,
}

/// A bidirectional link.
pub struct Link {
    /// Name from the scenario.
    pub name: String,
    /// (node, interface) of each end.
    pub ends: [(usize, usize); 2],
    /// Direction 0 carries `ends[0]` → `ends[1]`.
    pub dirs: [LinkDir; 2],
    sched: [Option<u64>; 2],
}

/// A capture point.
pub struct CapturePoint {
    /// File stem (`node` or `node-peer`).
    pub name: String,
    /// Where the packets go.
    pub sink: Box<dyn CaptureSink>,
    /// Stop after this time.
    pub until: u64,
    /// Stop after this many packets.
    pub max_packets: u64,
    /// Packets written.
    pub written: u64,
    /// First write error.
    pub error: Option<String>,
}

/// Drops outside links, by reason.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct NetCounters {
    /// No route to the destination.
    pub no_route: u64,
    /// Nothing bound to the destination port.
    pub no_listener: u64,
    /// Refused by a NAT.
    pub nat_dropped: u64,
}

/// The network: nodes, links, captures.
pub struct Net {
    /// Nodes in order hosts, routers, NATs (each sorted by name).
    pub nodes: Vec<Node>,
    /// Links in scenario order.
    pub links: Vec<Link>,
    /// Capture points.
    pub captures: Vec<CapturePoint>,
    /// Payload buffers.
    pub pool: BufferPool,
    /// Drops at nodes.
    pub counters: NetCounters,
    by_name: BTreeMap<String, usize>,
}

/// Link parameters of one direction from the scenario.
pub fn dir_params(d: &DirSpec) -> LinkParams {
    let mut p = LinkParams {
        rate: d.rate.map(|r| r.0),
        delay: d.delay.map_or(0, |x| x.0),
        ..Default::default()
    };
    if let Some(j) = d.jitter {
        p.jitter = match j {
            JitterSpec::Uniform(m) => Jitter::Uniform { max: m.0 },
            JitterSpec::Normal(n) => Jitter::Normal {
                mean: n.mean.0,
                stddev: n.stddev.0,
            },
            JitterSpec::Pareto(x) => Jitter::Pareto {
                scale: x.scale.0,
                shape: x.shape,
            },
        };
    }
    p.queue = d.queue;
    p.loss = d.loss.as_ref().map_or(LossModel::None, loss_model);
    if let Some(r) = d.reorder {
        p.reorder = r.probability.0;
        p.reorder_delay = r.delay.0;
    }
    p.duplicate = d.duplicate.map_or(0.0, |x| x.0);
    p.corrupt = d.corrupt.map_or(0.0, |x| x.0);
    if let Some(m) = d.mtu {
        p.mtu = m.0 as usize;
    }
    p
}

/// The loss model of a spec.
pub fn loss_model(l: &LossSpec) -> LossModel {
    match l {
        LossSpec::Bernoulli(p) => LossModel::Bernoulli { p: p.0 },
        LossSpec::GilbertElliott(g) => LossModel::GilbertElliott {
            p_gb: g.p_gb.0,
            p_bg: g.p_bg.0,
            loss_good: g.loss_good.0,
            loss_bad: g.loss_bad.map_or(1.0, |x| x.0),
            bad: false,
        },
        LossSpec::Drop(v) => LossModel::list(v.clone()),
    }
}

impl Net {
    /// Builds the topology of `s` with random streams from `seed`.
    pub fn build(s: &Scenario, seed: u64) -> Self {
        let mut nodes = Vec::new();
        let new_node = |name: &str, kind| Node {
            name: name.to_string(),
            kind,
            ifaces: vec![],
            routes: BTreeMap::new(),
            ports: BTreeMap::new(),
            caps: vec![],
        };
        for (name, h) in &s.hosts {
            nodes.push(new_node(name, NodeKind::Host { ip: h.address }));
        }
        let mut routers = s.routers.clone();
        routers.sort();
        for name in &routers {
            nodes.push(new_node(name, NodeKind::Router));
        }
        for (name, n) in &s.nats {
            let (mut mapping, mut filtering, mut pres) = n
                .preset
                .unwrap_or(crate::nat::Preset::PortRestrictedCone)
                .behaviour();
            mapping = n.mapping.unwrap_or(mapping);
            filtering = n.filtering.unwrap_or(filtering);
            pres = n.port_preservation.unwrap_or(pres);
            let cfg = NatConfig {
                public_ip: n.public,
                mapping,
                filtering,
                port_preservation: pres,
                timeout: n.timeout.map_or(120_000_000_000, |t| t.0),
                hairpin: n.hairpin,
            };
            let nat = Nat::new(cfg, stream(seed, &format!("nat:{name}")));
            nodes.push(new_node(
                name,
                NodeKind::Nat {
                    nat: Box::new(nat),
                    inside: vec![],
                },
            ));
        }
        let by_name: BTreeMap<String, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.clone(), i))
            .collect();
        let mut links = Vec::new();
        for (li, l) in s.links.iter().enumerate() {
            let name = l.name();
            let a = by_name[&l.between[0]];
            let b = by_name[&l.between[1]];
            let mut ends = [(0, 0); 2];
            for (side, (me, peer)) in [(a, b), (b, a)].into_iter().enumerate() {
                let inside_iface = match (&nodes[me].kind, &nodes[peer].kind) {
                    (NodeKind::Nat { .. }, NodeKind::Host { .. }) => {
                        s.hosts[&nodes[peer].name].behind.as_deref()
                            == Some(nodes[me].name.as_str())
                    }
                    _ => false,
                };
                if let NodeKind::Nat { inside, .. } = &mut nodes[me].kind {
                    inside.push(inside_iface);
                }
                nodes[me].ifaces.push(Iface {
                    link: li,
                    side,
                    peer,
                });
                nodes[me].caps.push(vec![]);
                ends[side] = (me, nodes[me].ifaces.len() - 1);
            }
            let dirs = [0, 1].map(|d| {
                let label = if d == 0 {
                    format!("link:{name}>")
                } else {
                    format!("link:{name}<")
                };
                LinkDir::new(dir_params(&l.dir(d)), stream(seed, &label))
            });
            links.push(Link {
                name,
                ends,
                dirs,
                sched: [None; 2],
            });
        }
        let mut net = Net {
            nodes,
            links,
            captures: vec![],
            pool: BufferPool::default(),
            counters: NetCounters::default(),
            by_name,
        };
        net.compute_routes();
        net
    }

    /// Node index by name.
    pub fn node(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// Breadth-first search from each address owner; hosts and NATs do not forward, so
    /// private addresses stay behind their NAT.
    fn compute_routes(&mut self) {
        let owners: Vec<(Ipv4Addr, usize)> = self
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| match &n.kind {
                NodeKind::Host { ip } => Some((*ip, i)),
                NodeKind::Nat { nat, .. } => Some((nat.config().public_ip, i)),
                NodeKind::Router => None,
            })
            .collect();
        for (ip, owner) in owners {
            let mut seen = vec![false; self.nodes.len()];
            seen[owner] = true;
            let mut queue = VecDeque::from([owner]);
            while let Some(n) = queue.pop_front() {
                if n != owner && !matches!(self.nodes[n].kind, NodeKind::Router) {
                    continue;
                }
                for k in 0..self.nodes[n].ifaces.len() {
                    let Iface { link, side, peer } = self.nodes[n].ifaces[k];
                    if seen[peer] {
                        continue;
                    }
                    seen[peer] = true;
                    let peer_iface = self.links[link].ends[1 - side].1;
                    self.nodes[peer].routes.entry(ip).or_insert(peer_iface);
                    queue.push_back(peer);
                }
            }
        }
    }

    /// The address others reach host `node` at: its NAT's public address if behind one.
    pub fn public_ip(&self, node: usize) -> Option<Ipv4Addr> {
        let NodeKind::Host { ip } = self.nodes[node].kind else {
            return None;
        };
        for iface in &self.nodes[node].ifaces {
            if let NodeKind::Nat { nat, inside } = &self.nodes[iface.peer].kind {
                let back = self.links[iface.link].ends[1 - iface.side].1;
                if inside[back] {
                    return Some(nat.config().public_ip);
                }
            }
        }
        Some(ip)
    }

    /// Adds a capture point on `node` (all interfaces, or the one toward `peer`).
    pub fn add_capture(&mut self, node: usize, peer: Option<usize>, cap: CapturePoint) {
        let idx = self.captures.len();
        self.captures.push(cap);
        let n = &mut self.nodes[node];
        for (k, iface) in n.ifaces.iter().enumerate() {
            if peer.is_none_or(|p| p == iface.peer) {
                n.caps[k].push(idx);
            }
        }
    }

    #[inline]
    fn tap(&mut self, now: u64, node: usize, iface: usize, p: &Packet) {
        if self.captures.is_empty() {
            return; // the common case: one test per hop, inlined
        }
        self.tap_captures(now, node, iface, p);
    }

    fn tap_captures(&mut self, now: u64, node: usize, iface: usize, p: &Packet) {
        for &c in &self.nodes[node].caps[iface] {
            let cap = &mut self.captures[c];
            if now > cap.until || cap.written >= cap.max_packets || cap.error.is_some() {
                continue;
            }
            cap.written += 1;
            if let Err(e) = cap.sink.write_udp(now, p.src, p.dst, &p.bytes()) {
                cap.error = Some(e.to_string());
            }
        }
    }

    fn schedule(&mut self, q: &mut EventQueue, link: usize, dir: usize) {
        let l = &mut self.links[link];
        if let Some(t) = l.dirs[dir].next_delivery() {
            if l.sched[dir].is_none_or(|s| t < s) {
                l.sched[dir] = Some(t);
                q.push(t, Ev::LinkDeliver((link * 2 + dir) as u32));
            }
        }
    }

    /// Applies a scheduled link change at `now`: the fields it sets, on top of each chosen
    /// direction's current parameters. One home for every driver (simulator, wall clock).
    pub fn apply_event(&mut self, q: &mut EventQueue, now: u64, e: &EventSpec) {
        let Some(link) = self.links.iter().position(|l| l.name == e.link) else {
            return; // validated when the scenario loaded
        };
        let dirs: &[usize] = match e.direction {
            Direction::Both => &[0, 1],
            Direction::Forward => &[0],
            Direction::Reverse => &[1],
        };
        for &d in dirs {
            let mut p = self.links[link].dirs[d].params().clone();
            if let Some(up) = e.up {
                p.up = up;
            }
            if let Some(r) = e.rate {
                p.rate = Some(r.0);
            }
            if let Some(delay) = e.delay {
                p.delay = delay.0;
            }
            if let Some(l) = &e.loss {
                p.loss = loss_model(l);
            }
            self.set_link(q, now, link, d, p);
        }
    }

    /// Changes the parameters of one link direction at `now`.
    pub fn set_link(
        &mut self,
        q: &mut EventQueue,
        now: u64,
        link: usize,
        dir: usize,
        p: LinkParams,
    ) {
        self.links[link].dirs[dir].set_params(now, p);
        self.schedule(q, link, dir);
    }

    /// Sends `p` out of interface `iface` of `node`.
    fn transmit(&mut self, q: &mut EventQueue, now: u64, node: usize, iface: usize, p: Packet) {
        self.tap(now, node, iface, &p);
        let Iface { link, side, .. } = self.nodes[node].ifaces[iface];
        match self.links[link].dirs[side].enqueue(now, p) {
            Ok(()) => self.schedule(q, link, side),
            Err((_reason, p)) => self.pool.recycle(p.payload),
        }
    }

    fn drop_packet(&mut self, p: Packet) {
        self.pool.recycle(p.payload);
    }

    /// A packet that originates at host `node` (from one of its endpoints).
    pub fn send_from(
        &mut self,
        q: &mut EventQueue,
        now: u64,
        node: usize,
        p: Packet,
        local: &mut Vec<(usize, Packet)>,
    ) {
        self.forward(q, now, node, None, p, local);
    }

    /// Handles the packets due on link direction `ld` at `now`; packets for local endpoints are
    /// appended to `local` as (endpoint, packet).
    pub fn deliver(
        &mut self,
        q: &mut EventQueue,
        now: u64,
        ld: usize,
        local: &mut Vec<(usize, Packet)>,
    ) {
        let (link, dir) = (ld / 2, ld % 2);
        if self.links[link].sched[dir] != Some(now) {
            return; // superseded by an earlier schedule
        }
        self.links[link].sched[dir] = None;
        let (node, iface) = self.links[link].ends[1 - dir];
        while let Some(p) = self.links[link].dirs[dir].pop_due(now) {
            self.tap(now, node, iface, &p);
            self.forward(q, now, node, Some(iface), p, local);
        }
        self.schedule(q, link, dir);
    }

    fn route(&self, node: usize, dst: Ipv4Addr) -> Option<usize> {
        let n = &self.nodes[node];
        if n.ifaces.len() == 1 {
            return Some(0); // every route of a one-interface node leads there
        }
        n.routes.get(&dst).copied()
    }

    fn forward(
        &mut self,
        q: &mut EventQueue,
        now: u64,
        node: usize,
        from: Option<usize>,
        mut p: Packet,
        local: &mut Vec<(usize, Packet)>,
    ) {
        let IpAddr::V4(dst_ip) = p.dst.ip() else {
            return self.drop_packet(p);
        };
        match &mut self.nodes[node].kind {
            NodeKind::Host { ip } => {
                if from.is_some() {
                    if dst_ip != *ip {
                        return self.drop_packet(p);
                    }
                    return match self.nodes[node].ports.get(&p.dst.port()) {
                        Some(&ep) => local.push((ep, p)),
                        None => {
                            self.counters.no_listener += 1;
                            self.drop_packet(p)
                        }
                    };
                }
            }
            NodeKind::Router => {}
            NodeKind::Nat { nat, inside } => {
                let public = nat.config().public_ip;
                let from_inside = from.is_some_and(|i| inside[i]);
                let verdict = if from_inside && dst_ip == public {
                    nat.hairpin(now, p.src, p.dst).map(|(s, d)| {
                        p.src = s;
                        p.dst = d;
                    })
                } else if from_inside {
                    nat.outbound(now, p.src, p.dst).map(|s| p.src = s)
                } else if dst_ip == public {
                    nat.inbound(now, p.src, p.dst.port()).map(|d| p.dst = d)
                } else {
                    Err(crate::nat::NatDrop::NoMapping)
                };
                if verdict.is_err() {
                    self.counters.nat_dropped += 1;
                    return self.drop_packet(p);
                }
            }
        }
        let IpAddr::V4(dst_ip) = p.dst.ip() else {
            return self.drop_packet(p);
        };
        match self.route(node, dst_ip) {
            Some(iface) => self.transmit(q, now, node, iface, p),
            None => {
                self.counters.no_route += 1;
                self.drop_packet(p)
            }
        }
    }

    /// Link directions along the route from host `from` to address `dst` (for utilisation).
    pub fn path(&self, from: usize, dst: Ipv4Addr, final_ip: Ipv4Addr) -> Vec<(usize, usize)> {
        let (mut node, mut dst, mut out) = (from, dst, vec![]);
        for _ in 0..self.nodes.len() * 2 {
            match &self.nodes[node].kind {
                NodeKind::Host { ip } if *ip == dst && node != from => break,
                NodeKind::Nat { nat, .. } if nat.config().public_ip == dst => dst = final_ip,
                _ => {}
            }
            let Some(iface) = self.route(node, dst) else {
                break;
            };
            let f = &self.nodes[node].ifaces[iface];
            out.push((f.link, f.side));
            node = f.peer;
        }
        out
    }
}
