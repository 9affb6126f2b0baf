//! TCP NewReno window control: UDT4's `CTCP` example (`udt-protocol.md` §6.4) with the
//! recovery point of NewReno.
//!
//! Sources: RFC 5681 (slow start, congestion avoidance, fast retransmit / fast
//! recovery), RFC 6582 (NewReno's "recover" variable: one window reduction per window
//! of data), RFC 6298 (the 1 s minimum RTO that `CTCP` uses).
//!
//! In UDT a NAK plays the role of the third duplicate ACK, and retransmissions are
//! not limited by the window, so fast recovery needs no window inflation: on a NAK
//! naming data sent after the last reduction, ssthresh := max(cwnd / 2, 2) and
//! cwnd := ssthresh (Linux's `tcp_reno_ssthresh` halves cwnd rather than the flight
//! size; with a full window the two agree). The window then holds until the
//! recovery point is acknowledged. A timeout sets ssthresh the same way and cwnd := 2.

use super::window::{LossBased, WindowRule};
use super::CcContext;

/// Reno's congestion avoidance: one packet per window of ACKed packets; halve on loss.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reno;

impl WindowRule for Reno {
    fn increase(&mut self, _ctx: &CcContext, cwnd: f64, acked: f64) -> f64 {
        cwnd + acked / cwnd
    }

    fn on_congestion(&mut self, _ctx: &CcContext, cwnd: f64) -> f64 {
        cwnd / 2.0
    }
}

/// TCP NewReno (`newreno`).
pub type NewReno = LossBased<Reno>;

#[cfg(test)]
mod tests {
    use super::super::harness::Harness;
    use super::*;
    use crate::time::Duration;

    /// Slow start from 2 to `cwnd`, a loss, and the end of recovery: in congestion
    /// avoidance at `cwnd / 2`.
    pub(crate) fn in_avoidance(cwnd: f64) -> Harness<NewReno> {
        let mut h = Harness::new(NewReno::default());
        while h.ctl.cwnd < cwnd {
            h.ack_round(4);
        }
        let window = h.ctl.cwnd as u32;
        h.nak_newest();
        h.ack_after(Duration::from_millis(100), window);
        h
    }

    #[test]
    fn starts_like_ctcp_and_doubles_per_round_in_slow_start() {
        let mut h = Harness::new(NewReno::default());
        assert_eq!((h.ctl.cwnd, h.ctl.pkt_snd_period_us), (2.0, 0.0));
        assert_eq!(h.ctl.ack_interval, 2);
        assert_eq!(h.ctl.rto, Some(Duration::from_secs(1)));
        h.ack_round(1);
        assert_eq!(h.ctl.cwnd, 4.0);
        h.ack_round(2);
        assert_eq!(h.ctl.cwnd, 8.0);
    }

    #[test]
    fn halves_on_loss_once_per_window() {
        let mut h = Harness::new(NewReno::default());
        for _ in 0..6 {
            h.ack_round(4);
        }
        assert_eq!(h.ctl.cwnd, 128.0);
        h.nak_newest();
        assert_eq!((h.ctl.cwnd, h.cc.ssthresh()), (64.0, 64.0));
        // More losses from the same window: no further reduction, and the window
        // holds while recovering.
        let old = h.acked.add(3);
        h.nak(old);
        h.nak_newest();
        h.ack_after(Duration::from_millis(10), 20);
        assert_eq!(h.ctl.cwnd, 64.0);
        // Everything sent before the loss acknowledged: a loss of newer data halves.
        h.ack_after(Duration::from_millis(90), 108);
        h.nak_newest();
        assert_eq!(h.ctl.cwnd, 32.0);
    }

    #[test]
    fn congestion_avoidance_adds_one_packet_per_window() {
        let mut h = in_avoidance(128.0);
        assert_eq!(h.ctl.cwnd, 64.0);
        let start = h.ctl.cwnd;
        // 64 ACKs of one packet each: Σ 1/cwnd ≈ 1.
        for _ in 0..64 {
            h.ack_after(Duration::from_millis(1), 1);
        }
        assert!((h.ctl.cwnd - start - 0.99).abs() < 0.02, "{}", h.ctl.cwnd);
    }

    #[test]
    fn timeout_restarts_slow_start_from_two() {
        let mut h = in_avoidance(128.0);
        let before = h.ctl.cwnd;
        h.timeout();
        assert_eq!(h.ctl.cwnd, 2.0);
        assert_eq!(h.cc.ssthresh(), before / 2.0);
        // Losses of data sent before the timeout do not reduce again.
        h.nak_newest();
        assert_eq!(h.ctl.cwnd, 2.0);
        h.ack_round(1);
        assert_eq!(h.ctl.cwnd, 4.0, "slow start again");
    }
}
