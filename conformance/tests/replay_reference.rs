//! Replays of the reference captures against the sans-IO core: the recorded packets
//! of one side (from the C++ UDT4 library) are fed into our `Endpoint`, with the
//! capture's relative timing, and our answers are compared field by field with what
//! the other UDT4 side sent. Only what may legitimately differ is masked: the SYN
//! cookie (opaque to the client), socket ids and the ISNs we choose.

mod common;

use std::net::SocketAddr;

use common::reference_file;
use conformance::capture::{read_file, Capture, Datagram};
use conformance::replay::{handshake, handshake_bytes, with_dest, Driver, Sent};
use udt::packet::{Control, ControlPacket, Handshake, Packet, PeerIp, ReqType, SocketType};
use udt::seq::SeqNumber;
use udt::time::{Duration, Instant};
use udt::{ConnectionHandle, Error, Event, SocketOptions, SocketState};

/// The client/server captures: a UDT4 client connecting to a UDT4 listener.
const CLIENT_SERVER: [&str; 5] = [
    "cs_clean_transfer",
    "cs_handshake_transfer",
    "cs_idle_keepalive",
    "sendfile_recvfile",
    "lossy_transfer",
];

/// Socket ids are drawn from 1..=2^30 (`udt-protocol.md` §4.5).
const MAX_SOCKET_ID: u32 = 1 << 30;

fn load(name: &str) -> Capture {
    read_file(reference_file(name, ".pcap")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

// ---------------------------------------------------------------------------
// Packet helpers
// ---------------------------------------------------------------------------

fn expect_handshake(bytes: &[u8], what: &str) -> (u32, Handshake) {
    handshake(bytes).unwrap_or_else(|| panic!("{what}: not a handshake: {bytes:02x?}"))
}

/// The destination id and contents of a control packet, if it is one.
fn control_of(bytes: &[u8]) -> Option<(u32, Control<'_>)> {
    match Packet::parse(bytes).ok()? {
        Packet::Control(c) => Some((c.dest, c.control)),
        Packet::Data(_) => None,
    }
}

fn is_handshake(d: &Datagram) -> bool {
    handshake(&d.payload).is_some()
}

/// Asserts every field but those the caller masks (by copying ours into `expected`).
fn assert_same_handshake(ours: &Handshake, expected: &Handshake, what: &str) {
    assert_eq!(ours.version, expected.version, "{what}: version");
    assert_eq!(
        ours.socket_type, expected.socket_type,
        "{what}: socket type"
    );
    assert_eq!(ours.isn, expected.isn, "{what}: ISN");
    assert_eq!(ours.mss, expected.mss, "{what}: MSS");
    assert_eq!(
        ours.flight_flag_size, expected.flight_flag_size,
        "{what}: flow window"
    );
    assert_eq!(ours.req_type, expected.req_type, "{what}: reqtype");
    assert_eq!(ours.socket_id, expected.socket_id, "{what}: socket id");
    assert_eq!(ours.cookie, expected.cookie, "{what}: cookie");
    assert_eq!(ours.peer_ip, expected.peer_ip, "{what}: peer IP");
}

fn assert_valid_socket_id(id: u32, what: &str) {
    assert!(
        id > 0 && id <= MAX_SOCKET_ID,
        "{what}: socket id {id:#x} outside 1..=2^30"
    );
}

// The replay driver is the library's: `conformance::replay::Driver`, the same loop
// the `conformance replay` command runs.
type Replay = Driver;

/// The only handshake among `sent`, which must go to `to`.
fn only_handshake(sent: &[Sent], to: SocketAddr, what: &str) -> (u32, Handshake) {
    let hs: Vec<&Sent> = sent
        .iter()
        .filter(|s| handshake(&s.bytes).is_some())
        .collect();
    assert_eq!(hs.len(), 1, "{what}: expected one handshake, sent {sent:?}");
    assert_eq!(hs[0].to, to, "{what}: destination address");
    expect_handshake(&hs[0].bytes, what)
}

// ---------------------------------------------------------------------------
// The client/server handshake as recorded
// ---------------------------------------------------------------------------

/// The four handshake packets of a client/server capture.
struct CsHandshake<'a> {
    client: SocketAddr,
    server: SocketAddr,
    /// Client reqtype 1 (dest 0, cookie 0).
    request: &'a Datagram,
    /// The listener's cookie reply.
    cookie_reply: &'a Datagram,
    /// Client reqtype −1 with the cookie.
    second: &'a Datagram,
    /// The listener's reqtype −1 (or 1002) answer.
    response: &'a Datagram,
}

fn cs_handshake<'a>(name: &str, capture: &'a Capture) -> CsHandshake<'a> {
    let hs: Vec<&Datagram> = capture
        .datagrams
        .iter()
        .filter(|d| is_handshake(d))
        .collect();
    assert_eq!(hs.len(), 4, "{name}: handshake packets");
    let (client, server) = (hs[0].src, hs[0].dst);
    let (dest, first) = expect_handshake(&hs[0].payload, name);
    assert_eq!(
        (dest, first.req_type),
        (0, ReqType::Request),
        "{name}: frame 1"
    );
    for (d, from) in hs.iter().zip([client, server, client, server]) {
        assert_eq!(d.src, from, "{name} frame {}: direction", d.frame);
    }
    CsHandshake {
        client,
        server,
        request: hs[0],
        cookie_reply: hs[1],
        second: hs[2],
        response: hs[3],
    }
}

