//! The sans-IO endpoint: everything UDT does on one UDP port.
//!
//! An endpoint demultiplexes datagrams by destination socket id into its
//! connections, answers connection requests as a listener (SYN cookie, backlog,
//! rejections) without creating state for unproven requests, hands out socket
//! ids, and reclaims connections that are over (`udt-protocol.md` §9).
//!
//! # Driving it
//!
//! After every input — [`handle_datagram`](Endpoint::handle_datagram),
//! [`handle_timeout`](Endpoint::handle_timeout) or an application call — drain
//! [`poll_transmit`](Endpoint::poll_transmit) until `None` and
//! [`poll_event`](Endpoint::poll_event) until `None`, then sleep until
//! [`poll_timeout`](Endpoint::poll_timeout) (or the next datagram).

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

use bytes::Bytes;

use md5::{Digest, Md5};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::conn::{Connection, Event, SocketState, Timer};
use crate::options::{EndpointConfig, SocketOptions};
use crate::packet::{
    Control, ControlPacket, Handshake, Packet, ReqType, HANDSHAKE_LEN, HEADER_LEN,
};
use crate::seq::SeqNumber;
use crate::stats::Stats;
use crate::time::{Duration, Instant};
use crate::Error;

/// Names one connection of an endpoint. Handles are never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnectionHandle(pub u64);

/// A datagram to send: `len` bytes at the front of the caller's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Where it goes.
    pub destination: SocketAddr,
    /// How many bytes of the buffer it uses.
    pub len: usize,
}

/// Why an endpoint dropped a datagram, counted for diagnostics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EndpointStats {
    /// Datagrams that did not decode as UDT.
    pub malformed: u64,
    /// Datagrams for no known socket, or from the wrong address.
    pub unroutable: u64,
    /// Connection requests with a wrong cookie.
    pub bad_cookie: u64,
    /// Requests answered with a 1002 rejection.
    pub rejected: u64,
}

#[derive(Debug)]
struct Listener {
    opts: SocketOptions,
    backlog: usize,
    /// When the listener opened: the cookie's minute counts from here.
    start: Instant,
    /// Accepted connections by (peer address, peer socket id, ISN), for answering
    /// retransmitted requests.
    accepted: BTreeMap<(SocketAddr, u32, u32), ConnectionHandle>,
    queue: VecDeque<ConnectionHandle>,
}

/// One UDP port's worth of UDT.
#[derive(Debug)]
pub struct Endpoint {
    config: EndpointConfig,
    rng: ChaCha8Rng,
    cookie_secret: [u8; 16],
    next_socket_id: u32,
    next_handle: u64,
    connections: Table,
    by_socket_id: BTreeMap<u32, ConnectionHandle>,
    listener: Option<Listener>,
    /// Replies sent without a connection (cookie replies, rejections).
    stateless: VecDeque<(SocketAddr, [u8; HEADER_LEN + HANDSHAKE_LEN])>,
    events: VecDeque<(ConnectionHandle, Event)>,
    /// Where the transmit round-robin resumes (an index into the table).
    cursor: usize,
    stats: EndpointStats,
    /// The next connection's ISN, when pinned (see [`Endpoint::pin_next_isn`]).
    next_isn: Option<SeqNumber>,
}

/// Socket ids count down from a random start in 1..=2^30, as UDT4's do.
const SOCKET_ID_SPAN: u32 = 1 << 30;

