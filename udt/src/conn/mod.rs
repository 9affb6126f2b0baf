//! One UDT connection as a sans-IO state machine.
//!
//! # Contract
//!
//! Inputs are packets (`handle_packet`), the passing of time (`handle_timeout`)
//! and application calls (`send`, `recv`, `close`, …); every one takes `now`.
//! Outputs are drained by the caller after every input: `poll_transmit` until it
//! returns `None`, `poll_event` until `None`, then `next_timeout` says when to call
//! `handle_timeout` next. Nothing here reads a clock or touches a socket.
//!
//! The work is split the way the protocol splits it: [`handshake`] (set-up),
//! [`sender`] (send buffer, pacing, ACK/NAK processing, retransmission),
//! [`receiver`] (receive buffer, loss detection, ACK/NAK generation, estimators).

use std::collections::VecDeque;
use std::net::SocketAddr;

use bytes::Bytes;

use crate::cc::{CcContext, CcControl, CongestionControl};
use crate::options::SocketOptions;
use crate::packet::{Ack, Control, ControlPacket, DropRequest, Handshake, LossList, Packet};
use crate::seq::{AckNumber, MsgNumber, SeqNumber};
use crate::stats::Stats;
use crate::time::{Duration, Instant};
use crate::Error;

mod estimate;
mod handshake;
mod loss;
mod receiver;
mod recv_buf;
mod report_times;
mod send_buf;
mod sender;

use estimate::{AckHistory, ArrivalWindows};
use loss::LossList as Losses;
use recv_buf::RecvBuffer;
use report_times::ReportTimes;
use send_buf::SendBuffer;

/// UDT4's socket states (`udt-protocol.md` §7.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SocketState {
    /// Created, nothing done yet.
    Init = 1,
    /// Bound.
    Opened = 2,
    /// Accepting connections.
    Listening = 3,
    /// Handshake in progress.
    Connecting = 4,
    /// Data may flow.
    Connected = 5,
    /// The connection failed or the peer closed it.
    Broken = 6,
    /// Closed by the application, still delivering what it sent (linger).
    Closing = 7,
    /// Closed.
    Closed = 8,
    /// No such socket.
    NonExist = 9,
}

/// What a connection tells its application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The handshake completed (connect or rendezvous).
    Connected,
    /// A listener created this connection; take it with `accept`.
    Accepted,
    /// Data (or a message) can be read.
    Readable,
    /// The send buffer has room again.
    Writable,
    /// The handshake failed.
    ConnectFailed(Error),
    /// The connection broke (peer silent, shutdown received, protocol violation).
    Broken(Error),
    /// The connection is closed and gone from the endpoint.
    Closed,
}

/// The most a NAK carries: 128 ranges, well inside the smallest MSS's payload.
const MAX_NAK_BYTES: usize = 1024;

/// Extended sequence numbers start here, so that unwrapping never goes below 0.
const EXT_ORIGIN: u64 = 1 << 40;

/// Maps a 31-bit wire sequence number to the unwrapped number nearest `near`.
fn unwrap_seq(near: u64, seq: SeqNumber) -> u64 {
    let offset = SeqNumber::new(near as u32).offset_to(seq);
    near.wrapping_add_signed(i64::from(offset))
}

/// Payload bytes a data packet carries for an MSS (which counts the IP, UDP and UDT
/// headers).
fn payload_size(mss: u32) -> usize {
    (mss as usize)
        .saturating_sub(crate::packet::UDP_IP_OVERHEAD + crate::packet::HEADER_LEN)
        .max(1)
}

/// The NAK body `LossList::encode` wrote into `buf`, unless it wrote nothing.
fn parsed_nak(buf: &[u8], n: Option<usize>) -> Option<LossList<'_>> {
    n.and_then(|n| LossList::parse(&buf[..n]).ok())
}

fn wire_seq(ext: u64) -> SeqNumber {
    SeqNumber::new(ext as u32)
}

