//! Replay of recorded traces against the project's core (packetdrill's idea, driven
//! by a pcap): one side of a recorded client/server connection is fed into a fresh
//! `udt::Endpoint` with the recorded timing, the application data the other side
//! sent is handed to our endpoint at the recorded times, and what our endpoint sends
//! is compared with what the recorded side sent.
//!
//! Both packet streams are reduced to one line per packet with the fields that may
//! legitimately differ masked: the SYN cookie, socket ids (shown as `<self>`/`<peer>`),
//! timestamps, the ISN where we choose it (sequence numbers are shown as `ISN+k`),
//! and the timing-dependent estimates of full ACKs (RTT, variance, buffer, rates).
//! A mismatch is shown as a diff (`-` recorded, `+` ours) with context.
//!
//! [`Driver`] is the replay clock loop on its own; the reference replay tests use it
//! directly.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;

use udt::packet::{Control, ControlPacket, Handshake, Packet, ReqType, SocketType};
use udt::seq::SeqNumber;
use udt::time::{Duration, Instant};
use udt::{ConnectionHandle, Endpoint, EndpointConfig, Event, SocketOptions};

use crate::capture::{Capture, Datagram};
use crate::check::{rebuild, Conn, Kind, Mode};

// ---------------------------------------------------------------------------
// Packet helpers
// ---------------------------------------------------------------------------

/// The destination id and body of a handshake datagram, if it is one.
pub fn handshake(bytes: &[u8]) -> Option<(u32, Handshake)> {
    match Packet::parse(bytes).ok()? {
        Packet::Control(ControlPacket {
            dest,
            control: Control::Handshake(hs),
            ..
        }) => Some((dest, hs)),
        _ => None,
    }
}

/// A handshake datagram as UDT4 sends it (timestamp 0).
pub fn handshake_bytes(dest: u32, hs: Handshake) -> Vec<u8> {
    let packet = Packet::Control(ControlPacket {
        timestamp: 0,
        dest,
        control: Control::Handshake(hs),
    });
    let mut buf = vec![0u8; packet.buffer_len()];
    // `buf` is sized by `buffer_len`, so emitting cannot run out of room.
    let _ = packet.emit(&mut buf);
    buf
}

/// The same datagram with the header's destination socket id replaced (word 3 of
/// the header, for data and control packets alike). Shorter datagrams are returned
/// unchanged.
pub fn with_dest(bytes: &[u8], dest: u32) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if let Some(w) = out.get_mut(12..16) {
        w.copy_from_slice(&dest.to_be_bytes());
    }
    out
}

// ---------------------------------------------------------------------------
// The driver
// ---------------------------------------------------------------------------

/// A datagram our endpoint sent.
#[derive(Clone, Debug)]
pub struct Sent {
    /// When (replay time).
    pub at: Instant,
    /// To whom.
    pub to: SocketAddr,
    /// The UDP payload.
    pub bytes: Vec<u8>,
}

/// One of our endpoints, driven by the clock of a capture: capture time `origin_ns`
/// is our `Instant::ZERO`.
pub struct Driver {
    /// The endpoint under test.
    pub ep: Endpoint,
    /// Capture time of replay time zero, ns.
    pub origin_ns: u64,
    /// Replay time now.
    pub now: Instant,
    events: Vec<(ConnectionHandle, Event)>,
}

impl Driver {
    /// An endpoint at `local_addr` seeded with `seed`, its clock starting at capture
    /// time `origin_ns`.
    pub fn new(local_addr: SocketAddr, origin_ns: u64, seed: u64) -> Self {
        let config = EndpointConfig { local_addr, seed };
        Driver {
            ep: Endpoint::new(config, Instant::ZERO),
            origin_ns,
            now: Instant::ZERO,
            events: Vec::new(),
        }
    }