impl Endpoint {
    /// A new endpoint. All randomness (socket ids, ISNs, the cookie secret) comes
    /// from `config.seed`.
    pub fn new(config: EndpointConfig, _now: Instant) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let cookie_secret = rng.random();
        let next_socket_id = 1 + rng.random_range(0..SOCKET_ID_SPAN);
        Endpoint {
            config,
            rng,
            cookie_secret,
            next_socket_id,
            next_handle: 1,
            connections: Table::default(),
            by_socket_id: BTreeMap::new(),
            listener: None,
            stateless: VecDeque::new(),
            events: VecDeque::new(),
            cursor: 0,
            stats: EndpointStats::default(),
            next_isn: None,
        }
    }

    /// The address peers see.
    pub fn local_addr(&self) -> SocketAddr {
        self.config.local_addr
    }

    /// Drop counters.
    pub fn endpoint_stats(&self) -> EndpointStats {
        self.stats
    }

    /// Number of connections the endpoint holds (any state).
    pub fn connection_count(&self) -> usize {
        self.connections.len()
    }

    fn allocate_socket_id(&mut self) -> u32 {
        loop {
            self.next_socket_id = match self.next_socket_id {
                0 | 1 => SOCKET_ID_SPAN,
                n => n - 1,
            };
            if !self.by_socket_id.contains_key(&self.next_socket_id) {
                return self.next_socket_id;
            }
        }
    }

    /// The next connection this endpoint starts (connect or rendezvous) uses `isn` as its
    /// initial sequence number instead of a random one. For replaying a recorded
    /// connection: which packets go as packet pairs (sequence numbers ending in 0x0) depends
    /// on it. Accepted connections take the client's ISN, as in UDT4.
    pub fn pin_next_isn(&mut self, isn: SeqNumber) {
        self.next_isn = Some(isn);
    }

    fn random_isn(&mut self) -> SeqNumber {
        if let Some(isn) = self.next_isn.take() {
            return isn;
        }
        SeqNumber::new(self.rng.random_range(0..=SeqNumber::MAX))
    }

    fn insert(&mut self, conn: Connection) -> ConnectionHandle {
        let h = ConnectionHandle(self.next_handle);
        self.next_handle += 1;
        self.by_socket_id.insert(conn.id, h);
        self.connections.insert(h, conn);
        h
    }

    /// Starts accepting connections with these options (one listener per endpoint).
    pub fn listen(
        &mut self,
        now: Instant,
        opts: SocketOptions,
        backlog: usize,
    ) -> Result<(), Error> {
        opts.validate()?;
        if self.listener.is_some() {
            return Err(Error::DuplicateListener);
        }
        self.listener = Some(Listener {
            opts,
            backlog: backlog.max(1),
            start: now,
            accepted: BTreeMap::new(),
            queue: VecDeque::new(),
        });
        Ok(())
    }

    /// Stops accepting; connections not yet accepted are closed.
    pub fn stop_listening(&mut self, now: Instant) {
        if let Some(l) = self.listener.take() {
            for h in l.queue {
                if let Some(c) = self.connections.get_mut(h) {
                    c.close(now);
                }
            }
        }
    }

    /// Begins a client connection to a listener at `remote`.
    pub fn connect(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        opts: SocketOptions,
    ) -> Result<ConnectionHandle, Error> {
        self.start_connect(now, remote, opts, false)
    }

    /// Begins a rendezvous connection with a peer doing the same towards us.
    pub fn rendezvous(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        opts: SocketOptions,
    ) -> Result<ConnectionHandle, Error> {
        self.start_connect(now, remote, opts, true)
    }

    fn start_connect(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        opts: SocketOptions,
        rendezvous: bool,
    ) -> Result<ConnectionHandle, Error> {
        opts.validate()?;
        let id = self.allocate_socket_id();
        let isn = self.random_isn();
        let conn = Connection::connect(id, remote, opts, isn, rendezvous, now);
        Ok(self.insert(conn))
    }

    /// A datagram arrived from `from`.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) {
        match Packet::parse(bytes) {
            Ok(packet) => self.handle_packet(now, from, &packet, None),
            Err(_) => self.stats.malformed += 1,
        }
    }

    /// A datagram that arrived in two parts, `head` then `tail`, as
    /// [`poll_transmit_parts`](Self::poll_transmit_parts) hands them out: the same as
    /// [`handle_datagram`](Self::handle_datagram) on the two joined, but when `head` is a
    /// data packet's header, its connection keeps `tail` as the payload instead of copying
    /// it into the receive buffer, so that bytes a sender handed over with
    /// [`send_bytes`](Self::send_bytes) reach the receiving application uncopied.
    pub fn handle_datagram_parts(
        &mut self,
        now: Instant,
        from: SocketAddr,
        head: &[u8],
        tail: Bytes,
    ) {
        let Ok(header) = <&[u8; HEADER_LEN]>::try_from(head) else {
            // Not split after the header: take it whole.
            return self.handle_datagram(now, from, &[head, &tail[..]].concat());
        };
        match Packet::parse_parts(header, &tail) {
            Ok(packet) => self.handle_packet(now, from, &packet, Some(&tail)),
            Err(_) => self.stats.malformed += 1,
        }
    }

    /// Routes a decoded datagram to its connection (or the listener); `tail` as in
    /// [`handle_datagram_parts`](Self::handle_datagram_parts).
    fn handle_packet(
        &mut self,
        now: Instant,
        from: SocketAddr,
        packet: &Packet<'_>,
        tail: Option<&Bytes>,
    ) {
        let dest = packet.dest();
        let target = match dest {
            0 => {
                if let (
                    Some(_),
                    Packet::Control(ControlPacket {
                        control: Control::Handshake(hs),
                        ..
                    }),
                ) = (&self.listener, packet)
                {
                    self.listener_handshake(now, from, hs);
                    return;
                }
                // No listener: a connecting socket whose peer is the sender.
                self.connections
                    .iter()
                    .find(|(_, c)| c.state == SocketState::Connecting && c.peer_addr == from)
                    .map(|(h, _)| h)
            }
            d if d > i32::MAX as u32 => None, // negative ids are never valid
            d => self.by_socket_id.get(&d).copied(),
        };
        let Some(h) = target else {
            self.stats.unroutable += 1;
            return;
        };
        let conn = self
            .connections
            .get_mut(h)
            .expect("ids map to live connections");
        if conn.peer_addr != from {
            self.stats.unroutable += 1;
            return;
        }
        conn.handle_packet(now, packet, tail);
        Self::collect_events(&mut self.events, h, conn);
    }

    fn collect_events(
        events: &mut VecDeque<(ConnectionHandle, Event)>,
        h: ConnectionHandle,
        conn: &mut Connection,
    ) {
        while let Some(e) = conn.poll_event() {
            events.push_back((h, e));
        }
    }

    /// The listener's side of the client/server handshake (§3.4).
    fn listener_handshake(&mut self, now: Instant, from: SocketAddr, hs: &Handshake) {
        let listener = self.listener.as_ref().expect("checked by the caller");
        let minute = now.saturating_since(listener.start).as_micros() / 60_000_000;
        let cookie = self.cookie(from, minute);
        if hs.req_type == ReqType::Request {
            // Step 1: echo the request with our cookie; nothing is remembered.
            self.reply_stateless(from, hs.socket_id, Handshake { cookie, ..*hs });
            return;
        }
        // The previous minute's cookie is accepted too (UDT4 intends this).
        let previous = minute.checked_sub(1).map(|m| self.cookie(from, m));
        if hs.cookie != cookie && Some(hs.cookie) != previous {
            self.stats.bad_cookie += 1;
            return;
        }
        let listener = self.listener.as_mut().expect("checked by the caller");
        if hs.version != 4 || hs.socket_type != listener.opts.socket_type {
            self.reject(from, hs);
            return;
        }
        let key = (from, hs.socket_id, hs.isn);
        if let Some(&h) = listener.accepted.get(&key) {
            match self.connections.get(h) {
                Some(c) if c.is_open() => {
                    let reply = c.duplicate_response(hs);
                    self.reply_stateless(from, hs.socket_id, reply);
                    return;
                }
                _ => {
                    listener.accepted.remove(&key);
                }
            }
        }
        if listener.queue.len() >= listener.backlog {
            self.reject(from, hs);
            return;
        }
        let opts = listener.opts.clone();
        let id = self.allocate_socket_id();
        let (conn, response) = Connection::accept(id, from, opts, hs, now);
        let h = self.insert(conn);
        let listener = self.listener.as_mut().expect("checked by the caller");
        listener.accepted.insert(key, h);
        listener.queue.push_back(h);
        self.reply_stateless(from, hs.socket_id, response);
        self.events.push_back((h, Event::Accepted));
    }

    /// Answers a request with the same handshake marked 1002 (rejected).
    fn reject(&mut self, to: SocketAddr, hs: &Handshake) {
        self.stats.rejected += 1;
        let rejection = Handshake {
            req_type: ReqType::Rejected,
            ..*hs
        };
        self.reply_stateless(to, hs.socket_id, rejection);
    }

    /// First four bytes of MD5(secret ‖ "host:port:minute"), as UDT4 reads them
    /// (little-endian). The secret keeps cookies unforgeable by third parties.
    fn cookie(&self, from: SocketAddr, minute: u64) -> u32 {
        let mut md5 = Md5::new();
        md5.update(self.cookie_secret);
        md5.update(format!("{}:{}:{}", from.ip(), from.port(), minute));
        let d = md5.finalize();
        u32::from_le_bytes([d[0], d[1], d[2], d[3]])
    }

    fn reply_stateless(&mut self, to: SocketAddr, dest: u32, hs: Handshake) {
        // Bound the queue: a flood of requests must not grow memory.
        if self.stateless.len() >= 1024 {
            return;
        }
        let packet = Packet::Control(ControlPacket {
            timestamp: 0,
            dest,
            control: Control::Handshake(hs),
        });
        let mut buf = [0u8; HEADER_LEN + HANDSHAKE_LEN];
        packet
            .emit(&mut buf)
            .expect("a handshake is exactly 64 bytes");
        self.stateless.push_back((to, buf));
    }

    /// How many accepted connections wait for [`accept`](Self::accept) (0
    /// without a listener): a listening socket is readable while this is
    /// non-zero.
    pub fn pending_accepts(&self) -> usize {
        self.listener.as_ref().map_or(0, |l| l.queue.len())
    }

    /// Takes the next connection a listener accepted.
    pub fn accept(&mut self) -> Option<ConnectionHandle> {
        self.listener.as_mut()?.queue.pop_front()
    }

    /// Time passed: run due timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        for (h, conn) in self.connections.slots_mut() {
            let h = *h;
            if conn.timer_due(now) {
                conn.handle_timeout(now);
                Self::collect_events(&mut self.events, h, conn);
            }
        }
        self.reclaim(now);
    }

    fn reclaim(&mut self, now: Instant) {
        if !self.connections.iter().any(|(_, c)| c.reclaimable(now)) {
            return;
        }
        let dead: Vec<ConnectionHandle> = self
            .connections
            .iter()
            .filter(|(_, c)| c.reclaimable(now))
            .map(|(h, _)| h)
            .collect();
        for h in dead {
            if let Some(c) = self.connections.remove(h) {
                self.by_socket_id.remove(&c.id);
                if let Some(l) = self.listener.as_mut() {
                    l.accepted.retain(|_, v| *v != h);
                    l.queue.retain(|v| *v != h);
                }
                self.events.push_back((h, Event::Closed));
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_timer().map(|(at, _, _)| at)
    }

    /// The timer behind [`poll_timeout`](Self::poll_timeout): when, which connection,
    /// and what for (a trace can say why the endpoint woke).
    pub fn next_timer(&self) -> Option<(Instant, ConnectionHandle, Timer)> {
        self.connections
            .iter()
            .filter_map(|(h, c)| c.next_timer().map(|(at, t)| (at, h, t)))
            .min_by_key(|&(at, _, _)| at)
    }

    /// The next datagram to send at `now`, written into `buf` (at least the MSS in
    /// size). Call until `None`.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        self.poll(now, buf, true, None)
    }

    /// Like [`poll_transmit`](Self::poll_transmit), control packets only (handshakes,
    /// ACK, ACK2, NAK, keep-alive, shutdown, drop requests). UDT4 sends those from the
    /// thread that handles arrivals, as it handles them, while data waits until its sending
    /// thread wakes: a driver that models the two threads sends these first.
    pub fn poll_control(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        self.poll(now, buf, false, None)
    }

    /// Like [`poll_transmit`](Self::poll_transmit), but a data packet's payload is not
    /// copied: only its header is written into `buf` (the `Transmit` counts those bytes)
    /// and the payload comes back as the bytes the send buffer holds; the datagram is the
    /// two back to back. For drivers that send in parts (a gather write) or hand
    /// datagrams on in memory (the simulator, with
    /// [`handle_datagram_parts`](Self::handle_datagram_parts) at the other end).
    pub fn poll_transmit_parts(
        &mut self,
        now: Instant,
        buf: &mut [u8],
    ) -> Option<(Transmit, Option<Bytes>)> {
        let mut tail = None;
        let t = self.poll(now, buf, true, Some(&mut tail))?;
        Some((t, tail))
    }

    fn poll(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        data: bool,
        mut tail: Option<&mut Option<Bytes>>,
    ) -> Option<Transmit> {
        if let Some((to, bytes)) = self.stateless.pop_front() {
            buf.get_mut(..bytes.len())?.copy_from_slice(&bytes);
            return Some(Transmit {
                destination: to,
                len: bytes.len(),
            });
        }
        // Round-robin, starting after the connection that sent last.
        let slots = self.connections.slots_mut();
        let n = slots.len();
        let start = self.cursor.checked_rem(n).unwrap_or(0);
        for i in (start..n).chain(0..start) {
            let (_, conn) = &mut slots[i];
            if let Some(len) = conn.poll_transmit(now, buf, data, tail.as_deref_mut()) {
                self.cursor = i + 1;
                return Some(Transmit {
                    destination: conn.peer_addr,
                    len,
                });
            }
        }
        None
    }

    /// The next application event.
    pub fn poll_event(&mut self) -> Option<(ConnectionHandle, Event)> {
        self.events.pop_front()
    }

    fn conn(&mut self, h: ConnectionHandle) -> Result<&mut Connection, Error> {
        self.connections.get_mut(h).ok_or(Error::NoConnection)
    }

    /// Stream send; may take fewer bytes than offered (wait for `Writable`).
    pub fn send(&mut self, now: Instant, h: ConnectionHandle, data: &[u8]) -> Result<usize, Error> {
        self.conn(h)?.send(now, data)
    }

    /// Zero-copy stream send: like [`Endpoint::send`], but the connection keeps
    /// (a slice of) `data` until it is acknowledged instead of copying it, so a
    /// `'static` or shared payload costs the send buffer only its packet records.
    pub fn send_bytes(
        &mut self,
        now: Instant,
        h: ConnectionHandle,
        data: bytes::Bytes,
    ) -> Result<usize, Error> {
        self.conn(h)?.send_shared(now, data)
    }

    /// Stream receive; `Ok(0)` when nothing is readable yet.
    pub fn recv(&mut self, h: ConnectionHandle, buf: &mut [u8]) -> Result<usize, Error> {
        self.conn(h)?.recv(buf)
    }

    /// Stream receive without a copy: like [`Endpoint::recv`] with a buffer of `max` bytes,
    /// but the bytes go to `f`, in order, straight from the receive buffer (a packet's worth,
    /// or what is left of it, per call).
    pub fn recv_with(
        &mut self,
        h: ConnectionHandle,
        max: usize,
        f: impl FnMut(&[u8]),
    ) -> Result<usize, Error> {
        self.conn(h)?.recv_with(max, f)
    }

    /// Message send: the whole message with an optional time to live.
    pub fn send_msg(
        &mut self,
        now: Instant,
        h: ConnectionHandle,
        data: &[u8],
        ttl: Option<Duration>,
        in_order: bool,
    ) -> Result<(), Error> {
        self.conn(h)?.send_msg(now, data, ttl, in_order)
    }

    /// Message receive: the next whole message, if any.
    pub fn recv_msg(&mut self, h: ConnectionHandle) -> Result<Option<Vec<u8>>, Error> {
        self.conn(h)?.recv_msg()
    }

    /// Closes a connection (lingering until its data is acknowledged).
    pub fn close(&mut self, now: Instant, h: ConnectionHandle) {
        if let Some(c) = self.connections.get_mut(h) {
            c.close(now);
            Self::collect_events(&mut self.events, h, c);
        }
    }

    /// The connection's state; `NonExist` once it is gone.
    pub fn state(&self, h: ConnectionHandle) -> SocketState {
        self.connections
            .get(h)
            .map_or(SocketState::NonExist, |c| c.state)
    }

    /// Statistics of a connection.
    pub fn stats(&self, h: ConnectionHandle) -> Option<Stats> {
        self.connections.get(h).map(|c| c.stats())
    }

    /// The peer's address.
    pub fn peer_addr(&self, h: ConnectionHandle) -> Option<SocketAddr> {
        self.connections.get(h).map(|c| c.peer_addr)
    }

    /// The local and peer UDT socket ids of a connection.
    pub fn socket_ids(&self, h: ConnectionHandle) -> Option<(u32, u32)> {
        self.connections.get(h).map(|c| (c.id, c.peer_id))
    }
}

mod table;

use table::Table;

#[cfg(test)]
mod tests;
