//! Connection set-up: the caller's side of the client/server handshake, both
//! sides of rendezvous, the listener-created server side, and the answers of a
//! connected socket to stray handshakes (`udt-protocol.md` §3).

use std::net::SocketAddr;

use super::{Connection, Event, Outgoing, Role, SocketState};
use crate::options::SocketOptions;
use crate::packet::{Control, ControlPacket, Handshake, Packet, PeerIp, ReqType, SocketType};
use crate::seq::SeqNumber;
use crate::time::{Duration, Instant};
use crate::Error;

/// Requests are re-sent when this much passed since the last one.
const REQUEST_INTERVAL: Duration = Duration::from_millis(250);
/// A client gives up after this long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// A rendezvous peer gives up after this long.
const RENDEZVOUS_TIMEOUT: Duration = Duration::from_secs(30);

/// Handshake state of a connecting socket.
#[derive(Clone, Debug)]
pub(crate) struct Connecting {
    /// The request as it goes out next (UDT4 `m_ConnReq`).
    request: Handshake,
    last_sent: Instant,
    deadline: Instant,
    /// The last handshake the rendezvous peer sent us.
    peer: Option<Handshake>,
}

impl Connecting {
    pub(crate) fn next_timeout(&self) -> Instant {
        (self.last_sent + REQUEST_INTERVAL).min(self.deadline)
    }
}