/// A control packet waiting to be sent.
#[derive(Clone, Debug)]
enum Outgoing {
    Handshake(Handshake),
    KeepAlive,
    Ack(Ack),
    /// An inclusive range of unwrapped sequence numbers.
    Nak(u64, u64),
    /// Inclusive ranges of unwrapped sequence numbers (periodic NAK).
    NakRanges(Vec<(u64, u64)>),
    Ack2(AckNumber),
    Shutdown,
    Drop(DropRequest),
}

/// A connection's timers: what a wake-up is for (`udt-protocol.md` §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Repeat a connection request (every 250 ms) or give up.
    Handshake,
    /// The full-ACK timer (SYN, or the congestion control's ACK period).
    Ack,
    /// Re-report outstanding losses (improved profile only).
    Nak,
    /// The expiry timer: retransmit, keep alive, or declare the peer gone.
    Exp,
    /// The next paced data packet is due.
    Send,
    /// Linger on close ran out.
    Linger,
    /// A closed or broken connection may be forgotten.
    Reclaim,
}

/// How the connection came to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Client,
    Server,
    Rendezvous,
}

/// A UDT connection.
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) id: u32,
    pub(crate) peer_id: u32,
    pub(crate) peer_addr: SocketAddr,
    pub(crate) state: SocketState,
    role: Role,
    pub(crate) opts: SocketOptions,
    /// When the socket opened: data timestamps count from here.
    start: Instant,
    pub(crate) mss: u32,
    payload_size: usize,
    /// Handshake state while connecting.
    connecting: Option<handshake::Connecting>,
    /// Our ISN (send direction) and the peer's (receive direction).
    pub(crate) isn: SeqNumber,
    cc: Box<dyn CongestionControl>,
    ctl: CcControl,

    // Sender.
    snd: SendBuffer,
    snd_loss: Losses,
    /// Next new sequence number (largest sent + 1).
    snd_next: u64,
    /// Highest ACK received, light ACKs included.
    snd_last_ack: u64,
    flow_window: u32,
    /// When the next data packet may go, in nanoseconds since [`Instant::ZERO`]: finer
    /// than the µs clock, so periods that are not whole microseconds keep their rate.
    next_send_ns: Option<u64>,
    next_msg: MsgNumber,
    /// Sender-side smoothed receive rate and link capacity (packets/s).
    peer_rcv_rate: u32,
    peer_bandwidth: u32,

    // Receiver.
    rcv: RecvBuffer,
    rcv_loss: Losses,
    rcv_largest: u64,
    rcv_last_ack: u64,
    rcv_last_ack_ack: u64,
    ack_number: AckNumber,
    ack_history: AckHistory,
    arrivals: ArrivalWindows,
    next_ack_time: Instant,
    next_nak_time: Instant,
    /// When each outstanding receiver loss was last reported.
    nak_times: ReportTimes,
    /// The highest sequence number a NAK from the peer has named.
    snd_highest_nak: Option<u64>,
    /// When the last 24-byte ACK went out; `None` before the first, which is
    /// therefore a 24-byte one (§2.2).
    last_ack24_time: Option<Instant>,
    pkts_since_ack: u32,
    light_ack_count: u32,

    // Timing shared by both directions.
    rtt: u32,
    rtt_var: u32,
    last_response: Instant,
    exp_count: u32,

    // Closing.
    linger_deadline: Option<Instant>,
    peer_shutdown: bool,
    shutdown_sent: bool,
    /// When the connection became closed or broken, for reclaiming.
    pub(crate) ended_at: Option<Instant>,

    outgoing: VecDeque<Outgoing>,
    events: VecDeque<Event>,
    stats: Stats,
}

