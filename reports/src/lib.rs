//! reports: the plots and summaries of testbed runs.
//!
//! A backend (the `netsim` simulator, or netsim's real-UDP driver) converts what it recorded
//! into a [`RunData`], the one product of a run; [`summarise`] computes the statistics
//! (goodput over the active window, utilisation, percentiles, Jain's index, coefficient of
//! variation) that summary.json shows and expectations judge, and [`write_run`] writes into
//! the run's folder:
//!
//! | file | what |
//! | --- | --- |
//! | `summary.json` | [`RunSummary`]: metadata, per-flow statistics, fairness, stability, checks, backend details |
//! | `summary.md` | the same as Markdown tables, with the plots inlined |
//! | `timeseries.csv` | tidy `time_s,flow,metric,value` per flow |
//! | `queues.csv` | tidy `time_s,link,metric,value` per rate-limited link direction |
//! | `index.html` | a page, openable from disk, with the table and the plots |
//! | `plots/*.png`, `plots/*.svg` | goodput, sending rate and period, windows, RTT, losses, queues |
//!
//! [`compare::write_comparison`] builds a report over several run folders. Plots are drawn with
//! plotters and an embedded DejaVu Sans, so no system font library is needed; output depends
//! only on the data, never on the wall clock.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod charts;
pub mod compare;
pub mod csv;
pub mod fidelity;
pub mod grid;
pub mod html;
pub mod model;
pub mod plot;
pub mod stats;
pub mod summary;

pub use model::{Check, FlowData, FlowPoint, FlowTotals, LinkData, QueuePoint, RunData, RunMeta};
pub use summary::{summarise, RunSummary};

use std::path::{Path, PathBuf};

/// Why a report could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file did not hold what was expected.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// A chart could not be drawn.
    #[error("{path}: cannot draw: {message}")]
    Plot {
        /// The image file.
        path: PathBuf,
        /// What plotters said.
        message: String,
    },
}

/// What to write.
#[derive(Clone, Copy, Debug)]
pub struct ReportOptions {
    /// Render the PNG and SVG plots.
    pub plots: bool,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions { plots: true }
    }
}

/// What [`write_run`] wrote.
#[derive(Clone, Debug, Default)]
pub struct Written {
    /// Every file, in the order written.
    pub files: Vec<PathBuf>,
    /// Wall time spent rendering plots, seconds (never written into a file).
    pub plot_seconds: f64,
    /// The summary.
    pub summary: RunSummary,
}

/// Writes files into a folder and remembers them.
pub(crate) struct Writer {
    dir: PathBuf,
    files: Vec<PathBuf>,
}

impl Writer {
    pub(crate) fn new(dir: &Path) -> Result<Self, ReportError> {
        std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(Writer {
            dir: dir.to_path_buf(),
            files: vec![],
        })
    }

    pub(crate) fn text(&mut self, name: &str, text: &str) -> Result<(), ReportError> {
        let path = self.dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| ReportError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&path, text).map_err(|source| ReportError::Io {
            path: path.clone(),
            source,
        })?;
        self.files.push(path);
        Ok(())
    }

    /// Writes `<stem>.png` and `<stem>.svg` (the stem may hold a sub-folder).
    pub(crate) fn chart(&mut self, stem: &str, chart: &plot::Chart) -> Result<(), ReportError> {
        for (ext, render) in [
            (
                "png",
                plot::png as fn(&plot::Chart, &Path) -> Result<(), String>,
            ),
            ("svg", plot::svg),
        ] {
            let path = self.dir.join(format!("{stem}.{ext}"));
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|source| ReportError::Io {
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
            render(chart, &path).map_err(|message| ReportError::Plot {
                path: path.clone(),
                message,
            })?;
            self.files.push(path);
        }
        Ok(())
    }
}

fn to_json<T: serde::Serialize>(v: &T, path: &Path) -> Result<String, ReportError> {
    serde_json::to_string_pretty(v)
        .map(|s| s + "\n")
        .map_err(|e| ReportError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

/// Writes a run's report into `dir` (see the crate documentation for the files).
pub fn write_run(dir: &Path, run: &RunData, opts: ReportOptions) -> Result<Written, ReportError> {
    let mut w = Writer::new(dir)?;
    let summary = summarise(run);
    let mut figs = vec![];
    let mut plot_seconds = 0.0;
    if opts.plots {
        let clock = std::time::Instant::now();
        for c in charts::run_charts(run) {
            w.chart(&format!("plots/{}", c.stem), &c.chart)?;
            figs.push((
                c.caption,
                format!("plots/{}.png", c.stem),
                format!("plots/{}.svg", c.stem),
            ));
        }
        plot_seconds = clock.elapsed().as_secs_f64();
    }
    w.text(
        "summary.json",
        &to_json(&summary, &dir.join("summary.json"))?,
    )?;
    let md_plots: Vec<(String, String)> = figs
        .iter()
        .map(|(c, p, _)| (c.clone(), p.clone()))
        .collect();
    w.text("summary.md", &summary::markdown(&summary, &md_plots))?;
    w.text("timeseries.csv", &csv::timeseries(run))?;
    w.text("queues.csv", &csv::queues(run))?;
    w.text("index.html", &html::run_page(&summary, &figs))?;
    Ok(Written {
        files: w.files,
        plot_seconds,
        summary,
    })
}
