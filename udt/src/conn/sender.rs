//! The sending half: the send schedule (pacing by the packet-sending period,
//! retransmissions first, the window limit), and what ACKs and NAKs do to it
//! (`udt-protocol.md` §6.1, §8.1).

use bytes::Bytes;

use super::{unwrap_seq, wire_seq, Connection, Event, Outgoing};
use crate::packet::{Ack, DataPacket, DropRequest, LossList, HEADER_LEN};
use crate::time::{Duration, Instant};
use crate::{Error, Profile};

/// How far behind schedule the sender may fall before it stops catching up: a
/// late driver gets a burst that keeps the average rate, not an unbounded one.
const MAX_LATENESS_NS: u64 = Duration::SYN.as_micros() * 1000;

impl Connection {
    /// Puts the sender on the schedule. `now_exactly` moves an already scheduled
    /// sender to `now` (UDT4 does so on NAK and timeout).
    pub(super) fn schedule_send(&mut self, now: Instant, now_exactly: bool) {
        if self.next_send_ns.is_none() || now_exactly {
            self.next_send_ns = Some(now.as_micros() * 1000);
        }
    }

    /// The inter-packet interval in nanoseconds: the CC's period, floored by the
    /// maximum bandwidth (saturating: a stalled control's huge period stays huge).
    fn period_ns(&self) -> u64 {
        let floor = self
            .opts
            .max_bandwidth
            .filter(|&bw| bw > 0)
            .map_or(0.0, |bw| f64::from(self.mss) * 1e6 / bw as f64);
        (self.ctl.pkt_snd_period_us.max(floor) * 1000.0).round() as u64
    }

    /// The next data packet, if the schedule says one is due (`tail`: see
    /// [`Connection::poll_transmit`]).
    pub(super) fn poll_data(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        tail: Option<&mut Option<Bytes>>,
    ) -> Option<usize> {
        let t = now.as_micros() * 1000;
        let at = self.next_send_ns?;
        if at > t {
            return None;
        }
        let at = match self.opts.profile {
            Profile::Improved => at.max(t.saturating_sub(MAX_LATENESS_NS)),
            // UDT4 (`m_ullTimeDiff`) owes the sender every microsecond it was late.
            Profile::Reference => at,
        };
        let Some((len, seq)) = self.next_data_packet(now, buf, tail) else {
            // Nothing may go: leave the schedule until an ACK, NAK, timeout or
            // new data puts the sender back on it.
            self.next_send_ns = None;
            return None;
        };
        // Packet pairs: a new packet whose seq ends in 0x0 is followed at once by
        // the next one, so the receiver can measure the link capacity.
        let pair = seq & 0xF == 0;
        self.next_send_ns = Some(if pair {
            at
        } else {
            at.saturating_add(self.period_ns())
        });
        Some(len)
    }

    /// Retransmission first, then new data within the window. Returns the packet
    /// length and, for new packets, the low bits of the sequence number (else 1).
    fn next_data_packet(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        tail: Option<&mut Option<Bytes>>,
    ) -> Option<(usize, u32)> {
        while let Some(seq) = self.snd_loss.pop_first() {
            if seq < self.snd.base || seq >= self.snd_next {
                continue; // already acknowledged, or never sent
            }
            let block = *self.snd.block(seq).expect("between base and snd_next");
            if block.expired(now) {
                // The message's TTL ran out: tell the receiver instead of resending.
                // UDT4 names this packet and one past the message's end (§2.6);
                // naming the whole message lets the receiver discard the parts it
                // already holds too, and UDT4 receivers take the range the same way.
                let (first, last) = self.snd.message_span(seq);
                let named = match self.opts.profile {
                    Profile::Improved => (first, last),
                    Profile::Reference => (seq, last + 1),
                };
                // The sender forgets the whole message in both profiles: UDT4 also
                // drops the loss entry one past the end, a packet of the next
                // message, which would lose live data.
                self.snd_loss.remove_range(first, last);
                // Packets of the message that never went out never will.
                self.snd_next = self.snd_next.max(last + 1);
                self.stats.msg_dropped_total += 1;
                let len = self.emit_control(
                    Outgoing::Drop(DropRequest {
                        msg: block.msg,
                        first: wire_seq(named.0),
                        last: wire_seq(named.1),
                    }),
                    buf,
                );
                return Some((len, 1));
            }
            let len = self.emit_data(now, seq, buf, tail)?;
            self.stats.pkt_retrans_total += 1;
            return Some((len, 1));
        }
        let window = self.flow_window.min(self.ctl.cwnd.max(1.0) as u32);
        let in_flight = self.snd_next - self.snd_last_ack;
        if in_flight >= u64::from(window) || self.snd_next >= self.snd.end() {
            return None;
        }
        let seq = self.snd_next;
        let len = self.emit_data(now, seq, buf, tail)?;
        self.snd_next += 1;
        Some((len, seq as u32 & 0xF))
    }

