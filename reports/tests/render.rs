//! Reports from small synthetic runs: every plot kind renders to a valid, non-blank image of the
//! expected size; the files of a run and of a comparison are all written; the summary is pinned.
//!
//! Set `REPORTS_TEST_OUT=DIR` to keep the rendered files for a look.

use reports::charts::run_charts;
use reports::compare::{load_runs, scatter_chart, write_comparison};
use reports::plot::{self, Chart};
use reports::{write_run, FlowData, FlowPoint, FlowTotals, LinkData, QueuePoint, RunData, RunMeta};
use std::path::{Path, PathBuf};

fn out_dir(name: &str) -> PathBuf {
    let base = std::env::var_os("REPORTS_TEST_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::temp_dir().join(format!("reports-test-{}", std::process::id()))
        });
    let d = base.join(name);
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Two flows over 20 s at 100 ms: the second joins at 5 s; a bottleneck queue fills and drains.
fn synthetic(seed: u64, scale: f64) -> RunData {
    let flow = |name: &str, from: f64, phase: f64| {
        let samples = (1..=200)
            .map(|i| {
                let t = i as f64 / 10.0;
                let on = t > from;
                let g = if on {
                    scale * (40.0 + 10.0 * ((t + phase) * 1.3).sin())
                } else {
                    0.0
                };
                FlowPoint {
                    t_s: t,
                    goodput_mbps: g,
                    send_rate_mbps: g * 1.05,
                    send_period_us: if on {
                        250.0 + 100.0 * (t * 0.7).cos()
                    } else {
                        1.0
                    },
                    cwnd_pkts: if on {
                        100.0 + 20.0 * (t * 2.0).sin()
                    } else {
                        16.0
                    },
                    flow_window_pkts: if on { 8192.0 - t * 50.0 } else { 16.0 },
                    rtt_ms: 100.0 + 30.0 * (t * 0.5 + phase).sin().abs(),
                    retrans_pkts: (i % 7 == 0) as u64 * 3,
                    snd_loss_pkts: (i % 7 == 0) as u64 * 4,
                    rcv_loss_pkts: (i % 11 == 0) as u64 * 2,
                    bytes_recv: (i as u64) * 500_000,
                }
            })
            .collect();
        FlowData {
            name: name.into(),
            cc: Some("udt".into()),
            active_from_s: Some(from + 0.05),
            active_until_s: 20.0,
            totals: FlowTotals {
                connected: true,
                connect_time_s: Some(0.05),
                completion_time_s: None,
                error: None,
                bytes_sent: 100_000_000,
                bytes_received: (scale * 90_000_000.0) as u64,
                byte_exact: true,
                corrupted: false,
                packets_sent: 70_000,
                retransmissions: 600,
                sender_losses: 800,
                receiver_losses: 300,
                bottleneck_mbps: Some(100.0),
                ..Default::default()
            },
            samples,
        }
    };
    let queue = (1..=200)
        .map(|i| QueuePoint {
            t_s: i as f64 / 10.0,
            packets: ((i as f64 * 0.3).sin().abs() * 500.0) as u64,
            bytes: ((i as f64 * 0.3).sin().abs() * 500.0 * 1500.0) as u64,
            dropped_queue: i / 20,
            dropped_loss: i / 8,
        })
        .collect();
    RunData {
        meta: RunMeta {
            scenario: "synthetic".into(),
            seed,
            project_version: "0.0.0-test".into(),
            scenario_digest: "00112233445566778899aabbccddeeff".into(),
            command_line: "test".into(),
            backend: "synthetic".into(),
            duration_s: 20.0,
            interval_s: 0.1,
        },
        flows: vec![flow("alpha", 0.0, 0.0), flow("beta", 5.0, 1.0)],
        links: vec![
            LinkData {
                link: "wan>".into(),
                rate_mbps: Some(100.0),
                bottleneck: true,
                samples: queue,
            },
            LinkData {
                link: "wan<".into(),
                rate_mbps: Some(100.0),
                bottleneck: false,
                samples: vec![],
            },
        ],
        checks: vec![reports::Check {
            what: "alpha: goodput_at_least 30 Mbit/s".into(),
            passed: true,
            observed: "36 Mbit/s".into(),
        }],
        details: serde_json::json!({ "events": 1234 }),
    }
}

