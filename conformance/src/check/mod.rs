//! Protocol checks over captures: every UDT connection in a capture is rebuilt (by
//! address pair and socket ids, [`conns`]) and a fixed list of named rules is run on it
//! ([`CHECKS`]), each tied to a section of `udt-protocol.md`. A rule passes, fails,
//! warns or does not apply, and names the frames that break it.
//!
//! Each rule is a small visitor ([`Rule`]) registered beside its [`CheckInfo`] in the
//! table below: it is shown every packet of the connection in capture order, keeps its own
//! state, and gives its [`Verdict`] at the end. Adding a check is one line in the table and
//! one visitor (the handshake rules in `handshake.rs`, the timing rules in `timing/`, the
//! rest in `flow/`).
//!
//! Captures can miss packets (a lossy link drops a packet before the capture point, a
//! capture stops early), so rules tell apart what the capture cannot show from what the
//! endpoints did wrong: a violation that capture loss explains is a *warning*, and
//! `--strict` turns warnings into failures.

pub mod conns;
mod flow;
mod handshake;
pub mod output;
mod timing;

use std::net::SocketAddr;

pub use conns::{rebuild, Conn, Kind, Mode, Pkt, Rebuilt};

use crate::capture::Capture;
use flow::{Facts, Track};

/// A check's identity: id, one-line rule and the reference section it comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckInfo {
    /// Stable id, e.g. `HS-CS-3`.
    pub id: &'static str,
    /// The rule, e.g. "the second request echoes the cookie".
    pub title: &'static str,
    /// Sections of `udt-protocol.md`.
    pub section: &'static str,
}

macro_rules! checks {
    ($($name:ident = $id:literal, $section:literal, $title:literal => $rule:ty;)*) => {
        $(
            #[doc = concat!("`", $id, "`: ", $title, " (", $section, ").")]
            pub const $name: CheckInfo = CheckInfo { id: $id, title: $title, section: $section };
        )*
        /// Every check, in report order.
        pub const CHECKS: &[CheckInfo] = &[$($name),*];
        /// Every check with the visitor that runs it, in report order.
        const RULES: &[(CheckInfo, fn() -> Box<dyn Rule>)] = &[$(($name, new::<$rule>)),*];
    };
}

fn new<R: Rule + Default + 'static>() -> Box<dyn Rule> {
    Box::<R>::default()
}

checks! {
    PKT_1 = "PKT-1", "§1, §2", "every datagram of the connection decodes as a UDT packet"
        => Pkt1;
    HS_CS_1 = "HS-CS-1", "§3.3 step 1, §3.8", "the first request is reqtype 1 with dest 0, cookie 0 and a socket id"
        => handshake::HsCs1;
    HS_CS_2 = "HS-CS-2", "§3.3 step 2, §3.4", "the cookie reply goes to the client's id and echoes the request"
        => handshake::HsCs2;
    HS_CS_3 = "HS-CS-3", "§3.3 step 3, §3.5", "the second request echoes the cookie"
        => handshake::HsCs3;
    HS_CS_4 = "HS-CS-4", "§3.3 step 4, §3.4", "the response goes to the client's id with a new socket id, the client's ISN and the cookie"
        => handshake::HsCs4;
    HS_RDV_1 = "HS-RDV-1", "§3.9, §3.8", "rendezvous requests go 0 then -1, with cookie 0, -1 addressed to the peer's id"
        => handshake::HsRdv1;
    HS_VER_1 = "HS-VER-1", "§3.1, §3.4 step 5", "version 4 and socket type 1 or 2 are accepted; anything else is rejected with 1002"
        => handshake::HsVer1;
    HS_ISN_1 = "HS-ISN-1", "§3.10, §4.4", "ISNs are 31-bit and each direction's data starts at its ISN"
        => handshake::HsIsn1;
    HS_MSS_1 = "HS-MSS-1", "§1.1, §3.4, §3.9", "MSS and flow window are negotiated and no data packet exceeds the MSS"
        => handshake::HsMss1;
    HS_RTX_1 = "HS-RTX-1", "§3.5", "an unanswered connection request is sent again every 250 ms"
        => timing::retry::HsRtx1;
    DATA_1 = "DATA-1", "§3.3 step 5, §3.5, §3.9", "no data before the handshake completes"
        => flow::seq::Data1;
    DATA_2 = "DATA-2", "§4.1, §6.1", "data sequence numbers advance by one except for retransmissions"
        => flow::seq::Data2;
    RTX_1 = "RTX-1", "§5.4, §5.5, §6.1", "every retransmission was reported lost by a NAK or follows an expiry"
        => flow::seq::Rtx1;
    ACK_1 = "ACK-1", "§5.2, §5.3", "ACK numbers never decrease"
        => flow::ack::Ack1;
    ACK_2 = "ACK-2", "§8.1, §8.6", "ACK numbers never pass what was sent"
        => flow::ack::Ack2;
    ACK_3 = "ACK-3", "§2.4, §4.2", "every full ACK is answered by an ACK2 with the same sub-sequence number"
        => flow::ack::Ack3;
    ACK_4 = "ACK-4", "§2.2, §5.3", "light ACKs carry sub-sequence 0 and come once per 64 data packets"
        => flow::ack::Ack4;
    ACK_5 = "ACK-5", "§5.1, §5.2", "while data arrives, a full ACK follows every SYN (10 ms)"
        => timing::ack::Ack5;
    ACK_6 = "ACK-6", "§5.3", "a light ACK comes every 64 packets that arrive in order between full ACKs"
        => timing::ack::Ack6;
    NAK_1 = "NAK-1", "§2.3, §5.4", "NAK ranges are well formed and within what was sent"
        => flow::nak::Nak1;
    NAK_2 = "NAK-2", "§5.4", "a loss is reported by a NAK as soon as the gap shows"
        => timing::nak::Nak2;
    MSG_1 = "MSG-1", "§1.2, §4.3", "message numbers and boundary flags are consistent"
        => flow::msg::Msg1;
    SHUT_1 = "SHUT-1", "§2.5, §8.5", "nothing after shutdown"
        => flow::shut::Shut1;
    PAIR_1 = "PAIR-1", "§5.7, §6.1", "every 16th new data packet is followed at once by the next (packet pair)"
        => timing::pair::Pair1;
    KA_1 = "KA-1", "§5.5, §2.5", "an idle side sends a keep-alive one EXP period after it last heard from its peer"
        => timing::idle::Ka1;
    EXP_1 = "EXP-1", "§5.5", "with a silent peer, each expiry waits longer than the one before (backoff)"
        => timing::idle::Exp1;
    EXP_2 = "EXP-2", "§5.5, §8.6", "a side whose peer stays silent breaks the connection after 16 expiries"
        => timing::idle::Exp2;
}

