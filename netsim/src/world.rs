//! The discrete-event loop: builds the network, endpoints and flows of a scenario and runs them
//! on a virtual clock that jumps from event to event.

use crate::app::{socket_options, FlowState, MessageTap, Side};
use crate::clock::{from_udt, to_udt};
use crate::metrics::Metrics;
use crate::net::{CapturePoint, Net, NodeKind};
use crate::packet::{Packet, Payload, IP_UDP_OVERHEAD};
use crate::rng::seed_for;
use crate::scenario::{validate_split as split, CaptureSpec, Scenario};
use crate::sim::{Ev, EventQueue};
use crate::timing::HostTiming;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;
use udt::{ConnectionHandle as Conn, Endpoint, EndpointConfig, Event};

/// Bytes of a handshake datagram (UDT header and handshake body), the longest control packet
/// that does not depend on the MSS.
const HANDSHAKE_DATAGRAM: usize = udt::packet::HEADER_LEN + udt::packet::HANDSHAKE_LEN;

/// One bound endpoint.
pub struct EndpointSlot {
    /// Host node.
    pub node: usize,
    /// Bound address.
    pub addr: SocketAddr,
    /// The protocol endpoint; `None` when another driver runs it ([`Endpoints::Elsewhere`]).
    pub endpoint: Option<Endpoint>,
    /// The flow it belongs to and its side.
    pub flow: usize,
    /// Sender or receiver.
    pub side: Side,
    /// Bytes of the buffer its datagrams are written into: the largest datagram its flow's
    /// MSS allows (and a handshake).
    room: usize,
    timer_at: Option<u64>,
    same_time_wakes: u32,
    /// How the host's driver wakes up, and when it last turned (an arrival or a wake).
    timing: HostTiming,
    last_turn: u64,
    /// Datagrams that have arrived, for drawing the host's reaction delays.
    arrivals: u64,
    /// Datagrams that arrived and wait for the host to take them (a slow wake-up).
    held: Vec<Packet>,
}

/// A scenario in progress.
pub struct World {
    /// The scenario.
    pub scenario: Scenario,
    /// The seed in use.
    pub seed: u64,
    /// Current simulated time, ns.
    pub now: u64,
    /// When the run ends, ns.
    pub end: u64,
    /// The network.
    pub net: Net,
    /// Endpoints.
    pub endpoints: Vec<EndpointSlot>,
    /// Flows, in scenario order.
    pub flows: Vec<FlowState>,
    /// Time series.
    pub metrics: Metrics,
    /// Events processed.
    pub events_processed: u64,
    /// Datagrams the endpoints sent.
    pub datagrams_sent: u64,
    /// Sees the message workloads' messages (tests); `None` normally.
    pub message_tap: Option<Box<dyn MessageTap>>,
    queue: EventQueue,
    local: Vec<(usize, Packet)>,
    /// The payload the next datagram is written into (see `drive`).
    spare: Option<Payload>,
    evbuf: Vec<(Conn, Event)>,
}

/// Flow `f`'s sender statistics now; `None` before it connects, once its connection is gone,
/// or when another driver runs its endpoint.
fn sender_stats(endpoints: &[EndpointSlot], f: &FlowState) -> Option<udt::Stats> {
    endpoints[f.sender_ep]
        .endpoint
        .as_ref()?
        .stats(f.sender_conn?)
}

impl EndpointSlot {
    /// The protocol endpoint of a world the simulator runs.
    fn udt(&mut self) -> &mut Endpoint {
        self.endpoint
            .as_mut()
            .expect("the simulator runs only worlds of Endpoints::Simulated")
    }
}

/// Why a world could not be built.
pub type BuildError = String;

/// Makes a capture sink for a capture point name.
pub type SinkFactory<'a> =
    dyn FnMut(&str) -> std::io::Result<Box<dyn crate::capture::CaptureSink>> + 'a;

/// Who runs the protocol endpoints of a world.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoints {
    /// The simulator: a `udt::Endpoint` for each end of each flow.
    Simulated,
    /// Another driver, on real sockets: the world is the layout (network, flows, addresses)
    /// and the metrics, with no endpoints.
    Elsewhere,
}

