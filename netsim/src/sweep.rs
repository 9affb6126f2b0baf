//! Comparisons and parameter sweeps: one scenario run many times over a grid.
//!
//! A scenario with a `compare:` list runs once per congestion control; one with a `sweep:`
//! block runs once per point of the grid rate × delay (or RTT) × loss × cc × seed (the grid
//! and its expansion are [`crate::scenario::grid`]'s; running it is this module's). Every run
//! is an ordinary scenario run (single-threaded and deterministic) written into its own
//! folder `<out>/<label>/`; runs execute in parallel on `jobs` threads, and the top-level
//! comparison report (`reports::grid`) is built from the run folders afterwards, so the
//! files written do not depend on the number of threads. `--shard I/N` runs the runs whose
//! index is I−1 modulo N; [`merge`] joins shard folders into the report an unsharded run
//! would have written.
//!
//! The syntax is documented in `netsim/SCENARIOS.md`.

use crate::run::{run, RunError, RunOptions, RunOutcome};
use crate::scenario::grid::{axes, expand, is_grid, GridRun, Params};
use crate::scenario::{Scenario, ScenarioError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Why a grid could not be run, reported or merged.
#[derive(Debug, thiserror::Error)]
pub enum GridError {
    /// The scenario file does not load.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The grid's folder cannot be created.
    #[error("{}: cannot create output folder: {source}", path.display())]
    OutputDir {
        /// The folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// One run of the grid failed.
    #[error("run {label}: {source}")]
    Run {
        /// The run's label.
        label: String,
        /// Why.
        source: RunError,
    },
    /// A file or folder could not be read, written or created.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// grid.json could not be read or written as JSON.
    #[error("{}: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// A run folder or the comparison report could not be read or written.
    #[error(transparent)]
    Report(#[from] reports::ReportError),
    /// A run folder could not be copied into the merged folder.
    #[error("copying {}: {source}", from.display())]
    Copy {
        /// The run folder.
        from: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `merge` was given no folder.
    #[error("nothing to merge")]
    NothingToMerge,
    /// The folders to merge are not slices of one grid.
    #[error("{}: another grid ({theirs}) than {} ({ours})", dir.display(), first.display())]
    OtherGrid {
        /// The folder that differs.
        dir: PathBuf,
        /// What it holds: scenario, runs, digest.
        theirs: String,
        /// The first folder.
        first: PathBuf,
        /// What the first holds.
        ours: String,
    },
    /// Two folders hold the same run.
    #[error("run {index} ({label}) is in both {} and {}", a.display(), b.display())]
    Overlap {
        /// The run's grid index.
        index: usize,
        /// Its label.
        label: String,
        /// One folder.
        a: PathBuf,
        /// The other.
        b: PathBuf,
    },
    /// Runs are missing and `partial` was not given.
    #[error("{present} of {total} runs present; missing run indices {missing} (--partial merges anyway)")]
    Missing {
        /// Runs present.
        present: usize,
        /// Runs in the grid.
        total: usize,
        /// The missing indices, comma separated.
        missing: String,
    },
}

/// Parses `I/N` (1 ≤ I ≤ N).
pub fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (i, n) = s
        .split_once('/')
        .ok_or_else(|| format!("`{s}`: expected I/N, e.g. 2/4"))?;
    let (i, n): (usize, usize) = (
        i.trim()
            .parse()
            .map_err(|_| format!("`{s}`: `{i}` is not a number"))?,
        n.trim()
            .parse()
            .map_err(|_| format!("`{s}`: `{n}` is not a number"))?,
    );
    if n == 0 || i == 0 || i > n {
        return Err(format!("`{s}`: need 1 <= I <= N"));
    }
    Ok((i, n))
}

/// The shard (1-based, of `n`) that runs the run with this index: round robin.
pub fn shard_of(index: usize, n: usize) -> usize {
    index % n.max(1) + 1
}

/// How to run a grid.
#[derive(Clone, Debug)]
pub struct GridOptions {
    /// Options of every run (`out` is the grid's folder; `seed` replaces the seeds axis).
    pub base: RunOptions,
    /// Threads (at least 1).
    pub jobs: usize,
    /// Run only this shard (I, N).
    pub shard: Option<(usize, usize)>,
    /// Print a line per finished run.
    pub progress: bool,
}

/// One run's entry in `grid.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManifestRun {
    /// Grid index.
    pub index: usize,
    /// Folder name.
    pub label: String,
    /// Parameters.
    pub params: Params,
}

/// `grid.json`: what a grid folder holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Scenario name.
    pub scenario: String,
    /// MD5 of the scenario as run (the parsed form), identifying the grid for merges.
    pub scenario_digest: String,
    /// Runs in the whole grid.
    pub total_runs: usize,
    /// (I, N) when this folder holds one shard.
    pub shard: Option<(usize, usize)>,
    /// Which axes vary: `cc`, `rate`, `delay`/`rtt`, `loss`, `seed`.
    pub axes: Vec<String>,
    /// The runs in this folder, in grid order.
    pub runs: Vec<ManifestRun>,
}

/// What a grid run produced.
pub struct GridOutcome {
    /// The folder.
    pub dir: PathBuf,
    /// (label, outcome) per run executed, in grid order.
    pub runs: Vec<(String, Result<RunOutcome, RunError>)>,
    /// Files of the top-level report.
    pub report_files: Vec<PathBuf>,
    /// The comparisons across runs (`cc_ratio`), each with the parameters its runs share.
    pub checks: Vec<(String, reports::Check)>,
}

/// The default folder of a grid: `out/<name>` or `out/<name>.shard-I-of-N`.
pub fn default_dir(name: &str, shard: Option<(usize, usize)>) -> PathBuf {
    match shard {
        None => PathBuf::from("out").join(name),
        Some((i, n)) => PathBuf::from("out").join(format!("{name}.shard-{i}-of-{n}")),
    }
}

/// Removes `--shard X`, `--jobs X` / `-j X` from a recorded command line: they do not
/// change what a run writes.
pub fn canonical_command_line(c: &str) -> String {
    let mut out = vec![];
    let mut skip = false;
    for w in c.split(' ') {
        if skip {
            skip = false;
            continue;
        }
        if w == "--shard" || w == "--jobs" || w == "-j" {
            skip = true;
            continue;
        }
        if w.starts_with("--shard=") || w.starts_with("--jobs=") {
            continue;
        }
        out.push(w);
    }
    out.join(" ")
}

/// Runs a comparison or sweep (or this shard of it) and writes the top-level report.
pub fn run_grid(s: &Scenario, opts: &GridOptions) -> Result<GridOutcome, GridError> {
    let all = expand(s, opts.base.seed);
    let dir = opts
        .base
        .out
        .clone()
        .unwrap_or_else(|| default_dir(&s.name, opts.shard));
    std::fs::create_dir_all(&dir).map_err(|source| GridError::OutputDir {
        path: dir.clone(),
        source,
    })?;
    let mine: Vec<&GridRun> = all
        .iter()
        .filter(|r| opts.shard.is_none_or(|(i, n)| shard_of(r.index, n) == i))
        .collect();
    let slots: Vec<Mutex<Option<Result<RunOutcome, RunError>>>> =
        mine.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let cmd = opts
        .base
        .command_line
        .as_deref()
        .map(canonical_command_line);
    std::thread::scope(|scope| {
        for _ in 0..opts.jobs.clamp(1, mine.len().max(1)) {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(r) = mine.get(k) else { break };
                let ro = RunOptions {
                    seed: None,
                    out: Some(dir.join(&r.label)),
                    duration: opts.base.duration,
                    quiet: true,
                    no_plots: opts.base.no_plots,
                    command_line: cmd.as_ref().map(|c| format!("{c} # run {}", r.label)),
                };
                let res = run(&r.scenario, &ro);
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if opts.progress {
                    match &res {
                        Ok(o) => println!(
                            "[{n}/{}] {}: {} in {:.2} s wall",
                            mine.len(),
                            r.label,
                            o.summary
                                .flows
                                .iter()
                                .map(|f| format!(
                                    "{} {:.2} Mbit/s",
                                    f.name,
                                    f.goodput_mbps.mean.unwrap_or(0.0)
                                ))
                                .collect::<Vec<_>>()
                                .join(", "),
                            o.wall_s
                        ),
                        Err(e) => println!("[{n}/{}] {}: error: {e}", mine.len(), r.label),
                    }
                }
                if let Ok(mut slot) = slots[k].lock() {
                    *slot = Some(res);
                }
            });
        }
    });
    let mut runs: Vec<(String, Result<RunOutcome, RunError>)> = mine
        .iter()
        .zip(slots)
        .map(|(r, slot)| {
            let res = slot
                .into_inner()
                .ok()
                .flatten()
                .unwrap_or(Err(RunError::Unfinished));
            (r.label.clone(), res)
        })
        .collect();
    if let Some(k) = runs.iter().position(|r| r.1.is_err()) {
        let (label, res) = runs.swap_remove(k);
        if let Err(source) = res {
            return Err(GridError::Run { label, source });
        }
    }
    let manifest = Manifest {
        scenario: s.name.clone(),
        scenario_digest: crate::output::md5_hex(format!("{s:?}").as_bytes()),
        total_runs: all.len(),
        shard: opts.shard,
        axes: axes(s),
        runs: mine
            .iter()
            .map(|r| ManifestRun {
                index: r.index,
                label: r.label.clone(),
                params: r.params.clone(),
            })
            .collect(),
    };
    let report_files = write_report(&dir, &manifest, !opts.base.no_plots)?;
    let done: Vec<_> = mine
        .iter()
        .zip(&runs)
        .filter_map(|(g, (_, r))| r.as_ref().ok().map(|o| (&g.params, &o.summary)))
        .collect();
    let checks = crate::expect::evaluate_grid(s, &done);
    Ok(GridOutcome {
        dir,
        runs,
        report_files,
        checks,
    })
}