/// How bad one finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Suspicious, or explained by capture loss.
    Warning,
    /// A protocol violation.
    Failure,
}

/// One violation: the frames involved and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// How bad.
    pub severity: Severity,
    /// Frame numbers (from 1), first the one that breaks the rule.
    pub frames: Vec<u64>,
    /// What is wrong.
    pub message: String,
}

/// The verdict of one check on one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The rule holds.
    Pass,
    /// Only warnings.
    Warn,
    /// At least one failure.
    Fail,
    /// The connection has nothing the rule talks about.
    NotApplicable,
}

impl Status {
    /// `pass`, `warn`, `fail` or `n/a`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::NotApplicable => "n/a",
        }
    }
}

/// What every rule sees of the connection it checks.
pub struct Cx<'a> {
    /// The connection.
    pub conn: &'a Conn,
    /// What its handshake established.
    pub facts: &'a Facts,
    /// Its handshakes, in capture order.
    pub hs: Vec<handshake::Hs>,
    /// The capture shows no handshake of it.
    pub headless: bool,
}

/// A rule's verdict on one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The rule applies; what it found (nothing: it holds).
    Applies(Vec<Finding>),
    /// The connection has nothing the rule talks about, and why.
    NotApplicable(String),
}

/// One rule, run as a visitor over a connection's packets in capture order.
pub trait Rule {
    /// Sees packet `i`, `p`. `track` holds what the packets before it established, and
    /// `p`'s own sequence numbers relative to their direction ([`Track::rel`]).
    fn packet(&mut self, _cx: &Cx, _track: &Track, _i: usize, _p: &Pkt) {}

    /// The verdict once every packet was seen.
    fn finish(self: Box<Self>, cx: &Cx, track: &Track) -> Verdict;
}

/// One check's result on one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckResult {
    /// Which check.
    pub info: CheckInfo,
    /// `None` when the check does not apply (with the reason in `note`).
    pub findings: Option<Vec<Finding>>,
    /// Why it does not apply, or a remark.
    pub note: Option<String>,
}

impl CheckResult {
    /// The verdict.
    pub fn status(&self) -> Status {
        match &self.findings {
            None => Status::NotApplicable,
            Some(f) if f.iter().any(|f| f.severity == Severity::Failure) => Status::Fail,
            Some(f) if !f.is_empty() => Status::Warn,
            Some(_) => Status::Pass,
        }
    }
}

/// All checks on one connection.
#[derive(Clone, Debug)]
pub struct ConnReport {
    /// 1-based number in capture order.
    pub number: usize,
    /// The two endpoints (side 0 first).
    pub addrs: [SocketAddr; 2],
    /// Their socket ids, where known.
    pub ids: [Option<u32>; 2],
    /// How the connection was set up.
    pub mode: Mode,
    /// First and last frame.
    pub frames: (u64, u64),
    /// Number of packets.
    pub packets: usize,
    /// Whether the capture evidently misses packets of this connection.
    pub capture_gaps: bool,
    /// One result per entry of [`CHECKS`], same order.
    pub results: Vec<CheckResult>,
}

/// The result of checking one capture.
#[derive(Clone, Debug)]
pub struct Report {
    /// Per connection.
    pub conns: Vec<ConnReport>,
    /// Frames of UDP datagrams that are not UDT.
    pub not_udt: Vec<u64>,
}