impl Connection {
    #[allow(clippy::too_many_arguments)]
    fn new(
        id: u32,
        peer_addr: SocketAddr,
        opts: SocketOptions,
        role: Role,
        isn: SeqNumber,
        state: SocketState,
        now: Instant,
    ) -> Self {
        let cc = opts
            .congestion_control()
            .or_else(|| crate::cc::by_name("udt"))
            .expect("the native congestion control always exists");
        let ext = EXT_ORIGIN + u64::from(isn.value());
        Connection {
            id,
            peer_id: 0,
            peer_addr,
            state,
            role,
            start: now,
            mss: opts.mss,
            payload_size: payload_size(opts.mss),
            connecting: None,
            isn,
            cc,
            ctl: CcControl::default(),
            snd: SendBuffer::new(ext, opts.send_buffer),
            snd_loss: Losses::default(),
            snd_next: ext,
            snd_last_ack: ext,
            flow_window: 16,
            next_send_ns: None,
            next_msg: MsgNumber::new(1),
            peer_rcv_rate: 16,
            peer_bandwidth: 1,
            rcv: RecvBuffer::new(ext, opts.recv_buffer),
            rcv_loss: Losses::default(),
            rcv_largest: ext - 1,
            rcv_last_ack: ext,
            rcv_last_ack_ack: ext,
            ack_number: AckNumber::new(0),
            ack_history: AckHistory::default(),
            arrivals: ArrivalWindows::new(now),
            next_ack_time: now + Duration::SYN,
            next_nak_time: now,
            nak_times: ReportTimes::default(),
            snd_highest_nak: None,
            last_ack24_time: None,
            pkts_since_ack: 0,
            light_ack_count: 1,
            rtt: 100_000,
            rtt_var: 50_000,
            last_response: now,
            exp_count: 1,
            linger_deadline: None,
            peer_shutdown: false,
            shutdown_sent: false,
            ended_at: None,
            outgoing: VecDeque::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            opts,
        }
    }

    /// The state after the handshake: both directions' sequence numbers, windows and
    /// the congestion control (`udt-protocol.md` §3.10).
    fn establish(
        &mut self,
        now: Instant,
        own_isn: SeqNumber,
        peer_isn: SeqNumber,
        peer_window: u32,
    ) {
        self.isn = own_isn;
        let snd = EXT_ORIGIN + u64::from(own_isn.value());
        let rcv = EXT_ORIGIN + u64::from(peer_isn.value());
        self.payload_size = payload_size(self.mss);
        self.snd = SendBuffer::new(snd, self.opts.send_buffer);
        self.snd_next = snd;
        self.snd_last_ack = snd;
        self.rcv = RecvBuffer::new(rcv, self.opts.recv_buffer);
        self.rcv_largest = rcv - 1;
        self.rcv_last_ack = rcv;
        self.rcv_last_ack_ack = rcv;
        self.flow_window = peer_window;
        self.start = self.start.min(now);
        self.last_response = now;
        self.exp_count = 1;
        self.next_ack_time = now + Duration::SYN;
        self.arrivals = ArrivalWindows::new(now);
        self.state = SocketState::Connected;
        self.connecting = None;
        let ctx = self.cc_context(now);
        self.cc.init(&ctx, &mut self.ctl);
    }

    fn cc_context(&self, now: Instant) -> CcContext {
        CcContext {
            now,
            mss: self.mss,
            max_cwnd: f64::from(self.flow_window.max(1)),
            snd_curr_seq: wire_seq(self.snd_next.wrapping_sub(1)),
            rtt_us: self.rtt,
            rcv_rate: self.peer_rcv_rate,
            bandwidth: self.peer_bandwidth,
        }
    }

    /// Whether packets from this connection's peer reach it (the multiplexer's
    /// check on source address).
    pub(crate) fn is_open(&self) -> bool {
        matches!(
            self.state,
            SocketState::Connecting | SocketState::Connected | SocketState::Closing
        )
    }