/// The listener options of the reference servers: UDT4 defaults (stream, MSS 1500,
/// FC 25600, 8192-packet receive buffer → offered window 8192).
fn server_options() -> SocketOptions {
    SocketOptions::default()
}

// ---------------------------------------------------------------------------
// 1. Listener side
// ---------------------------------------------------------------------------

/// What our listener did with one capture's client handshake.
struct Accepted {
    replay: Replay,
    handle: ConnectionHandle,
    server_id: u32,
}

/// Feeds the reference client's handshake into our listener and checks every
/// answer against the reference listener's.
fn replay_listener(name: &str, capture: &Capture, seed: u64) -> Accepted {
    let cs = cs_handshake(name, capture);
    let mut r = Replay::new(cs.server, cs.request.time_ns, seed);
    r.ep.listen(r.now, server_options(), 10).expect("listen");

    let (_, client_req) = expect_handshake(&cs.request.payload, name);
    let (ref_dest, ref_cookie_reply) = expect_handshake(&cs.cookie_reply.payload, name);
    assert_eq!(
        ref_dest, client_req.socket_id,
        "{name}: reference cookie reply dest"
    );

    // Step 1 → 2: the cookie reply is the request echoed, cookie filled in.
    let sent = r.feed(cs.request, &cs.request.payload);
    let (dest, reply) = only_handshake(&sent, cs.client, &format!("{name}: cookie reply"));
    assert_eq!(dest, client_req.socket_id, "{name}: cookie reply dest");
    assert_ne!(reply.cookie, 0, "{name}: cookie");
    assert_same_handshake(
        &reply,
        &Handshake {
            cookie: reply.cookie,
            ..ref_cookie_reply
        },
        &format!("{name}: cookie reply"),
    );
    assert_eq!(r.ep.connection_count(), 0, "{name}: state after step 1");
    let our_cookie = reply.cookie;

    // Step 3 as recorded carries the reference listener's cookie: dropped silently.
    let (_, second) = expect_handshake(&cs.second.payload, name);
    assert_eq!(
        second.req_type,
        ReqType::Response,
        "{name}: frame 3 reqtype"
    );
    let bad_cookie = r.ep.endpoint_stats().bad_cookie;
    if second.cookie != our_cookie {
        let sent = r.feed(cs.second, &cs.second.payload);
        assert!(
            sent.is_empty(),
            "{name}: answered a foreign cookie: {sent:?}"
        );
        assert_eq!(r.ep.connection_count(), 0, "{name}: foreign cookie");
        assert_eq!(r.ep.endpoint_stats().bad_cookie, bad_cookie + 1, "{name}");
    }

    // Step 3 with our cookie → 4.
    let second_ours = handshake_bytes(
        0,
        Handshake {
            cookie: our_cookie,
            ..second
        },
    );
    let sent = r.feed(cs.second, &second_ours);
    let what = format!("{name}: response");
    let (dest, response) = only_handshake(&sent, cs.client, &what);
    let (ref_dest, ref_response) = expect_handshake(&cs.response.payload, name);
    assert_eq!(
        ref_dest, client_req.socket_id,
        "{name}: reference response dest"
    );
    assert_eq!(dest, client_req.socket_id, "{what}: dest");
    assert_valid_socket_id(response.socket_id, &what);
    assert_valid_socket_id(ref_response.socket_id, &format!("{name}: reference"));
    assert_same_handshake(
        &response,
        &Handshake {
            socket_id: response.socket_id,
            cookie: our_cookie,
            ..ref_response
        },
        &what,
    );
    // The listener adopts the client's ISN (§3.3 step 4).
    assert_eq!(response.isn, client_req.isn, "{what}: ISN");

    // Exactly one connection, announced once, connected, with the right ids.
    assert_eq!(r.ep.connection_count(), 1, "{name}: connections");
    let events = r.take_events();
    assert_eq!(events.len(), 1, "{name}: events {events:?}");
    let (handle, event) = events[0];
    assert_eq!(event, Event::Accepted, "{name}");
    assert_eq!(r.ep.accept(), Some(handle), "{name}: accept");
    assert_eq!(r.ep.accept(), None, "{name}: accept");
    assert_eq!(r.ep.state(handle), SocketState::Connected, "{name}");
    assert_eq!(
        r.ep.socket_ids(handle),
        Some((response.socket_id, client_req.socket_id)),
        "{name}: socket ids"
    );
    assert_eq!(r.ep.peer_addr(handle), Some(cs.client), "{name}: peer");

    // A retransmitted step 3 gets the same answer (UDT4 §3.4 step 6: the existing
    // socket's values, with its configured FC as the flow window) and nothing new.
    let sent = r.feed(cs.second, &second_ours);
    let what = format!("{name}: duplicate response");
    let (dest, duplicate) = only_handshake(&sent, cs.client, &what);
    assert_eq!(dest, client_req.socket_id, "{what}: dest");
    assert_same_handshake(
        &duplicate,
        &Handshake {
            flight_flag_size: server_options().flight_flag_size,
            ..response
        },
        &what,
    );
    assert_eq!(
        r.ep.connection_count(),
        1,
        "{name}: connections after duplicate"
    );
    assert!(r.take_events().is_empty(), "{name}: events after duplicate");
    assert_eq!(r.ep.accept(), None, "{name}: accept after duplicate");

    Accepted {
        replay: r,
        handle,
        server_id: response.socket_id,
    }
}

