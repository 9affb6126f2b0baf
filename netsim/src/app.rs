//! Workloads: what the applications on each side of a flow do with their UDT connection —
//! bulk transfer of N bytes or for a duration, or a stream of messages — and what they observe
//! (bytes, integrity, message latency, connect and completion times) — and the socket options
//! they open their connections with.

use crate::clock::{span_to_udt, to_udt};
use crate::scenario::{FlowSpec, Mode};
use std::sync::OnceLock;
use udt::packet::SocketType;
use udt::{ConnectionHandle as Conn, Endpoint, SocketOptions};

/// Period of the deterministic data pattern (a prime, so it does not line up with packets).
pub const PATTERN_PERIOD: usize = 65_521;

/// Bytes a bulk receiver takes per read.
const READ_SIZE: usize = 256 * 1024;

/// Bytes a bulk sender hands UDT per write, as `udt-send` and the reference library's peer
/// do (1 MiB). It shows on the wire: UDT packs each write on its own, so a write's tail
/// leaves as a short packet, which the receiver acknowledges at once (UDT4 does). Writes of
/// one pattern period (65,521 bytes) made a 1-byte packet every 45 and a quarter of the ACKs.
pub const WRITE_SIZE: usize = 1 << 20;

/// A period of the pattern and one write more, so that any write starts anywhere in it.
pub fn pattern() -> &'static [u8] {
    static P: OnceLock<Vec<u8>> = OnceLock::new();
    P.get_or_init(|| {
        let mut x: u32 = 0x1234_5678;
        let one: Vec<u8> = (0..PATTERN_PERIOD)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 24) as u8
            })
            .collect();
        one.iter()
            .cycle()
            .take(PATTERN_PERIOD + WRITE_SIZE)
            .copied()
            .collect()
    })
}

/// The bytes a bulk sender that has written `sent` bytes offers next: the rest of the current
/// write (UDT takes whole packets of it at a time), up to `target`; `None` when done.
pub fn next_write(sent: u64, target: Option<u64>) -> Option<&'static [u8]> {
    let remaining = target.map_or(u64::MAX, |t| t - sent);
    if remaining == 0 {
        return None;
    }
    let off = (sent % PATTERN_PERIOD as u64) as usize;
    let write_left = WRITE_SIZE - (sent % WRITE_SIZE as u64) as usize;
    let len = remaining.min(write_left as u64) as usize;
    Some(&pattern()[off..off + len])
}

/// True when `data` equals the pattern starting at stream offset `offset`.
pub fn pattern_matches(offset: u64, data: &[u8]) -> bool {
    let p = pattern();
    let mut off = (offset % PATTERN_PERIOD as u64) as usize;
    for chunk in data.chunks(PATTERN_PERIOD) {
        if p[off..off + chunk.len()] != *chunk {
            return false;
        }
        off = (off + chunk.len()) % PATTERN_PERIOD;
    }
    true
}

/// The `udt::SocketOptions` both ends of flow `f` use: its mode, congestion control and the
/// scenario's `options` (UDT's defaults for what it leaves out).
pub fn socket_options(f: &FlowSpec) -> SocketOptions {
    let mut s = SocketOptions {
        socket_type: match f.mode {
            Mode::Stream => SocketType::Stream,
            Mode::Message => SocketType::Dgram,
        },
        ..Default::default()
    };
    let x = &f.options;
    if let Some(v) = x.mss {
        s.mss = v;
    }
    if let Some(v) = x.flight_flag_size {
        s.flight_flag_size = v;
    }
    if let Some(v) = x.send_buffer {
        s.send_buffer = v;
    }
    if let Some(v) = x.recv_buffer {
        s.recv_buffer = v;
    }
    if let Some(v) = x.max_bandwidth {
        s.max_bandwidth = Some(v.0 / 8);
    }
    if let Some(v) = x.linger {
        s.linger = span_to_udt(v.0);
    }
    if let Some(p) = x.profile {
        s.profile = p.into();
    }
    if let Some(cc) = &f.cc {
        s.congestion = cc.clone();
    }
    s
}

/// Sees a message workload's messages inside the application, for tests that need more than
/// the workload's own checks: it may give a message another body before it is sent, and must
/// give a received message the workload's format back before the workload checks it.
pub trait MessageTap {
    /// Message `msg` (number, send time, body) is about to be sent.
    fn sending(&mut self, now: u64, msg: &mut [u8]);
    /// UDT took message `msg` (as `sending` left it).
    fn sent(&mut self, now: u64, msg: &[u8]);
    /// Message `msg` arrived.
    fn received(&mut self, now: u64, msg: &mut [u8]);
}

/// Which side of a flow an endpoint is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Connects (or first rendezvous peer); sends the data.
    Sender,
    /// Listens (or second rendezvous peer); receives the data.
    Receiver,
}