impl Report {
    /// Every (connection, result) whose status is `status`.
    pub fn with_status(&self, status: Status) -> impl Iterator<Item = (&ConnReport, &CheckResult)> {
        self.conns.iter().flat_map(move |c| {
            c.results
                .iter()
                .filter(move |r| r.status() == status)
                .map(move |r| (c, r))
        })
    }

    /// The ids of the checks that failed on some connection (sorted, no repeats);
    /// with `strict`, warnings count as failures.
    pub fn failed_ids(&self, strict: bool) -> Vec<&'static str> {
        let mut ids: Vec<&'static str> = self
            .conns
            .iter()
            .flat_map(|c| c.results.iter())
            .filter(|r| match r.status() {
                Status::Fail => true,
                Status::Warn => strict,
                _ => false,
            })
            .map(|r| r.info.id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The process exit code: 0 when every check holds, 1 when one fails (or, with
    /// `strict`, warns).
    pub fn exit_code(&self, strict: bool) -> u8 {
        u8::from(!self.failed_ids(strict).is_empty())
    }
}

/// Why a capture cannot be checked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// Nothing in the capture (after the port filter) is a UDT packet.
    #[error("no UDT packets found ({datagrams} UDP datagrams{filter}, {frames} frames)")]
    NoUdt {
        /// Frames in the file.
        frames: u64,
        /// UDP datagrams considered.
        datagrams: usize,
        /// `" on port N"` or empty.
        filter: String,
    },
}

/// Knobs of the checks.
#[derive(Clone, Copy, Debug, Default)]
pub struct CheckOptions {
    /// Only datagrams to or from this UDP port.
    pub port: Option<u16>,
}

/// Rebuilds the connections of `capture` and runs every check on each.
pub fn check_capture(capture: &Capture, opts: &CheckOptions) -> Result<Report, CheckError> {
    let rebuilt = rebuild(capture, opts.port);
    if rebuilt.conns.is_empty() {
        return Err(CheckError::NoUdt {
            frames: capture.frames,
            datagrams: rebuilt.not_udt.len(),
            filter: opts.port.map_or(String::new(), |p| format!(" on port {p}")),
        });
    }
    let conns = rebuilt
        .conns
        .iter()
        .enumerate()
        .map(|(i, c)| check_conn(i + 1, c))
        .collect();
    Ok(Report {
        conns,
        not_udt: rebuilt.not_udt,
    })
}

/// Runs every check on one connection.
pub fn check_conn(number: usize, conn: &Conn) -> ConnReport {
    let facts = Facts::new(conn);
    let cx = Cx {
        conn,
        facts: &facts,
        hs: handshake::handshakes(conn),
        headless: conn.mode() == Mode::Headless,
    };
    let mut rules: Vec<(CheckInfo, Box<dyn Rule>)> =
        RULES.iter().map(|(info, new)| (*info, new())).collect();
    let mut track = Track::new(&facts);
    for (i, p) in conn.pkts.iter().enumerate() {
        track.resolve(p);
        for (_, rule) in &mut rules {
            rule.packet(&cx, &track, i, p);
        }
        track.advance(p);
    }
    let results = rules
        .into_iter()
        .map(|(info, rule)| {
            let (findings, note) = match rule.finish(&cx, &track) {
                Verdict::Applies(f) => (Some(f), None),
                Verdict::NotApplicable(why) => (None, Some(why)),
            };
            CheckResult {
                info,
                findings,
                note,
            }
        })
        .collect();
    let first = conn.pkts.first().map_or(0, |p| p.frame);
    let last = conn.pkts.last().map_or(0, |p| p.frame);
    ConnReport {
        number,
        addrs: conn.addrs,
        ids: conn.ids,
        mode: conn.mode(),
        frames: (first, last),
        packets: conn.pkts.len(),
        capture_gaps: facts.gaps,
        results,
    }
}

/// PKT-1: every datagram of the connection decodes.
#[derive(Default)]
struct Pkt1(Vec<Finding>);

impl Rule for Pkt1 {
    fn packet(&mut self, _: &Cx, _: &Track, _: usize, p: &Pkt) {
        if let Kind::Bad(e) = &p.kind {
            self.0
                .push(fail(vec![p.frame], format!("does not decode: {e}")));
        }
    }

    fn finish(self: Box<Self>, _: &Cx, _: &Track) -> Verdict {
        Verdict::Applies(self.0)
    }
}

fn fail(frames: Vec<u64>, message: String) -> Finding {
    Finding {
        severity: Severity::Failure,
        frames,
        message,
    }
}

fn warn(frames: Vec<u64>, message: String) -> Finding {
    Finding {
        severity: Severity::Warning,
        frames,
        message,
    }
}

/// A failure, or a warning when capture loss can explain it.
fn fail_unless(explained: bool, frames: Vec<u64>, message: String) -> Finding {
    if explained {
        warn(frames, format!("{message} (the capture misses packets)"))
    } else {
        fail(frames, message)
    }
}