#[test]
fn listener_answers_reference_clients_like_udt4() {
    for (i, name) in CLIENT_SERVER.iter().enumerate() {
        let capture = load(name);
        replay_listener(name, &capture, 100 + i as u64);
    }
}

// ---------------------------------------------------------------------------
// 2. Rejections
// ---------------------------------------------------------------------------

fn replay_rejection(name: &str) {
    let capture = load(name);
    let cs = cs_handshake(name, &capture);
    let mut r = Replay::new(cs.server, cs.request.time_ns, 7);
    r.ep.listen(r.now, server_options(), 10).expect("listen");

    // The cookie reply echoes the request even though it is going to be rejected.
    let (_, ref_cookie_reply) = expect_handshake(&cs.cookie_reply.payload, name);
    let (_, client_req) = expect_handshake(&cs.request.payload, name);
    let sent = r.feed(cs.request, &cs.request.payload);
    let what = format!("{name}: cookie reply");
    let (dest, reply) = only_handshake(&sent, cs.client, &what);
    assert_eq!(dest, client_req.socket_id, "{what}: dest");
    assert_same_handshake(
        &reply,
        &Handshake {
            cookie: reply.cookie,
            ..ref_cookie_reply
        },
        &what,
    );

    // The second request (with our cookie) is answered with the body and 1002.
    let (_, second) = expect_handshake(&cs.second.payload, name);
    let second_ours = handshake_bytes(
        0,
        Handshake {
            cookie: reply.cookie,
            ..second
        },
    );
    let sent = r.feed(cs.second, &second_ours);
    let what = format!("{name}: rejection");
    let (dest, rejection) = only_handshake(&sent, cs.client, &what);
    let (ref_dest, ref_rejection) = expect_handshake(&cs.response.payload, name);
    assert_eq!(
        ref_rejection.req_type,
        ReqType::Rejected,
        "{name}: reference"
    );
    assert_eq!(dest, ref_dest, "{what}: dest");
    assert_same_handshake(
        &rejection,
        &Handshake {
            cookie: reply.cookie,
            ..ref_rejection
        },
        &what,
    );
    assert_eq!(r.ep.connection_count(), 0, "{name}: connections");
    assert!(r.take_events().is_empty(), "{name}: events");
    assert_eq!(r.ep.accept(), None, "{name}: accept");
    assert_eq!(r.ep.endpoint_stats().rejected, 1, "{name}: rejected count");
}

#[test]
fn listener_rejects_wrong_version_like_udt4() {
    replay_rejection("rejected_version");
}

#[test]
fn listener_rejects_wrong_socket_type_like_udt4() {
    replay_rejection("rejected_socktype");
}

// ---------------------------------------------------------------------------
// 3. Client side
// ---------------------------------------------------------------------------

/// A client endpoint that sent its first request, checked against the reference
/// client's.
struct Client<'a> {
    r: Replay,
    cs: CsHandshake<'a>,
    handle: ConnectionHandle,
    /// Our first request.
    request: Handshake,
}

fn start_client<'a>(name: &str, capture: &'a Capture, seed: u64) -> Client<'a> {
    let cs = cs_handshake(name, capture);
    let mut r = Replay::new(cs.client, cs.request.time_ns, seed);
    let handle =
        r.ep.connect(r.now, cs.server, SocketOptions::default())
            .expect("connect");
    let sent = r.drain();
    let what = format!("{name}: first request");
    let (dest, request) = only_handshake(&sent, cs.server, &what);
    let (ref_dest, ref_request) = expect_handshake(&cs.request.payload, name);
    assert_eq!(dest, ref_dest, "{what}: dest");
    assert_eq!(dest, 0, "{what}: dest");
    assert_valid_socket_id(request.socket_id, &what);
    assert!(request.isn <= SeqNumber::MAX, "{what}: ISN is 31 bits");
    assert_same_handshake(
        &request,
        &Handshake {
            isn: request.isn,
            socket_id: request.socket_id,
            ..ref_request
        },
        &what,
    );
    // Spelled out, as UDT4 sends them.
    assert_eq!(request.version, 4, "{what}");
    assert_eq!(request.socket_type, SocketType::Stream, "{what}");
    assert_eq!(request.mss, 1500, "{what}");
    assert_eq!(request.flight_flag_size, 8192, "{what}");
    assert_eq!(request.req_type, ReqType::Request, "{what}");
    assert_eq!(request.cookie, 0, "{what}");
    assert_eq!(
        request.peer_ip.0,
        [1, 0, 0, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        "{what}: peer IP"
    );
    assert_eq!(request.peer_ip, PeerIp::from_addr(cs.server.ip()), "{what}");
    assert_eq!(r.ep.state(handle), SocketState::Connecting, "{name}");
    Client {
        r,
        cs,
        handle,
        request,
    }
}

