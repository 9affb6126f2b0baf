//! A fake connection for the algorithms' unit tests: it keeps a window of packets
//! in flight, acknowledges them at chosen times and reports losses, calling the
//! congestion control through the trait as the connection does.

use super::{CcContext, CcControl, CongestionControl};
use crate::packet::LossList;
use crate::seq::SeqNumber;
use crate::time::{Duration, Instant};

pub(super) struct Harness<C> {
    pub cc: C,
    pub ctx: CcContext,
    pub ctl: CcControl,
    /// The last full ACK's sequence number.
    pub acked: SeqNumber,
    /// Whether the sender refills the window after each ACK (else the test sets
    /// `ctx.snd_curr_seq` itself).
    pub auto_fill: bool,
}

impl<C: CongestionControl> Harness<C> {
    /// Connected at t = 0 with a 100 ms RTT and a flow window of a million packets.
    pub fn new(cc: C) -> Self {
        let ctx = CcContext {
            now: Instant::from_micros(0),
            mss: 1500,
            max_cwnd: 1e6,
            snd_curr_seq: SeqNumber::new(999),
            rtt_us: 100_000,
            rcv_rate: 16,
            bandwidth: 1,
        };
        let mut h = Harness {
            cc,
            ctx,
            ctl: CcControl::default(),
            acked: SeqNumber::new(1000),
            auto_fill: true,
        };
        h.cc.init(&h.ctx, &mut h.ctl);
        h.fill();
        h
    }

    /// The sender fills the window: the largest sent is `cwnd` past the ACK point
    /// (at least what was already sent).
    pub fn fill(&mut self) {
        if !self.auto_fill {
            return;
        }
        let top = self.acked.add(self.ctl.cwnd.max(1.0) as u32).prev();
        if self.ctx.snd_curr_seq < top {
            self.ctx.snd_curr_seq = top;
        }
    }

    /// 64 ACKs of one packet 1 ms apart: enough for algorithms that take a minimum
    /// RTT to start trusting the smoothed one.
    pub fn settle_rtt(&mut self) {
        for _ in 0..64 {
            self.ack_after(Duration::from_millis(1), 1);
        }
    }

    pub fn advance(&mut self, d: Duration) {
        self.ctx.now = Instant::from_micros(self.ctx.now.as_micros() + d.as_micros());
    }

    /// After `d`, a full ACK for `n` more packets; then the window refills.
    pub fn ack_after(&mut self, d: Duration, n: u32) {
        self.advance(d);
        self.acked = self.acked.add(n);
        self.cc.on_ack(&self.ctx, &mut self.ctl, self.acked);
        self.fill();
    }

    /// Acknowledges one window's worth over one RTT in `acks` evenly spaced ACKs.
    pub fn ack_round(&mut self, acks: u32) {
        let rtt = Duration::from_micros(u64::from(self.ctx.rtt_us));
        let window = self.ctl.cwnd.max(1.0) as u32;
        let step = Duration::from_micros(rtt.as_micros() / u64::from(acks));
        let mut left = window;
        for i in 0..acks {
            let n = if i + 1 == acks { left } else { window / acks };
            left -= n;
            self.ack_after(step, n);
        }
    }

    /// A NAK naming the newest packet sent.
    pub fn nak_newest(&mut self) {
        self.nak(self.ctx.snd_curr_seq);
    }

    pub fn nak(&mut self, seq: SeqNumber) {
        let body = seq.value().to_be_bytes();
        let list = LossList::parse(&body).expect("one plain loss word");
        self.cc.on_loss(&self.ctx, &mut self.ctl, list);
    }

    pub fn timeout(&mut self) {
        self.cc.on_timeout(&self.ctx, &mut self.ctl);
    }
}