impl Connection {
    /// A client (`rendezvous == false`) or rendezvous socket starting to connect.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn connect(
        id: u32,
        peer_addr: SocketAddr,
        opts: SocketOptions,
        isn: SeqNumber,
        rendezvous: bool,
        now: Instant,
    ) -> Self {
        let role = if rendezvous {
            Role::Rendezvous
        } else {
            Role::Client
        };
        let mut c = Connection::new(id, peer_addr, opts, role, isn, SocketState::Connecting, now);
        let request = Handshake {
            version: 4,
            socket_type: c.opts.socket_type,
            isn: isn.value(),
            mss: c.opts.mss,
            flight_flag_size: c.opts.offered_window(),
            req_type: if rendezvous {
                ReqType::Rendezvous
            } else {
                ReqType::Request
            },
            socket_id: id,
            cookie: 0,
            peer_ip: PeerIp::from_addr(peer_addr.ip()),
        };
        let timeout = if rendezvous {
            RENDEZVOUS_TIMEOUT
        } else {
            CONNECT_TIMEOUT
        };
        c.connecting = Some(Connecting {
            request,
            last_sent: now,
            deadline: now + timeout,
            peer: None,
        });
        c.outgoing.push_back(Outgoing::Handshake(request));
        c
    }

    /// The server side, created by a listener for a request with a valid cookie.
    /// Returns the connection and the response to send (§3.4 step 6).
    pub(crate) fn accept(
        id: u32,
        peer_addr: SocketAddr,
        opts: SocketOptions,
        request: &Handshake,
        now: Instant,
    ) -> (Self, Handshake) {
        let isn = SeqNumber::new(request.isn);
        let mut c = Connection::new(
            id,
            peer_addr,
            opts,
            Role::Server,
            isn,
            SocketState::Connecting,
            now,
        );
        c.mss = request.mss.min(c.opts.mss);
        c.peer_id = request.socket_id;
        // Both directions start at the client's ISN.
        c.establish(now, isn, isn, request.flight_flag_size);
        let response = Handshake {
            mss: c.mss,
            flight_flag_size: c.opts.offered_window(),
            req_type: ReqType::Response,
            socket_id: id,
            peer_ip: PeerIp::from_addr(peer_addr.ip()),
            ..*request
        };
        (c, response)
    }

    /// The answer to a retransmitted request for this (already accepted)
    /// connection: the original values, the configured flow window.
    pub(crate) fn duplicate_response(&self, request: &Handshake) -> Handshake {
        Handshake {
            isn: self.isn.value(),
            mss: self.mss,
            flight_flag_size: self.opts.flight_flag_size,
            req_type: ReqType::Response,
            socket_id: self.id,
            ..*request
        }
    }

    pub(super) fn handshake_dest(&self, hs: &Handshake) -> u32 {
        match hs.req_type {
            // Client requests always go to the listener (id 0).
            ReqType::Request if self.role == Role::Client => 0,
            ReqType::Response if self.role == Role::Client => 0,
            _ => self.peer_id,
        }
    }

    pub(super) fn handle_while_connecting(&mut self, now: Instant, packet: &Packet<'_>) {
        match packet {
            Packet::Control(ControlPacket {
                control: Control::Handshake(hs),
                ..
            }) => match self.role {
                Role::Rendezvous => self.rendezvous_handshake(now, hs),
                _ => self.client_handshake(now, hs),
            },
            // Data or a keep-alive completes a rendezvous whose peer we have heard.
            Packet::Data(_)
            | Packet::Control(ControlPacket {
                control: Control::KeepAlive,
                ..
            }) if self.role == Role::Rendezvous => {
                let peer = self.connecting.as_ref().and_then(|c| c.peer);
                if let Some(peer) = peer.filter(|p| p.socket_type.to_wire() != 0) {
                    self.rendezvous_connected(now, &peer);
                }
            }
            _ => {}
        }
    }

    fn client_handshake(&mut self, now: Instant, hs: &Handshake) {
        let Some(conn) = self.connecting.as_mut() else {
            return;
        };
        if hs.req_type == ReqType::Request {
            // The cookie reply: echo the cookie in the second request, at once.
            conn.request.cookie = hs.cookie;
            conn.request.req_type = ReqType::Response;
            conn.last_sent = now;
            let req = conn.request;
            self.outgoing.push_back(Outgoing::Handshake(req));
            return;
        }
        if hs.req_type == ReqType::Rejected {
            self.connect_failed(now, Error::Rejected);
            return;
        }
        if hs.isn != conn.request.isn {
            self.connect_failed(now, Error::SecurityFailure);
            return;
        }
        self.mss = hs.mss.clamp(76, self.opts.mss);
        self.peer_id = hs.socket_id;
        let isn = SeqNumber::new(hs.isn);
        self.establish(now, isn, isn, hs.flight_flag_size);
        self.events.push_back(Event::Connected);
    }

    /// Rendezvous state table (§3.9).
    fn rendezvous_handshake(&mut self, now: Instant, hs: &Handshake) {
        let Some(conn) = self.connecting.as_mut() else {
            return;
        };
        if hs.req_type == ReqType::Request {
            return; // a regular client must not talk to a rendezvous socket
        }
        conn.peer = Some(*hs);
        self.peer_id = hs.socket_id;
        match (conn.request.req_type, hs.req_type) {
            (ReqType::Rendezvous, _) | (ReqType::Response, ReqType::Rendezvous) => {
                conn.request.req_type = ReqType::Response;
                conn.last_sent = now;
                let req = conn.request;
                self.outgoing.push_back(Outgoing::Handshake(req));
            }
            (ReqType::Response, ReqType::Response | ReqType::RendezvousConnected) => {
                self.rendezvous_connected(now, hs);
            }
            _ => {}
        }
    }

    fn rendezvous_connected(&mut self, now: Instant, peer: &Handshake) {
        // Rendezvous takes the peer's MSS as it is (UDT4 does not take the minimum).
        self.mss = peer.mss.clamp(76, 65_535);
        self.peer_id = peer.socket_id;
        let own = self.isn;
        self.establish(now, own, SeqNumber::new(peer.isn), peer.flight_flag_size);
        self.events.push_back(Event::Connected);
    }

    fn connect_failed(&mut self, now: Instant, why: Error) {
        self.state = SocketState::Closed;
        self.connecting = None;
        self.ended_at = Some(now);
        self.events.push_back(Event::ConnectFailed(why));
    }

    pub(super) fn connecting_timeout(&mut self, now: Instant) {
        let Some(conn) = self.connecting.as_mut() else {
            return;
        };
        if now >= conn.deadline {
            self.connect_failed(now, Error::NoServer);
            return;
        }
        if now >= conn.last_sent + REQUEST_INTERVAL {
            conn.last_sent = now;
            let req = conn.request;
            self.outgoing.push_back(Outgoing::Handshake(req));
        }
    }

    /// A connected socket answers a regular request (or, in rendezvous, anything
    /// but −2) with its own values; UDT4 leaves version, type, cookie and peer IP
    /// at 0 in this answer.
    pub(super) fn on_handshake_when_connected(&mut self, hs: &Handshake) {
        let rendezvous = self.role == Role::Rendezvous;
        let answer = if rendezvous {
            hs.req_type != ReqType::RendezvousConnected
        } else {
            hs.req_type.to_wire() > 0
        };
        if !answer || self.state != SocketState::Connected {
            return;
        }
        self.outgoing.push_back(Outgoing::Handshake(Handshake {
            version: 0,
            socket_type: SocketType::Other(0),
            isn: self.isn.value(),
            mss: self.mss,
            flight_flag_size: self.opts.flight_flag_size,
            req_type: if rendezvous {
                ReqType::RendezvousConnected
            } else {
                ReqType::Response
            },
            socket_id: self.id,
            cookie: 0,
            peer_ip: PeerIp::default(),
        }));
    }
}