/// Runtime state and observations of one flow.
#[derive(Debug, Default)]
pub struct FlowState {
    /// The scenario's description.
    pub spec: Option<FlowSpec>,
    /// Sender endpoint index.
    pub sender_ep: usize,
    /// Receiver endpoint index.
    pub receiver_ep: usize,
    /// Sender connection.
    pub sender_conn: Option<Conn>,
    /// Receiver connection.
    pub receiver_conn: Option<Conn>,
    /// When the client started connecting.
    pub started_at: Option<u64>,
    /// When the sender saw the connection established.
    pub connected_at: Option<u64>,
    /// When the connect failed, and why.
    pub failed: Option<(u64, String)>,
    /// When the connection broke, and why.
    pub broken: Option<(u64, String)>,
    /// Bytes the sender handed to UDT.
    pub bytes_sent: u64,
    /// Bytes the receiver read.
    pub bytes_recv: u64,
    /// A received byte differed from what was sent.
    pub corrupted: bool,
    /// When the receiver had everything.
    pub completed_at: Option<u64>,
    /// Sending has ended (deadline, count, or stop).
    pub sending_done: bool,
    /// The flow was stopped.
    pub stopped: bool,
    /// Messages sent.
    pub msgs_sent: u64,
    /// Messages received.
    pub msgs_recv: u64,
    /// Messages received after a later one (in-order flows only).
    pub msgs_out_of_order: u64,
    /// Highest message number received plus one.
    pub next_msg: u64,
    /// Sum of message latencies, ns.
    pub latency_sum: u128,
    /// Largest message latency, ns.
    pub latency_max: u64,
    /// Sender statistics at the last sample or before closing.
    pub last_stats: Option<udt::Stats>,
    /// Scratch for building messages.
    pub msg_buf: Vec<u8>,
    /// UDT refused the last bulk offer; only a `Writable` event makes room again (the send
    /// buffer grows only as ACKs release it), so until one comes offering more is skipped.
    pub send_blocked: bool,
    /// The receiver read everything readable; only a `Readable` event (a full ACK moving the
    /// ACK point, or the connection ending) makes more, so until one comes reading is skipped.
    pub recv_drained: bool,
}

impl FlowState {
    /// The end of the flow's active window for a run that ended at `end` (ns): when it
    /// completed, when its `stop` came, or the end. It starts at [`FlowState::connected_at`].
    pub fn active_until(&self, end: u64) -> u64 {
        self.completed_at
            .or(self.spec().stop.map(|d| d.0.min(end)))
            .unwrap_or(end)
    }

    /// The spec (always set once built).
    pub fn spec(&self) -> &FlowSpec {
        self.spec.as_ref().expect("set when the world is built")
    }

    /// Total bytes to send, if the workload is a sized transfer.
    fn target(&self) -> Option<u64> {
        self.spec().transfer.map(|s| s.0)
    }

    /// Has nothing left to do (for stopping the run early).
    pub fn done(&self) -> bool {
        let s = self.spec();
        if self.failed.is_some()
            || self.broken.is_some()
            || self.stopped
            || self.completed_at.is_some()
        {
            return true;
        }
        let workload = s.transfer.is_some() || s.send_for.is_some() || s.messages.is_some();
        !workload && self.connected_at.is_some()
    }

    /// Offers bulk data to the sender connection until UDT stops taking it.
    pub fn pump_send(&mut self, now: u64, ep: &mut Endpoint) {
        let Some(c) = self.sender_conn else { return };
        if self.connected_at.is_none() || self.sending_done || self.spec().messages.is_some() {
            return;
        }
        if self.send_blocked || (self.target().is_none() && self.spec().send_for.is_none()) {
            return;
        }
        loop {
            let Some(slice) = next_write(self.bytes_sent, self.target()) else {
                self.sending_done = true;
                return;
            };
            // The pattern lives for the whole run: UDT keeps it without copying.
            let data = bytes::Bytes::from_static(slice);
            match ep.send_bytes(to_udt(now), c, data) {
                Ok(0) | Err(_) => {
                    self.send_blocked = true;
                    return;
                }
                Ok(n) => self.bytes_sent += n as u64,
            }
        }
    }

