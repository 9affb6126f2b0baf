//! One direction of a link, as a sans-IO component: [`LinkDir::enqueue`] takes a packet at
//! `now`; [`LinkDir::next_delivery`] and [`LinkDir::pop_due`] hand it out when it arrives.
//!
//! Model, in order: the link must be up; the IP datagram must fit the MTU; drop-tail queue in
//! front of a transmitter of `rate` (serialisation delay, exact over time — remainders carry);
//! then on the wire: loss model, corruption (dropped as a UDP checksum failure), propagation
//! delay plus jitter (order preserved), optional reordering (an extra delay for a fraction of
//! packets, which then overtake nobody but are overtaken) and duplication.

use crate::loss::LossModel;
use crate::packet::Packet;
use crate::rng::{chance, normal, unit, SimRng};
use crate::scenario::units::QueueLimit;
use crate::sim::Timed;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Extra one-way delay drawn per packet, always zero or more.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Jitter {
    /// No jitter.
    #[default]
    None,
    /// Uniform in `[0, max]` ns.
    Uniform {
        /// Upper bound, ns.
        max: u64,
    },
    /// Normal with `mean` and `stddev` ns, clamped at zero.
    Normal {
        /// Mean, ns.
        mean: u64,
        /// Standard deviation, ns.
        stddev: u64,
    },
    /// Pareto with minimum `scale` ns and `shape` α, shifted to start at zero and capped at
    /// 100 × scale: heavy-tailed delay spikes.
    Pareto {
        /// Scale (minimum of the unshifted distribution), ns.
        scale: u64,
        /// Shape α > 0.
        shape: f64,
    },
}

impl Jitter {
    fn sample(&self, rng: &mut SimRng) -> u64 {
        match *self {
            Jitter::None => 0,
            Jitter::Uniform { max } => (unit(rng) * (max as f64 + 1.0)) as u64,
            Jitter::Normal { mean, stddev } => {
                (mean as f64 + normal(rng) * stddev as f64).max(0.0) as u64
            }
            Jitter::Pareto { scale, shape } => {
                let u = 1.0 - unit(rng); // (0, 1]
                let x = scale as f64 / u.powf(1.0 / shape) - scale as f64;
                x.min(scale as f64 * 100.0) as u64
            }
        }
    }
}

/// Parameters of one link direction; all may change during a run.
#[derive(Clone, Debug)]
pub struct LinkParams {
    /// Bits per second; `None` means serialisation takes no time.
    pub rate: Option<u64>,
    /// One-way propagation delay, ns.
    pub delay: u64,
    /// Per-packet extra delay.
    pub jitter: Jitter,
    /// Drop-tail limit; `None` is unbounded.
    pub queue: Option<QueueLimit>,
    /// Loss on the wire.
    pub loss: LossModel,
    /// Fraction of packets held back by `reorder_delay` so that later ones overtake them.
    pub reorder: f64,
    /// Extra delay of a reordered packet, ns.
    pub reorder_delay: u64,
    /// Fraction of packets delivered twice.
    pub duplicate: f64,
    /// Fraction of packets corrupted (and so dropped by the receiver's UDP checksum).
    pub corrupt: f64,
    /// Largest IP datagram carried, bytes; larger ones are dropped (no fragmentation).
    pub mtu: usize,
    /// False while the link is down: everything offered or in flight is lost.
    pub up: bool,
}

impl Default for LinkParams {
    fn default() -> Self {
        LinkParams {
            rate: None,
            delay: 0,
            jitter: Jitter::None,
            queue: None,
            loss: LossModel::None,
            reorder: 0.0,
            reorder_delay: 0,
            duplicate: 0.0,
            corrupt: 0.0,
            mtu: 1500,
            up: true,
        }
    }
}

/// Why a link dropped a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// The link was down.
    Down,
    /// Larger than the MTU.
    Mtu,
    /// The queue was full (drop-tail).
    QueueFull,
    /// The loss model chose it.
    Loss,
    /// Corrupted on the wire; the receiver's checksum rejects it.
    Corrupt,
}

