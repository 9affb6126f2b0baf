//! The report of a comparison or parameter sweep: many runs of one scenario, each in its own
//! sub-folder, with their parameters. It writes a comparison table (goodput, utilisation, p95
//! RTT, loss, retransmissions, Jain's index, convergence time, stability), `runs.csv` (one
//! tidy row per run and flow), overlaid goodput, throughput against delay and, when loss
//! varies, goodput against loss (log-scaled loss axis, one panel per RTT or delay, one line
//! per algorithm, averaged over seeds). Links to the runs are relative, and nothing depends
//! on the wall clock or on the order in which the runs were executed.

use crate::compare::{goodput_chart, scatter_chart, LoadedRun};
use crate::html;
use crate::plot::{Chart, Mark, Panel, Series};
use crate::summary::{num, pct};
use crate::ReportError;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Runs beyond which the overlaid goodput chart is not drawn (it would be unreadable).
pub const OVERLAY_MAX_RUNS: usize = 12;

/// One run of the grid.
#[derive(Clone, Debug)]
pub struct GridRun {
    /// Its folder name (relative to the grid's folder).
    pub label: String,
    /// The varied parameters, (name, value as written), in a fixed order.
    pub params: Vec<(String, String)>,
    /// The line it belongs to in goodput-versus-loss (the congestion control).
    pub line: Option<String>,
    /// Loss, percent (the x of goodput-versus-loss).
    pub loss_pct: Option<f64>,
    /// The panel it belongs to: (sort key, title), e.g. (50.0, "RTT 50ms").
    pub group: Option<(f64, String)>,
    /// The run as read back from its folder.
    pub run: LoadedRun,
}

/// Column heads and rows of the table: one row per run and flow.
pub fn table(runs: &[GridRun]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut head: Vec<String> = vec!["run".into()];
    if let Some(r) = runs.first() {
        head.extend(r.params.iter().map(|p| p.0.clone()));
    }
    head.extend(
        [
            "flow",
            "flow cc",
            "goodput (Mbit/s)",
            "share",
            "utilisation",
            "RTT p95 (ms)",
            "loss",
            "retransmitted",
            "Jain",
            "convergence (s)",
            "stability (CoV)",
            "checks",
        ]
        .map(String::from),
    );
    let mut rows = vec![];
    for r in runs {
        let s = &r.run.summary;
        let total: f64 = s.flows.iter().filter_map(|f| f.goodput_mbps.mean).sum();
        let failed = s.checks.iter().filter(|c| !c.passed).count();
        for f in &s.flows {
            let mut row = vec![r.label.clone()];
            row.extend(r.params.iter().map(|p| p.1.clone()));
            row.extend([
                f.name.clone(),
                f.cc.clone().unwrap_or_else(|| "–".into()),
                num(f.goodput_mbps.mean, 2),
                if s.flows.len() > 1 && total > 0.0 {
                    pct(f.goodput_mbps.mean.map(|g| g / total))
                } else {
                    "–".into()
                },
                pct(f.utilisation),
                num(f.rtt_ms.p95, 1),
                pct(f.loss_ratio),
                pct(f.retransmission_ratio),
                num(s.jain_fairness, 3),
                num(f.convergence_s, 1),
                num(f.stability_cov, 3),
                if s.checks.is_empty() {
                    "–".into()
                } else {
                    format!("{} of {}", s.checks.len() - failed, s.checks.len())
                },
            ]);
            rows.push(row);
        }
    }
    (head, rows)
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or(String::new(), |x| format!("{x}"))
}

