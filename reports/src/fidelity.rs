//! The fidelity report: each point of a scenario's grid run several ways (the simulator,
//! the project over real sockets, the reference library over real sockets), their time
//! series overlaid, and a table of goodput differences against the reference, judged
//! against a tolerance.
//!
//! The ways are traces with the simulator's own metric names (`goodput_mbps`,
//! `send_period_us`, `cwnd_pkts`, `rtt_ms`, as in `timeseries.csv`), so one plotting path serves
//! simulated runs and the statistics files of real ones.

use crate::html;
use crate::plot::{Chart, Mark, Panel, Series};
use crate::ReportError;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The metrics overlaid, with their axis labels.
pub const METRICS: [(&str, &str); 4] = [
    ("goodput_mbps", "goodput (Mbit/s)"),
    ("send_period_us", "sending period (µs)"),
    ("cwnd_pkts", "congestion window (packets)"),
    ("rtt_ms", "smoothed RTT (ms)"),
];

/// One way of running one grid point.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    /// Which way (`sim`, `project`, `reference`, …).
    pub way: String,
    /// Mean goodput over the measurement window, Mbit/s; `None` when the run failed.
    pub goodput_mbps: Option<f64>,
    /// Why the run failed, if it did.
    pub error: Option<String>,
    /// Time series by metric name: (metric, [(time s, value)]).
    pub series: Vec<(String, Vec<(f64, f64)>)>,
}

/// One run of a grid (a label such as `rate10Mbps_rtt20ms_loss1pct_seed2`) and its traces.
#[derive(Clone, Debug, Default)]
pub struct Cell {
    /// The run's label.
    pub label: String,
    /// The grid point it is one seed of (`rate10Mbps_rtt20ms_loss1pct`): cells with the same
    /// point are judged together (see [`judged`]).
    pub point: String,
    /// Its traces, the reference among them.
    pub traces: Vec<Trace>,
}

impl Cell {
    fn goodput(&self, way: &str) -> Option<f64> {
        self.traces
            .iter()
            .find(|t| t.way == way)
            .and_then(|t| t.goodput_mbps)
    }

