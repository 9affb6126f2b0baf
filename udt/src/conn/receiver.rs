//! The receiving half: storing data, detecting gaps (immediate NAK), generating
//! full and light ACKs, RTT from ACK2, and message drop requests
//! (`udt-protocol.md` §5.2–§5.7, §8.2).

use bytes::Bytes;

use super::send_buf::Data;
use super::{unwrap_seq, wire_seq, Connection, Event, Outgoing};
use crate::packet::{Ack, AckInfo, AckRates, DataPacket, DropRequest};
use crate::seq::AckNumber;
use crate::time::{Duration, Instant};

impl Connection {
    /// A data packet; `tail`, if given, is its payload to keep without a copy.
    pub(super) fn on_data(&mut self, now: Instant, d: &DataPacket<'_>, tail: Option<&Bytes>) {
        self.arrivals.on_arrival(now, d.seq.value());
        let ctx = self.cc_context(now);
        self.cc.on_pkt_received(&ctx, &mut self.ctl, d.seq);
        self.pkts_since_ack += 1;
        self.stats.pkt_recv_total += 1;

        let seq = unwrap_seq(self.rcv_largest, d.seq);
        // Only within [ACK point, ACK point + free buffer) is a packet stored.
        let window = self.rcv.available(self.rcv_last_ack);
        if seq < self.rcv_last_ack || seq - self.rcv_last_ack >= window {
            return;
        }
        let payload = tail.map_or(Data::Copied(d.payload), |t| Data::Shared(t.clone()));
        if !self.rcv.insert(seq, payload, d.boundary, d.msg) {
            return; // a duplicate
        }
        self.stats.bytes_recv_total += d.payload.len() as u64;

        if seq > self.rcv_largest + 1 {
            // A gap: report it at once.
            let (first, last) = (self.rcv_largest + 1, seq - 1);
            if self.rcv_loss.is_empty() {
                self.next_nak_time = now + self.nak_interval();
            }
            self.nak_times.reported(first, last, now);
            self.stats.pkt_rcv_loss_total += self.rcv_loss.insert(first, last);
            self.outgoing.push_back(Outgoing::Nak(first, last));
            self.stats.pkt_sent_nak_total += 1;
        }
        if seq > self.rcv_largest {
            self.rcv_largest = seq;
        } else if self.rcv_loss.remove(seq) && self.opts.profile == crate::Profile::Improved {
            self.report_overtaken(now, seq);
        }
        // A short packet ends a burst: acknowledge it without waiting.
        if d.payload.len() != self.payload_size {
            self.next_ack_time = now;
        }
    }

    /// UDT4 computes `RTT + 4·RTTVar + losses·10⁶/arrival rate`, floor 300 ms,
    /// after each NAK (§5.4).
    fn nak_interval(&self) -> Duration {
        let rate = u64::from(self.arrivals.arrival_rate());
        let drain = (self.rcv_loss.len() * 1_000_000)
            .checked_div(rate)
            .unwrap_or(0);
        let t = u64::from(self.rtt) + 4 * u64::from(self.rtt_var) + drain;
        Duration::from_micros(t.max(300_000))
    }

    /// Whether outstanding losses are due to be reported again.
    ///
    /// UDT 4.9–4.11 never repeat a NAK and leave lost retransmissions to the
    /// sender's EXP timer; but the receiver's repeated ACKs keep resetting that
    /// timer, and once the ACK is confirmed the receiver falls silent, so a lost
    /// retransmission stalls the transfer for an EXP period and then costs a
    /// go-back-N. Re-reporting outstanding losses every NAK interval, as the
    /// draft and earlier UDT releases do, repairs them; UDT4 senders accept
    /// repeated NAKs (§5.4). The reference profile does as UDT 4.11 does.
    pub(super) fn periodic_nak(&self) -> bool {
        self.opts.profile == crate::Profile::Improved && !self.rcv_loss.is_empty()
    }

    /// Re-reports the losses last reported at least a NAK interval ago: their
    /// retransmissions are overdue. Each loss keeps its own clock: a newer gap neither
    /// delays an older loss's re-report (at 1 Gbit/s and 1% a gap shows every ms or so)
    /// nor is repeated while its retransmission may still be on the way.
    pub(super) fn send_periodic_nak(&mut self, now: Instant) {
        let interval = self.nak_interval();
        let overdue = |t: Option<Instant>| t.is_none_or(|t| now.saturating_since(t) >= interval);
        let due: Vec<(u64, u64)> = self
            .rcv_loss
            .ranges()
            .filter(|&(s, _)| overdue(self.nak_times.last(s)))
            .take(self.nak_room())
            .collect();
        self.report_again(now, due);
        if let Some(first) = self.rcv_loss.first() {
            self.nak_times.forget_below(first);
        }
        let oldest = self
            .rcv_loss
            .ranges()
            .filter_map(|(s, _)| self.nak_times.last(s))
            .min();
        self.next_nak_time = oldest.unwrap_or(now) + interval;
    }

