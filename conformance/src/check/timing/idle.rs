//! EXP-1, EXP-2 and KA-1: what a side sends when it hears nothing. UDT4's EXP timer fires
//! one EXP period after the last packet from the peer (or the last expiry, or the
//! application's send into an empty buffer) and sends a keep-alive, or retransmits what
//! is unacknowledged; each expiry without an answer lengthens the next period, and the
//! 17th breaks the connection (§5.5).

use udt::seq::SeqNumber;

use super::{ms, ExpPeriod, EXP_BREAK, EXP_STEP_NS, TIMER_GRANULARITY_NS};
use crate::check::flow::{applies_if, push, Track, EXP_MIN_NS};
use crate::check::{fail, fail_unless, warn, Cx, Kind, Pkt, Rule, Verdict};

/// A keep-alive or retransmission that an EXP period of silence explains.
struct Expiry {
    side: usize,
    frame: u64,
    /// Time since the side's timer last started, ns.
    interval_ns: u64,
    /// The interval of the expiry before, when the timer started there.
    prev_ns: Option<u64>,
    /// Expiries of the side since it last heard from its peer (this one included).
    n: u32,
}

/// A packet after one from the other side: how long the receiver of the first took.
struct Answer {
    frames: [u64; 2],
    side: usize,
    gap_ns: u64,
    period_ns: u64,
    /// The other side had expired at least twice: this side was silent, not slow.
    peer_backed_off: bool,
}

/// A keep-alive sooner than an EXP period after the timer started.
struct Early {
    frame: u64,
    side: usize,
    since_ns: u64,
}

/// The connected phase's timer events, as the capture shows them.
#[derive(Default)]
struct Idle {
    expiries: Vec<Expiry>,
    answers: Vec<Answer>,
    early: Vec<Early>,
}

/// Per side: when its EXP timer last started, and why.
#[derive(Clone, Copy, Default)]
struct Timer {
    /// The peer's last packet (the handshake's completion at first).
    heard_ns: u64,
    /// The side's last expiry: time, and how long it had waited.
    expiry: Option<(u64, u64)>,
    /// The side's last new data packet: the application's send restarts the timer.
    fresh_ns: u64,
    /// The highest sequence number the side sent.
    max: Option<SeqNumber>,
    /// Expiries since the side last heard from its peer.
    run: u32,
}

impl Idle {
    /// Walks the connected phase: from the packet that completes the handshake to the
    /// first shutdown.
    fn of(cx: &Cx) -> Idle {
        let start = match cx.facts.established {
            Some(i) => i,
            None if cx.headless => 0,
            None => return Idle::default(),
        };
        let pkts = &cx.conn.pkts[start..];
        let t0 = pkts.first().map_or(0, |p| p.time_ns);
        let mut timers = [Timer {
            heard_ns: t0,
            ..Timer::default()
        }; 2];
        let mut period = ExpPeriod::default();
        let mut out = Idle::default();
        let mut prev: Option<&Pkt> = None;
        for p in pkts {
            let (s, r) = (p.side, 1 - p.side);
            if let Some(a) = prev.filter(|a| a.side != s) {
                out.answers.push(Answer {
                    frames: [p.frame, a.frame],
                    side: s,
                    gap_ns: p.time_ns.saturating_sub(a.time_ns),
                    period_ns: period.ns(),
                    peer_backed_off: timers[r].run >= 2,
                });
            }
            out.visit(&mut timers[s], &period, p);
            timers[r].heard_ns = p.time_ns;
            timers[r].run = 0;
            match &p.kind {
                Kind::Ack(a) => {
                    if let Some(info) = &a.full {
                        period.learn(info);
                    }
                }
                Kind::Shutdown => break,
                _ => {}
            }
            prev = Some(p);
        }
        out
    }

    /// Side `p.side` sent `p`; `t` is its timer.
    fn visit(&mut self, t: &mut Timer, period: &ExpPeriod, p: &Pkt) {
        let expiry_ns = t.expiry.map_or(0, |e| e.0);
        let start = t.heard_ns.max(expiry_ns).max(t.fresh_ns);
        let since = p.time_ns.saturating_sub(start);
        let keepalive = matches!(p.kind, Kind::Other("keepalive"));
        let resent = match &p.kind {
            Kind::Data { seq, .. } => {
                let old = t.max.is_some_and(|m| m.offset_to(*seq) <= 0);
                if !old {
                    t.max = Some(*seq);
                    t.fresh_ns = p.time_ns;
                }
                old
            }
            _ => false,
        };
        if !(keepalive || resent) {
            return;
        }
        if since >= EXP_MIN_NS {
            let chained = t.run > 0 && start == expiry_ns;
            t.run += 1;
            self.expiries.push(Expiry {
                side: p.side,
                frame: p.frame,
                interval_ns: since,
                prev_ns: t.expiry.filter(|_| chained).map(|e| e.1),
                n: t.run,
            });
            t.expiry = Some((p.time_ns, since));
        } else if keepalive {
            // A packet of the peer may have crossed the keep-alive on the way.
            let crossing = if start == t.heard_ns {
                period.crossing_ns()
            } else {
                0
            };
            if since + crossing < EXP_MIN_NS {
                self.early.push(Early {
                    frame: p.frame,
                    side: p.side,
                    since_ns: since,
                });
            }
        }
    }
}