/// `runs.csv`: one row per run and flow, raw numbers (ratios as fractions, empty for none).
pub fn runs_csv(runs: &[GridRun]) -> String {
    let mut head: Vec<String> = vec!["run".into()];
    if let Some(r) = runs.first() {
        head.extend(r.params.iter().map(|p| p.0.clone()));
    }
    head.extend(
        [
            "flow",
            "flow_cc",
            "goodput_mbps",
            "utilisation",
            "rtt_p95_ms",
            "loss_ratio",
            "retransmission_ratio",
            "jain",
            "convergence_s",
            "stability_cov",
        ]
        .map(String::from),
    );
    let mut o = head.join(",") + "\n";
    for r in runs {
        let s = &r.run.summary;
        for f in &s.flows {
            let mut row = vec![r.label.clone()];
            row.extend(r.params.iter().map(|p| p.1.clone()));
            row.extend([
                f.name.clone(),
                f.cc.clone().unwrap_or_default(),
                opt(f.goodput_mbps.mean),
                opt(f.utilisation),
                opt(f.rtt_ms.p95),
                opt(f.loss_ratio),
                opt(f.retransmission_ratio),
                opt(s.jain_fairness),
                opt(f.convergence_s),
                opt(f.stability_cov),
            ]);
            let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
            o += &cells.join(",");
            o += "\n";
        }
    }
    o
}

/// Goodput against loss: one panel per group (RTT or delay), one line per algorithm, the
/// aggregate goodput of each run averaged over the runs (seeds) at the same point. `None`
/// unless two or more loss values are present.
pub fn goodput_vs_loss_chart(runs: &[GridRun]) -> Option<Chart> {
    let mut losses: Vec<f64> = runs.iter().filter_map(|r| r.loss_pct).collect();
    losses.sort_by(f64::total_cmp);
    losses.dedup();
    if losses.len() < 2 {
        return None;
    }
    // group title -> (sort key, line -> loss -> goodputs)
    type Lines = BTreeMap<String, BTreeMap<u64, Vec<f64>>>;
    let mut groups: Vec<(f64, String, Lines)> = vec![];
    let mut lines: Vec<String> = vec![];
    for r in runs {
        let Some(loss) = r.loss_pct else { continue };
        let (key, title) = r.group.clone().unwrap_or((0.0, String::new()));
        let line = r.line.clone().unwrap_or_else(|| "goodput".into());
        if !lines.contains(&line) {
            lines.push(line.clone());
        }
        let g: f64 = r
            .run
            .summary
            .flows
            .iter()
            .filter_map(|f| f.goodput_mbps.mean)
            .sum();
        let i = match groups.iter().position(|x| x.1 == title) {
            Some(i) => i,
            None => {
                groups.push((key, title, BTreeMap::new()));
                groups.len() - 1
            }
        };
        groups[i]
            .2
            .entry(line)
            .or_default()
            .entry(loss.to_bits())
            .or_default()
            .push(g);
    }
    groups.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let panels = groups
        .into_iter()
        .map(|(_, title, ls)| {
            let series = lines
                .iter()
                .enumerate()
                .filter_map(|(ci, line)| {
                    let pts = ls.get(line)?;
                    let mut points: Vec<(f64, f64)> = pts
                        .iter()
                        .map(|(l, gs)| {
                            (f64::from_bits(*l), gs.iter().sum::<f64>() / gs.len() as f64)
                        })
                        .collect();
                    points.sort_by(|a, b| a.0.total_cmp(&b.0));
                    Some(Series {
                        label: line.clone(),
                        points,
                        color: ci,
                        mark: Mark::Line,
                    })
                })
                .collect();
            Panel {
                y_label: if title.is_empty() {
                    "goodput (Mbit/s)".into()
                } else {
                    format!("{title}: goodput (Mbit/s)")
                },
                series,
                log_y: true,
            }
        })
        .collect();
    Some(Chart {
        title: "goodput against random loss (mean over seeds)".into(),
        x_label: "random loss per packet (%, log scale)".into(),
        panels,
        negated_x: false,
        log_x: true,
    })
}

fn md_table(head: &[String], rows: &[Vec<String>]) -> String {
    let mut o = format!(
        "| {} |\n|{}\n",
        head.join(" | "),
        " --- |".repeat(head.len())
    );
    for r in rows {
        let cells: Vec<String> = r.iter().map(|c| c.replace('|', "\\|")).collect();
        let _ = writeln!(o, "| {} |", cells.join(" | "));
    }
    o
}