    /// Replay time of capture time `time_ns`: whole microseconds since the origin's. Our
    /// core counts whole microseconds, so a recording of our own endpoint (a simulator
    /// capture, in nanoseconds) has its timers on microsecond boundaries of the capture
    /// clock; counting from the origin's exact nanosecond would move each by up to 1 µs.
    pub fn instant(&self, time_ns: u64) -> Instant {
        Instant::from_micros(micros_since(time_ns, self.origin_ns))
    }

    /// Moves the clock forward to `to`, running every timer due on the way, and
    /// returns what was sent meanwhile.
    pub fn advance(&mut self, to: Instant) -> Vec<Sent> {
        let mut sent = Vec::new();
        while let Some(t) = self.ep.poll_timeout() {
            if t > to {
                break;
            }
            self.now = self.now.max(t);
            self.ep.handle_timeout(self.now);
            sent.extend(self.drain());
        }
        self.now = self.now.max(to);
        sent.extend(self.drain());
        sent
    }

    /// Delivers one datagram at capture time `time_ns` (timers first); returns what
    /// the endpoint sent from the previous input up to and including its answer.
    pub fn feed_at(&mut self, time_ns: u64, from: SocketAddr, bytes: &[u8]) -> Vec<Sent> {
        let mut sent = self.advance(self.instant(time_ns));
        self.ep.handle_datagram(self.now, from, bytes);
        sent.extend(self.drain());
        sent
    }

    /// Delivers a captured datagram with its payload replaced by `bytes`.
    pub fn feed(&mut self, d: &Datagram, bytes: &[u8]) -> Vec<Sent> {
        self.feed_at(d.time_ns, d.src, bytes)
    }

    /// Drains transmits and events, as the driving rule says.
    pub fn drain(&mut self) -> Vec<Sent> {
        let mut sent = Vec::new();
        let mut buf = vec![0u8; 65_536];
        while let Some(t) = self.ep.poll_transmit(self.now, &mut buf) {
            sent.push(Sent {
                at: self.now,
                to: t.destination,
                bytes: buf[..t.len].to_vec(),
            });
        }
        while let Some(e) = self.ep.poll_event() {
            self.events.push(e);
        }
        sent
    }

    /// The application events since the last call.
    pub fn take_events(&mut self) -> Vec<(ConnectionHandle, Event)> {
        std::mem::take(&mut self.events)
    }
}

// ---------------------------------------------------------------------------
// Replaying a whole connection
// ---------------------------------------------------------------------------

/// Which side of the recorded connection our endpoint plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The listener: the recorded client's packets are fed in.
    Server,
    /// The client: the recorded server's packets are fed in.
    Client,
}

/// Why a capture cannot be replayed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// No client/server UDT connection with its handshake in the capture.
    #[error("no client/server UDT connection with a handshake in the capture{0}")]
    NoConnection(String),
    /// Our endpoint refused to start.
    #[error("the endpoint refused to {what}: {error}")]
    Endpoint {
        /// `listen` or `connect`.
        what: &'static str,
        /// Its error.
        error: String,
    },
}

/// Knobs of a replay.
#[derive(Clone, Copy, Debug)]
pub struct ReplayOptions {
    /// The side we play.
    pub role: Role,
    /// Only the connection on this UDP port.
    pub port: Option<u16>,
    /// Seed of our endpoint (socket ids, ISN, cookie secret).
    pub seed: u64,
}

/// One packet, reduced for comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// Replay time, µs.
    pub at_us: u64,
    /// The masked packet.
    pub text: String,
}

/// One line of a diff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiffLine {
    /// In both.
    Same(Line),
    /// Only in the recording.
    Recorded(Line),
    /// Only in what our endpoint sent.
    Ours(Line),
}

/// What a replay found.
#[derive(Clone, Debug)]
pub struct ReplayReport {
    /// The side we played.
    pub role: Role,
    /// The recorded side's packets.
    pub recorded: Vec<Line>,
    /// Our endpoint's packets.
    pub ours: Vec<Line>,
    /// The alignment of the two.
    pub diff: Vec<DiffLine>,
    /// Remarks (e.g. events our endpoint reported).
    pub notes: Vec<String>,
}