impl Client<'_> {
    /// A recorded listener packet, readdressed to our socket and echoing our ISN (the
    /// listener echoes the client's body, so the recorded one echoes the recorded
    /// client's id and ISN).
    fn rewritten(&self, d: &Datagram, edit: impl FnOnce(&mut Handshake)) -> Vec<u8> {
        let (_, mut hs) = expect_handshake(&d.payload, "listener packet");
        hs.isn = self.request.isn;
        if hs.req_type == ReqType::Request || hs.req_type == ReqType::Rejected {
            hs.socket_id = self.request.socket_id; // echoed
        }
        edit(&mut hs);
        handshake_bytes(self.request.socket_id, hs)
    }

    /// Feeds the cookie reply and checks the second request.
    fn cookie_step(&mut self, name: &str) {
        let bytes = self.rewritten(self.cs.cookie_reply, |_| {});
        let sent = self.r.feed(self.cs.cookie_reply, &bytes);
        let what = format!("{name}: second request");
        let (dest, second) = only_handshake(&sent, self.cs.server, &what);
        let (ref_dest, ref_second) = expect_handshake(&self.cs.second.payload, name);
        let (_, ref_reply) = expect_handshake(&self.cs.cookie_reply.payload, name);
        assert_eq!(dest, ref_dest, "{what}: dest");
        assert_eq!(second.cookie, ref_reply.cookie, "{what}: echoes the cookie");
        assert_eq!(second.req_type, ReqType::Response, "{what}: reqtype");
        assert_eq!(second.isn, self.request.isn, "{what}: ISN");
        assert_eq!(second.socket_id, self.request.socket_id, "{what}: id");
        assert_same_handshake(
            &second,
            &Handshake {
                isn: self.request.isn,
                socket_id: self.request.socket_id,
                ..ref_second
            },
            &what,
        );
        assert!(self.r.take_events().is_empty(), "{name}: events");
        assert_eq!(
            self.r.ep.state(self.handle),
            SocketState::Connecting,
            "{name}"
        );
    }
}

#[test]
fn client_handshake_matches_reference_clients() {
    for (i, name) in CLIENT_SERVER.iter().enumerate() {
        let capture = load(name);
        let mut c = start_client(name, &capture, 200 + i as u64);
        c.cookie_step(name);
        let bytes = c.rewritten(c.cs.response, |_| {});
        let sent = c.r.feed(c.cs.response, &bytes);
        assert!(
            sent.iter().all(|s| handshake(&s.bytes).is_none()),
            "{name}: handshake after the response: {sent:?}"
        );
        assert_eq!(
            c.r.take_events(),
            vec![(c.handle, Event::Connected)],
            "{name}"
        );
        assert_eq!(c.r.ep.state(c.handle), SocketState::Connected, "{name}");
        let (_, ref_response) = expect_handshake(&c.cs.response.payload, name);
        assert_eq!(
            c.r.ep.socket_ids(c.handle),
            Some((c.request.socket_id, ref_response.socket_id)),
            "{name}: peer id from the response"
        );
    }
}

#[test]
fn client_refuses_a_response_with_another_isn() {
    let capture = load("cs_clean_transfer");
    let mut c = start_client("cs_clean_transfer", &capture, 300);
    c.cookie_step("cs_clean_transfer");
    let bytes = c.rewritten(c.cs.response, |hs| {
        hs.isn = hs.isn.wrapping_add(1) & SeqNumber::MAX
    });
    c.r.feed(c.cs.response, &bytes);
    assert_eq!(
        c.r.take_events(),
        vec![(c.handle, Event::ConnectFailed(Error::SecurityFailure))]
    );
    assert_ne!(c.r.ep.state(c.handle), SocketState::Connected);
}

#[test]
fn client_reports_a_recorded_rejection() {
    // The client part from cs_clean_transfer, the listener's 1002 from rejected_socktype.
    let capture = load("cs_clean_transfer");
    let rejected = load("rejected_socktype");
    let rejection = cs_handshake("rejected_socktype", &rejected).response;
    let mut c = start_client("cs_clean_transfer", &capture, 301);
    c.cookie_step("cs_clean_transfer");
    let bytes = c.rewritten(rejection, |_| {});
    let (_, hs) = expect_handshake(&bytes, "rewritten rejection");
    assert_eq!(hs.req_type, ReqType::Rejected);
    c.r.feed_at(c.cs.response.time_ns, c.cs.server, &bytes);
    assert_eq!(
        c.r.take_events(),
        vec![(c.handle, Event::ConnectFailed(Error::Rejected))]
    );
    assert_ne!(c.r.ep.state(c.handle), SocketState::Connected);
}

// ---------------------------------------------------------------------------
// 4. Rendezvous
// ---------------------------------------------------------------------------

const RDV_A: u16 = 9100;
const RDV_B: u16 = 9101;

/// One side of rendezvous.pcap played by us.
struct Rendezvous<'a> {
    capture: &'a Capture,
    r: Replay,
    handle: ConnectionHandle,
    /// The recorded socket id of the side we play (the peer addresses it).
    recorded_own_id: u32,
    /// Our first request.
    request: Handshake,
}

/// Starts our side `port` at the time the recorded side sent its first hs(0), and
/// checks that first packet.
fn start_rendezvous<'a>(capture: &'a Capture, port: u16, seed: u64) -> Rendezvous<'a> {
    let ours: Vec<&Datagram> = capture
        .datagrams
        .iter()
        .filter(|d| d.src.port() == port && is_handshake(d))
        .collect();
    assert_eq!(ours.len(), 2, "rendezvous: handshakes from {port}");
    let first = ours[0];
    let (ref_dest, ref_first) = expect_handshake(&first.payload, "rendezvous");
    let mut r = Replay::new(first.src, first.time_ns, seed);
    let handle =
        r.ep.rendezvous(r.now, first.dst, SocketOptions::default())
            .expect("rendezvous");
    let sent = r.drain();
    let what = format!("rendezvous {port}: hs(0)");
    let (dest, request) = only_handshake(&sent, first.dst, &what);
    assert_eq!(dest, 0, "{what}: dest");
    assert_eq!(dest, ref_dest, "{what}: dest");
    assert_eq!(request.req_type, ReqType::Rendezvous, "{what}");
    assert_valid_socket_id(request.socket_id, &what);
    assert_same_handshake(
        &request,
        &Handshake {
            isn: request.isn,
            socket_id: request.socket_id,
            ..ref_first
        },
        &what,
    );
    Rendezvous {
        capture,
        r,
        handle,
        recorded_own_id: ref_first.socket_id,
        request,
    }
}