impl World {
    /// Builds the world for `s` with `seed`, its endpoints as `endpoints` says, capture sinks
    /// from `sinks`.
    pub fn new(
        s: &Scenario,
        seed: u64,
        end: u64,
        endpoints: Endpoints,
        sinks: &mut SinkFactory,
    ) -> Result<Self, BuildError> {
        let mut net = Net::build(s, seed);
        for c in &s.capture {
            let at = c.at();
            let (node, peer) = match at.split_once(':') {
                Some((n, p)) => (n, Some(p)),
                None => (at, None),
            };
            let name = at.replace(':', "-");
            let sink = sinks(&name).map_err(|e| format!("capture `{at}`: {e}"))?;
            let (until, max) = match c {
                CaptureSpec::Point(_) => (u64::MAX, u64::MAX),
                CaptureSpec::Limited {
                    until, max_packets, ..
                } => (
                    until.map_or(u64::MAX, |d| d.0),
                    max_packets.unwrap_or(u64::MAX),
                ),
            };
            let cap = CapturePoint {
                name,
                sink,
                until,
                max_packets: max,
                written: 0,
                error: None,
            };
            let node = net.node(node).expect("validated");
            let peer = peer.map(|p| net.node(p).expect("validated"));
            net.add_capture(node, peer, cap);
        }
        let mut w = World {
            scenario: s.clone(),
            seed,
            now: 0,
            end,
            net,
            endpoints: vec![],
            flows: vec![],
            metrics: Metrics::new(
                s.sample_interval.map_or(100_000_000, |d| d.0.max(1)),
                s.flows.len(),
            ),
            events_processed: 0,
            datagrams_sent: 0,
            message_tap: None,
            queue: EventQueue::default(),
            local: vec![],
            spare: None,
            evbuf: vec![],
        };
        for (i, f) in s.flows.iter().enumerate() {
            w.add_flow(i, f, endpoints)?;
        }
        for (i, e) in s.events.iter().enumerate() {
            w.queue.push(e.at.0, Ev::LinkChange(i as u32));
        }
        w.queue.push(w.metrics.interval, Ev::Sample);
        Ok(w)
    }

    fn resolve(&self, spec: &str, public: bool) -> Result<(usize, SocketAddr), BuildError> {
        let (host, port) = split(spec)?;
        let port = port.unwrap_or(0);
        if let Some(n) = self.net.node(host) {
            let NodeKind::Host { ip } = self.net.nodes[n].kind else {
                return Err(format!("`{host}` is not a host"));
            };
            let ip = if public {
                self.net.public_ip(n).unwrap_or(ip)
            } else {
                ip
            };
            return Ok((n, SocketAddr::new(IpAddr::V4(ip), port)));
        }
        let ip: Ipv4Addr = host.parse().map_err(|_| format!("unknown host `{host}`"))?;
        Ok((usize::MAX, SocketAddr::new(IpAddr::V4(ip), port)))
    }

    fn bind(
        &mut self,
        node: usize,
        addr: SocketAddr,
        flow: usize,
        side: Side,
        endpoints: Endpoints,
    ) -> Result<usize, BuildError> {
        if let Some(&other) = self.net.nodes[node].ports.get(&addr.port()) {
            let f = &self.scenario.flows[self.endpoints[other].flow].name;
            return Err(format!(
                "{addr} is already used by flow `{f}`; give each flow its own ports"
            ));
        }
        let host = &self.net.nodes[node].name;
        let seed = seed_for(self.seed, &format!("endpoint:{host}:{}", addr.port()));
        let endpoint = (endpoints == Endpoints::Simulated).then(|| {
            let config = EndpointConfig {
                local_addr: addr,
                seed,
            };
            Endpoint::new(config, to_udt(0))
        });
        let timing = self
            .scenario
            .hosts
            .get(host)
            .map(|h| h.timing())
            .unwrap_or_default()
            .seeded(seed);
        let idx = self.endpoints.len();
        self.endpoints.push(EndpointSlot {
            node,
            addr,
            endpoint,
            flow,
            side,
            room: HANDSHAKE_DATAGRAM,
            timer_at: None,
            same_time_wakes: 0,
            timing,
            last_turn: 0,
            held: Vec::new(),
            arrivals: 0,
        });
        self.net.nodes[node].ports.insert(addr.port(), idx);
        Ok(idx)
    }