    /// Sends message number `msgs_sent` (message workloads).
    pub fn send_message(
        &mut self,
        now: u64,
        ep: &mut Endpoint,
        mut tap: Option<&mut (dyn MessageTap + 'static)>,
    ) {
        let Some(c) = self.sender_conn else { return };
        let Some(m) = self.spec().messages.clone() else {
            return;
        };
        let size = m.size.0 as usize;
        let mut buf = std::mem::take(&mut self.msg_buf);
        buf.clear();
        buf.extend_from_slice(&self.msgs_sent.to_le_bytes());
        buf.extend_from_slice(&now.to_le_bytes());
        let mut off = 0usize;
        while buf.len() < size {
            let n = (size - buf.len()).min(PATTERN_PERIOD);
            buf.extend_from_slice(&pattern()[off..off + n]);
            off = (off + n) % PATTERN_PERIOD;
        }
        if let Some(tap) = tap.as_deref_mut() {
            tap.sending(now, &mut buf);
        }
        let ttl = m.ttl.map(|d| span_to_udt(d.0));
        if ep.send_msg(to_udt(now), c, &buf, ttl, m.in_order).is_ok() {
            if let Some(tap) = tap {
                tap.sent(now, &buf);
            }
            self.msgs_sent += 1;
            self.bytes_sent += size as u64;
        }
        self.msg_buf = buf;
        if m.count.is_some_and(|n| self.msgs_sent >= n) {
            self.sending_done = true;
        }
    }

    /// Reads everything readable on the receiver connection.
    pub fn pump_recv(
        &mut self,
        now: u64,
        ep: &mut Endpoint,
        mut tap: Option<&mut (dyn MessageTap + 'static)>,
    ) {
        let Some(c) = self.receiver_conn else { return };
        if self.spec().messages.is_some() {
            while let Ok(Some(mut m)) = ep.recv_msg(c) {
                if let Some(tap) = tap.as_deref_mut() {
                    tap.received(now, &mut m);
                }
                self.on_message(now, &m);
            }
            if let Some(n) = self.spec().messages.as_ref().and_then(|m| m.count) {
                if self.msgs_recv >= n && self.completed_at.is_none() {
                    self.completed_at = Some(now);
                }
            }
            return;
        }
        while !self.recv_drained {
            // Checked where it lies in the receive buffer: no copy into the application.
            let (mut at, mut intact) = (self.bytes_recv, true);
            let read = ep.recv_with(c, READ_SIZE, |chunk| {
                intact &= pattern_matches(at, chunk);
                at += chunk.len() as u64;
            });
            match read {
                Ok(0) | Err(_) => self.recv_drained = true,
                Ok(n) => {
                    self.corrupted |= !intact;
                    self.bytes_recv += n as u64;
                    // Less than asked for: all that was readable (another call would return 0).
                    self.recv_drained = n < READ_SIZE;
                }
            }
        }
        let all = match (self.target(), self.spec().send_for) {
            (Some(t), _) => self.bytes_recv >= t,
            (None, Some(_)) => self.sending_done && self.bytes_recv >= self.bytes_sent,
            _ => false,
        };
        if all && self.completed_at.is_none() {
            self.completed_at = Some(now);
        }
    }

    /// Checks and counts one received message (size, pattern, order, latency).
    pub(crate) fn on_message(&mut self, now: u64, m: &[u8]) {
        let size = self
            .spec()
            .messages
            .as_ref()
            .map_or(0, |s| s.size.0 as usize);
        if m.len() != size || m.len() < 16 || !pattern_matches(0, &m[16..]) {
            self.corrupted = true;
            return;
        }
        let seq = u64::from_le_bytes(m[..8].try_into().expect("16 bytes checked above"));
        let sent = u64::from_le_bytes(m[8..16].try_into().expect("16 bytes checked above"));
        if seq < self.next_msg {
            self.msgs_out_of_order += 1;
        }
        self.next_msg = self.next_msg.max(seq + 1);
        self.msgs_recv += 1;
        self.bytes_recv += m.len() as u64;
        let lat = now.saturating_sub(sent);
        self.latency_sum += lat as u128;
        self.latency_max = self.latency_max.max(lat);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_wraps_and_matches_at_any_offset() {
        let p = pattern();
        assert_eq!(p.len(), PATTERN_PERIOD + WRITE_SIZE);
        assert!(pattern_matches(5, &p[5..1005]));
        assert!(pattern_matches(
            PATTERN_PERIOD as u64 * 3 + 7,
            &p[7..70_007 - PATTERN_PERIOD]
        ));
        assert!(!pattern_matches(6, &p[5..1005]));
        let long: Vec<u8> = p.iter().chain(p.iter()).copied().collect();
        assert!(
            !pattern_matches(0, &long),
            "p is not a whole number of periods"
        );
        let periods: Vec<u8> = p[..PATTERN_PERIOD].repeat(3);
        assert!(pattern_matches(0, &periods));
    }

    #[test]
    fn a_bulk_sender_writes_a_mebibyte_at_a_time_like_the_real_programs() {
        // A write's tail is a short packet on the wire: writes follow 1 MiB boundaries.
        assert_eq!(next_write(0, None).unwrap().len(), WRITE_SIZE);
        let rest = next_write(3 * 1456, None).unwrap();
        assert_eq!(rest.len(), WRITE_SIZE - 3 * 1456);
        assert!(pattern_matches(3 * 1456, rest));
        let far = WRITE_SIZE as u64 * 7 + 100;
        assert!(pattern_matches(far, next_write(far, None).unwrap()));
        assert_eq!(next_write(far, Some(far + 10)).unwrap().len(), 10);
        assert_eq!(next_write(far, Some(far)), None);
    }
}