    /// A packet addressed to this connection arrived from its peer. `tail`, if given, holds
    /// the same bytes as a data packet's payload, to be kept instead of copied.
    pub(crate) fn handle_packet(
        &mut self,
        now: Instant,
        packet: &Packet<'_>,
        tail: Option<&Bytes>,
    ) {
        if !self.is_open() {
            return;
        }
        if self.state == SocketState::Connecting {
            self.handle_while_connecting(now, packet);
            if self.state != SocketState::Connected {
                return;
            }
            if let Packet::Control(ControlPacket {
                control: Control::Handshake(_),
                ..
            }) = packet
            {
                return;
            }
        }
        // Any packet from the peer proves it alive (`udt-protocol.md` §5.5).
        self.last_response = now;
        self.exp_count = 1;
        match packet {
            Packet::Data(d) => self.on_data(now, d, tail),
            Packet::Control(c) => match c.control {
                Control::Handshake(hs) => self.on_handshake_when_connected(&hs),
                Control::KeepAlive => {}
                Control::Ack(ack) => self.on_ack(now, &ack),
                Control::Nak(list) => self.on_nak(now, list),
                Control::CongestionWarning => {
                    self.ctl.pkt_snd_period_us *= 1.125;
                }
                Control::Shutdown => {
                    self.peer_shutdown = true;
                    self.fail(now, Error::ConnectionLost);
                }
                Control::Ack2(n) => self.on_ack2(now, n),
                Control::DropRequest(d) => self.on_drop_request(&d),
                Control::Error { code } => self.fail(now, Error::PeerError(code)),
                Control::UserDefined { subtype, body, .. } => {
                    let ctx = self.cc_context(now);
                    self.cc.on_custom_msg(&ctx, &mut self.ctl, subtype, body);
                }
                Control::Unknown { .. } => {}
            },
        }
        self.check_timers(now);
    }

