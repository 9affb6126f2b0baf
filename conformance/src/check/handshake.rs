//! Handshake grammar: client/server (§3.3–§3.5), rendezvous (§3.9), version and
//! socket type, ISN, MSS and flow window.

use udt::packet::{Handshake, ReqType, SocketType};
use udt::seq::SeqNumber;

use super::flow::{Facts, Track};
use super::{fail, fail_unless, warn, Conn, Cx, Kind, Mode, Rule, Verdict};

/// The smallest MSS UDT4 accepts: 28 bytes of IP/UDP + a 48-byte handshake (§7.1).
const MIN_MSS: u32 = 76;

/// A handshake of the connection with its frame and sender.
pub struct Hs {
    frame: u64,
    side: usize,
    dest: u32,
    hs: Handshake,
}

/// The handshakes of a connection, in capture order.
pub fn handshakes(conn: &Conn) -> Vec<Hs> {
    conn.pkts
        .iter()
        .filter_map(|p| match &p.kind {
            Kind::Handshake { dest, hs } => Some(Hs {
                frame: p.frame,
                side: p.side,
                dest: *dest,
                hs: *hs,
            }),
            _ => None,
        })
        .collect()
}

/// The fields that differ between two handshakes, ignoring those listed in `skip`.
fn differences(a: &Handshake, b: &Handshake, skip: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut cmp = |name: &str, x: String, y: String| {
        if !skip.contains(&name) && x != y {
            out.push(format!("{name} {x} vs {y}"));
        }
    };
    cmp("version", a.version.to_string(), b.version.to_string());
    cmp(
        "socket type",
        a.socket_type.to_wire().to_string(),
        b.socket_type.to_wire().to_string(),
    );
    cmp("ISN", a.isn.to_string(), b.isn.to_string());
    cmp("MSS", a.mss.to_string(), b.mss.to_string());
    cmp(
        "window",
        a.flight_flag_size.to_string(),
        b.flight_flag_size.to_string(),
    );
    cmp(
        "reqtype",
        a.req_type.to_wire().to_string(),
        b.req_type.to_wire().to_string(),
    );
    cmp(
        "id",
        format!("{:#x}", a.socket_id),
        format!("{:#x}", b.socket_id),
    );
    cmp(
        "cookie",
        format!("{:#x}", a.cookie),
        format!("{:#x}", b.cookie),
    );
    cmp(
        "peer IP",
        format!("{:?}", a.peer_ip),
        format!("{:?}", b.peer_ip),
    );
    out
}

fn good_version(hs: &Handshake) -> bool {
    hs.version == 4 && matches!(hs.socket_type, SocketType::Stream | SocketType::Dgram)
}

/// The four client/server rules' verdicts, from one walk over the exchange.
struct ClientServer {
    cs1: Verdict,
    cs2: Verdict,
    cs3: Verdict,
    cs4: Verdict,
}

/// The client/server rules' verdicts on `cx`'s connection (not applicable to others).
fn cs(cx: &Cx) -> ClientServer {
    let why = match cx.conn.mode() {
        Mode::ClientServer { client } => return client_server(&cx.hs, client, cx.facts),
        Mode::Rendezvous => "not a client/server connection",
        Mode::Headless => "no handshake in the capture",
    };
    let na = || Verdict::NotApplicable(why.into());
    ClientServer {
        cs1: na(),
        cs2: na(),
        cs3: na(),
        cs4: na(),
    }
}