impl<'a> Rendezvous<'a> {
    fn port(&self) -> u16 {
        self.r.ep.local_addr().port()
    }

    /// The peer's recorded packets, in order.
    fn peer_datagrams(&self) -> Vec<&'a Datagram> {
        let port = self.port();
        let capture: &'a Capture = self.capture;
        capture
            .datagrams
            .iter()
            .filter(|d| d.dst.port() == port)
            .collect()
    }

    /// A peer packet, readdressed to our id where it addressed the recorded one.
    fn rewritten(&self, d: &Datagram) -> Vec<u8> {
        let dest = u32::from_be_bytes(d.payload[12..16].try_into().expect("4 bytes"));
        if dest == self.recorded_own_id {
            with_dest(&d.payload, self.request.socket_id)
        } else {
            d.payload.clone()
        }
    }

    fn feed(&mut self, d: &Datagram) -> Vec<Sent> {
        let bytes = self.rewritten(d);
        self.r.feed(d, &bytes)
    }

    /// Checks our hs(−1) against the recorded side's.
    fn check_response(&self, sent: &[Sent], peer_id: u32) {
        let port = self.port();
        let what = format!("rendezvous {port}: hs(-1)");
        let recorded = self
            .capture
            .datagrams
            .iter()
            .filter(|d| d.src.port() == port && is_handshake(d))
            .nth(1)
            .expect("the recorded hs(-1)");
        let (ref_dest, ref_response) = expect_handshake(&recorded.payload, &what);
        let to = recorded.dst;
        let (dest, response) = only_handshake(sent, to, &what);
        assert_eq!(dest, peer_id, "{what}: dest = peer id");
        assert_eq!(dest, ref_dest, "{what}: dest");
        assert_eq!(response.req_type, ReqType::Response, "{what}");
        assert_same_handshake(
            &response,
            &Handshake {
                isn: self.request.isn,
                socket_id: self.request.socket_id,
                ..ref_response
            },
            &what,
        );
    }

    /// Feeds every recorded data packet of the peer after `now`, then checks that the
    /// distinct payloads (`len` bytes) come out of `recv` in order and that no ACK of
    /// ours acknowledges beyond what the peer sent.
    fn receive_peer_stream(&mut self, len: usize) {
        let port = self.port();
        let mut by_seq = std::collections::BTreeMap::new();
        let mut highest: Option<SeqNumber> = None;
        let mut sent = Vec::new();
        for d in self.peer_datagrams() {
            let Ok(Packet::Data(data)) = Packet::parse(&d.payload) else {
                continue;
            };
            by_seq.insert(data.seq.value(), data.payload.to_vec());
            highest = Some(match highest {
                Some(h) if h.offset_to(data.seq) <= 0 => h,
                _ => data.seq,
            });
            if self.r.instant(d.time_ns) >= self.r.now {
                sent.extend(self.feed(d));
            }
        }
        let end = self.r.now + Duration::from_millis(50);
        sent.extend(self.r.advance(end));
        let top = highest.expect("peer data").next();
        for s in &sent {
            if let Ok(Packet::Control(ControlPacket {
                control: Control::Ack(ack),
                ..
            })) = Packet::parse(&s.bytes)
            {
                assert!(
                    ack.seq.offset_to(top) >= 0,
                    "rendezvous {port}: ACK {} beyond {}",
                    ack.seq.value(),
                    top.value()
                );
            }
        }
        let expected: Vec<u8> = by_seq.into_values().flatten().collect();
        assert_eq!(expected.len(), len, "rendezvous {port}: recorded payload");
        let mut buf = vec![0u8; 2 * len];
        let n = self.r.ep.recv(self.handle, &mut buf).expect("recv");
        assert_eq!(n, len, "rendezvous {port}: bytes received");
        assert!(
            buf[..n] == expected[..],
            "rendezvous {port}: stream contents"
        );
    }

    fn assert_connected(&mut self, peer: &Handshake) {
        let port = self.port();
        assert_eq!(
            self.r.take_events(),
            vec![(self.handle, Event::Connected)],
            "rendezvous {port}"
        );
        assert_eq!(self.r.ep.state(self.handle), SocketState::Connected);
        assert_eq!(
            self.r.ep.socket_ids(self.handle),
            Some((self.request.socket_id, peer.socket_id)),
            "rendezvous {port}: ids"
        );
    }
}

/// The peer's handshakes and first data packet, as recorded.
fn peer_packets<'a>(rdv: &Rendezvous<'a>) -> (Vec<&'a Datagram>, &'a Datagram) {
    let from_peer = rdv.peer_datagrams();
    let hs: Vec<&Datagram> = from_peer
        .iter()
        .copied()
        .filter(|d| is_handshake(d))
        .collect();
    let data = from_peer
        .iter()
        .copied()
        .find(|d| matches!(Packet::parse(&d.payload), Ok(Packet::Data(_))))
        .expect("peer data");
    (hs, data)
}