fn read_manifest(dir: &Path) -> Result<Manifest, GridError> {
    let path = dir.join("grid.json");
    let text = std::fs::read_to_string(&path).map_err(|source| GridError::Io {
        path: path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| GridError::Json { path, source })
}

/// Writes `grid.json` and the comparison report of the runs in `dir`.
pub fn write_report(dir: &Path, m: &Manifest, plots: bool) -> Result<Vec<PathBuf>, GridError> {
    let p = dir.join("grid.json");
    let text = serde_json::to_string_pretty(m).map_err(|source| GridError::Json {
        path: p.clone(),
        source,
    })? + "\n";
    std::fs::write(&p, text).map_err(|source| GridError::Io {
        path: p.clone(),
        source,
    })?;
    let runs = m
        .runs
        .iter()
        .map(|r| {
            let loaded = reports::compare::load_run(&dir.join(&r.label))?;
            let pr = &r.params;
            let mut params = vec![];
            for (k, v) in pr.written() {
                if m.axes.iter().any(|a| a == k) {
                    params.push((k.to_string(), v.clone().unwrap_or_default()));
                }
            }
            if m.axes.iter().any(|a| a == "seed") {
                params.push(("seed".into(), pr.seed.to_string()));
            }
            let group = match (&pr.rtt, &pr.delay) {
                (Some(r), _) => Some((pr.delay_ms.unwrap_or(0.0), format!("RTT {r}"))),
                (None, Some(d)) => Some((pr.delay_ms.unwrap_or(0.0), format!("one-way delay {d}"))),
                _ => None,
            };
            let group = match (group, &pr.rate) {
                (Some((k, g)), Some(r)) => Some((k, format!("{g}, {r}"))),
                (None, Some(r)) => Some((0.0, r.clone())),
                (g, None) => g,
            };
            Ok(reports::grid::GridRun {
                label: r.label.clone(),
                params,
                line: pr.cc.clone(),
                loss_pct: pr.loss_fraction.map(|f| f * 100.0),
                group,
                run: loaded,
            })
        })
        .collect::<Result<Vec<_>, GridError>>()?;
    let title = match &m.shard {
        None => format!("{}: {} runs", m.scenario, m.total_runs),
        Some((i, n)) => format!(
            "{}: shard {i} of {n} ({} of {} runs)",
            m.scenario,
            m.runs.len(),
            m.total_runs
        ),
    };
    let mut files = vec![p];
    files.extend(reports::grid::write_grid(&runs, dir, &title, plots)?);
    Ok(files)
}

/// Joins shard folders (or any grid folders of the same scenario) into `out`: copies each
/// run folder into `out/<label>/` and writes the report an unsharded run would have written.
/// Fails when the folders belong to different grids, overlap, or (unless `partial`) miss runs.
pub fn merge(
    dirs: &[PathBuf],
    out: &Path,
    plots: bool,
    partial: bool,
) -> Result<Manifest, GridError> {
    let mut manifests = vec![];
    for d in dirs {
        manifests.push((d, read_manifest(d)?));
    }
    let Some((_, first)) = manifests.first() else {
        return Err(GridError::NothingToMerge);
    };
    let mut runs: Vec<(ManifestRun, &PathBuf)> = vec![];
    for (d, m) in &manifests {
        if m.scenario_digest != first.scenario_digest || m.total_runs != first.total_runs {
            return Err(GridError::OtherGrid {
                dir: d.to_path_buf(),
                theirs: format!(
                    "{} of {} runs, digest {}",
                    m.scenario, m.total_runs, m.scenario_digest
                ),
                first: dirs[0].clone(),
                ours: format!("{}, digest {}", first.scenario, first.scenario_digest),
            });
        }
        for r in &m.runs {
            if let Some((_, other)) = runs.iter().find(|x| x.0.index == r.index) {
                return Err(GridError::Overlap {
                    index: r.index,
                    label: r.label.clone(),
                    a: other.to_path_buf(),
                    b: d.to_path_buf(),
                });
            }
            runs.push((r.clone(), d));
        }
    }
    runs.sort_by_key(|r| r.0.index);
    if !partial && runs.len() != first.total_runs {
        let missing: Vec<String> = (0..first.total_runs)
            .filter(|i| !runs.iter().any(|r| r.0.index == *i))
            .map(|i| i.to_string())
            .collect();
        return Err(GridError::Missing {
            present: runs.len(),
            total: first.total_runs,
            missing: missing.join(", "),
        });
    }
    std::fs::create_dir_all(out).map_err(|source| GridError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    for (r, d) in &runs {
        let from = d.join(&r.label);
        let to = out.join(&r.label);
        let same = match (std::fs::canonicalize(&from), std::fs::canonicalize(&to)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if !same {
            let _ = std::fs::remove_dir_all(&to);
            copy_dir(&from, &to).map_err(|source| GridError::Copy {
                from: from.clone(),
                source,
            })?;
        }
    }
    let all = runs.len() == first.total_runs;
    let m = Manifest {
        scenario: first.scenario.clone(),
        scenario_digest: first.scenario_digest.clone(),
        total_runs: first.total_runs,
        shard: None,
        axes: first.axes.clone(),
        runs: runs.into_iter().map(|r| r.0).collect(),
    };
    if !all {
        eprintln!(
            "netsim: merge: {} of {} runs (partial)",
            m.runs.len(),
            m.total_runs
        );
    }
    write_report(out, &m, plots)?;
    Ok(m)
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let t = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &t)?;
        } else {
            std::fs::copy(e.path(), &t)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;

/// Whether the scenario file at `path` is a comparison or sweep (`false` when it does not
/// load; the ordinary run reports the error).
pub fn is_grid_file(path: &Path) -> bool {
    Scenario::load(path).is_ok_and(|s| is_grid(&s))
}

/// Runs a grid scenario file for the command line: prints a line per run, the comparison
/// table's location and, with `check`, the expectations. Returns (expectations holding,
/// expectations checked) over every run.
pub fn run_grid_file(
    path: &Path,
    base: &RunOptions,
    jobs: usize,
    shard: Option<(usize, usize)>,
    check: bool,
) -> Result<(usize, usize), GridError> {
    let s = Scenario::load(path)?;
    let wall = std::time::Instant::now();
    let o = run_grid(
        &s,
        &GridOptions {
            base: base.clone(),
            jobs,
            shard,
            progress: !base.quiet,
        },
    )?;
    let mut held = 0;
    let mut total = 0;
    let per_run = o
        .runs
        .iter()
        .filter_map(|(label, r)| Some((label, &r.as_ref().ok()?.data.checks)))
        .flat_map(|(label, cs)| cs.iter().map(move |c| (label, c)));
    for (label, c) in per_run.chain(o.checks.iter().map(|(l, c)| (l, c))) {
        total += 1;
        if c.passed {
            held += 1;
        } else if check {
            println!("  [FAIL] {label}: {} (observed: {})", c.what, c.observed);
        }
    }
    let cpu: f64 = o
        .runs
        .iter()
        .filter_map(|r| r.1.as_ref().ok())
        .map(|r| r.wall_s)
        .sum();
    println!(
        "{}: {} runs{} on {} threads in {:.1} s wall ({:.1} s of simulation); report in {} (open {})",
        path.display(),
        o.runs.len(),
        shard.map_or(String::new(), |(i, n)| format!(" (shard {i}/{n})")),
        jobs,
        wall.elapsed().as_secs_f64(),
        cpu,
        o.dir.display(),
        o.dir.join("index.html").display()
    );
    if check {
        println!("{}: {held} of {total} expectations hold", path.display());
    }
    Ok((held, total))
}
