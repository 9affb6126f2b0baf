//! Receiver-side estimators: the ACK history used for RTT samples (UDT4
//! `CACKWindow`) and the packet arrival / packet-pair windows behind the arrival
//! rate and link capacity in ACKs (UDT4 `CPktTimeWindow(16, 64)`, §5.6–5.7).

use std::collections::VecDeque;

use crate::seq::AckNumber;
use crate::time::Instant;

/// Full ACKs sent and not yet answered by an ACK2.
#[derive(Debug, Default)]
pub(crate) struct AckHistory {
    sent: VecDeque<(AckNumber, u64, Instant)>,
}

impl AckHistory {
    const CAPACITY: usize = 1024;

    pub(crate) fn store(&mut self, number: AckNumber, ack: u64, now: Instant) {
        if self.sent.len() == Self::CAPACITY {
            self.sent.pop_front();
        }
        self.sent.push_back((number, ack, now));
    }

    /// The ACK2 for `number` arrived: returns the acknowledged sequence number and
    /// the RTT sample, and forgets that ACK and every older one.
    pub(crate) fn acknowledge(&mut self, number: AckNumber, now: Instant) -> Option<(u64, u64)> {
        let pos = self.sent.iter().position(|&(n, _, _)| n == number)?;
        let (_, ack, sent) = self.sent[pos];
        self.sent.drain(..=pos);
        Some((ack, now.saturating_since(sent).as_micros()))
    }
}

const ARRIVAL_WINDOW: usize = 16;
const PROBE_WINDOW: usize = 64;

/// Inter-arrival times of data packets and packet-pair gaps, in µs.
#[derive(Debug)]
pub(crate) struct ArrivalWindows {
    arrivals: [u32; ARRIVAL_WINDOW],
    arrival_next: usize,
    last_arrival: Instant,
    probes: [u32; PROBE_WINDOW],
    probe_next: usize,
    probe_start: Instant,
}

impl ArrivalWindows {
    pub(crate) fn new(now: Instant) -> Self {
        ArrivalWindows {
            arrivals: [1_000_000; ARRIVAL_WINDOW],
            arrival_next: 0,
            last_arrival: now,
            probes: [1000; PROBE_WINDOW],
            probe_next: 0,
            probe_start: now,
        }
    }

    /// Records a data packet's arrival; `seq & 0xF` of 0 and 1 mark a packet pair.
    pub(crate) fn on_arrival(&mut self, now: Instant, seq: u32) {
        let gap = |from: Instant| {
            now.saturating_since(from)
                .as_micros()
                .min(u64::from(u32::MAX)) as u32
        };
        self.arrivals[self.arrival_next] = gap(self.last_arrival);
        self.arrival_next = (self.arrival_next + 1) % ARRIVAL_WINDOW;
        self.last_arrival = now;
        match seq & 0xF {
            0 => self.probe_start = now,
            1 => {
                self.probes[self.probe_next] = gap(self.probe_start);
                self.probe_next = (self.probe_next + 1) % PROBE_WINDOW;
            }
            _ => {}
        }
    }

    /// UDT4 takes the median over all but the last entry of a window.
    fn median(window: &[u32]) -> u32 {
        let mut copy = [0u32; PROBE_WINDOW];
        let n = window.len() - 1;
        copy[..n].copy_from_slice(&window[..n]);
        let (_, m, _) = copy[..n].select_nth_unstable(window.len() / 2);
        *m
    }

    /// Packets per second, from the inter-arrival times near the median; 0 when too
    /// few are near it.
    pub(crate) fn arrival_rate(&self) -> u32 {
        let m = u64::from(Self::median(&self.arrivals));
        let (upper, lower) = (m << 3, m >> 3);
        let (mut count, mut sum) = (0u64, 0u64);
        for &x in &self.arrivals {
            let x = u64::from(x);
            if x < upper && x > lower {
                count += 1;
                sum += x;
            }
        }
        if count > (ARRIVAL_WINDOW as u64 >> 1) {
            let avg = (sum / count).max(1);
            (1_000_000f64 / avg as f64).ceil() as u32
        } else {
            0
        }
    }

    /// Link capacity in packets per second, from packet-pair gaps near the median.
    pub(crate) fn link_capacity(&self) -> u32 {
        let m = u64::from(Self::median(&self.probes));
        let (upper, lower) = (m << 3, m >> 3);
        let (mut count, mut sum) = (1u64, m);
        for &x in &self.probes {
            let x = u64::from(x);
            if x < upper && x > lower {
                count += 1;
                sum += x;
            }
        }
        let avg = (sum as f64 / count as f64).max(1.0);
        (1_000_000f64 / avg).ceil() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_windows_report_what_udt4_reports() {
        let w = ArrivalWindows::new(Instant::ZERO);
        assert_eq!(w.arrival_rate(), 1);
        assert_eq!(w.link_capacity(), 1000);
    }

    #[test]
    fn steady_arrivals_give_their_rate() {
        let mut w = ArrivalWindows::new(Instant::ZERO);
        for i in 1..=40u64 {
            w.on_arrival(Instant::from_micros(i * 100), i as u32);
        }
        assert_eq!(w.arrival_rate(), 10_000);
    }

    #[test]
    fn ack_history_matches_and_forgets_older() {
        let mut h = AckHistory::default();
        for i in 1..=5u32 {
            h.store(
                AckNumber::new(i),
                100 + u64::from(i),
                Instant::from_micros(u64::from(i) * 10),
            );
        }
        assert_eq!(
            h.acknowledge(AckNumber::new(3), Instant::from_micros(100)),
            Some((103, 70))
        );
        assert_eq!(
            h.acknowledge(AckNumber::new(2), Instant::from_micros(100)),
            None
        );
        assert_eq!(
            h.acknowledge(AckNumber::new(5), Instant::from_micros(100)),
            Some((105, 50))
        );
    }
}