/// A rule about the connection's handshakes as a whole: a visitor that only finishes.
macro_rules! handshake_rules {
    ($($(#[$doc:meta])* $name:ident => |$cx:ident| $verdict:expr;)*) => {$(
        $(#[$doc])*
        #[derive(Default)]
        pub struct $name;

        impl Rule for $name {
            fn finish(self: Box<Self>, $cx: &Cx, _: &Track) -> Verdict {
                $verdict
            }
        }
    )*};
}

/// Not applicable: the capture shows no handshake.
fn no_handshake() -> Verdict {
    Verdict::NotApplicable("no handshake in the capture".into())
}

handshake_rules! {
    /// HS-CS-1: the first request.
    HsCs1 => |cx| cs(cx).cs1;
    /// HS-CS-2: the cookie reply.
    HsCs2 => |cx| cs(cx).cs2;
    /// HS-CS-3: the second request.
    HsCs3 => |cx| cs(cx).cs3;
    /// HS-CS-4: the response.
    HsCs4 => |cx| cs(cx).cs4;
    /// HS-RDV-1: the rendezvous exchange.
    HsRdv1 => |cx| match cx.conn.mode() {
        Mode::ClientServer { .. } => Verdict::NotApplicable("not a rendezvous connection".into()),
        Mode::Rendezvous => rendezvous(&cx.hs, cx.facts),
        Mode::Headless => no_handshake(),
    };
    /// HS-VER-1: version and socket type.
    HsVer1 => |cx| if cx.hs.is_empty() { no_handshake() } else { version(&cx.hs, cx.conn.mode()) };
    /// HS-ISN-1: initial sequence numbers.
    HsIsn1 => |cx| if cx.hs.is_empty() { no_handshake() } else { isn(cx.conn, &cx.hs, cx.facts) };
    /// HS-MSS-1: MSS and flow window.
    HsMss1 => |cx| if cx.hs.is_empty() { no_handshake() } else { mss(cx.conn, &cx.hs, cx.facts) };
}

fn client_server(hs: &[Hs], client: usize, facts: &Facts) -> ClientServer {
    let server = 1 - client;
    let from_client: Vec<&Hs> = hs.iter().filter(|h| h.side == client).collect();
    let first = from_client[0]; // the mode comes from a client handshake
    let client_id = first.hs.socket_id;

    // HS-CS-1
    let mut f1 = Vec::new();
    if first.hs.req_type != ReqType::Request {
        f1.push(fail(
            vec![first.frame],
            format!("first request has reqtype {}", first.hs.req_type.to_wire()),
        ));
    }
    if first.hs.cookie != 0 {
        f1.push(fail(
            vec![first.frame],
            format!("first request carries cookie {:#x}", first.hs.cookie),
        ));
    }
    if client_id == 0 || client_id > i32::MAX as u32 {
        f1.push(fail(
            vec![first.frame],
            format!("socket id {client_id:#x} is not a positive 32-bit int"),
        ));
    }
    for h in &from_client {
        if h.hs.req_type == ReqType::Request && h.dest != 0 {
            f1.push(fail(
                vec![h.frame],
                format!("request addressed to {:#x}, not 0", h.dest),
            ));
        }
    }

    // HS-CS-2 and HS-CS-3 walk the exchange in order.
    let mut f2 = Vec::new();
    let mut f3 = Vec::new();
    let mut f4 = Vec::new();
    let mut last_request: Option<&Hs> = None;
    let mut cookie: Option<u32> = None;
    let mut second: Option<&Hs> = None;
    let mut response: Option<&Hs> = None;
    let mut saw_reply = false;
    let mut saw_second = false;
    let mut saw_response = false;
    for h in hs {
        if h.side == client {
            match h.hs.req_type {
                ReqType::Request => last_request = Some(h),
                ReqType::Response => {
                    saw_second = true;
                    if h.dest != 0 {
                        f3.push(fail(
                            vec![h.frame],
                            format!("second request addressed to {:#x}, not 0", h.dest),
                        ));
                    }
                    match cookie {
                        Some(k) if k != h.hs.cookie => f3.push(fail(
                            vec![h.frame],
                            format!("cookie {:#x}, the cookie reply carried {k:#x}", h.hs.cookie),
                        )),
                        Some(_) => {}
                        None => f3.push(fail_unless(
                            facts.gaps || saw_response,
                            vec![h.frame],
                            "second request before any cookie reply".into(),
                        )),
                    }
                    let d = differences(&h.hs, &first.hs, &["reqtype", "cookie"]);
                    if !d.is_empty() {
                        f3.push(fail(
                            vec![h.frame, first.frame],
                            format!("differs from the first request: {}", d.join(", ")),
                        ));
                    }
                    second = Some(h);
                }
                other => f3.push(fail(
                    vec![h.frame],
                    format!("client handshake with reqtype {}", other.to_wire()),
                )),
            }
            continue;
        }
        // From the server.
        if h.dest != client_id {
            let f = fail(
                vec![h.frame],
                format!("addressed to {:#x}, the client is {client_id:#x}", h.dest),
            );
            if h.hs.req_type == ReqType::Request {
                f2.push(f);
            } else {
                f4.push(f);
            }
        }
        match h.hs.req_type {
            ReqType::Request => {
                saw_reply = true;
                match last_request {
                    Some(r) => {
                        let d = differences(&h.hs, &r.hs, &["cookie"]);
                        if !d.is_empty() {
                            f2.push(fail(
                                vec![h.frame, r.frame],
                                format!("does not echo the request: {}", d.join(", ")),
                            ));
                        }
                    }
                    None => f2.push(fail(vec![h.frame], "cookie reply without a request".into())),
                }
                if h.hs.cookie == 0 {
                    f2.push(warn(vec![h.frame], "cookie 0".into()));
                }
                cookie = Some(h.hs.cookie);
            }
            ReqType::Response | ReqType::Rejected => {
                saw_response = true;
                let Some(s) = second else {
                    f4.push(fail_unless(
                        facts.gaps,
                        vec![h.frame],
                        "response before any second request".into(),
                    ));
                    continue;
                };
                let mut skip = vec!["reqtype", "id", "MSS", "window", "peer IP"];
                if h.hs.req_type == ReqType::Rejected {
                    skip.retain(|f| *f != "id");
                } else {
                    if h.hs.socket_id == 0 || h.hs.socket_id > i32::MAX as u32 {
                        f4.push(fail(
                            vec![h.frame],
                            format!("server socket id {:#x}", h.hs.socket_id),
                        ));
                    }
                    if h.hs.mss > s.hs.mss {
                        f4.push(fail(
                            vec![h.frame, s.frame],
                            format!(
                                "MSS {} above the client's {} (must be the minimum)",
                                h.hs.mss, s.hs.mss
                            ),
                        ));
                    }
                    if let Some(r) = response {
                        if r.hs.req_type == ReqType::Response
                            && (r.hs.socket_id != h.hs.socket_id || r.hs.isn != h.hs.isn)
                        {
                            f4.push(fail(
                                vec![h.frame, r.frame],
                                "a repeated response names another socket or ISN".into(),
                            ));
                        }
                    }
                }
                let d = differences(&h.hs, &s.hs, &skip);
                if !d.is_empty() {
                    f4.push(fail(
                        vec![h.frame, s.frame],
                        format!("does not echo the second request: {}", d.join(", ")),
                    ));
                }
                response = Some(h);
            }
            other => f4.push(fail(
                vec![h.frame],
                format!("server handshake with reqtype {}", other.to_wire()),
            )),
        }
    }
    let _ = server;
    let cs1 = Verdict::Applies(f1);
    let cs2 = if saw_reply {
        Verdict::Applies(f2)
    } else if saw_second {
        let mut f2 = f2;
        f2.push(fail_unless(
            true,
            vec![first.frame],
            "no cookie reply in the capture".into(),
        ));
        Verdict::Applies(f2)
    } else {
        Verdict::NotApplicable("no listener answered".into())
    };
    let cs3 = if saw_second {
        Verdict::Applies(f3)
    } else if saw_reply {
        Verdict::NotApplicable("the capture ends before a second request".into())
    } else {
        Verdict::NotApplicable("no cookie reply".into())
    };
    let cs4 = if saw_response || !f4.is_empty() {
        Verdict::Applies(f4)
    } else {
        Verdict::NotApplicable("no response in the capture".into())
    };
    ClientServer { cs1, cs2, cs3, cs4 }
}

fn rendezvous(hs: &[Hs], facts: &Facts) -> Verdict {
    let mut f = Vec::new();
    // Each side's own id, from its first handshake.
    let mut own_id = [None, None];
    let mut sent_response = [false, false];
    let mut connected = [false, false];
    for h in hs {
        let s = h.side;
        let peer = 1 - s;
        own_id[s].get_or_insert(h.hs.socket_id);
        if h.hs.cookie != 0 {
            f.push(fail(
                vec![h.frame],
                format!("cookie {:#x} in a rendezvous handshake", h.hs.cookie),
            ));
        }
        match h.hs.req_type {
            ReqType::Rendezvous => {
                if sent_response[s] {
                    f.push(fail(
                        vec![h.frame],
                        "reqtype 0 after the side already answered -1".into(),
                    ));
                }
                if h.dest != 0 && Some(h.dest) != own_id[peer] {
                    f.push(fail(
                        vec![h.frame],
                        format!(
                            "reqtype 0 addressed to {:#x}, neither 0 nor the peer",
                            h.dest
                        ),
                    ));
                }
            }
            ReqType::Response => {
                sent_response[s] = true;
                match own_id[peer] {
                    Some(p) if p != h.dest => f.push(fail(
                        vec![h.frame],
                        format!("-1 addressed to {:#x}, the peer is {p:#x}", h.dest),
                    )),
                    Some(_) => {}
                    None => f.push(fail_unless(
                        facts.gaps,
                        vec![h.frame],
                        "-1 before any handshake from the peer".into(),
                    )),
                }
                if sent_response[peer] {
                    connected = [true, true];
                }
            }
            ReqType::RendezvousConnected => {
                if !connected[s] {
                    f.push(fail_unless(
                        facts.gaps,
                        vec![h.frame],
                        "-2 from a side that is not connected yet".into(),
                    ));
                }
            }
            other => f.push(fail(
                vec![h.frame],
                format!("reqtype {} in a rendezvous", other.to_wire()),
            )),
        }
    }
    Verdict::Applies(f)
}

fn version(hs: &[Hs], mode: Mode) -> Verdict {
    let mut f = Vec::new();
    match mode {
        Mode::ClientServer { client } => {
            let mut pending: Option<&Hs> = None;
            for h in hs {
                if h.side == client {
                    if !good_version(&h.hs) {
                        f.push(warn(
                            vec![h.frame],
                            format!(
                                "request with version {} and socket type {} (UDT4 sends 4 and 1/2)",
                                h.hs.version,
                                h.hs.socket_type.to_wire()
                            ),
                        ));
                    }
                    if h.hs.req_type == ReqType::Response {
                        pending = Some(h);
                    }
                } else if h.hs.req_type == ReqType::Response {
                    if let Some(s) = pending {
                        if !good_version(&s.hs) {
                            f.push(fail(
                                vec![h.frame, s.frame],
                                format!(
                                    "accepted a request with version {} and socket type {} (must answer 1002)",
                                    s.hs.version,
                                    s.hs.socket_type.to_wire()
                                ),
                            ));
                        }
                    }
                }
            }
        }
        _ => {
            let mut types = [None, None];
            for h in hs {
                // A connected side answers with version 0 and type 0 (§3.9).
                let connected_reply = h.hs.version == 0
                    && h.hs.socket_type == SocketType::Other(0)
                    && matches!(
                        h.hs.req_type,
                        ReqType::Response | ReqType::RendezvousConnected
                    );
                if connected_reply {
                    continue;
                }
                if !good_version(&h.hs) {
                    f.push(fail(
                        vec![h.frame],
                        format!(
                            "version {} socket type {}",
                            h.hs.version,
                            h.hs.socket_type.to_wire()
                        ),
                    ));
                }
                types[h.side].get_or_insert((h.hs.socket_type, h.frame));
            }
            if let [Some((a, fa)), Some((b, fb))] = types {
                if a != b {
                    f.push(warn(
                        vec![fa, fb],
                        format!(
                            "the sides use socket types {} and {}",
                            a.to_wire(),
                            b.to_wire()
                        ),
                    ));
                }
            }
        }
    }
    Verdict::Applies(f)
}

fn isn(conn: &Conn, hs: &[Hs], facts: &Facts) -> Verdict {
    let mut f = Vec::new();
    for h in hs {
        if h.hs.isn > SeqNumber::MAX && !(h.hs.version == 0 && h.hs.isn == 0) {
            f.push(fail(
                vec![h.frame],
                format!("ISN {:#x} has bit 31 set", h.hs.isn),
            ));
        }
    }
    if let Mode::ClientServer { client } = conn.mode() {
        let request = hs.iter().find(|h| h.side == client);
        let response = hs
            .iter()
            .find(|h| h.side != client && h.hs.req_type == ReqType::Response);
        if let (Some(r), Some(s)) = (request, response) {
            if r.hs.isn != s.hs.isn {
                f.push(fail(
                    vec![s.frame, r.frame],
                    format!(
                        "the response's ISN {} is not the client's {}",
                        s.hs.isn, r.hs.isn
                    ),
                ));
            }
        }
    }
    for side in 0..2 {
        let (Some(isn), Some((frame, seq))) = (facts.isn[side], facts.first_data[side]) else {
            continue;
        };
        let off = isn.offset_to(seq);
        if off != 0 {
            f.push(fail_unless(
                off > 0 && facts.gaps,
                vec![frame],
                format!(
                    "{}'s first data packet has seq {}, the ISN is {}",
                    conn.addrs[side],
                    seq.value(),
                    isn.value()
                ),
            ));
        }
    }
    Verdict::Applies(f)
}

fn mss(conn: &Conn, hs: &[Hs], facts: &Facts) -> Verdict {
    let mut f = Vec::new();
    for h in hs {
        if h.hs.version == 0 {
            continue; // a connected side's reply leaves fields unset
        }
        if h.hs.mss < MIN_MSS {
            f.push(fail(
                vec![h.frame],
                format!("MSS {} below {MIN_MSS}", h.hs.mss),
            ));
        }
        if h.hs.flight_flag_size == 0 || h.hs.flight_flag_size > i32::MAX as u32 {
            f.push(fail(
                vec![h.frame],
                format!("flow window {}", h.hs.flight_flag_size),
            ));
        }
    }
    for side in 0..2 {
        let Some(mss) = facts.mss[side] else { continue };
        let limit = (mss as usize).saturating_sub(udt::packet::UDP_IP_OVERHEAD);
        let over: Vec<u64> = conn
            .pkts
            .iter()
            .filter(|p| p.side == side && matches!(p.kind, Kind::Data { .. }) && p.wire_len > limit)
            .map(|p| p.frame)
            .collect();
        if let Some(&first) = over.first() {
            f.push(fail(
                over.iter().copied().take(10).collect(),
                format!(
                    "{} data packets from {} exceed {limit} bytes (MSS {mss}), first frame {first}",
                    over.len(),
                    conn.addrs[side]
                ),
            ));
        }
    }
    Verdict::Applies(f)
}