/// A valid PNG of `size`, with a real drawing on it (many non-white pixels, several colours).
fn check_png(path: &Path, size: (u32, u32)) {
    let img = image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8();
    assert_eq!(img.dimensions(), size, "{}", path.display());
    let inked = img.pixels().filter(|p| p.0 != [255, 255, 255]).count();
    let total = (size.0 * size.1) as usize;
    assert!(
        inked > total / 100 && inked < total / 2,
        "{}: {inked} of {total} pixels drawn",
        path.display()
    );
    let coloured = img
        .pixels()
        .filter(|p| {
            let [r, g, b] = p.0;
            r.max(g).max(b) - r.min(g).min(b) > 60
        })
        .count();
    assert!(coloured > 200, "{}: no coloured series", path.display());
}

fn check_svg(path: &Path, size: (u32, u32)) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.starts_with("<svg"), "{}", path.display());
    assert!(
        text.contains(&format!("width=\"{}\" height=\"{}\"", size.0, size.1)),
        "{}",
        path.display()
    );
    assert!(text.contains("<polyline") || text.contains("<circle"));
    assert!(text.trim_end().ends_with("</svg>"));
}

fn render(chart: &Chart, dir: &Path, stem: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let size = plot::size(chart.panels.len());
    let (png, svg) = (
        dir.join(format!("{stem}.png")),
        dir.join(format!("{stem}.svg")),
    );
    plot::png(chart, &png).unwrap();
    plot::svg(chart, &svg).unwrap();
    check_png(&png, size);
    check_svg(&svg, size);
}

#[test]
fn every_run_plot_kind_renders() {
    let run = synthetic(1, 1.0);
    let dir = out_dir("kinds");
    let charts = run_charts(&run);
    let stems: Vec<&str> = charts.iter().map(|c| c.stem.as_str()).collect();
    assert_eq!(
        stems,
        [
            "goodput",
            "sending",
            "windows",
            "rtt",
            "losses",
            "queue_wan-fwd"
        ]
    );
    for c in &charts {
        assert!(c.chart.title.contains("synthetic (seed 1)"));
        for p in &c.chart.panels {
            assert!(p.y_label.contains('('), "{}: unit in {}", c.stem, p.y_label);
            assert!(!p.series.is_empty(), "{}: {}", c.stem, p.y_label);
        }
        render(&c.chart, &dir, &c.stem);
    }
}

#[test]
fn many_flows_draw_their_spread_not_a_line_each() {
    let two = synthetic(1, 1.0);
    let mut run = two.clone();
    run.flows = (0..100)
        .map(|i| {
            let mut f = two.flows[i % 2].clone();
            f.name = format!("f{i}");
            for p in &mut f.samples {
                p.goodput_mbps *= 1.0 + i as f64 / 100.0;
            }
            f
        })
        .collect();
    // A bottleneck per flow: only the eight longest queues get a chart.
    run.links = (0..100)
        .map(|i| {
            let mut l = two.links[0].clone();
            l.link = format!("access{i}>");
            for q in &mut l.samples {
                q.packets = q.packets * (i % 50) / 49;
            }
            l
        })
        .collect();
    let dir = out_dir("many");
    let queues: Vec<String> = run_charts(&run)
        .into_iter()
        .filter_map(|c| c.stem.strip_prefix("queue_").map(String::from))
        .collect();
    let longest: Vec<String> = [46, 47, 48, 49, 96, 97, 98, 99]
        .iter()
        .map(|i| format!("access{i}-fwd"))
        .collect();
    assert_eq!(queues, longest);
    for c in run_charts(&run) {
        for p in &c.chart.panels {
            assert!(p.series.len() <= 6, "{}: {} series", c.stem, p.series.len());
        }
        render(&c.chart, &dir, &c.stem);
    }
    let goodput = &run_charts(&run)[0].chart;
    assert_eq!(goodput.panels.len(), 2, "aggregate and spread");
    let total = &goodput.panels[0].series[0];
    assert_eq!(total.label, "all 100 flows");
    let at_10s = |s: &reports::plot::Series| {
        s.points
            .iter()
            .find(|p| (p.0 - 10.0).abs() < 1e-9)
            .unwrap()
            .1
    };
    let sum: f64 = run.flows.iter().map(|f| f.samples[99].goodput_mbps).sum();
    assert!((at_10s(total) - sum).abs() < 1e-6);
    let spread = &goodput.panels[1].series;
    let labels: Vec<&str> = spread.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(
        labels,
        ["median of 100 flows", "10th percentile", "90th percentile"]
    );
    let (median, p10, p90) = (at_10s(&spread[0]), at_10s(&spread[1]), at_10s(&spread[2]));
    assert!(p10 < median && median < p90, "{p10} {median} {p90}");
    // Two flows keep a line each.
    assert_eq!(run_charts(&two)[0].chart.panels[0].series.len(), 2);
}