/// Counters of one link direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct LinkCounters {
    /// Packets offered.
    pub offered: u64,
    /// Bytes offered (IP datagram sizes).
    pub offered_bytes: u64,
    /// Packets delivered to the far end (duplicates included).
    pub delivered: u64,
    /// Bytes delivered.
    pub delivered_bytes: u64,
    /// Dropped because the link was down.
    pub dropped_down: u64,
    /// Dropped for exceeding the MTU.
    pub dropped_mtu: u64,
    /// Dropped by the full queue.
    pub dropped_queue: u64,
    /// Dropped by the loss model.
    pub dropped_loss: u64,
    /// Dropped as corrupted.
    pub dropped_corrupt: u64,
    /// Extra copies made.
    pub duplicated: u64,
    /// Packets held back for reordering.
    pub reordered: u64,
    /// Largest queue occupancy seen, packets.
    pub max_queue_packets: u64,
}

/// A packet on the wire and when it arrives.
type InFlight = Timed<Packet>;

/// One direction of a link.
pub struct LinkDir {
    params: LinkParams,
    rng: SimRng,
    /// When the transmitter finishes the last accepted packet.
    tx_free_at: u64,
    /// Remainder of the serialisation-time division, in ns·bit/s, carried to the next packet.
    tx_carry: u64,
    /// (serialisation end, bytes) of packets not yet fully serialised.
    queue: VecDeque<(u64, u64)>,
    queue_bytes: u64,
    /// Packets on the wire in arrival order: their arrival times never decrease (order is
    /// preserved), so a queue does what a heap would, in O(1).
    in_flight: VecDeque<InFlight>,
    /// Packets held back for reordering (and their duplicates), which arrive out of turn.
    held: BinaryHeap<Reverse<InFlight>>,
    last_arrival: u64,
    seq: u64,
    counters: LinkCounters,
}

impl LinkDir {
    /// A link direction drawing from `rng`.
    pub fn new(params: LinkParams, rng: SimRng) -> Self {
        LinkDir {
            params,
            rng,
            tx_free_at: 0,
            tx_carry: 0,
            queue: VecDeque::new(),
            queue_bytes: 0,
            in_flight: VecDeque::new(),
            held: BinaryHeap::new(),
            last_arrival: 0,
            seq: 0,
            counters: LinkCounters::default(),
        }
    }

    /// Current parameters.
    pub fn params(&self) -> &LinkParams {
        &self.params
    }

    /// Changes parameters from `now` on. Taking the link down loses everything queued and in
    /// flight.
    pub fn set_params(&mut self, now: u64, params: LinkParams) {
        if !params.up && self.params.up {
            self.drain_queue(now);
            let lost = (self.in_flight.len() + self.held.len()) as u64;
            self.in_flight.clear();
            self.held.clear();
            self.counters.dropped_down += lost;
            self.queue.clear();
            self.queue_bytes = 0;
            self.tx_free_at = now;
            self.tx_carry = 0;
        }
        self.params = params;
    }

    /// Counters so far.
    pub fn counters(&self) -> &LinkCounters {
        &self.counters
    }

    fn drain_queue(&mut self, now: u64) {
        while let Some(&(end, bytes)) = self.queue.front() {
            if end > now {
                break;
            }
            self.queue.pop_front();
            self.queue_bytes -= bytes;
        }
    }

    /// Packets and bytes in the queue (waiting or being serialised) at `now`.
    pub fn occupancy(&mut self, now: u64) -> (u64, u64) {
        self.drain_queue(now);
        (self.queue.len() as u64, self.queue_bytes)
    }

    fn serialisation_ns(&mut self, bytes: u64, rate: u64) -> u64 {
        // In u64 when it fits (always, for packet sizes): a u128 division is a library call.
        let num = bytes
            .checked_mul(8 * 1_000_000_000)
            .and_then(|n| n.checked_add(self.tx_carry));
        let Some(num) = num else {
            let num = bytes as u128 * 8 * 1_000_000_000 + self.tx_carry as u128;
            self.tx_carry = (num % rate as u128) as u64;
            return (num / rate as u128) as u64;
        };
        self.tx_carry = num % rate;
        num / rate
    }