/// Rules over the connected phase's timer events: visitors that only finish.
macro_rules! idle_rules {
    ($($(#[$doc:meta])* $name:ident => $judge:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Default)]
        pub struct $name;

        impl Rule for $name {
            fn finish(self: Box<Self>, cx: &Cx, _: &Track) -> Verdict {
                $judge(cx, &Idle::of(cx))
            }
        }
    )*};
}

idle_rules! {
    /// EXP-1: with a silent peer, each expiry waits longer than the one before, by at
    /// least [`EXP_STEP_NS`] (UDT4: the n-th waits n·max(RTT + 4·RTTVar + SYN, 300 ms)).
    Exp1 => backoff;
    /// EXP-2: a side whose peer stays silent gives up: UDT4 sends nothing after its 16th
    /// unanswered expiry ([`EXP_BREAK`]) but the shutdown of the broken socket's close.
    Exp2 => breaks;
    /// KA-1: keep-alives keep an idle connection alive, one EXP period apart. A side that
    /// heard from its peer sends something within one EXP period plus UDT4's timer
    /// granularity ([`TIMER_GRANULARITY_NS`]), unless the peer sent more first; later is a
    /// warning (a loaded host) and later than two periods a failure, but only a warning
    /// when the peer had already backed off (the side was gone, not slow). A keep-alive
    /// sooner than an EXP period after the timer started fails.
    Ka1 => keepalive;
}

fn backoff(cx: &Cx, idle: &Idle) -> Verdict {
    let mut found = vec![];
    let mut judged = false;
    for e in &idle.expiries {
        let Some(prev) = e.prev_ns else { continue };
        judged = true;
        if e.interval_ns < prev + EXP_STEP_NS {
            let msg = format!(
                "{} expired a {} time {} after the expiry before, which had waited {}: no backoff (UDT4's n-th expiry waits n·max(RTT + 4·RTTVar + SYN, 300 ms))",
                cx.conn.addrs[e.side],
                ordinal(e.n),
                ms(e.interval_ns),
                ms(prev)
            );
            push(&mut found, fail_unless(cx.facts.gaps, vec![e.frame], msg));
        }
    }
    let why = "no side expired twice in a row with a silent peer";
    applies_if(judged, found, why)
}

fn breaks(cx: &Cx, idle: &Idle) -> Verdict {
    let mut found = vec![];
    for e in idle.expiries.iter().filter(|e| e.n == EXP_BREAK + 1) {
        let msg = format!(
            "{} expired a {} time with no answer (UDT4 breaks the connection at the 17th expiry and sends nothing more)",
            cx.conn.addrs[e.side],
            ordinal(e.n)
        );
        push(&mut found, fail_unless(cx.facts.gaps, vec![e.frame], msg));
    }
    let judged = idle.expiries.iter().any(|e| e.n >= EXP_BREAK);
    applies_if(judged, found, "no peer stayed silent through 16 expiries")
}

fn keepalive(cx: &Cx, idle: &Idle) -> Verdict {
    let mut found = vec![];
    for a in &idle.answers {
        if a.gap_ns <= a.period_ns + TIMER_GRANULARITY_NS {
            continue;
        }
        let msg = format!(
            "{} sent nothing for {} after its peer's packet (UDT4 sends a keep-alive after one EXP period, {} here)",
            cx.conn.addrs[a.side],
            ms(a.gap_ns),
            ms(a.period_ns)
        );
        let frames = a.frames.to_vec();
        let finding = if a.peer_backed_off {
            let why = "its peer had backed off, so it was gone and came back";
            warn(frames, format!("{msg}; {why}"))
        } else if a.gap_ns > 2 * a.period_ns {
            fail_unless(cx.facts.gaps, frames, msg)
        } else {
            warn(
                frames,
                format!("{msg}; late by less than a period (a loaded host?)"),
            )
        };
        push(&mut found, finding);
    }
    for e in &idle.early {
        let msg = format!(
            "{} sent a keep-alive {} after its EXP timer started (UDT4 sends one only after an EXP period, at least 300 ms)",
            cx.conn.addrs[e.side],
            ms(e.since_ns)
        );
        push(&mut found, fail(vec![e.frame], msg));
    }
    let idle_gap = idle.answers.iter().any(|a| a.gap_ns >= EXP_MIN_NS);
    let keepalives = cx
        .conn
        .pkts
        .iter()
        .any(|p| matches!(p.kind, Kind::Other("keepalive")));
    let why = "the connection was never idle for an EXP period";
    applies_if(idle_gap || keepalives, found, why)
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, x) if x != 11 => "st",
        (2, x) if x != 12 => "nd",
        (3, x) if x != 13 => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}