#[test]
fn a_run_folder_holds_every_file() {
    let dir = out_dir("run");
    let w = write_run(&dir, &synthetic(1, 1.0), Default::default()).unwrap();
    let mut names: Vec<String> = w
        .files
        .iter()
        .map(|p| p.strip_prefix(&dir).unwrap().display().to_string())
        .collect();
    names.sort();
    insta::assert_snapshot!(names.join("\n"));
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    for f in &names {
        if f.starts_with("plots/") {
            assert!(html.contains(f.as_str()), "index.html shows {f}");
        }
    }
    assert!(html.contains("<td>alpha</td>"));
    let ts = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    assert!(ts.starts_with("time_s,flow,metric,value\n0.1,alpha,goodput_mbps,41.296\n"));
    assert_eq!(ts.lines().count(), 1 + 200 * 2 * 10);

    let bare = out_dir("run-no-plots");
    let w = write_run(
        &bare,
        &synthetic(1, 1.0),
        reports::ReportOptions { plots: false },
    )
    .unwrap();
    assert_eq!(w.files.len(), 5);
    assert!(!bare.join("plots").exists());
}

#[test]
fn summary_json_is_pinned() {
    let dir = out_dir("snapshot");
    write_run(
        &dir,
        &synthetic(1, 1.0),
        reports::ReportOptions { plots: false },
    )
    .unwrap();
    let json = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    insta::assert_snapshot!("synthetic_summary_json", json);
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    insta::assert_snapshot!("synthetic_summary_md", md);
}

#[test]
fn a_comparison_of_runs() {
    let dirs: Vec<PathBuf> = [(1, 1.0), (2, 0.6), (3, 1.4)]
        .iter()
        .map(|&(seed, scale)| {
            let d = out_dir(&format!("cmp-seed{seed}"));
            write_run(
                &d,
                &synthetic(seed, scale),
                reports::ReportOptions { plots: false },
            )
            .unwrap();
            d
        })
        .collect();
    let runs = load_runs(&dirs).unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0].goodput.len(), 2);
    assert_eq!(runs[0].goodput[0].1.len(), 200);
    let scatter = scatter_chart(&runs);
    assert_eq!(scatter.panels[0].series.len(), 6);
    let out = out_dir("cmp");
    let files = write_comparison(&runs, &out, true).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "goodput.png",
            "goodput.svg",
            "throughput_delay.png",
            "throughput_delay.svg",
            "summary.md",
            "summary.json",
            "index.html"
        ]
    );
    check_png(&out.join("goodput.png"), plot::size(1));
    check_png(&out.join("throughput_delay.png"), plot::size(1));
    check_svg(&out.join("throughput_delay.svg"), plot::size(1));
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert_eq!(md.matches("| cmp-seed").count(), 6, "{md}");
}

#[test]
fn empty_runs_still_render() {
    let mut run = synthetic(1, 1.0);
    for f in &mut run.flows {
        f.active_from_s = None;
        f.totals.connected = false;
    }
    run.links.clear();
    let dir = out_dir("empty");
    let w = write_run(&dir, &run, Default::default()).unwrap();
    assert!(w
        .summary
        .flows
        .iter()
        .all(|f| f.goodput_mbps.mean.is_none()));
    assert!(dir.join("plots/goodput.png").exists());
}