    /// `filled`, a reported loss, has arrived. The sender retransmits lowest first, so a
    /// loss below it that was reported no later has lost its retransmission too: report it
    /// again now, an RTT after its report, instead of a NAK interval (≥ 300 ms) later.
    /// At 1 Gbit/s the data held behind such a hole is most of the memory a connection
    /// uses. A packet that arrives within half an RTT of its report is taken for a late
    /// original (reordering), not a retransmission.
    fn report_overtaken(&mut self, now: Instant, filled: u64) {
        let Some(reported) = self.nak_times.last(filled) else {
            return;
        };
        if now.saturating_since(reported) < Duration::from_micros(u64::from(self.rtt / 2)) {
            return;
        }
        let due: Vec<(u64, u64)> = self
            .rcv_loss
            .ranges()
            .take_while(|&(s, _)| s < filled)
            .filter(|&(s, _)| self.nak_times.last(s).is_some_and(|t| t <= reported))
            .take(self.nak_room())
            .collect();
        self.report_again(now, due);
    }

    /// How many loss ranges one NAK holds.
    fn nak_room(&self) -> usize {
        super::payload_size(self.mss).min(super::MAX_NAK_BYTES) / 8
    }

    /// Sends one NAK naming `due` (at most [`Self::nak_room`] ranges) and restarts their
    /// report clocks.
    fn report_again(&mut self, now: Instant, due: Vec<(u64, u64)>) {
        for &(s, e) in &due {
            self.nak_times.reported(s, e, now);
        }
        if !due.is_empty() {
            self.outgoing.push_back(Outgoing::NakRanges(due));
            self.stats.pkt_sent_nak_total += 1;
        }
    }

    /// The ACK point: the first loss, or one past the largest received.
    fn ack_point(&self) -> u64 {
        self.rcv_loss.first().unwrap_or(self.rcv_largest + 1)
    }

    /// Whether the ACK timer has anything to say.
    pub(super) fn ack_pending(&self) -> bool {
        self.ack_point() != self.rcv_last_ack_ack
    }

    /// Sends a full ACK (or a light one), following UDT4's suppression rules.
    pub(super) fn send_ack(&mut self, now: Instant, light: bool) {
        let ack = self.ack_point();
        if ack == self.rcv_last_ack_ack {
            return; // the peer knows already
        }
        if light {
            self.outgoing.push_back(Outgoing::Ack(Ack {
                ack_number: AckNumber::new(0),
                seq: wire_seq(ack),
                full: None,
            }));
            return;
        }
        if ack > self.rcv_last_ack {
            self.rcv_last_ack = ack;
            // Data becomes readable only when a full ACK covers it.
            self.events.push_back(Event::Readable);
        } else if ack == self.rcv_last_ack {
            // Repeat an unconfirmed ACK only every RTT + 4·RTTVar.
            let repeat = Duration::from_micros(u64::from(self.rtt) + 4 * u64::from(self.rtt_var));
            if self
                .last_ack24_time
                .is_some_and(|t| now.saturating_since(t) < repeat)
            {
                return;
            }
        } else {
            return;
        }
        if self.rcv_last_ack <= self.rcv_last_ack_ack {
            return;
        }
        self.ack_number = self.ack_number.next();
        // UDT4 sends the rates when more than SYN has passed since it last did. It reads
        // that time before sending an ACK and the next ACK's deadline (SYN on) after, so a
        // timer-driven ACK always finds more than SYN passed; here both readings are one
        // instant, and an ACK exactly SYN later stands for it. With `>`, every other
        // timer-driven ACK of a simulated host went without rates (737 of 1,593 at
        // 10 Mbit/s, 3% loss; real hosts: 7 of 1,486).
        let due = self
            .last_ack24_time
            .is_none_or(|t| now.saturating_since(t) >= Duration::SYN);
        let rates = if due {
            self.last_ack24_time = Some(now);
            Some(AckRates {
                arrival_rate: self.arrivals.arrival_rate(),
                link_capacity: self.arrivals.link_capacity(),
            })
        } else {
            None
        };
        self.outgoing.push_back(Outgoing::Ack(Ack {
            ack_number: self.ack_number,
            seq: wire_seq(self.rcv_last_ack),
            full: Some(AckInfo {
                rtt: self.rtt,
                rtt_var: self.rtt_var,
                avail_buffer: self.rcv.available(self.rcv_last_ack).max(2) as u32,
                rates,
            }),
        }));
        self.ack_history
            .store(self.ack_number, self.rcv_last_ack, now);
        self.stats.pkt_sent_ack_total += 1;
    }

    /// An ACK2: the RTT sample, and the peer has our ACK.
    pub(super) fn on_ack2(&mut self, now: Instant, n: AckNumber) {
        let Some((ack, rtt)) = self.ack_history.acknowledge(n, now) else {
            return;
        };
        self.rcv_last_ack_ack = self.rcv_last_ack_ack.max(ack);
        self.update_rtt(rtt.min(u64::from(u32::MAX)) as u32);
    }

    /// The sender gave up on a message: forget its packets and losses.
    pub(super) fn on_drop_request(&mut self, d: &DropRequest) {
        let first = unwrap_seq(self.rcv_largest, d.first);
        let last = unwrap_seq(self.rcv_largest, d.last);
        if first > last || last - first > self.rcv.capacity() {
            return; // nonsense; nothing in the buffer can match
        }
        self.rcv.drop_message(first, last, d.msg);
        self.rcv_loss.remove_range(first, last);
        if first <= self.rcv_largest + 1 && self.rcv_largest < last {
            self.rcv_largest = last;
        }
    }
}
