//! Comparing runs (congestion controls, seeds, parameters): overlaid goodput, a
//! throughput-versus-p95-delay scatter in the manner of the Pantheon testbed's plots, and a
//! table of the runs' summaries. Runs are read back from their folders (summary.json and the
//! tidy timeseries.csv), so any backend's runs can be compared.

use crate::html;
use crate::plot::{Chart, Mark, Panel, Series};
use crate::summary::{num, pct, RunSummary};
use crate::ReportError;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// A run read back from its folder.
#[derive(Clone, Debug)]
pub struct LoadedRun {
    /// Short name in legends and tables (the folder's name unless two folders share it).
    pub label: String,
    /// The folder.
    pub dir: PathBuf,
    /// Its summary.json.
    pub summary: RunSummary,
    /// Goodput per flow: (flow, [(time s, Mbit/s)]).
    pub goodput: Vec<(String, Vec<(f64, f64)>)>,
}

fn read(path: &Path) -> Result<String, ReportError> {
    std::fs::read_to_string(path).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a run folder written by [`crate::write_run`].
pub fn load_run(dir: &Path) -> Result<LoadedRun, ReportError> {
    let path = dir.join("summary.json");
    let summary: RunSummary =
        serde_json::from_str(&read(&path)?).map_err(|e| ReportError::Parse {
            path: path.clone(),
            message: e.to_string(),
        })?;
    let ts = read(&dir.join("timeseries.csv"))?;
    Ok(LoadedRun {
        label: dir
            .file_name()
            .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into()),
        dir: dir.to_path_buf(),
        summary,
        goodput: crate::csv::read_metric(&ts, "goodput_mbps"),
    })
}

/// Reads several run folders; labels are made unique.
pub fn load_runs(dirs: &[PathBuf]) -> Result<Vec<LoadedRun>, ReportError> {
    let mut runs = dirs
        .iter()
        .map(|d| load_run(d))
        .collect::<Result<Vec<_>, _>>()?;
    let labels: Vec<String> = runs.iter().map(|r| r.label.clone()).collect();
    for r in &mut runs {
        if labels.iter().filter(|l| **l == r.label).count() > 1 {
            r.label = r.dir.display().to_string();
        }
    }
    Ok(runs)
}

fn series_label(r: &LoadedRun, flow: &str) -> String {
    if r.summary.flows.len() > 1 {
        format!("{}: {flow}", r.label)
    } else {
        r.label.clone()
    }
}

/// The overlaid goodput chart.
pub fn goodput_chart(runs: &[LoadedRun]) -> Chart {
    let mut series = vec![];
    for r in runs {
        for (flow, pts) in &r.goodput {
            // Only the active part of each flow, as in the per-run charts.
            let fs = r.summary.flows.iter().find(|f| &f.name == flow);
            let dt = r.summary.meta.interval_s;
            let points: Vec<(f64, f64)> = match fs {
                Some(f) if f.connected => match f.active_from_s {
                    Some(from) => pts
                        .iter()
                        .copied()
                        .filter(|&(t, _)| t > from + 1e-9 && t - dt < f.active_until_s - 1e-9)
                        .collect(),
                    // A summary without the window: show the whole series.
                    None => pts.to_vec(),
                },
                _ => continue,
            };
            series.push(Series {
                label: series_label(r, flow),
                points,
                color: series.len(),
                mark: Mark::Line,
            });
        }
    }
    Chart {
        title: format!("goodput of {} runs", runs.len()),
        x_label: "time (s)".into(),
        panels: vec![Panel {
            y_label: "goodput (Mbit/s)".into(),
            series,
            log_y: false,
        }],
        negated_x: false,
        log_x: false,
    }
}

/// Throughput against 95th-percentile delay, one point per run and flow. As in Pantheon's
/// plots, delay grows to the left, so that better is up and to the right.
pub fn scatter_chart(runs: &[LoadedRun]) -> Chart {
    let mut series = vec![];
    for (i, r) in runs.iter().enumerate() {
        for f in &r.summary.flows {
            if let (Some(g), Some(d)) = (f.goodput_mbps.mean, f.rtt_ms.p95) {
                series.push(Series {
                    label: series_label(r, &f.name),
                    points: vec![(-d, g)],
                    color: i,
                    mark: Mark::Points,
                });
            }
        }
    }
    Chart {
        title: "throughput vs. 95th-percentile RTT (better: up and to the right)".into(),
        x_label: "95th-percentile smoothed RTT (ms; decreasing to the right)".into(),
        panels: vec![Panel {
            y_label: "mean goodput (Mbit/s)".into(),
            series,
            log_y: false,
        }],
        negated_x: true,
        log_x: false,
    }
}