#[test]
fn rendezvous_side_a_follows_the_reference() {
    let capture = load("rendezvous");
    let mut a = start_rendezvous(&capture, RDV_A, 400);
    let (peer_hs, _) = peer_packets(&a);
    assert_eq!(peer_hs.len(), 2);
    let (_, b0) = expect_handshake(&peer_hs[0].payload, "B hs(0)");
    let (_, b1) = expect_handshake(&peer_hs[1].payload, "B hs(-1)");

    // B's hs(0) (dest 0): we answer hs(−1) addressed to B at once, as 9100 did.
    let sent = a.feed(peer_hs[0]);
    a.check_response(&sent, b0.socket_id);
    assert!(a.r.take_events().is_empty());

    // B's hs(−1) (dest = our id): connected.
    let sent = a.feed(peer_hs[1]);
    assert!(
        sent.iter().all(|s| handshake(&s.bytes).is_none()),
        "a handshake after connecting: {sent:?}"
    );
    a.assert_connected(&b1);

    // B's 8 KiB as recorded (its data packets, readdressed to us) are delivered.
    a.receive_peer_stream(8192);
}

#[test]
fn rendezvous_side_b_follows_the_reference_and_completes_on_data() {
    // 9101 started 0.2 s later; 9100's first hs(0) reached no one.
    let capture = load("rendezvous");
    let mut b = start_rendezvous(&capture, RDV_B, 401);
    let (peer_hs, first_data) = peer_packets(&b);
    let (_, a0) = expect_handshake(&peer_hs[0].payload, "A hs(0)");
    let (_, a1) = expect_handshake(&peer_hs[1].payload, "A hs(-1)");
    assert!(
        peer_hs[0].time_ns < b.r.origin_ns,
        "A's hs(0) came before B ran"
    );

    // A's hs(−1) while our own request is 0: answer hs(−1), not connected yet (§3.9).
    let sent = b.feed(peer_hs[1]);
    b.check_response(&sent, a1.socket_id);
    assert!(
        b.r.take_events().is_empty(),
        "connected on the peer's -1 alone"
    );
    assert_eq!(b.r.ep.state(b.handle), SocketState::Connecting);

    // As recorded, A's data (frame 5) is what completes 9101.
    assert!(first_data.time_ns > peer_hs[1].time_ns);
    b.feed(first_data);
    b.assert_connected(&a1);
    assert_eq!(a0.socket_id, a1.socket_id);

    // A's 8 KiB, including its late retransmissions, are delivered.
    b.receive_peer_stream(8192);
}

#[test]
fn rendezvous_completes_on_data_when_the_peer_response_is_withheld() {
    let capture = load("rendezvous");
    let mut a = start_rendezvous(&capture, RDV_A, 402);
    let (peer_hs, first_data) = peer_packets(&a);
    let (_, b0) = expect_handshake(&peer_hs[0].payload, "B hs(0)");
    let sent = a.feed(peer_hs[0]);
    a.check_response(&sent, b0.socket_id);

    // B's hs(−1) is lost; B's first data packet arrives instead. The recorded peer
    // handshake (hs(0), socket type ≠ 0) completes the connection.
    a.feed(first_data);
    a.assert_connected(&b0);
}

#[test]
fn rendezvous_data_alone_does_not_complete_without_a_peer_handshake() {
    let capture = load("rendezvous");
    let mut a = start_rendezvous(&capture, RDV_A, 403);
    let (_, first_data) = peer_packets(&a);
    // Nothing heard from B: its data (addressed to B's recorded peer id, which we
    // rewrite to ours) must not connect us.
    a.feed(first_data);
    assert!(a.r.take_events().is_empty());
    assert_eq!(a.r.ep.state(a.handle), SocketState::Connecting);
}

// ---------------------------------------------------------------------------
// 5. A whole recorded stream into a listener-created connection
// ---------------------------------------------------------------------------

#[test]
fn listener_receives_the_reference_clean_transfer() {
    let name = "cs_clean_transfer";
    let capture = load(name);
    let Accepted {
        replay: mut r,
        handle,
        server_id,
    } = replay_listener(name, &capture, 500);
    let cs = cs_handshake(name, &capture);
    let client_id = expect_handshake(&cs.request.payload, name).1.socket_id;

    let mut expected = Vec::new();
    let mut highest: Option<SeqNumber> = None;
    let mut acks: Vec<(Instant, SeqNumber)> = Vec::new();
    let mut received = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    let check = |sent: &[Sent], highest: Option<SeqNumber>, acks: &mut Vec<_>| {
        for s in sent {
            assert_eq!(s.to, cs.client, "{name}: destination");
            if let Ok(Packet::Control(ControlPacket {
                dest,
                control: Control::Ack(ack),
                ..
            })) = Packet::parse(&s.bytes)
            {
                assert_eq!(dest, client_id, "{name}: ACK dest");
                let top = highest.expect("no ACK before data").next();
                assert!(
                    ack.seq.offset_to(top) >= 0,
                    "{name}: ACK {} beyond what was sent (next {})",
                    ack.seq.value(),
                    top.value()
                );
                acks.push((s.at, ack.seq));
            }
        }
    };

    for d in capture.datagrams.iter().filter(|d| d.src == cs.client) {
        let Ok(Packet::Data(data)) = Packet::parse(&d.payload) else {
            continue;
        };
        expected.extend_from_slice(data.payload);
        highest = Some(match highest {
            Some(h) if h.offset_to(data.seq) <= 0 => h,
            _ => data.seq,
        });
        let sent = r.feed(d, &with_dest(&d.payload, server_id));
        check(&sent, highest, &mut acks);
        loop {
            let n = r.ep.recv(handle, &mut buf).expect("recv");
            if n == 0 {
                break;
            }
            received.extend_from_slice(&buf[..n]);
        }
    }
    // Let the ACK timer acknowledge the tail, then read the rest.
    let end = r.now + Duration::from_millis(50);
    let sent = r.advance(end);
    check(&sent, highest, &mut acks);
    loop {
        let n = r.ep.recv(handle, &mut buf).expect("recv");
        if n == 0 {
            break;
        }
        received.extend_from_slice(&buf[..n]);
    }

    assert_eq!(expected.len(), 262_144, "{name}: recorded payload");
    assert_eq!(received.len(), expected.len(), "{name}: bytes received");
    assert!(received == expected, "{name}: stream contents differ");
    let last = acks.last().expect("ACKs").1;
    assert_eq!(
        last,
        highest.expect("data").next(),
        "{name}: the final ACK covers everything"
    );
}

