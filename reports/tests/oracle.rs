//! An independent oracle for the summary: a run of two flows and four one-second
//! samples, small enough that every number of its summary is worked out by hand
//! below (the working in the comments), and compared with what `summarise` and the
//! written `summary.json` say. The snapshot tests in `render.rs` pin the summary of a
//! large synthetic run; this one says those numbers are computed right.

use reports::{summarise, FlowData, FlowPoint, FlowTotals, LinkData, RunData, RunMeta};

/// A flow with one sample per second at t = 1..=5 s: goodput and RTT from the lists.
fn flow(name: &str, from: f64, until: f64, goodput: [f64; 5], rtt: [f64; 5]) -> FlowData {
    let samples = (0..5)
        .map(|i| FlowPoint {
            t_s: (i + 1) as f64,
            goodput_mbps: goodput[i],
            send_rate_mbps: goodput[i],
            send_period_us: 10.0,
            cwnd_pkts: 16.0,
            flow_window_pkts: 8192.0,
            rtt_ms: rtt[i],
            retrans_pkts: 0,
            snd_loss_pkts: 0,
            rcv_loss_pkts: 0,
            bytes_recv: 0,
        })
        .collect();
    FlowData {
        name: name.into(),
        cc: Some("udt".into()),
        active_from_s: Some(from),
        active_until_s: until,
        totals: FlowTotals {
            connected: true,
            connect_time_s: Some(from),
            completion_time_s: Some(until),
            error: None,
            bytes_sent: 0,
            bytes_received: 0,
            byte_exact: true,
            corrupted: false,
            packets_sent: 0,
            retransmissions: 0,
            sender_losses: 0,
            receiver_losses: 0,
            bottleneck_mbps: Some(100.0),
            connect_failure: None,
            final_rtt_ms: 100.0,
        },
        samples,
    }
}

/// Flow `a` is active over (0, 4] s, flow `b` over (1, 4] s; the sample at t = 5 s lies
/// outside both windows (its interval starts at 4 s) and its wild values must not count.
fn tiny() -> RunData {
    let mut a = flow(
        "a",
        0.0,
        4.0,
        [10.0, 20.0, 30.0, 40.0, 999.0],
        [100.0, 100.0, 200.0, 200.0, 999.0],
    );
    a.totals.bytes_sent = 10_000_000;
    a.totals.bytes_received = 10_000_000;
    a.totals.packets_sent = 1000;
    a.totals.retransmissions = 50;
    a.totals.sender_losses = 30;
    a.totals.receiver_losses = 40;
    // b's first sample ends at its start (t = 1 s): not in b's window, but in the
    // run's (the aggregate counts it).
    let mut b = flow(
        "b",
        1.0,
        4.0,
        [0.0, 20.0, 20.0, 20.0, 999.0],
        [999.0, 50.0, 50.0, 50.0, 999.0],
    );
    b.totals.bytes_sent = 6_000_000;
    b.totals.bytes_received = 6_000_000;
    b.totals.packets_sent = 500;
    RunData {
        meta: RunMeta {
            scenario: "tiny".into(),
            seed: 1,
            project_version: "0.0.0-test".into(),
            scenario_digest: "0".repeat(32),
            command_line: "test".into(),
            backend: "hand".into(),
            duration_s: 5.0,
            interval_s: 1.0,
        },
        flows: vec![a, b],
        links: vec![LinkData {
            link: "l>".into(),
            rate_mbps: Some(100.0),
            bottleneck: true,
            samples: vec![],
        }],
        checks: vec![],
        details: serde_json::Value::Null,
    }
}