/// Column heads and rows of the comparison table: one row per run and flow.
pub fn table(runs: &[LoadedRun]) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let head = vec![
        "run",
        "scenario",
        "seed",
        "flow",
        "cc",
        "goodput mean (Mbit/s)",
        "p95",
        "RTT p95 (ms)",
        "utilisation",
        "loss",
        "retransmitted",
        "Jain",
        "stability (CoV)",
    ];
    let mut rows = vec![];
    for r in runs {
        let s = &r.summary;
        for f in &s.flows {
            rows.push(vec![
                r.label.clone(),
                s.meta.scenario.clone(),
                s.meta.seed.to_string(),
                f.name.clone(),
                f.cc.clone().unwrap_or_else(|| "–".into()),
                num(f.goodput_mbps.mean, 2),
                num(f.goodput_mbps.p95, 2),
                num(f.rtt_ms.p95, 1),
                pct(f.utilisation),
                pct(f.loss_ratio),
                pct(f.retransmission_ratio),
                num(s.jain_fairness, 3),
                num(s.stability_index, 3),
            ]);
        }
    }
    (head, rows)
}

fn markdown(runs: &[LoadedRun], plots: &[(String, String)]) -> String {
    let mut o = format!("# Comparison of {} runs\n\n", runs.len());
    let (head, rows) = table(runs);
    let _ = writeln!(o, "| {} |", head.join(" | "));
    let _ = writeln!(o, "|{}", " --- |".repeat(head.len()));
    for r in rows {
        let cells: Vec<String> = r.iter().map(|c| c.replace('|', "\\|")).collect();
        let _ = writeln!(o, "| {} |", cells.join(" | "));
    }
    o += "\n";
    for r in runs {
        let m = &r.summary.meta;
        let _ = writeln!(
            o,
            "- `{}`: {} backend, version {}, scenario digest `{}`, `{}`",
            r.label, m.backend, m.project_version, m.scenario_digest, m.command_line
        );
    }
    for (title, file) in plots {
        let _ = write!(o, "\n![{title}]({file})\n");
    }
    o
}

/// Writes the comparison into `out`: `goodput.{png,svg}`, `throughput_delay.{png,svg}` (unless
/// `plots` is false), `summary.md`, `summary.json` and `index.html`. Returns the files written.
pub fn write_comparison(
    runs: &[LoadedRun],
    out: &Path,
    plots: bool,
) -> Result<Vec<PathBuf>, ReportError> {
    let mut written = crate::Writer::new(out)?;
    let mut figs = vec![];
    if plots {
        for (stem, caption, chart) in [
            ("goodput", "Goodput over time, overlaid", goodput_chart(runs)),
            (
                "throughput_delay",
                "Mean goodput against 95th-percentile RTT (Pantheon-style; delay decreases to the right)",
                scatter_chart(runs),
            ),
        ] {
            written.chart(stem, &chart)?;
            figs.push((
                caption.to_string(),
                format!("{stem}.png"),
                format!("{stem}.svg"),
            ));
        }
    }
    let md_plots: Vec<(String, String)> = figs
        .iter()
        .map(|(c, p, _)| (c.clone(), p.clone()))
        .collect();
    written.text("summary.md", &markdown(runs, &md_plots))?;
    let json = serde_json::json!({
        "runs": runs.iter().map(|r| serde_json::json!({
            "label": r.label,
            "dir": r.dir.display().to_string(),
            "summary": r.summary,
        })).collect::<Vec<_>>(),
    });
    written.text(
        "summary.json",
        &(serde_json::to_string_pretty(&json).map_err(|e| ReportError::Parse {
            path: out.join("summary.json"),
            message: e.to_string(),
        })? + "\n"),
    )?;
    let mut page = html::head(&format!("Comparison of {} runs", runs.len()));
    let (h, rows) = table(runs);
    page += &html::table(&h, &rows);
    page += "<ul>\n";
    for r in runs {
        let idx = r.dir.join("index.html");
        let _ = writeln!(
            page,
            "<li><a href=\"{}\">{}</a>: <code>{}</code></li>",
            html::esc(&file_url(&idx)),
            html::esc(&r.label),
            html::esc(&r.summary.meta.command_line)
        );
    }
    page += "</ul>\n";
    for (c, png, svg) in &figs {
        page += &html::figure(c, png, svg);
    }
    page += "</body>\n</html>\n";
    written.text("index.html", &page)?;
    Ok(written.files)
}

/// A link to a local file that works from any folder: absolute when it can be made so.
fn file_url(p: &Path) -> String {
    match std::fs::canonicalize(p) {
        Ok(abs) => format!("file://{}", abs.display()),
        Err(_) => p.display().to_string(),
    }
}
