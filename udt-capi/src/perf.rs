//! `TRACEINFO` (UDT4's `CPerfMon`) from `udt::Stats`, in UDT4's units: totals
//! since the connection started, "local" counts since the last clearing
//! `perfmon`, rates in Mbit/s, times in ms or µs.

use udt::Stats;

use crate::options::Options;

/// The counters at the last `perfmon(clear = true)`.
#[derive(Clone, Copy, Debug)]
pub struct PerfBase {
    pub stats: Stats,
    pub at: std::time::Instant,
}

/// UDT4's `CPerfMon`, field for field (the C++ header declares the same layout).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[allow(non_snake_case, missing_docs)]
pub struct TraceInfo {
    pub msTimeStamp: i64,
    pub pktSentTotal: i64,
    pub pktRecvTotal: i64,
    pub pktSndLossTotal: i32,
    pub pktRcvLossTotal: i32,
    pub pktRetransTotal: i32,
    pub pktSentACKTotal: i32,
    pub pktRecvACKTotal: i32,
    pub pktSentNAKTotal: i32,
    pub pktRecvNAKTotal: i32,
    pub usSndDurationTotal: i64,
    pub pktSent: i64,
    pub pktRecv: i64,
    pub pktSndLoss: i32,
    pub pktRcvLoss: i32,
    pub pktRetrans: i32,
    pub pktSentACK: i32,
    pub pktRecvACK: i32,
    pub pktSentNAK: i32,
    pub pktRecvNAK: i32,
    pub mbpsSendRate: f64,
    pub mbpsRecvRate: f64,
    pub usSndDuration: i64,
    pub usPktSndPeriod: f64,
    pub pktFlowWindow: i32,
    pub pktCongestionWindow: i32,
    pub pktFlightSize: i32,
    pub msRTT: f64,
    pub mbpsBandwidth: f64,
    pub byteAvailSndBuf: i32,
    pub byteAvailRcvBuf: i32,
}

fn i32_of(v: u64) -> i32 {
    v.min(i32::MAX as u64) as i32
}

/// Fills a `TraceInfo`: `base` holds the counters at the last clearing call.
pub fn trace(
    s: &Stats,
    base: &PerfBase,
    started: std::time::Instant,
    now: std::time::Instant,
    opts: &Options,
) -> TraceInfo {
    let b = &base.stats;
    let d = |now: u64, then: u64| now.saturating_sub(then);
    let interval_us = now.saturating_duration_since(base.at).as_micros().max(1) as f64;
    let payload = f64::from((opts.mss - 44).max(1));
    let mss = opts.mss.max(1) as u64;
    let snd_capacity = opts.snd_buf.max(0) as u64 * (opts.mss - 44).max(1) as u64;
    TraceInfo {
        msTimeStamp: now.saturating_duration_since(started).as_millis() as i64,
        pktSentTotal: s.pkt_sent_total as i64,
        pktRecvTotal: s.pkt_recv_total as i64,
        pktSndLossTotal: i32_of(s.pkt_snd_loss_total),
        pktRcvLossTotal: i32_of(s.pkt_rcv_loss_total),
        pktRetransTotal: i32_of(s.pkt_retrans_total),
        pktSentACKTotal: i32_of(s.pkt_sent_ack_total),
        pktRecvACKTotal: i32_of(s.pkt_recv_ack_total),
        pktSentNAKTotal: i32_of(s.pkt_sent_nak_total),
        pktRecvNAKTotal: i32_of(s.pkt_recv_nak_total),
        // The core does not time its busy periods.
        usSndDurationTotal: 0,
        pktSent: d(s.pkt_sent_total, b.pkt_sent_total) as i64,
        pktRecv: d(s.pkt_recv_total, b.pkt_recv_total) as i64,
        pktSndLoss: i32_of(d(s.pkt_snd_loss_total, b.pkt_snd_loss_total)),
        pktRcvLoss: i32_of(d(s.pkt_rcv_loss_total, b.pkt_rcv_loss_total)),
        pktRetrans: i32_of(d(s.pkt_retrans_total, b.pkt_retrans_total)),
        pktSentACK: i32_of(d(s.pkt_sent_ack_total, b.pkt_sent_ack_total)),
        pktRecvACK: i32_of(d(s.pkt_recv_ack_total, b.pkt_recv_ack_total)),
        pktSentNAK: i32_of(d(s.pkt_sent_nak_total, b.pkt_sent_nak_total)),
        pktRecvNAK: i32_of(d(s.pkt_recv_nak_total, b.pkt_recv_nak_total)),
        // bits per µs = Mbit/s.
        mbpsSendRate: d(s.bytes_sent_total, b.bytes_sent_total) as f64 * 8.0 / interval_us,
        mbpsRecvRate: d(s.bytes_recv_total, b.bytes_recv_total) as f64 * 8.0 / interval_us,
        usSndDuration: 0,
        usPktSndPeriod: s.send_period_us,
        pktFlowWindow: i32_of(u64::from(s.flow_window)),
        pktCongestionWindow: s.cwnd.clamp(0.0, i32::MAX as f64) as i32,
        pktFlightSize: i32_of(u64::from(s.flight_size)),
        msRTT: f64::from(s.rtt_us) / 1000.0,
        mbpsBandwidth: f64::from(s.bandwidth_pps) * payload * 8.0 / 1e6,
        byteAvailSndBuf: i32_of(
            snd_capacity.saturating_sub(s.send_buffer_bytes) / payload as u64 * mss,
        ),
        byteAvailRcvBuf: i32_of(u64::from(s.recv_buffer_free) * mss),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_local_counts() {
        let t0 = std::time::Instant::now();
        let later = t0 + std::time::Duration::from_secs(2);
        let base = PerfBase {
            stats: Stats {
                pkt_sent_total: 100,
                bytes_sent_total: 1_000_000,
                ..Stats::default()
            },
            at: t0 + std::time::Duration::from_secs(1),
        };
        let now = Stats {
            pkt_sent_total: 300,
            bytes_sent_total: 3_000_000,
            rtt_us: 12_500,
            bandwidth_pps: 1000,
            ..Stats::default()
        };
        let t = trace(&now, &base, t0, later, &Options::default());
        assert_eq!(t.msTimeStamp, 2000);
        assert_eq!(t.pktSentTotal, 300);
        assert_eq!(t.pktSent, 200);
        // 2 MB in 1 s = 16 Mbit/s.
        assert!((t.mbpsSendRate - 16.0).abs() < 1e-9);
        assert!((t.msRTT - 12.5).abs() < 1e-9);
        // 1000 packets/s of 1456 payload bytes.
        assert!((t.mbpsBandwidth - 11.648).abs() < 1e-9);
    }

    #[test]
    fn layout_matches_udt4() {
        // UDT4's CPerfMon on LP64: 184 bytes (g++ sizeof with libudt-dev's header).
        assert_eq!(std::mem::size_of::<TraceInfo>(), 184);
    }
}