    /// `way`'s goodput over the reference's, when both ran.
    pub fn ratio(&self, way: &str, reference: &str) -> Option<f64> {
        let (a, r) = (self.goodput(way)?, self.goodput(reference)?);
        (r > 0.0).then(|| a / r)
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// The cells a verdict judges. A grid run with several seeds is judged by each way's median
/// goodput over the seeds of a point (one seed is one draw of the loss and of the real
/// machine's timing); a way that failed on any seed has no median, so it fails. Without
/// repeated seeds, the cells themselves.
pub fn judged(cells: &[Cell]) -> Vec<Cell> {
    // Points with their number of seeds, and each (point, way)'s goodputs: `None` once a
    // run failed.
    let mut points: Vec<(&str, usize)> = vec![];
    let mut runs: Vec<(&str, &str, Option<Vec<f64>>)> = vec![];
    for c in cells {
        let label = c.point.as_str();
        match points.iter_mut().find(|(l, _)| *l == label) {
            Some((_, n)) => *n += 1,
            None => points.push((label, 1)),
        }
        for t in &c.traces {
            let k = match runs.iter().position(|(l, w, _)| *l == label && *w == t.way) {
                Some(k) => k,
                None => {
                    runs.push((label, &t.way, Some(vec![])));
                    runs.len() - 1
                }
            };
            let goodputs = &mut runs[k].2;
            match (goodputs.as_mut(), t.goodput_mbps) {
                (Some(v), Some(g)) => v.push(g),
                _ => *goodputs = None,
            }
        }
    }
    if points.iter().all(|&(_, n)| n == 1) {
        return cells.to_vec();
    }
    points
        .iter()
        .map(|&(label, n)| Cell {
            label: label.to_string(),
            point: label.to_string(),
            traces: runs
                .iter()
                .filter(|(l, _, _)| *l == label)
                .map(|(_, way, goodputs)| {
                    let all = goodputs.as_ref().filter(|v| v.len() == n);
                    Trace {
                        way: way.to_string(),
                        goodput_mbps: all.map(|v| median(v.clone())),
                        error: all
                            .is_none()
                            .then(|| format!("did not run on all {n} seeds")),
                        series: vec![],
                    }
                })
                .collect(),
        })
        .collect()
}

/// How a comparison came out.
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    /// The grid point.
    pub cell: String,
    /// The way compared with the reference.
    pub way: String,
    /// Its goodput over the reference's (`None`: one of them did not run).
    pub ratio: Option<f64>,
    /// Within the tolerance.
    pub within: bool,
}

/// Every way's difference from `reference` in every cell. A way that did not run, or a
/// reference that did not, counts as outside the tolerance: nothing is passed unseen.
pub fn differences(cells: &[Cell], reference: &str, tolerance: f64) -> Vec<Difference> {
    let mut out = vec![];
    for c in cells {
        for t in c.traces.iter().filter(|t| t.way != reference) {
            let ratio = c.ratio(&t.way, reference);
            out.push(Difference {
                cell: c.label.clone(),
                way: t.way.clone(),
                ratio,
                within: ratio.is_some_and(|r| (r - 1.0).abs() <= tolerance + 1e-12),
            });
        }
    }
    out
}

/// The overlaid time series of one cell, one panel per metric.
pub fn chart(cell: &Cell) -> Chart {
    let panels = METRICS
        .iter()
        .map(|(metric, y_label)| Panel {
            y_label: y_label.to_string(),
            series: cell
                .traces
                .iter()
                .enumerate()
                .filter_map(|(i, t)| {
                    let (_, pts) = t.series.iter().find(|(m, _)| m == metric)?;
                    Some(Series {
                        label: t.way.clone(),
                        points: pts.clone(),
                        color: i,
                        mark: Mark::Line,
                    })
                })
                .collect(),
            log_y: false,
        })
        .collect();
    Chart {
        title: cell.label.clone(),
        x_label: "time (s)".into(),
        panels,
        negated_x: false,
        log_x: false,
    }
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{v:.digits$}"))
}

/// The table: one row per cell, goodput per way, and each way's ratio to the reference.
pub fn table(cells: &[Cell], ways: &[String], reference: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut head = vec!["grid point".to_string()];
    head.extend(ways.iter().map(|w| format!("{w} (Mbit/s)")));
    head.extend(
        ways.iter()
            .filter(|w| *w != reference)
            .map(|w| format!("{w} / {reference}")),
    );
    let rows = cells
        .iter()
        .map(|c| {
            let mut row = vec![c.label.clone()];
            row.extend(ways.iter().map(|w| fmt_opt(c.goodput(w), 2)));
            row.extend(
                ways.iter()
                    .filter(|w| *w != reference)
                    .map(|w| fmt_opt(c.ratio(w, reference), 3)),
            );
            row
        })
        .collect();
    (head, rows)
}

/// `fidelity.csv`'s rows: one per cell and way, with its difference from the reference.
fn csv_rows(cells: &[Cell], diffs: &[Difference]) -> String {
    let mut csv = String::from("cell,way,goodput_mbps,ratio_to_reference,within,error\n");
    for c in cells {
        for t in &c.traces {
            let d = diffs.iter().find(|d| d.cell == c.label && d.way == t.way);
            let _ = writeln!(
                csv,
                "{},{},{},{},{},{}",
                crate::csv::field(&c.label),
                crate::csv::field(&t.way),
                t.goodput_mbps.map_or(String::new(), |g| format!("{g:.4}")),
                d.and_then(|d| d.ratio)
                    .map_or(String::new(), |r| format!("{r:.4}")),
                d.map_or(String::new(), |d| d.within.to_string()),
                crate::csv::field(t.error.as_deref().unwrap_or("")),
            );
        }
    }
    csv
}

/// Writes the report into `out`: `index.html`, `summary.md`, `fidelity.csv` (one row per
/// cell and way), `fidelity_medians.csv` when the grid repeats seeds (see [`judged`]) and,
/// with `plots`, `cells/<label>.{png,svg}`. Returns the files written.
pub fn write(
    out: &Path,
    cells: &[Cell],
    reference: &str,
    tolerance: f64,
    plots: bool,
) -> Result<Vec<PathBuf>, ReportError> {
    let mut w = crate::Writer::new(out)?;
    let mut ways: Vec<String> = vec![];
    for t in cells.iter().flat_map(|c| &c.traces) {
        if !ways.contains(&t.way) {
            ways.push(t.way.clone());
        }
    }
    let runs = differences(cells, reference, tolerance);
    let points = judged(cells);
    let over_seeds = points.len() != cells.len();
    let diffs = differences(&points, reference, tolerance);
    let bad = diffs.iter().filter(|d| !d.within).count();

    w.text("fidelity.csv", &csv_rows(cells, &runs))?;
    if over_seeds {
        w.text("fidelity_medians.csv", &csv_rows(&points, &diffs))?;
    }

    let judged_by = if over_seeds {
        " (each way's median goodput over the seeds)"
    } else {
        ""
    };
    let verdict = if bad == 0 {
        format!(
            "every way is within {:.0}% of `{reference}` in all {} grid points{judged_by}",
            tolerance * 100.0,
            points.len()
        )
    } else {
        format!(
            "{bad} of {} comparisons are outside {:.0}% of `{reference}`{judged_by}",
            diffs.len(),
            tolerance * 100.0
        )
    };
    let mut md = format!("# Fidelity against `{reference}`\n\n{verdict}.\n");
    let mut tables = vec![];
    if over_seeds {
        tables.push(("Median over seeds", table(&points, &ways, reference)));
    }
    tables.push(("Every run", table(cells, &ways, reference)));
    for (title, (head, rows)) in &tables {
        let _ = write!(
            md,
            "\n## {title}\n\n| {} |\n|{}\n",
            head.join(" | "),
            " --- |".repeat(head.len())
        );
        for r in rows {
            let _ = writeln!(md, "| {} |", r.join(" | "));
        }
    }
    for c in cells {
        for t in c.traces.iter().filter(|t| t.error.is_some()) {
            let _ = writeln!(
                md,
                "\n- `{}` {}: {}",
                c.label,
                t.way,
                t.error.as_deref().unwrap_or("")
            );
        }
    }
    let mut page = html::head(&format!("Fidelity against {reference}"));
    let _ = writeln!(page, "<p>{}.</p>", html::esc(&verdict));
    for (title, (head, rows)) in &tables {
        let _ = writeln!(page, "<h2>{}</h2>", html::esc(title));
        let head_refs: Vec<&str> = head.iter().map(|s| s.as_str()).collect();
        page += &html::table(&head_refs, rows);
    }
    if plots {
        for c in cells {
            let stem = format!("cells/{}", c.label);
            w.chart(&stem, &chart(c))?;
            let _ = write!(md, "\n![{0}]({1}.png)\n", c.label, stem);
            page += &html::figure(&c.label, &format!("{stem}.png"), &format!("{stem}.svg"));
        }
    }
    page += "</body>\n</html>\n";
    w.text("summary.md", &md)?;
    w.text("index.html", &page)?;
    Ok(w.files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(label: &str, sim: Option<f64>, reference: Option<f64>) -> Cell {
        let trace = |way: &str, g: Option<f64>| Trace {
            way: way.into(),
            goodput_mbps: g,
            error: g.is_none().then(|| "did not run".into()),
            series: vec![("goodput_mbps".into(), vec![(0.1, 1.0), (0.2, 2.0)])],
        };
        Cell {
            label: label.into(),
            // The point as the grid names it: the label up to its seed.
            point: label.split("_seed").next().unwrap_or(label).into(),
            traces: vec![trace("sim", sim), trace("reference", reference)],
        }
    }

    #[test]
    fn ratios_are_judged_against_the_tolerance_and_missing_runs_fail() {
        let cells = [
            cell("a", Some(9.5), Some(10.0)),
            cell("b", Some(8.9), Some(10.0)),
            cell("c", None, Some(10.0)),
            cell("d", Some(1.0), Some(0.0)),
        ];
        let d = differences(&cells, "reference", 0.10);
        let verdicts: Vec<(String, bool)> = d.iter().map(|d| (d.cell.clone(), d.within)).collect();
        assert_eq!(
            verdicts,
            vec![
                ("a".into(), true),
                ("b".into(), false),
                ("c".into(), false),
                ("d".into(), false)
            ]
        );
        assert!((d[0].ratio.unwrap() - 0.95).abs() < 1e-12);
    }

    #[test]
    fn repeated_seeds_are_judged_by_their_median() {
        let cells = [
            cell("r10_loss1pct_seed1", Some(5.0), Some(10.0)),
            cell("r10_loss1pct_seed2", Some(9.6), Some(9.0)),
            cell("r10_loss1pct_seed3", Some(10.4), Some(11.0)),
            cell("r10_loss3pct_seed1", Some(1.0), Some(1.0)),
            cell("r10_loss3pct_seed2", None, Some(1.0)),
            cell("r10_loss3pct_seed3", Some(1.0), Some(1.0)),
        ];
        let points = judged(&cells);
        let labels: Vec<&str> = points.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels, ["r10_loss1pct", "r10_loss3pct"]);
        // Medians 9.6 against 10.0: within, though seed 1 alone is at half.
        assert_eq!(points[0].goodput("sim"), Some(9.6));
        assert_eq!(points[0].goodput("reference"), Some(10.0));
        // A way that failed on one seed has no median.
        assert_eq!(points[1].goodput("sim"), None);
        let d = differences(&points, "reference", 0.1);
        let within: Vec<bool> = d.iter().map(|d| d.within).collect();
        assert_eq!(within, [true, false]);

        let dir = std::env::temp_dir().join(format!("fidelity-seeds-{}", std::process::id()));
        write(&dir, &cells, "reference", 0.1, false).unwrap();
        let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
        assert!(md.contains("1 of 2 comparisons are outside 10%"), "{md}");
        assert!(
            md.contains("| r10_loss1pct | 9.60 | 10.00 | 0.960 |"),
            "{md}"
        );
        assert!(
            md.contains("| r10_loss1pct_seed1 | 5.00 | 10.00 | 0.500 |"),
            "{md}"
        );
        let csv = std::fs::read_to_string(dir.join("fidelity_medians.csv")).unwrap();
        assert!(
            csv.contains("r10_loss3pct,sim,,,false,did not run on all 3 seeds"),
            "{csv}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_report_lists_every_cell_and_says_what_failed() {
        let dir = std::env::temp_dir().join(format!("fidelity-report-{}", std::process::id()));
        let cells = [
            cell("a", Some(9.5), Some(10.0)),
            cell("c", None, Some(10.0)),
        ];
        let files = write(&dir, &cells, "reference", 0.1, false).unwrap();
        assert!(files.iter().any(|f| f.ends_with("index.html")));
        let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
        assert!(md.contains("1 of 2 comparisons are outside 10%"), "{md}");
        assert!(md.contains("| a | 9.50 | 10.00 | 0.950 |"), "{md}");
        assert!(md.contains("`c` sim: did not run"), "{md}");
        let csv = std::fs::read_to_string(dir.join("fidelity.csv")).unwrap();
        assert!(csv.contains("a,sim,9.5000,0.9500,true,"), "{csv}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