impl ReplayReport {
    /// Whether our endpoint sent exactly what the recorded side sent (masked).
    pub fn matches(&self) -> bool {
        self.diff.iter().all(|d| matches!(d, DiffLine::Same(_)))
    }

    /// How many lines differ (either side).
    pub fn differences(&self) -> usize {
        self.diff
            .iter()
            .filter(|d| !matches!(d, DiffLine::Same(_)))
            .count()
    }

    /// The diff as text, `context` unchanged lines around each change.
    pub fn diff_text(&self, context: usize) -> String {
        let show: Vec<bool> = {
            let changed: Vec<bool> = self
                .diff
                .iter()
                .map(|d| !matches!(d, DiffLine::Same(_)))
                .collect();
            (0..changed.len())
                .map(|i| {
                    let lo = i.saturating_sub(context);
                    let hi = (i + context + 1).min(changed.len());
                    changed[lo..hi].iter().any(|&c| c)
                })
                .collect()
        };
        let mut s = String::new();
        let mut skipped = 0usize;
        for (d, &shown) in self.diff.iter().zip(&show) {
            if !shown {
                skipped += 1;
                continue;
            }
            if skipped > 0 {
                let _ = writeln!(s, "  ... {skipped} matching packets");
                skipped = 0;
            }
            let (mark, l) = match d {
                DiffLine::Same(l) => (' ', l),
                DiffLine::Recorded(l) => ('-', l),
                DiffLine::Ours(l) => ('+', l),
            };
            let _ = writeln!(
                s,
                "{mark} {:>4}.{:06}  {}",
                l.at_us / 1_000_000,
                l.at_us % 1_000_000,
                l.text
            );
        }
        if skipped > 0 {
            let _ = writeln!(s, "  ... {skipped} matching packets");
        }
        s
    }
}

/// Masks one packet of the side with socket id `own`, talking to `peer`, whose
/// sequence numbers count from `isn`.
pub fn mask(bytes: &[u8], wire_len: usize, own: u32, peer: u32, isn: SeqNumber) -> String {
    let id = |v: u32| -> String {
        if v == 0 {
            "0".into()
        } else if v == own {
            "<self>".into()
        } else if v == peer {
            "<peer>".into()
        } else {
            format!("{v:#x}")
        }
    };
    let rel = |s: SeqNumber| -> String {
        let off = isn.offset_to(s);
        match off {
            0 => "ISN".into(),
            o if o > 0 => format!("ISN+{o}"),
            o => format!("ISN{o}"),
        }
    };
    let packet = match Packet::parse(bytes) {
        Ok(p) => p,
        Err(e) => return format!("undecodable ({e})"),
    };
    let c = match packet {
        Packet::Data(d) => {
            return format!(
                "data seq={} msg={} ff={:?} order={} len={}",
                rel(d.seq),
                d.msg.value(),
                d.boundary,
                u8::from(d.in_order),
                wire_len.saturating_sub(udt::packet::HEADER_LEN)
            )
        }
        Packet::Control(c) => c,
    };
    let dest = id(c.dest);
    let body = match c.control {
        Control::Handshake(h) => format!(
            "handshake req={} ver={} type={} isn={} mss={} window={} id={} cookie={}",
            h.req_type.to_wire(),
            h.version,
            h.socket_type.to_wire(),
            if h.isn == isn.value() {
                "ISN".to_string()
            } else {
                h.isn.to_string()
            },
            h.mss,
            h.flight_flag_size,
            id(h.socket_id),
            if h.cookie == 0 { "0" } else { "<cookie>" }
        ),
        Control::Ack(a) => match a.full {
            None => format!("ack light seq={}", rel(a.seq)),
            Some(info) => format!(
                "ack #{} seq={} {}-byte",
                a.ack_number.value(),
                rel(a.seq),
                if info.rates.is_some() { 24 } else { 16 }
            ),
        },
        Control::Ack2(n) => format!("ack2 #{}", n.value()),
        Control::Nak(list) => {
            let r: Vec<String> = list
                .ranges()
                .map(|(a, b)| {
                    if a == b {
                        rel(a)
                    } else {
                        format!("{}..{}", rel(a), rel(b))
                    }
                })
                .collect();
            format!("nak {}", r.join(","))
        }
        other => other.name().to_string(),
    };
    format!("{body} dest={dest}")
}

