//! Rebuilding UDT connections out of a capture: datagrams are grouped by address pair
//! and by the socket ids the handshakes announce (`udt-protocol.md` §3.8, §9).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use udt::packet::{Ack, Boundary, Control, DecodeError, Handshake, Packet, ReqType};
use udt::seq::{MsgNumber, SeqNumber};

use crate::capture::{Capture, Datagram};
use crate::decode::matches_port;

/// What one captured packet of a connection is, with the fields the checks read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Type 0.
    Handshake {
        /// Header destination socket id.
        dest: u32,
        /// The body.
        hs: Handshake,
    },
    /// A data packet.
    Data {
        /// Sequence number.
        seq: SeqNumber,
        /// FF bits.
        boundary: Boundary,
        /// O bit.
        in_order: bool,
        /// Message number.
        msg: MsgNumber,
    },
    /// Type 2 (light when `ack.full` is `None`).
    Ack(Ack),
    /// Type 6 with its sub-sequence number.
    Ack2(u32),
    /// Type 3: the inclusive ranges in the order listed.
    Nak(Vec<(SeqNumber, SeqNumber)>),
    /// Type 5.
    Shutdown,
    /// Any other control packet (keep-alive, drop request, ...), by name.
    Other(&'static str),
    /// A datagram of this connection that does not decode.
    Bad(DecodeError),
}

/// One packet of a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pkt {
    /// Frame number in the capture (from 1).
    pub frame: u64,
    /// Capture time, ns.
    pub time_ns: u64,
    /// Which side sent it: index into [`Conn::addrs`].
    pub side: usize,
    /// UDP payload length as sent.
    pub wire_len: usize,
    /// The decoded packet.
    pub kind: Kind,
}

/// How the connection was set up, as the capture shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A client (side `client`) connecting to a listener (§3.3).
    ClientServer {
        /// Side index of the client.
        client: usize,
    },
    /// Both sides connecting to each other (§3.9).
    Rendezvous,
    /// No handshake in the capture (it started mid-connection).
    Headless,
}

/// One UDT connection rebuilt from a capture.
#[derive(Clone, Debug)]
pub struct Conn {
    /// The two endpoints; side 0 sent the connection's first captured packet.
    pub addrs: [SocketAddr; 2],
    /// Each side's UDT socket id, where the capture shows it.
    pub ids: [Option<u32>; 2],
    /// The packets in capture order.
    pub pkts: Vec<Pkt>,
}

impl Conn {
    /// The set-up mode, from the first handshake.
    pub fn mode(&self) -> Mode {
        for p in &self.pkts {
            if let Kind::Handshake { hs, .. } = &p.kind {
                return match hs.req_type {
                    ReqType::Rendezvous => Mode::Rendezvous,
                    _ => Mode::ClientServer { client: p.side },
                };
            }
        }
        Mode::Headless
    }

    /// The side index of `src`.
    fn side_of(&self, src: SocketAddr) -> usize {
        usize::from(self.addrs[0] != src)
    }

    /// `ids` of a side as text.
    pub fn id_text(&self, side: usize) -> String {
        self.ids[side].map_or("?".into(), |id| format!("{id:#010x}"))
    }
}

/// The connections of a capture, and what was left out.
#[derive(Clone, Debug, Default)]
pub struct Rebuilt {
    /// Connections in order of their first packet.
    pub conns: Vec<Conn>,
    /// UDP datagrams (after the port filter) that are not UDT: frame numbers.
    pub not_udt: Vec<u64>,
}