#[test]
fn a_tiny_run_summarised_by_hand() {
    let s = summarise(&tiny());
    let (a, b) = (&s.flows[0], &s.flows[1]);

    // a: 10 MB in 4 s = 10e6 * 8 / 4 = 20 Mbit/s (bytes over the active time, not the
    // sample mean of 25).
    assert_eq!(a.goodput_mbps.mean, Some(20.0));
    // Goodput samples 10, 20, 30, 40 (t = 1..4). Linear interpolation between closest
    // ranks: p50 at rank 0.5 * 3 = 1.5, halfway 20..30 = 25; p95 at rank 2.85,
    // 30 + 0.85 * 10 = 38.5.
    assert_eq!(a.goodput_mbps.p50, Some(25.0));
    assert_eq!(a.goodput_mbps.p95, Some(38.5));
    // 20 / 100 Mbit/s.
    assert_eq!(a.utilisation, Some(0.2));
    // 50 of 1000 packets retransmitted; losses: the larger of 30 and 40, over 1000.
    assert_eq!(a.retransmission_ratio, Some(0.05));
    assert_eq!(a.loss_ratio, Some(0.04));
    // RTT 100, 100, 200, 200: mean 150, p50 (rank 1.5) 150, p95 (rank 2.85) 200.
    assert_eq!(a.rtt_ms.mean, Some(150.0));
    assert_eq!(a.rtt_ms.p50, Some(150.0));
    assert_eq!(a.rtt_ms.p95, Some(200.0));
    // CoV of 10, 20, 30, 40: mean 25, deviations ±5, ±15, population variance
    // (25 + 25 + 225 + 225) / 4 = 125, sqrt(125) / 25 = 0.4472136 -> 0.447214.
    assert_eq!(a.stability_cov, Some(0.447214));
    // Convergence: settled = mean of the second half (30, 40) = 35, band ±20 % = ±7; a
    // one-second window is one sample: 10 and 20 are out, 30 and 40 in, so it holds
    // from the interval ending at 3 s, i.e. from 2 s after the start at 0.
    assert_eq!(a.convergence_s, Some(2.0));

    // b: 6 MB in 3 s = 16 Mbit/s; samples 20, 20, 20 (t = 2..4).
    assert_eq!(b.goodput_mbps.mean, Some(16.0));
    assert_eq!(b.goodput_mbps.p50, Some(20.0));
    assert_eq!(b.goodput_mbps.p95, Some(20.0));
    assert_eq!(b.utilisation, Some(0.16));
    assert_eq!(b.rtt_ms.mean, Some(50.0));
    assert_eq!(b.stability_cov, Some(0.0));
    // Fewer than four active samples: no convergence time.
    assert_eq!(b.convergence_s, None);
    // No retransmissions of 500; no losses.
    assert_eq!(b.retransmission_ratio, Some(0.0));
    assert_eq!(b.loss_ratio, Some(0.0));

    // Jain over the mean goodputs 20 and 16: 36^2 / (2 * (400 + 256)) = 1296 / 1312
    // = 0.98780488 -> 0.987805.
    assert_eq!(s.jain_fairness, Some(0.987805));
    // Aggregate over the run's window (0, 4]: t = 1: 10 + 0, t = 2: 20 + 20, t = 3:
    // 30 + 20, t = 4: 40 + 20 -> 10, 40, 50, 60: mean 40, p50 (rank 1.5) 45, p95 (rank
    // 2.85) 50 + 0.85 * 10 = 58.5; CoV: deviations -30, 0, 10, 20, variance
    // (900 + 0 + 100 + 400) / 4 = 350, sqrt(350) / 40 = 0.46770717 -> 0.467707.
    assert_eq!(s.aggregate_goodput_mbps.mean, Some(40.0));
    assert_eq!(s.aggregate_goodput_mbps.p50, Some(45.0));
    assert_eq!(s.aggregate_goodput_mbps.p95, Some(58.5));
    assert_eq!(s.stability_index, Some(0.467707));
    // One congestion control: no shares.
    assert!(s.cc_shares.is_empty());
}

/// The written `summary.json` (what the snapshots pin) carries the same numbers.
#[test]
fn the_written_summary_carries_the_hand_computed_numbers() {
    let dir = std::env::temp_dir().join(format!("reports-oracle-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    reports::write_run(&dir, &tiny(), reports::ReportOptions { plots: false }).unwrap();
    let text = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let a = &v["flows"][0];
    assert_eq!(a["goodput_mbps"]["mean"], 20.0);
    assert_eq!(a["goodput_mbps"]["p95"], 38.5);
    assert_eq!(a["stability_cov"], 0.447214);
    assert_eq!(a["convergence_s"], 2.0);
    assert_eq!(v["flows"][1]["goodput_mbps"]["mean"], 16.0);
    assert_eq!(v["jain_fairness"], 0.987805);
    assert_eq!(v["stability_index"], 0.467707);
    assert_eq!(v["aggregate_goodput_mbps"]["p95"], 58.5);
}