    /// Offers `packet` at `now`. Returns the reason when it is dropped at once or decided lost.
    pub fn enqueue(&mut self, now: u64, packet: Packet) -> Result<(), (DropReason, Packet)> {
        let index = self.counters.offered;
        let bytes = packet.wire_len() as u64;
        self.counters.offered += 1;
        self.counters.offered_bytes += bytes;
        if !self.params.up {
            self.counters.dropped_down += 1;
            return Err((DropReason::Down, packet));
        }
        if bytes as usize > self.params.mtu {
            self.counters.dropped_mtu += 1;
            return Err((DropReason::Mtu, packet));
        }
        // Every later draw happens in a fixed order per accepted packet.
        let lost = self.params.loss.lose(index, &mut self.rng);
        let depart = match self.params.rate {
            None => now,
            Some(rate) => {
                self.drain_queue(now);
                let full = match self.params.queue {
                    None => false,
                    Some(QueueLimit::Packets(n)) => self.queue.len() as u64 >= n,
                    Some(QueueLimit::Bytes(b)) => self.queue_bytes + bytes > b,
                };
                if full {
                    self.counters.dropped_queue += 1;
                    return Err((DropReason::QueueFull, packet));
                }
                let start = if self.tx_free_at <= now {
                    self.tx_carry = 0;
                    now
                } else {
                    self.tx_free_at
                };
                let end = start + self.serialisation_ns(bytes, rate);
                self.tx_free_at = end;
                self.queue.push_back((end, bytes));
                self.queue_bytes += bytes;
                self.counters.max_queue_packets =
                    self.counters.max_queue_packets.max(self.queue.len() as u64);
                end
            }
        };
        if lost {
            self.counters.dropped_loss += 1;
            return Err((DropReason::Loss, packet));
        }
        if chance(&mut self.rng, self.params.corrupt) {
            self.counters.dropped_corrupt += 1;
            return Err((DropReason::Corrupt, packet));
        }
        let jitter = self.params.jitter.sample(&mut self.rng);
        let mut at = (depart + self.params.delay + jitter).max(self.last_arrival);
        let held = chance(&mut self.rng, self.params.reorder);
        if held {
            self.counters.reordered += 1;
            at += self.params.reorder_delay.max(1);
        } else {
            self.last_arrival = at;
        }
        if chance(&mut self.rng, self.params.duplicate) {
            self.counters.duplicated += 1;
            self.push(at, packet.clone(), held);
        }
        self.push(at, packet, held);
        Ok(())
    }

    fn push(&mut self, at: u64, packet: Packet, held: bool) {
        self.seq += 1;
        let f = InFlight {
            at,
            seq: self.seq,
            item: packet,
        };
        if held {
            self.held.push(Reverse(f));
        } else {
            self.in_flight.push_back(f);
        }
    }

    /// Whether the next packet to arrive is a held-back one.
    fn next_is_held(&self) -> bool {
        match (self.in_flight.front(), self.held.peek()) {
            (Some(a), Some(Reverse(b))) => b < a,
            (a, _) => a.is_none(),
        }
    }

    /// When the next packet arrives at the far end.
    pub fn next_delivery(&self) -> Option<u64> {
        if self.next_is_held() {
            self.held.peek().map(|r| r.0.at)
        } else {
            self.in_flight.front().map(|f| f.at)
        }
    }

    /// The next packet that has arrived by `now`, if any.
    pub fn pop_due(&mut self, now: u64) -> Option<Packet> {
        let held = self.next_is_held();
        let at = if held {
            self.held.peek()?.0.at
        } else {
            self.in_flight.front()?.at
        };
        if at > now {
            return None;
        }
        let f = if held {
            self.held.pop()?.0
        } else {
            self.in_flight.pop_front()?
        };
        self.counters.delivered += 1;
        self.counters.delivered_bytes += f.item.wire_len() as u64;
        Some(f.item)
    }
}

#[cfg(test)]
mod tests;