fn pair_key(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

fn kind_of(packet: &Packet<'_>) -> Kind {
    match packet {
        Packet::Data(d) => Kind::Data {
            seq: d.seq,
            boundary: d.boundary,
            in_order: d.in_order,
            msg: d.msg,
        },
        Packet::Control(c) => match &c.control {
            Control::Handshake(hs) => Kind::Handshake {
                dest: c.dest,
                hs: *hs,
            },
            Control::Ack(a) => Kind::Ack(*a),
            Control::Ack2(n) => Kind::Ack2(n.value()),
            Control::Nak(list) => Kind::Nak(list.ranges().collect()),
            Control::Shutdown => Kind::Shutdown,
            other => Kind::Other(other.name()),
        },
    }
}

struct Builder {
    conns: Vec<Conn>,
    by_pair: BTreeMap<(SocketAddr, SocketAddr), Vec<usize>>,
}

impl Builder {
    /// The latest connection of the pair for which `pred` holds.
    fn find(&self, d: &Datagram, pred: impl Fn(&Conn, usize) -> bool) -> Option<usize> {
        let list = self.by_pair.get(&pair_key(d.src, d.dst))?;
        list.iter()
            .rev()
            .copied()
            .find(|&i| pred(&self.conns[i], self.conns[i].side_of(d.src)))
    }

    fn create(&mut self, d: &Datagram) -> usize {
        let i = self.conns.len();
        self.conns.push(Conn {
            addrs: [d.src, d.dst],
            ids: [None, None],
            pkts: Vec::new(),
        });
        self.by_pair
            .entry(pair_key(d.src, d.dst))
            .or_default()
            .push(i);
        i
    }

    /// The connection a datagram belongs to (created if needed).
    fn assign(&mut self, d: &Datagram, dest: u32, hs: Option<&Handshake>) -> usize {
        let by_receiver = |c: &Conn, side: usize| c.ids[1 - side] == Some(dest);
        if let Some(hs) = hs {
            let id = hs.socket_id;
            if dest == 0 {
                // A request: the sender names itself.
                let i = self
                    .find(d, |c, side| c.ids[side] == Some(id))
                    .or_else(|| self.find(d, |c, side| c.ids[side].is_none()))
                    .unwrap_or_else(|| self.create(d));
                let side = self.conns[i].side_of(d.src);
                self.conns[i].ids[side] = Some(id);
                return i;
            }
            let i = self.find(d, by_receiver).unwrap_or_else(|| self.create(d));
            let side = self.conns[i].side_of(d.src);
            self.conns[i].ids[1 - side] = Some(dest);
            // Responses name the sender's own socket; cookie replies and rejections
            // echo the client's id (§3.3, §3.4).
            if matches!(
                hs.req_type,
                ReqType::Response | ReqType::RendezvousConnected | ReqType::Rendezvous
            ) && self.conns[i].ids[side].is_none()
                && hs.socket_id != 0
            {
                self.conns[i].ids[side] = Some(id);
            }
            return i;
        }
        let i = self
            .find(d, by_receiver)
            // UDT4 quirk (rejected_socktype): a rejected client addresses its
            // shutdown to its own id.
            .or_else(|| self.find(d, |c, side| c.ids[side] == Some(dest)))
            .or_else(|| self.find(d, |c, side| c.ids[1 - side].is_none()))
            .unwrap_or_else(|| self.create(d));
        let side = self.conns[i].side_of(d.src);
        if self.conns[i].ids[1 - side].is_none() && self.conns[i].ids[side] != Some(dest) {
            self.conns[i].ids[1 - side] = Some(dest);
        }
        i
    }
}

/// Groups the UDT packets of `capture` (to or from `port`, if given) into connections.
pub fn rebuild(capture: &Capture, port: Option<u16>) -> Rebuilt {
    let mut b = Builder {
        conns: Vec::new(),
        by_pair: BTreeMap::new(),
    };
    let mut not_udt = Vec::new();
    for d in capture.datagrams.iter().filter(|d| matches_port(d, port)) {
        let parsed = Packet::parse(&d.payload);
        let (dest, hs, kind) = match &parsed {
            Ok(p) => {
                let hs = match p {
                    Packet::Control(c) => match &c.control {
                        Control::Handshake(hs) => Some(*hs),
                        _ => None,
                    },
                    Packet::Data(_) => None,
                };
                (p.dest(), hs, kind_of(p))
            }
            Err(e) => {
                // Only a datagram on a pair that already carries UDT counts as a bad
                // UDT packet; anything else is other traffic.
                let known = b.by_pair.contains_key(&pair_key(d.src, d.dst));
                match d.payload.get(12..16) {
                    Some(w) if known => (
                        u32::from_be_bytes([w[0], w[1], w[2], w[3]]),
                        None,
                        Kind::Bad(e.clone()),
                    ),
                    _ => {
                        not_udt.push(d.frame);
                        continue;
                    }
                }
            }
        };
        let i = b.assign(d, dest, hs.as_ref());
        let side = b.conns[i].side_of(d.src);
        b.conns[i].pkts.push(Pkt {
            frame: d.frame,
            time_ns: d.time_ns,
            side,
            wire_len: d.wire_payload_len(),
            kind,
        });
    }
    Rebuilt {
        conns: b.conns,
        not_udt,
    }
}