    fn add_flow(
        &mut self,
        i: usize,
        f: &crate::scenario::FlowSpec,
        endpoints: Endpoints,
    ) -> Result<(), BuildError> {
        let at = |e: String| format!("flows[{i}] ({}): {e}", f.name);
        let (s_node, s_addr, r_node, r_addr) = match (&f.from, &f.to, &f.rendezvous) {
            (Some(from), Some(to), _) => {
                let (sn, mut sa) = self.resolve(from, false).map_err(at)?;
                if sa.port() == 0 {
                    sa.set_port(40_000 + i as u16);
                }
                let (rn, ra) = self.resolve(to, false).map_err(at)?;
                (sn, sa, rn, ra)
            }
            (_, _, Some([a, b])) => {
                let (sn, sa) = self.resolve(a, false).map_err(at)?;
                let (rn, ra) = self.resolve(b, false).map_err(at)?;
                (sn, sa, rn, ra)
            }
            _ => return Err(at("no endpoints".into())),
        };
        if s_node == usize::MAX || r_node == usize::MAX {
            return Err(at("both ends must be hosts of the scenario".into()));
        }
        let sender_ep = self
            .bind(s_node, s_addr, i, Side::Sender, endpoints)
            .map_err(at)?;
        let receiver_ep = self
            .bind(r_node, r_addr, i, Side::Receiver, endpoints)
            .map_err(at)?;
        let opts = socket_options(f);
        // The MSS counts the IP and UDP headers: a UDT datagram (data packets, and NAKs, which
        // fill at most a data packet's payload) is at most that much smaller.
        let room = (opts.mss as usize)
            .saturating_sub(IP_UDP_OVERHEAD)
            .max(HANDSHAKE_DATAGRAM);
        self.endpoints[sender_ep].room = room;
        self.endpoints[receiver_ep].room = room;
        if let Some(ep) = &mut self.endpoints[receiver_ep].endpoint {
            if f.rendezvous.is_none() && f.listen {
                ep.listen(to_udt(0), opts, 1024)
                    .map_err(|e| at(format!("listen: {e}")))?;
            }
        }
        self.flows.push(FlowState {
            spec: Some(f.clone()),
            sender_ep,
            receiver_ep,
            ..Default::default()
        });
        self.queue.push(f.start.0, Ev::FlowStart(i as u32));
        if let Some(d) = f.send_for {
            self.queue
                .push(f.start.0 + d.0, Ev::FlowSendDeadline(i as u32));
        }
        if let Some(stop) = f.stop {
            self.queue.push(stop.0, Ev::FlowStop(i as u32));
        }
        Ok(())
    }

    /// True once every flow is done (and there is at least one).
    pub fn all_done(&self) -> bool {
        !self.flows.is_empty() && self.flows.iter().all(|f| f.done())
    }

    /// Runs events up to `until` (or the end); returns false once the run is over.
    pub fn run_until(&mut self, until: u64) -> bool {
        let stop_early = self.scenario.stop_when_done;
        while let Some(t) = self.queue.peek_time() {
            if t > self.end || t > until {
                break;
            }
            let (t, ev) = self.queue.pop().expect("peeked above");
            self.now = t;
            self.events_processed += 1;
            self.handle(ev);
            if stop_early && self.all_done() {
                self.end = self.now;
                return false;
            }
        }
        if self.queue.peek_time().is_none_or(|t| t > self.end) {
            self.now = self.now.max(until.min(self.end));
            return self.now < self.end && self.queue.peek_time().is_some();
        }
        true
    }