/// The keep-alive cadence and the ACK of an idle connection, against the reference
/// listener in `cs_idle_keepalive`: the client's keep-alives, data, ACK2 and
/// shutdown are fed into our listener-created connection.
#[test]
fn listener_idle_keepalives_and_ack_match_reference() {
    let name = "cs_idle_keepalive";
    let capture = load(name);
    let Accepted {
        replay: mut r,
        handle,
        server_id,
    } = replay_listener(name, &capture, 600);
    let cs = cs_handshake(name, &capture);
    let client_id = expect_handshake(&cs.request.payload, name).1.socket_id;

    let mut sent = Vec::new();
    for d in capture
        .datagrams
        .iter()
        .filter(|d| d.src == cs.client && !is_handshake(d))
    {
        sent.extend(r.feed(d, &with_dest(&d.payload, server_id)));
    }
    let end = r.now + Duration::from_secs(1);
    let after_shutdown = r.now;
    sent.extend(r.advance(end));

    let ours: Vec<(Instant, u32, Control<'_>)> = sent
        .iter()
        .map(|s| {
            assert_eq!(s.to, cs.client, "{name}: destination");
            let (dest, c) = control_of(&s.bytes).expect("only control packets");
            (s.at, dest, c)
        })
        .collect();
    let reference: Vec<(Instant, u32, Control<'_>)> = capture
        .datagrams
        .iter()
        .filter(|d| d.src == cs.server && !is_handshake(d))
        .map(|d| {
            let (dest, c) = control_of(&d.payload).expect("only control packets");
            (r.instant(d.time_ns), dest, c)
        })
        .collect();

    // The same packets in the same order, to the client's id.
    let kinds = |v: &[(Instant, u32, Control<'_>)]| -> Vec<(u16, u16)> {
        v.iter().map(|(_, _, c)| c.kind()).collect()
    };
    assert_eq!(kinds(&ours), kinds(&reference), "{name}: packet sequence");
    for ((at, dest, c), (ref_at, _, ref_c)) in ours.iter().zip(&reference) {
        assert_eq!(*dest, client_id, "{name}: dest");
        // Keep-alives every 0.624 s, as the reference: within 5 ms of its.
        let skew = at.as_micros().abs_diff(ref_at.as_micros());
        assert!(
            skew <= 5_000,
            "{name}: {c:?} at {at:?}, reference at {ref_at:?}"
        );
        if let Control::Ack(_) = c {
            // The first full ACK, field for field: number 1, RTT 100 ms / 50 ms,
            // 8190 free, rate 1, capacity 1000.
            assert_eq!(c, ref_c, "{name}: ACK");
        }
    }
    assert!(
        ours.iter().all(|(at, _, _)| *at <= after_shutdown),
        "{name}: sent after the peer's shutdown"
    );
    assert!(
        matches!(
            r.ep.state(handle),
            SocketState::Broken | SocketState::Closed | SocketState::NonExist
        ),
        "{name}: state after shutdown {:?}",
        r.ep.state(handle)
    );
    let mut buf = [0u8; 2000];
    let n = r.ep.recv(handle, &mut buf).expect("recv after shutdown");
    assert_eq!(
        n, 1000,
        "{name}: the 1000 bytes acknowledged before shutdown"
    );
}

// ---------------------------------------------------------------------------
// 6. The lossy transfer's data path: loss reports and retransmissions
// ---------------------------------------------------------------------------

/// A recorded listener packet of `lossy_transfer` for our client: addressed to our
/// socket id, sequence numbers (data, and the ACKs of the client's own data) moved
/// from the recorded client's ISN to ours.
fn to_our_client(bytes: &[u8], our_id: u32, shift: impl Fn(u32) -> u32) -> Vec<u8> {
    let mut b = with_dest(bytes, our_id);
    let word = |b: &[u8], at: usize| u32::from_be_bytes(b[at..at + 4].try_into().unwrap());
    match Packet::parse(bytes) {
        Ok(Packet::Data(_)) => {
            let seq = shift(word(&b, 0));
            b[0..4].copy_from_slice(&seq.to_be_bytes());
        }
        Ok(Packet::Control(ControlPacket {
            control: Control::Ack(_),
            ..
        })) => {
            let seq = shift(word(&b, 16));
            b[16..20].copy_from_slice(&seq.to_be_bytes());
        }
        _ => {}
    }
    b
}

/// Our client receives the reference listener's side of `lossy_transfer` (recvfile
/// fetching 1 MiB from sendfile over a path that drops 2 % of packets before the
/// capture point): the recorded data packets with their 14 gaps, the late
/// retransmissions that fill them, the listener's ACKs of the client's request and
/// its shutdown. Our loss reports must be the reference client's, range for range and
/// in order (UDT4 reports a gap at once, on the first packet after it); every
/// retransmission the reference listener sent must fill a range we reported; and the
/// file must arrive whole.
#[test]
fn client_reports_the_reference_losses_and_receives_the_lossy_file() {
    let name = "lossy_transfer";
    let capture = load(name);
    let mut c = start_client(name, &capture, 700);
    c.cookie_step(name);
    let bytes = c.rewritten(c.cs.response, |_| {});
    c.r.feed(c.cs.response, &bytes);
    assert_eq!(c.r.ep.state(c.handle), SocketState::Connected, "{name}");
    let (client, server) = (c.cs.client, c.cs.server);
    let response_at = c.cs.response.time_ns;
    let rec_isn = SeqNumber::new(expect_handshake(&c.cs.request.payload, name).1.isn);
    let our_isn = SeqNumber::new(c.request.isn);
    let shift = |seq: u32| {
        our_isn
            .add(rec_isn.offset_to(SeqNumber::new(seq)) as u32)
            .value()
    };
    let unshift = |seq: SeqNumber| rec_isn.add(our_isn.offset_to(seq) as u32);
    let our_id = c.request.socket_id;

    // What the reference client reported lost, and what the listener sent: its data
    // in sequence order (retransmissions marked) for the file's bytes.
    let mut ref_naks: Vec<(u32, u32)> = Vec::new();
    let mut file: std::collections::BTreeMap<u32, Vec<u8>> = Default::default();
    let mut retransmitted: Vec<u32> = Vec::new();
    let mut highest: Option<SeqNumber> = None;
    for d in capture.datagrams.iter().filter(|d| d.time_ns > response_at) {
        match Packet::parse(&d.payload) {
            Ok(Packet::Control(ControlPacket {
                control: Control::Nak(l),
                ..
            })) if d.src == client => {
                ref_naks.extend(l.ranges().map(|(a, b)| (a.value(), b.value())));
            }
            Ok(Packet::Data(p)) if d.src == server => {
                if highest.is_some_and(|h| h.offset_to(p.seq) <= 0) {
                    retransmitted.push(p.seq.value());
                } else {
                    highest = Some(p.seq);
                }
                file.insert(p.seq.value(), p.payload.to_vec());
            }
            _ => {}
        }
    }
    assert_eq!(ref_naks.len(), 14, "{name}: the reference's loss reports");
    assert_eq!(
        retransmitted.len(),
        14,
        "{name}: the reference's retransmissions"
    );

    // Replay: the listener's packets in, the client's request data out at its
    // recorded times.
    let mut ours: Vec<Sent> = Vec::new();
    let mut received = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    for d in capture.datagrams.iter().filter(|d| d.time_ns > response_at) {
        if d.src == client {
            if let Ok(Packet::Data(p)) = Packet::parse(&d.payload) {
                ours.extend(c.r.advance(c.r.instant(d.time_ns)));
                let now = c.r.now;
                assert_eq!(c.r.ep.send(now, c.handle, p.payload), Ok(p.payload.len()));
                ours.extend(c.r.drain());
            }
            continue;
        }
        ours.extend(c.r.feed(d, &to_our_client(&d.payload, our_id, shift)));
        while let Ok(n @ 1..) = c.r.ep.recv(c.handle, &mut buf) {
            received.extend_from_slice(&buf[..n]);
        }
    }
    let end = c.r.now + Duration::from_millis(50);
    ours.extend(c.r.advance(end));
    while let Ok(n @ 1..) = c.r.ep.recv(c.handle, &mut buf) {
        received.extend_from_slice(&buf[..n]);
    }

    // Our loss reports, in the recorded sequence space.
    let our_naks: Vec<(u32, u32)> = ours
        .iter()
        .filter(|s| s.to == server)
        .filter_map(|s| match Packet::parse(&s.bytes) {
            Ok(Packet::Control(ControlPacket {
                control: Control::Nak(l),
                ..
            })) => Some(
                l.ranges()
                    .map(|(a, b)| (unshift(a).value(), unshift(b).value()))
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(our_naks, ref_naks, "{name}: loss reports");
    // Each retransmission of the reference listener fills a range we reported.
    for seq in &retransmitted {
        assert!(
            our_naks.iter().any(|&(a, b)| {
                let (a, b, s) = (SeqNumber::new(a), SeqNumber::new(b), SeqNumber::new(*seq));
                a.offset_to(s) >= 0 && s.offset_to(b) >= 0
            }),
            "{name}: retransmission of {seq} that we never reported lost"
        );
    }
    // The file, whole: every sequence number's payload in order.
    let expected: Vec<u8> = file.values().flatten().copied().collect();
    let file_len = 1 << 20;
    assert_eq!(received.len(), 8 + file_len, "{name}: size + file");
    assert!(received == expected, "{name}: stream contents differ");
}