/// The longest-common-subsequence alignment of two line lists (by `text`). Large
/// inputs fall back to comparing position by position.
pub fn align(a: &[Line], b: &[Line]) -> Vec<DiffLine> {
    const MAX_CELLS: usize = 16_000_000;
    let (n, m) = (a.len(), b.len());
    let mut out = Vec::with_capacity(n.max(m));
    if n.saturating_mul(m) > MAX_CELLS {
        for i in 0..n.max(m) {
            match (a.get(i), b.get(i)) {
                (Some(x), Some(y)) if x.text == y.text => out.push(DiffLine::Same(y.clone())),
                (x, y) => {
                    out.extend(x.cloned().map(DiffLine::Recorded));
                    out.extend(y.cloned().map(DiffLine::Ours));
                }
            }
        }
        return out;
    }
    // lcs[i][j] = LCS length of a[i..] and b[j..].
    let mut lcs = vec![0u32; (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[at(i, j)] = if a[i].text == b[j].text {
                lcs[at(i + 1, j + 1)] + 1
            } else {
                lcs[at(i + 1, j)].max(lcs[at(i, j + 1)])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if a[i].text == b[j].text {
            out.push(DiffLine::Same(b[j].clone()));
            i += 1;
            j += 1;
        } else if lcs[at(i + 1, j)] >= lcs[at(i, j + 1)] {
            out.push(DiffLine::Recorded(a[i].clone()));
            i += 1;
        } else {
            out.push(DiffLine::Ours(b[j].clone()));
            j += 1;
        }
    }
    out.extend(a[i..].iter().cloned().map(DiffLine::Recorded));
    out.extend(b[j..].iter().cloned().map(DiffLine::Ours));
    out
}

/// A message of the played side's application, as recorded.
struct AppMessage {
    time_ns: u64,
    bytes: Vec<u8>,
}

/// The application data side `side` sent: distinct packets grouped by message, in
/// sequence order, sent at the time of each message's first packet. Payloads cut by
/// the capture's snaplen are padded with zeros to their length on the wire.
fn app_messages(capture: &Capture, conn: &Conn, side: usize) -> Vec<AppMessage> {
    let by_frame: BTreeMap<u64, &Datagram> =
        capture.datagrams.iter().map(|d| (d.frame, d)).collect();
    let mut seen = std::collections::BTreeSet::new();
    let mut out: Vec<AppMessage> = Vec::new();
    let mut current: Option<u32> = None;
    for p in conn.pkts.iter().filter(|p| p.side == side) {
        let Kind::Data { seq, msg, .. } = &p.kind else {
            continue;
        };
        if !seen.insert(seq.value()) {
            continue;
        }
        let Some(d) = by_frame.get(&p.frame) else {
            continue;
        };
        let mut payload = d
            .payload
            .get(udt::packet::HEADER_LEN..)
            .unwrap_or(&[])
            .to_vec();
        payload.resize(
            p.wire_len
                .saturating_sub(udt::packet::HEADER_LEN)
                .max(payload.len()),
            0,
        );
        if current != Some(msg.value()) || out.is_empty() {
            out.push(AppMessage {
                time_ns: p.time_ns,
                bytes: Vec::new(),
            });
            current = Some(msg.value());
        }
        if let Some(m) = out.last_mut() {
            m.bytes.extend_from_slice(&payload);
        }
    }
    out
}

/// Replays one side of the first client/server connection of `capture` (on
/// `opts.port`, if given) against our endpoint.
pub fn replay_capture(
    capture: &Capture,
    opts: &ReplayOptions,
) -> Result<ReplayReport, ReplayError> {
    let rebuilt = rebuild(capture, opts.port);
    let filter = opts.port.map_or(String::new(), |p| format!(" on port {p}"));
    let (conn, client) = rebuilt
        .conns
        .iter()
        .find_map(|c| match c.mode() {
            Mode::ClientServer { client } => Some((c, client)),
            _ => None,
        })
        .ok_or(ReplayError::NoConnection(filter))?;
    let server = 1 - client;
    let played = match opts.role {
        Role::Server => server,
        Role::Client => client,
    };
    let peer = 1 - played;
    let by_frame: BTreeMap<u64, &Datagram> =
        capture.datagrams.iter().map(|d| (d.frame, d)).collect();
    let first = conn.pkts[0].time_ns;
    let request = conn
        .pkts
        .iter()
        .find_map(|p| match &p.kind {
            Kind::Handshake { hs, .. } if p.side == client => Some(*hs),
            _ => None,
        })
        .ok_or_else(|| ReplayError::NoConnection(String::new()))?;
    let rec_isn = SeqNumber::new(request.isn);
    let rec_ids = conn.ids;
    // The socket type: the recorded client's own, or the listener's as its accepting
    // response echoes it (UDT4 defaults, stream, when the capture does not say).
    let accepted_type = conn.pkts.iter().find_map(|p| match &p.kind {
        Kind::Handshake { hs, .. } if p.side == server && hs.req_type == ReqType::Response => {
            Some(hs.socket_type)
        }
        _ => None,
    });
    let socket_type = match opts.role {
        Role::Client => request.socket_type,
        Role::Server => accepted_type.unwrap_or(SocketType::Stream),
    };
    let mut options = SocketOptions::default();
    if socket_type == SocketType::Dgram {
        options.socket_type = SocketType::Dgram;
    }

    let mut d = Driver::new(conn.addrs[played], first, opts.seed);
    let mut notes = Vec::new();
    let mut sent: Vec<Sent> = Vec::new();
    let mut handle: Option<ConnectionHandle> = None;
    match opts.role {
        Role::Server => {
            d.ep.listen(d.now, options.clone(), 16)
                .map_err(|e| ReplayError::Endpoint {
                    what: "listen",
                    error: e.to_string(),
                })?
        }
        Role::Client => {
            // The recorded ISN: it decides which packets go as packet pairs.
            d.ep.pin_next_isn(rec_isn);
            let h =
                d.ep.connect(d.now, conn.addrs[server], options.clone())
                    .map_err(|e| ReplayError::Endpoint {
                        what: "connect",
                        error: e.to_string(),
                    })?;
            handle = Some(h);
            sent.extend(d.drain());
        }
    }
    // What we learn from our own packets: our socket id, ISN, last cookie.
    let mut our_id: Option<u32> = None;
    let mut our_isn: Option<SeqNumber> = None;
    let mut our_cookie: Option<u32> = None;
    let learn = |s: &[Sent],
                 id: &mut Option<u32>,
                 isn: &mut Option<SeqNumber>,
                 cookie: &mut Option<u32>| {
        for x in s {
            if let Some((_, hs)) = handshake(&x.bytes) {
                match (opts.role, hs.req_type) {
                    (Role::Client, ReqType::Request) => {
                        *id = Some(hs.socket_id);
                        *isn = Some(SeqNumber::new(hs.isn));
                    }
                    (Role::Server, ReqType::Request) => *cookie = Some(hs.cookie),
                    (Role::Server, ReqType::Response) => *id = Some(hs.socket_id),
                    _ => {}
                }
            }
        }
    };
    learn(&sent, &mut our_id, &mut our_isn, &mut our_cookie);

    let messages = app_messages(capture, conn, played);
    // The recorded side's close: its shutdown (§8.5).
    let close_ns = conn
        .pkts
        .iter()
        .find(|p| p.side == played && p.kind == Kind::Shutdown)
        .map(|p| p.time_ns);
    let mut closed = false;
    let mut next_msg = 0usize;
    // Messages handed to the application but not yet taken by `send`.
    let mut queue: std::collections::VecDeque<Vec<u8>> = std::collections::VecDeque::new();
    let mut received = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    let last_ns = conn.pkts.last().map_or(first, |p| p.time_ns);

    for p in conn.pkts.iter().filter(|p| p.side == peer) {
        // The application's sends due before this packet, one `send` per message.
        while next_msg < messages.len() && messages[next_msg].time_ns <= p.time_ns {
            let at = d.instant(messages[next_msg].time_ns);
            sent.extend(d.advance(at));
            queue.push_back(messages[next_msg].bytes.clone());
            next_msg += 1;
            sent.extend(send_queued(&mut d, handle, &mut queue));
        }
        sent.extend(send_queued(&mut d, handle, &mut queue));
        if let (Some(t), Some(h), false) = (close_ns, handle, closed) {
            if t < p.time_ns && queue.is_empty() {
                let at = d.instant(t);
                sent.extend(d.advance(at));
                d.ep.close(d.now, h);
                sent.extend(d.drain());
                closed = true;
            }
        }
        let Some(dg) = by_frame.get(&p.frame) else {
            continue;
        };
        let delta = match (our_isn, opts.role) {
            (Some(ours), Role::Client) => rec_isn.offset_to(ours),
            _ => 0,
        };
        let bytes = rewrite(
            &dg.payload,
            &p.kind,
            rec_ids[played],
            our_id,
            our_cookie,
            delta,
            opts.role,
        );
        let out = d.feed(dg, &bytes);
        learn(&out, &mut our_id, &mut our_isn, &mut our_cookie);
        sent.extend(out);
        for (h, e) in d.take_events() {
            match e {
                Event::Accepted => {
                    handle = d.ep.accept().or(Some(h));
                }
                Event::Connected | Event::Readable | Event::Writable => {}
                other => notes.push(format!(
                    "{}.{:06}: our endpoint reported {other:?}",
                    d.now.as_micros() / 1_000_000,
                    d.now.as_micros() % 1_000_000
                )),
            }
        }
        if let Some(h) = handle {
            while let Ok(n) = d.ep.recv(h, &mut buf) {
                if n == 0 {
                    break;
                }
                received += n;
            }
        }
    }
    sent.extend(send_queued(&mut d, handle, &mut queue));
    if let (Some(t), Some(h), false) = (close_ns, handle, closed) {
        let at = d.instant(t);
        sent.extend(d.advance(at));
        d.ep.close(d.now, h);
        sent.extend(d.drain());
    }
    let end = d.instant(last_ns) + Duration::from_millis(1);
    sent.extend(d.advance(end));
    if received > 0 {
        notes.push(format!(
            "our endpoint delivered {received} bytes to the application"
        ));
    }

    // Compare.
    let rec_own = rec_ids[played].unwrap_or(0);
    let rec_peer = rec_ids[peer].unwrap_or(0);
    let recorded: Vec<Line> = conn
        .pkts
        .iter()
        .filter(|p| p.side == played)
        .filter_map(|p| {
            let dg = by_frame.get(&p.frame)?;
            Some(Line {
                at_us: micros_since(p.time_ns, first),
                text: mask(&dg.payload, p.wire_len, rec_own, rec_peer, rec_isn),
            })
        })
        .collect();
    let isn = our_isn.unwrap_or(rec_isn);
    let ours: Vec<Line> = sent
        .iter()
        .filter(|s| s.to == conn.addrs[peer])
        .map(|s| Line {
            at_us: s.at.as_micros(),
            text: mask(&s.bytes, s.bytes.len(), our_id.unwrap_or(0), rec_peer, isn),
        })
        .collect();
    let diff = align(&recorded, &ours);
    Ok(ReplayReport {
        role: opts.role,
        recorded,
        ours,
        diff,
        notes,
    })
}

/// Hands queued messages to `send` (each its own call, as the application made
/// them) until the endpoint takes no more.
fn send_queued(
    d: &mut Driver,
    handle: Option<ConnectionHandle>,
    queue: &mut std::collections::VecDeque<Vec<u8>>,
) -> Vec<Sent> {
    let Some(h) = handle else {
        return Vec::new();
    };
    while let Some(front) = queue.front_mut() {
        match d.ep.send(d.now, h, front) {
            Ok(n) if n == front.len() => {
                queue.pop_front();
            }
            Ok(n) => {
                front.drain(..n);
                break;
            }
            Err(_) => break,
        }
    }
    d.drain()
}

/// Whole microseconds from capture time `origin_ns` to `time_ns`, both taken to their
/// microsecond (see [`Driver::instant`]).
fn micros_since(time_ns: u64, origin_ns: u64) -> u64 {
    (time_ns / 1000).saturating_sub(origin_ns / 1000)
}

/// Adapts a recorded packet of the peer to our endpoint: the cookie we handed out,
/// our socket id where it named the recorded one, and (as client) our ISN.
fn rewrite(
    payload: &[u8],
    kind: &Kind,
    recorded_own: Option<u32>,
    our_id: Option<u32>,
    our_cookie: Option<u32>,
    delta: i32,
    role: Role,
) -> Vec<u8> {
    let shift = |v: u32| SeqNumber::new(v).add(delta as u32).value();
    let readdress = |dest: u32| match (recorded_own, our_id) {
        (Some(r), Some(o)) if dest == r => o,
        _ => dest,
    };
    match kind {
        Kind::Handshake { dest, hs } => {
            let mut hs = *hs;
            match role {
                Role::Server => {
                    if hs.req_type == ReqType::Response {
                        if let Some(k) = our_cookie {
                            hs.cookie = k;
                        }
                    }
                }
                Role::Client => {
                    hs.isn = shift(hs.isn);
                    if matches!(hs.req_type, ReqType::Request | ReqType::Rejected) {
                        // The listener echoes the client's id.
                        if let Some(o) = our_id {
                            hs.socket_id = o;
                        }
                    }
                }
            }
            handshake_bytes(readdress(*dest), hs)
        }
        _ => {
            let mut out = with_dest(
                payload,
                readdress(u32::from_be_bytes(
                    payload
                        .get(12..16)
                        .and_then(|w| w.try_into().ok())
                        .unwrap_or([0; 4]),
                )),
            );
            if delta != 0 && out.len() >= 16 {
                let word =
                    |o: &[u8], i: usize| u32::from_be_bytes([o[i], o[i + 1], o[i + 2], o[i + 3]]);
                let put =
                    |o: &mut [u8], i: usize, v: u32| o[i..i + 4].copy_from_slice(&v.to_be_bytes());
                match kind {
                    Kind::Data { .. } => {
                        let w = word(&out, 0);
                        put(&mut out, 0, shift(w & 0x7FFF_FFFF));
                    }
                    Kind::Ack(_) if out.len() >= 20 => {
                        let w = word(&out, 16);
                        put(&mut out, 16, shift(w & 0x7FFF_FFFF));
                    }
                    Kind::Nak(_) => {
                        let mut i = 16;
                        while i + 4 <= out.len() {
                            let w = word(&out, i);
                            put(&mut out, i, (w & 0x8000_0000) | shift(w & 0x7FFF_FFFF));
                            i += 4;
                        }
                    }
                    _ => {}
                }
            }
            out
        }
    }
}