    /// The connection broke: no more packets, the application learns why.
    fn fail(&mut self, now: Instant, why: Error) {
        if matches!(self.state, SocketState::Broken | SocketState::Closed) {
            return;
        }
        self.state = SocketState::Broken;
        self.next_send_ns = None;
        self.ended_at = Some(now);
        self.events.push_back(Event::Broken(why));
        // Data acknowledged before the break stays readable.
        if self.rcv.has_readable(self.rcv_last_ack) {
            self.events.push_back(Event::Readable);
        }
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            SocketState::Connecting => self.connecting_timeout(now),
            SocketState::Connected | SocketState::Closing => self.check_timers(now),
            _ => {}
        }
    }

    /// UDT4's timer check, in its order: ACK, light ACK, EXP; then linger.
    fn check_timers(&mut self, now: Instant) {
        if !matches!(self.state, SocketState::Connected | SocketState::Closing) {
            return;
        }
        let interval = self.ctl.ack_interval;
        if now >= self.next_ack_time || (interval > 0 && self.pkts_since_ack >= interval) {
            self.send_ack(now, false);
            let period = self
                .ctl
                .ack_period
                .unwrap_or(Duration::SYN)
                .min(Duration::SYN);
            self.next_ack_time = now + period;
            self.pkts_since_ack = 0;
            self.light_ack_count = 1;
        } else if self.pkts_since_ack >= 64 * self.light_ack_count {
            self.send_ack(now, true);
            self.light_ack_count += 1;
        }
        if self.periodic_nak() && now >= self.next_nak_time {
            self.send_periodic_nak(now);
        }
        if now >= self.exp_deadline() {
            self.on_exp(now);
        }
        self.check_linger(now);
    }

    /// `lastResponse + max(n·(RTT + 4·RTTVar) + SYN, n·300 ms)`, or the CC's RTO.
    fn exp_deadline(&self) -> Instant {
        let period = match self.ctl.rto {
            Some(rto) => rto,
            None => {
                let n = u64::from(self.exp_count);
                let base = n * (u64::from(self.rtt) + 4 * u64::from(self.rtt_var))
                    + Duration::SYN.as_micros();
                Duration::from_micros(base.max(n * 300_000))
            }
        };
        self.last_response + period
    }

    fn on_exp(&mut self, now: Instant) {
        // Broken after more than 16 expiries and 5 s of silence (§5.5).
        if self.exp_count > 16 && now.saturating_since(self.last_response) > Duration::from_secs(5)
        {
            self.fail(now, Error::ConnectionLost);
            return;
        }
        if self.snd.len_packets() > 0 {
            if self.snd_loss.is_empty() && self.snd_next > self.snd_last_ack {
                let n = self.snd_loss.insert(self.snd_last_ack, self.snd_next - 1);
                self.stats.pkt_snd_loss_total += n;
            }
            let ctx = self.cc_context(now);
            self.cc.on_timeout(&ctx, &mut self.ctl);
            self.schedule_send(now, true);
        } else {
            self.outgoing.push_back(Outgoing::KeepAlive);
        }
        self.exp_count += 1;
        self.last_response = now;
    }

    /// Whether `handle_timeout` must run at `now` (the earliest timer is due). A paced
    /// sender wakes for its Send timer once a packet, so that one is looked at first.
    pub(crate) fn timer_due(&self, now: Instant) -> bool {
        self.send_timer().is_some_and(|t| t <= now)
            || self.next_timer().is_some_and(|(t, _)| t <= now)
    }

    /// When the next paced data packet is due (connected or closing).
    fn send_timer(&self) -> Option<Instant> {
        match self.state {
            SocketState::Connected | SocketState::Closing => self
                .next_send_ns
                .map(|at| Instant::from_micros(at.div_ceil(1000))),
            _ => None,
        }
    }

    /// The earliest armed timer and when it fires; on a tie, the first in [`Timer`]'s
    /// order.
    pub(crate) fn next_timer(&self) -> Option<(Instant, Timer)> {
        let mut next: Option<(Instant, Timer)> = None;
        let mut arm = |at: Option<Instant>, timer: Timer| {
            if let Some(at) = at {
                if next.is_none_or(|(n, _)| at < n) {
                    next = Some((at, timer));
                }
            }
        };
        match self.state {
            SocketState::Connecting => arm(
                self.connecting.as_ref().map(|c| c.next_timeout()),
                Timer::Handshake,
            ),
            SocketState::Connected | SocketState::Closing => {
                arm(self.ack_pending().then_some(self.next_ack_time), Timer::Ack);
                arm(
                    self.periodic_nak().then_some(self.next_nak_time),
                    Timer::Nak,
                );
                arm(Some(self.exp_deadline()), Timer::Exp);
                arm(self.send_timer(), Timer::Send);
                arm(self.linger_deadline, Timer::Linger);
            }
            // Wake up to be reclaimed (see `reclaimable`).
            SocketState::Closed => arm(
                self.ended_at.map(|t| t + Duration::from_secs(1)),
                Timer::Reclaim,
            ),
            SocketState::Broken => arm(
                self.ended_at.map(|t| t + Duration::from_secs(60)),
                Timer::Reclaim,
            ),
            _ => {}
        }
        next
    }

    /// Writes the next packet due at `now` into `buf` (a control packet first, data only
    /// with `data`); returns its length. With `tail`, a data packet's payload is not copied
    /// after its header but handed out there.
    pub(crate) fn poll_transmit(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        data: bool,
        tail: Option<&mut Option<Bytes>>,
    ) -> Option<usize> {
        while let Some(out) = self.outgoing.pop_front() {
            match self.emit_control(out, buf) {
                0 => continue, // nothing left to say (a NAK overtaken by arrivals)
                n => return Some(n),
            }
        }
        if data && matches!(self.state, SocketState::Connected | SocketState::Closing) {
            return self.poll_data(now, buf, tail);
        }
        None
    }

    fn emit_control(&mut self, out: Outgoing, buf: &mut [u8]) -> usize {
        let mut nak = [0u8; MAX_NAK_BYTES];
        let (dest, control) = match out {
            // Requests before the peer's id is known go to 0 (§3.8).
            Outgoing::Handshake(hs) => (self.handshake_dest(&hs), Control::Handshake(hs)),
            Outgoing::KeepAlive => (self.peer_id, Control::KeepAlive),
            Outgoing::Ack(a) => (self.peer_id, Control::Ack(a)),
            Outgoing::Nak(first, last) => {
                let n = LossList::encode([(wire_seq(first), wire_seq(last))], &mut nak);
                let Some(list) = parsed_nak(&nak, n) else {
                    return 0;
                };
                (self.peer_id, Control::Nak(list))
            }
            Outgoing::NakRanges(ranges) => {
                let ranges = ranges.iter().map(|&(a, b)| (wire_seq(a), wire_seq(b)));
                let n = LossList::encode(ranges, &mut nak);
                let Some(list) = parsed_nak(&nak, n) else {
                    return 0; // nothing left to report
                };
                (self.peer_id, Control::Nak(list))
            }
            Outgoing::Ack2(n) => (self.peer_id, Control::Ack2(n)),
            Outgoing::Shutdown => (self.peer_id, Control::Shutdown),
            Outgoing::Drop(d) => (self.peer_id, Control::DropRequest(d)),
        };
        let packet = Packet::Control(ControlPacket {
            timestamp: 0,
            dest,
            control,
        });
        // Control packets are at most 64 bytes; drivers hand in MSS-sized buffers.
        packet.emit(buf).unwrap_or(0)
    }

    pub(crate) fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    // ---- Application calls ----

    /// Stream send: queues as much of `data` as fits, as one message.
    pub(crate) fn send(&mut self, now: Instant, data: &[u8]) -> Result<usize, Error> {
        let n = self.stream_room(data.len())?;
        if n > 0 {
            self.enqueue(now, &data[..n], false, None);
        }
        Ok(n)
    }

    /// Zero-copy stream send: like [`Self::send`], but the send buffer keeps (a
    /// slice of) `data` itself instead of a copy.
    pub(crate) fn send_shared(&mut self, now: Instant, data: bytes::Bytes) -> Result<usize, Error> {
        let n = self.stream_room(data.len())?;
        if n > 0 {
            self.enqueue(now, data.slice(..n), false, None);
        }
        Ok(n)
    }

    /// How many of `len` bytes a stream send may queue now.
    fn stream_room(&self, len: usize) -> Result<usize, Error> {
        self.check_sendable()?;
        if self.opts.socket_type != crate::packet::SocketType::Stream {
            return Err(Error::DgramIllegal);
        }
        if len == 0 {
            return Ok(0);
        }
        let room = self.snd.free_packets() * self.payload_size;
        if room == 0 {
            return Err(Error::WouldBlock);
        }
        Ok(len.min(room))
    }

    /// Message send: the whole message or nothing.
    pub(crate) fn send_msg(
        &mut self,
        now: Instant,
        data: &[u8],
        ttl: Option<Duration>,
        in_order: bool,
    ) -> Result<(), Error> {
        self.check_sendable()?;
        if self.opts.socket_type != crate::packet::SocketType::Dgram {
            return Err(Error::StreamIllegal);
        }
        let packets = data.len().div_ceil(self.payload_size).max(1);
        if packets > self.snd.capacity() {
            return Err(Error::MessageTooLarge);
        }
        if packets > self.snd.free_packets() {
            return Err(Error::WouldBlock);
        }
        self.enqueue(now, data, in_order, ttl);
        Ok(())
    }

    fn check_sendable(&self) -> Result<(), Error> {
        match self.state {
            SocketState::Connected => Ok(()),
            SocketState::Connecting => Err(Error::NoConnection),
            SocketState::Broken => Err(Error::ConnectionLost),
            _ => Err(Error::NoConnection),
        }
    }

    fn enqueue<'a>(
        &mut self,
        now: Instant,
        data: impl Into<send_buf::Data<'a>>,
        in_order: bool,
        ttl: Option<Duration>,
    ) {
        if self.snd.len_packets() == 0 {
            // UDT4 restarts the EXP clock when sending resumes after idling.
            self.last_response = now;
        }
        let msg = self.next_msg;
        self.next_msg = msg.next_message();
        self.snd
            .push_message(data.into(), self.payload_size, msg, in_order, ttl, now);
        self.schedule_send(now, false);
    }

    /// Stream receive: bytes acknowledged so far. `Ok(0)`: nothing yet.
    pub(crate) fn recv(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let mut n = 0;
        self.recv_with(buf.len(), |chunk| {
            buf[n..n + chunk.len()].copy_from_slice(chunk);
            n += chunk.len();
        })
    }

    /// Stream receive without a copy: up to `max` bytes acknowledged so far, handed to `f`
    /// in order. `Ok(0)`: nothing yet.
    pub(crate) fn recv_with(&mut self, max: usize, f: impl FnMut(&[u8])) -> Result<usize, Error> {
        if self.opts.socket_type != crate::packet::SocketType::Stream {
            return Err(Error::DgramIllegal);
        }
        let n = self.rcv.read_stream_with(max, self.rcv_last_ack, f);
        self.stats.bytes_delivered_total += n as u64;
        if n == 0 && max > 0 {
            self.readable_or_error()?;
        }
        Ok(n)
    }

    /// Message receive: the next whole message, if one is ready.
    pub(crate) fn recv_msg(&mut self) -> Result<Option<Vec<u8>>, Error> {
        if self.opts.socket_type != crate::packet::SocketType::Dgram {
            return Err(Error::StreamIllegal);
        }
        match self.rcv.read_message(self.rcv_last_ack) {
            Some(m) => {
                self.stats.bytes_delivered_total += m.len() as u64;
                Ok(Some(m))
            }
            None => self.readable_or_error().map(|_| None),
        }
    }

    /// Nothing to read: fine while connected; an error once the connection is
    /// over and drained.
    fn readable_or_error(&self) -> Result<(), Error> {
        match self.state {
            SocketState::Broken => Err(Error::ConnectionLost),
            SocketState::Closed | SocketState::NonExist => Err(Error::NoConnection),
            _ => Ok(()),
        }
    }

    /// Closes the connection: linger until the peer acknowledged everything (or the
    /// linger time passes), then one shutdown packet.
    pub(crate) fn close(&mut self, now: Instant) {
        match self.state {
            SocketState::Connected
                if self.snd.len_packets() > 0 && self.opts.linger > Duration::ZERO =>
            {
                self.state = SocketState::Closing;
                self.linger_deadline = Some(now + self.opts.linger);
            }
            SocketState::Connected => self.finish_close(now),
            SocketState::Closing | SocketState::Closed => {}
            _ => {
                self.state = SocketState::Closed;
                self.connecting = None;
                self.ended_at.get_or_insert(now);
            }
        }
    }

    fn check_linger(&mut self, now: Instant) {
        if self.state != SocketState::Closing {
            return;
        }
        let expired = self.linger_deadline.is_some_and(|d| now >= d);
        if self.snd.len_packets() == 0 || expired {
            self.finish_close(now);
        }
    }

    fn finish_close(&mut self, now: Instant) {
        if !self.peer_shutdown && !self.shutdown_sent {
            self.outgoing.push_back(Outgoing::Shutdown);
            self.shutdown_sent = true;
        }
        self.state = SocketState::Closed;
        self.next_send_ns = None;
        self.linger_deadline = None;
        self.ended_at = Some(now);
    }

    /// Whether the endpoint may forget this connection: closed and drained, or
    /// broken and left alone for a minute (UDT4's garbage collector keeps broken
    /// sockets with unread data for up to 60 rounds of 1 s).
    pub(crate) fn reclaimable(&self, now: Instant) -> bool {
        let since = |d: Duration| self.ended_at.is_some_and(|t| now.saturating_since(t) >= d);
        match self.state {
            SocketState::Closed => {
                self.outgoing.is_empty() && self.events.is_empty() && since(Duration::from_secs(1))
            }
            SocketState::Broken => since(Duration::from_secs(60)),
            _ => false,
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        let mut s = self.stats;
        s.send_period_us = self.ctl.pkt_snd_period_us;
        s.cwnd = self.ctl.cwnd;
        s.flow_window = self.flow_window;
        s.flight_size = self.snd_next.saturating_sub(self.snd_last_ack) as u32;
        s.rtt_us = self.rtt;
        s.rtt_var_us = self.rtt_var;
        s.bandwidth_pps = self.peer_bandwidth;
        s.recv_rate_pps = self.peer_rcv_rate;
        s.send_buffer_bytes = self.snd.len_bytes() as u64;
        s.recv_buffer_free = self.rcv.available(self.rcv_last_ack) as u32;
        s
    }

    /// The timestamp data packets carry: µs since the socket opened, truncated.
    fn timestamp(&self, now: Instant) -> u32 {
        now.saturating_since(self.start).as_micros() as u32
    }

    fn update_rtt(&mut self, sample: u32) {
        let diff = self.rtt.abs_diff(sample);
        self.rtt_var = ((3 * u64::from(self.rtt_var) + u64::from(diff)) >> 2) as u32;
        self.rtt = ((7 * u64::from(self.rtt) + u64::from(sample)) >> 3) as u32;
    }
}