    fn handle(&mut self, ev: Ev) {
        let now = self.now;
        match ev {
            Ev::LinkDeliver(ld) => {
                let mut local = std::mem::take(&mut self.local);
                self.net
                    .deliver(&mut self.queue, now, ld as usize, &mut local);
                self.deliver_local(&mut local);
                self.local = local;
            }
            Ev::EndpointTimer(ep) => {
                let e = &mut self.endpoints[ep as usize];
                if e.timer_at != Some(now) {
                    return;
                }
                e.timer_at = None;
                e.last_turn = now;
                e.udt().handle_timeout(to_udt(now));
                self.drive(ep as usize);
            }
            Ev::EndpointTake(ep) => {
                let ep = ep as usize;
                let mut held = std::mem::take(&mut self.endpoints[ep].held);
                for p in held.drain(..) {
                    self.take(ep, p);
                }
                // Awake now, the host took what arrived meanwhile at once: nothing was held
                // again, and the vector's room is kept for the next wake-up.
                debug_assert!(self.endpoints[ep].held.is_empty());
                self.endpoints[ep].held = held;
            }
            Ev::FlowStart(f) => self.start_flow(f as usize),
            Ev::FlowMessage(f) => {
                let fl = &mut self.flows[f as usize];
                if fl.sending_done || fl.stopped {
                    return;
                }
                let ep = fl.sender_ep;
                fl.send_message(
                    now,
                    self.endpoints[ep].udt(),
                    self.message_tap.as_deref_mut(),
                );
                let rate = fl.spec().messages.as_ref().map_or(1.0, |m| m.rate);
                if !fl.sending_done {
                    self.queue.push(
                        now + (1e9 / rate).round().max(1.0) as u64,
                        Ev::FlowMessage(f),
                    );
                }
                self.drive(ep);
            }
            Ev::FlowSendDeadline(f) => {
                let fl = &mut self.flows[f as usize];
                fl.sending_done = true;
                let ep = fl.receiver_ep;
                self.drive(ep);
            }
            Ev::FlowStop(f) => {
                let fl = &mut self.flows[f as usize];
                fl.stopped = true;
                fl.sending_done = true;
                let (se, re) = (fl.sender_ep, fl.receiver_ep);
                for (ep, c) in [(se, fl.sender_conn), (re, fl.receiver_conn)] {
                    if let Some(c) = c {
                        self.endpoints[ep].udt().close(to_udt(now), c);
                        self.drive(ep);
                    }
                }
            }
            Ev::LinkChange(i) => {
                let e = &self.scenario.events[i as usize];
                self.net.apply_event(&mut self.queue, now, e);
            }
            Ev::Sample => {
                self.sample();
                self.queue.push(now + self.metrics.interval, Ev::Sample);
            }
        }
    }

    fn start_flow(&mut self, f: usize) {
        let now = self.now;
        let spec = self.flows[f].spec().clone();
        let opts = socket_options(&spec);
        let at = to_udt(now);
        self.flows[f].started_at = Some(now);
        let (se, re) = (self.flows[f].sender_ep, self.flows[f].receiver_ep);
        let result = match &spec.rendezvous {
            None => {
                let remote = self
                    .resolve(spec.to.as_deref().expect("validated"), true)
                    .map(|r| r.1);
                let remote = remote.expect("resolved when built");
                self.endpoints[se].udt().connect(at, remote, opts)
            }
            Some([a, b]) => {
                let pa = self.resolve(a, true).expect("resolved when built").1;
                let pb = self.resolve(b, true).expect("resolved when built").1;
                let r = self.endpoints[re].udt().rendezvous(at, pa, opts.clone());
                match r {
                    Ok(c) => {
                        self.flows[f].receiver_conn = Some(c);
                        self.drive(re);
                        self.endpoints[se].udt().rendezvous(at, pb, opts)
                    }
                    Err(e) => Err(e),
                }
            }
        };
        match result {
            Ok(c) => self.flows[f].sender_conn = Some(c),
            Err(e) => self.flows[f].failed = Some((now, e.to_string())),
        }
        self.drive(se);
    }

    fn deliver_local(&mut self, local: &mut Vec<(usize, Packet)>) {
        for (ep, p) in local.drain(..) {
            let now = self.now;
            let e = &mut self.endpoints[ep];
            // A host still waking up takes this one with those it holds.
            if e.held.is_empty() {
                match e.timing.take_delay(now.saturating_sub(e.last_turn)) {
                    0 => {
                        self.take(ep, p);
                        continue;
                    }
                    delay => self.queue.push(now + delay, Ev::EndpointTake(ep as u32)),
                }
            }
            e.held.push(p);
        }
    }