/// Writes the grid's report into `dir` (where the run folders are): `summary.md`,
/// `summary.json`, `runs.csv`, `index.html` and, with `plots`, `goodput` (up to
/// [`OVERLAY_MAX_RUNS`] runs), `throughput_delay` and `goodput_vs_loss` as PNG and SVG.
pub fn write_grid(
    runs: &[GridRun],
    dir: &Path,
    title: &str,
    plots: bool,
) -> Result<Vec<PathBuf>, ReportError> {
    let mut w = crate::Writer::new(dir)?;
    let mut figs: Vec<(String, String)> = vec![];
    if plots {
        let loaded: Vec<LoadedRun> = runs.iter().map(|r| r.run.clone()).collect();
        let mut charts = vec![];
        if runs.len() <= OVERLAY_MAX_RUNS {
            charts.push((
                "goodput",
                "Goodput over time, overlaid".to_string(),
                goodput_chart(&loaded),
            ));
        }
        charts.push((
            "throughput_delay",
            "Mean goodput against 95th-percentile RTT (delay decreases to the right)".into(),
            scatter_chart(&loaded),
        ));
        if let Some(c) = goodput_vs_loss_chart(runs) {
            charts.push((
                "goodput_vs_loss",
                "Goodput against random loss, one line per algorithm".into(),
                c,
            ));
        }
        for (stem, caption, chart) in charts {
            w.chart(stem, &chart)?;
            figs.push((caption, stem.to_string()));
        }
    }
    let (head, rows) = table(runs);
    let mut md = format!("# {title}\n\n");
    md += &md_table(&head, &rows);
    let shares: Vec<String> = runs
        .iter()
        .filter(|r| !r.run.summary.cc_shares.is_empty())
        .map(|r| {
            let parts: Vec<String> = r
                .run
                .summary
                .cc_shares
                .iter()
                .map(|c| {
                    format!(
                        "{} {:.1} % ({:.2} Mbit/s)",
                        c.cc,
                        c.share * 100.0,
                        c.goodput_mbps
                    )
                })
                .collect();
            format!("- `{}`: {}", r.label, parts.join(", "))
        })
        .collect();
    if !shares.is_empty() {
        md += "\n## Goodput share per congestion control\n\n";
        md += &shares.join("\n");
        md += "\n";
    }
    md += "\nEach run's own report is in its folder (`<run>/index.html`).\n";
    for (c, stem) in &figs {
        let _ = write!(md, "\n![{c}]({stem}.png)\n");
    }
    w.text("summary.md", &md)?;
    let json = serde_json::json!({
        "title": title,
        "runs": runs.iter().map(|r| serde_json::json!({
            "label": r.label,
            "params": r.params.iter().map(|p| (p.0.clone(), serde_json::Value::from(p.1.clone()))).collect::<serde_json::Map<_, _>>(),
            "summary": r.run.summary,
        })).collect::<Vec<_>>(),
    });
    w.text(
        "summary.json",
        &(serde_json::to_string_pretty(&json).map_err(|e| ReportError::Parse {
            path: dir.join("summary.json"),
            message: e.to_string(),
        })? + "\n"),
    )?;
    w.text("runs.csv", &runs_csv(runs))?;
    let mut page = html::head(title);
    let heads: Vec<&str> = head.iter().map(|s| s.as_str()).collect();
    page += &html::table(&heads, &rows);
    if !shares.is_empty() {
        page += "<h2>Goodput share per congestion control</h2>\n<ul>\n";
        for s in &shares {
            let _ = writeln!(page, "<li>{}</li>", html::esc(s.trim_start_matches("- ")));
        }
        page += "</ul>\n";
    }
    page += "<h2>Runs</h2>\n<ul>\n";
    for r in runs {
        let _ = writeln!(
            page,
            "<li><a href=\"{0}/index.html\">{0}</a></li>",
            html::esc(&r.label)
        );
    }
    page += "</ul>\n";
    for (c, stem) in &figs {
        page += &html::figure(c, &format!("{stem}.png"), &format!("{stem}.svg"));
    }
    page += "</body>\n</html>\n";
    w.text("index.html", &page)?;
    Ok(w.files)
}