    /// Writes data packet `seq` into `buf`, or only its header with `tail`, which then
    /// holds the payload. Returns the bytes written.
    fn emit_data(
        &mut self,
        now: Instant,
        seq: u64,
        buf: &mut [u8],
        tail: Option<&mut Option<Bytes>>,
    ) -> Option<usize> {
        let block = *self.snd.block(seq)?;
        let payload = self.snd.payload(seq)?;
        let len = payload.len();
        let (header, rest) = buf.split_first_chunk_mut()?;
        let written = match tail {
            Some(tail) => {
                *tail = Some(payload.clone());
                HEADER_LEN
            }
            None => {
                rest.get_mut(..len)?.copy_from_slice(payload);
                HEADER_LEN + len
            }
        };
        let packet = DataPacket {
            seq: wire_seq(seq),
            boundary: block.boundary,
            in_order: block.in_order,
            msg: block.msg,
            timestamp: self.timestamp(now),
            dest: self.peer_id,
            payload,
        };
        packet.emit_header(header);
        self.stats.pkt_sent_total += 1;
        self.stats.bytes_sent_total += len as u64;
        let ctx = self.cc_context(now);
        self.cc.on_pkt_sent(&ctx, &mut self.ctl, wire_seq(seq));
        Some(written)
    }

    /// A full or light ACK from the receiver (§8.1).
    pub(super) fn on_ack(&mut self, now: Instant, ack: &Ack) {
        let seq = unwrap_seq(self.snd_last_ack, ack.seq);
        let Some(info) = ack.full else {
            // Light ACK: only the window moves.
            if seq >= self.snd_last_ack && seq <= self.snd_next {
                let acked = (seq - self.snd_last_ack) as u32;
                self.flow_window = self.flow_window.saturating_sub(acked);
                self.snd_last_ack = seq;
            }
            return;
        };
        self.outgoing.push_back(Outgoing::Ack2(ack.ack_number));
        if seq > self.snd_next {
            // Acknowledging what was never sent: UDT4 treats it as an attack.
            self.fail(now, Error::ConnectionLost);
            return;
        }
        if seq >= self.snd_last_ack {
            self.flow_window = info.avail_buffer;
            self.snd_last_ack = seq;
        }
        if seq <= self.snd.base {
            return; // nothing new
        }
        let before = self.snd.len_bytes();
        self.snd.release_before(seq);
        self.stats.bytes_acked_total += (before - self.snd.len_bytes()) as u64;
        self.snd_loss.remove_below(seq);
        self.events.push_back(Event::Writable);
        self.update_rtt(info.rtt);
        if let Some(r) = info.rates {
            if r.arrival_rate > 0 {
                self.peer_rcv_rate =
                    ((7 * u64::from(self.peer_rcv_rate) + u64::from(r.arrival_rate)) >> 3) as u32;
            }
            if r.link_capacity > 0 {
                self.peer_bandwidth =
                    ((7 * u64::from(self.peer_bandwidth) + u64::from(r.link_capacity)) >> 3) as u32;
            }
        }
        let ctx = self.cc_context(now);
        self.cc.on_ack(&ctx, &mut self.ctl, ack.seq);
        self.stats.pkt_recv_ack_total += 1;
        self.schedule_send(now, false);
        self.check_linger(now);
    }

    /// A loss report: CC first, then the losses join the sender loss list.
    pub(super) fn on_nak(&mut self, now: Instant, list: LossList<'_>) {
        self.stats.pkt_recv_nak_total += 1;
        // A NAK naming only losses reported before is the improved receiver asking again
        // for an overdue retransmission, not news of congestion: the congestion control
        // hears each loss once, as it would from a UDT4 receiver, which never repeats.
        let newest = list
            .ranges()
            .map(|(_, last)| unwrap_seq(self.snd_last_ack, last))
            .max();
        let news = newest.is_some_and(|n| self.snd_highest_nak.is_none_or(|h| n > h));
        if news || self.opts.profile == crate::Profile::Reference {
            let ctx = self.cc_context(now);
            self.cc.on_loss(&ctx, &mut self.ctl, list);
        }
        self.snd_highest_nak = self.snd_highest_nak.max(newest);
        for (first, last) in list.ranges() {
            let (a, b) = (
                unwrap_seq(self.snd_last_ack, first),
                unwrap_seq(self.snd_last_ack, last),
            );
            if a > b || b >= self.snd_next {
                // Reporting the loss of what was never sent breaks the connection.
                self.fail(now, Error::ConnectionLost);
                return;
            }
            let a = a.max(self.snd_last_ack);
            if a <= b {
                self.stats.pkt_snd_loss_total += self.snd_loss.insert(a, b);
            }
        }
        self.schedule_send(now, true);
    }
}