    /// Endpoint `ep`'s host takes datagram `p` now.
    fn take(&mut self, ep: usize, p: Packet) {
        let now = self.now;
        let e = &mut self.endpoints[ep];
        e.arrivals += 1;
        let delay = e.timing.reaction(e.arrivals);
        e.last_turn = now;
        match p.tail {
            Some(tail) => e
                .udt()
                .handle_datagram_parts(to_udt(now), p.src, &p.payload, tail),
            None => e.udt().handle_datagram(to_udt(now), p.src, &p.payload),
        }
        self.net.pool.recycle(p.payload);
        if delay == 0 {
            self.drive(ep);
            return;
        }
        // The datagram is taken as it arrives (its arrival time is the core's). As UDT4's
        // receiving thread does, the host then checks its timers (ACK, NAK, EXP) and sends
        // the control packets at once; data waits until the sending thread has reacted.
        e.udt().handle_timeout(to_udt(now));
        let mut buf = self.take_spare(ep);
        self.transmit(ep, &mut buf, false);
        self.put_spare(buf);
        self.deliver_pending_local();
        let e = &mut self.endpoints[ep];
        let turn = now + delay;
        if e.timer_at.is_none_or(|t| t > turn) {
            e.timer_at = Some(turn);
            self.queue.push(turn, Ev::EndpointTimer(ep as u32));
        }
    }

    /// The driving rule: drain transmits and events until both are empty, let the application
    /// react, then re-arm the endpoint's timer.
    fn drive(&mut self, ep: usize) {
        let mut buf = self.take_spare(ep);
        for _round in 0..1000 {
            self.transmit(ep, &mut buf, true);
            while let Some(e) = self.endpoints[ep].udt().poll_event() {
                self.evbuf.push(e);
            }
            let had_events = !self.evbuf.is_empty();
            if had_events {
                // Swapped out only when needed: most turns have no events.
                let mut events = std::mem::take(&mut self.evbuf);
                for (c, e) in events.drain(..) {
                    self.app_event(ep, c, e);
                }
                self.evbuf = events;
            }
            self.pump(ep);
            if !had_events {
                break;
            }
        }
        self.put_spare(buf);
        self.deliver_pending_local();
        self.arm_timer(ep);
    }

    /// A payload of the endpoint's datagram size to write into: the endpoint writes straight
    /// into it, and a datagram that fills it is sent as it is, a shorter one as a copy of its
    /// bytes. A data packet's payload is not written: it travels as the sender's own bytes,
    /// after a copy of its header.
    fn take_spare(&mut self, ep: usize) -> Payload {
        let room = self.endpoints[ep].room;
        match self.spare.take() {
            Some(b) if b.len() == room => b,
            other => {
                if let Some(b) = other {
                    self.net.pool.recycle(b);
                }
                self.net.pool.take(room)
            }
        }
    }

    fn put_spare(&mut self, buf: Payload) {
        if let Some(b) = self.spare.replace(buf) {
            self.net.pool.recycle(b);
        }
    }

    /// Sends what the endpoint has to send now: everything, or (not `data`) its control
    /// packets only.
    fn transmit(&mut self, ep: usize, buf: &mut Payload, data: bool) {
        let now = self.now;
        let (node, src, room) = {
            let e = &self.endpoints[ep];
            (e.node, e.addr, e.room)
        };
        loop {
            let b = Rc::get_mut(buf).expect("a taken payload has no other holder");
            let udt = self.endpoints[ep].udt();
            let t = if data {
                udt.poll_transmit_parts(to_udt(now), b)
            } else {
                udt.poll_control(to_udt(now), b).map(|t| (t, None))
            };
            let Some((t, tail)) = t else { return };
            let payload = if t.len == room {
                std::mem::replace(buf, self.net.pool.take(room))
            } else {
                self.net.pool.make(&buf[..t.len])
            };
            self.datagrams_sent += 1;
            let p = Packet {
                src,
                dst: t.destination,
                payload,
                tail,
            };
            self.net
                .send_from(&mut self.queue, now, node, p, &mut self.local);
        }
    }

    /// Packets to another endpoint on the same host go straight there (no link). The buffer
    /// goes back afterwards, so that a steady state allocates nothing here.
    fn deliver_pending_local(&mut self) {
        if !self.local.is_empty() {
            let mut pending = std::mem::take(&mut self.local);
            self.deliver_local(&mut pending);
            self.local = pending;
        }
    }

    fn arm_timer(&mut self, ep: usize) {
        let now = self.now;
        let e = &mut self.endpoints[ep];
        let Some(t) = e.udt().poll_timeout().map(from_udt) else {
            e.timer_at = None;
            return;
        };
        let mut t = e.timing.wake_at(t, now, e.last_turn);
        if t <= now {
            // Guard against an endpoint that keeps asking for "now": after many wake-ups at
            // the same instant, step the clock by a microsecond.
            e.same_time_wakes += 1;
            t = if e.same_time_wakes > 100 {
                now + 1000
            } else {
                now
            };
        } else {
            e.same_time_wakes = 0;
        }
        if e.timer_at != Some(t) {
            e.timer_at = Some(t);
            self.queue.push(t, Ev::EndpointTimer(ep as u32));
        }
    }

    fn pump(&mut self, ep: usize) {
        let now = self.now;
        let e = &mut self.endpoints[ep];
        let fl = &mut self.flows[e.flow];
        match e.side {
            Side::Sender => fl.pump_send(now, e.udt()),
            Side::Receiver => fl.pump_recv(now, e.udt(), self.message_tap.as_deref_mut()),
        }
        if !(fl.completed_at.is_some() && !fl.stopped && fl.spec().transfer.is_some()) {
            return;
        }
        // A sized transfer is over: both applications close.
        fl.stopped = true;
        let (se, re, sc, rc) = (
            fl.sender_ep,
            fl.receiver_ep,
            fl.sender_conn,
            fl.receiver_conn,
        );
        let flow = e.flow;
        if let Some(c) = sc {
            let st = self.sender_stats(flow);
            self.flows[flow].last_stats = st.or(self.flows[flow].last_stats);
            self.endpoints[se].udt().close(to_udt(now), c);
        }
        if let Some(c) = rc {
            self.endpoints[re].udt().close(to_udt(now), c);
        }
        // The endpoint being driven is drained by the caller; the other one now.
        let other = if ep == se { re } else { se };
        self.drive(other);
    }

    fn app_event(&mut self, ep: usize, c: Conn, e: Event) {
        let now = self.now;
        let slot = &mut self.endpoints[ep];
        let fl = &mut self.flows[slot.flow];
        match (slot.side, e) {
            (Side::Sender, Event::Connected) => {
                fl.sender_conn = Some(c);
                if fl.connected_at.is_none() {
                    fl.connected_at = Some(now);
                    if fl.spec().messages.is_some() {
                        self.queue.push(now, Ev::FlowMessage(slot.flow as u32));
                    }
                }
            }
            (Side::Receiver, Event::Accepted) => {
                let c = slot.udt().accept().unwrap_or(c);
                fl.receiver_conn.get_or_insert(c);
            }
            (Side::Receiver, Event::Connected) => {
                fl.receiver_conn.get_or_insert(c);
            }
            (Side::Sender, Event::Writable) => fl.send_blocked = false,
            (Side::Receiver, Event::Readable) => fl.recv_drained = false,
            (Side::Sender, Event::ConnectFailed(why)) => {
                fl.failed.get_or_insert((now, why.to_string()));
            }
            (_, Event::Broken(why)) if fl.completed_at.is_none() && !fl.stopped => {
                fl.broken.get_or_insert((now, why.to_string()));
            }
            _ => {}
        }
    }

    fn sample(&mut self) {
        let eps = &self.endpoints;
        let stats = |_, f: &FlowState| sender_stats(eps, f);
        (self.metrics).sample(self.now, &mut self.flows, &mut self.net, stats);
    }

    /// Flow `i`'s sender statistics now (see [`sender_stats`]).
    pub fn sender_stats(&self, i: usize) -> Option<udt::Stats> {
        sender_stats(&self.endpoints, &self.flows[i])
    }

    /// Finishes captures; returns the first capture error.
    pub fn finish_captures(&mut self) -> Result<(), String> {
        for c in &mut self.net.captures {
            if let Err(e) = c.sink.finish() {
                c.error.get_or_insert(e.to_string());
            }
            if let Some(e) = &c.error {
                return Err(format!("capture `{}`: {e}", c.name));
            }
        }
        Ok(())
    }
}
