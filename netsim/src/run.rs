//! Running one scenario end to end: build, run with an optional progress bar, write results,
//! check expectations, print the summary table and the timing line.

pub use crate::error::RunError;
use crate::output::{md5_hex, pcap_sinks, product, write_results, Provenance};
use crate::scenario::Scenario;
use crate::summary::Summary;
use crate::world::{Endpoints, World};
use reports::{RunData, RunSummary};
use std::path::{Path, PathBuf};
use std::time::Instant as WallClock;

/// How to run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Seed override.
    pub seed: Option<u64>,
    /// Output folder override.
    pub out: Option<PathBuf>,
    /// Duration override, ns.
    pub duration: Option<u64>,
    /// No progress bar or table.
    pub quiet: bool,
    /// Skip the PNG/SVG plots (the rest of the report is still written).
    pub no_plots: bool,
    /// The command line, recorded in the report's metadata.
    pub command_line: Option<String>,
}

/// What a run produced.
pub struct RunOutcome {
    /// The run's product: flows, series, queues, expectation results.
    pub data: RunData,
    /// Its summary, as summary.json holds it.
    pub summary: RunSummary,
    /// The simulator's own account: counters, messages, fairness phases.
    pub sim: Summary,
    /// Where results went.
    pub dir: PathBuf,
    /// Wall time of the simulation, seconds.
    pub wall_s: f64,
    /// Wall time spent rendering plots, seconds.
    pub plot_s: f64,
    /// Files the report wrote.
    pub report_files: Vec<PathBuf>,
}

/// Runs `scenario` (already loaded) writing into its output folder. The report's scenario
/// digest is the MD5 of the parsed scenario's debug form; [`run_file`] uses the file's bytes.
pub fn run(s: &Scenario, opts: &RunOptions) -> Result<RunOutcome, RunError> {
    run_with_digest(s, opts, md5_hex(format!("{s:?}").as_bytes()))
}

fn run_with_digest(
    s: &Scenario,
    opts: &RunOptions,
    digest: String,
) -> Result<RunOutcome, RunError> {
    let seed = opts.seed.unwrap_or(s.seed);
    let end = opts.duration.unwrap_or(s.duration.0);
    let dir = opts
        .out
        .clone()
        .unwrap_or_else(|| crate::output::default_dir(&s.name, seed));
    std::fs::create_dir_all(&dir).map_err(|source| RunError::OutputDir {
        path: dir.clone(),
        source,
    })?;
    let mut w = {
        let mut sinks = pcap_sinks(&dir);
        World::new(s, seed, end, Endpoints::Simulated, &mut sinks).map_err(RunError::Setup)?
    };
    let wall = WallClock::now();
    let mut bar: Option<indicatif::ProgressBar> = None;
    let step = (end / 200).max(1_000_000);
    let mut until = 0;
    loop {
        until = (until + step).min(end);
        let more = w.run_until(until);
        if !opts.quiet && bar.is_none() && wall.elapsed().as_secs_f64() > 1.0 {
            let b = indicatif::ProgressBar::new(end / 1_000_000);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{bar:40}] {pos}/{len} ms simulated ({elapsed})",
                )
                .expect("static template is valid"),
            );
            bar = Some(b);
        }
        if let Some(b) = &bar {
            b.set_position(w.now / 1_000_000);
        }
        if !more || until >= end {
            break;
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let wall_s = wall.elapsed().as_secs_f64();
    w.finish_captures().map_err(RunError::Capture)?;
    let prov = Provenance {
        scenario_digest: digest,
        command_line: opts
            .command_line
            .clone()
            .unwrap_or_else(|| "(not recorded)".into()),
    };
    let (data, sim) = product(&w, s, &prov);
    let report = reports::ReportOptions {
        plots: !opts.no_plots,
    };
    let written = write_results(&dir, &w, &data, report)?;
    Ok(RunOutcome {
        data,
        summary: written.summary,
        sim,
        dir,
        wall_s,
        plot_s: written.plot_seconds,
        report_files: written.files,
    })
}

/// Loads and runs a scenario file.
pub fn run_file(path: &Path, opts: &RunOptions) -> Result<RunOutcome, RunError> {
    let s = Scenario::load(path)?;
    let digest = std::fs::read(path)
        .map(|b| md5_hex(&b))
        .map_err(|source| RunError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    run_with_digest(&s, opts, digest)
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".into(), |x| format!("{x:.digits$}"))
}

/// The summary table.
pub fn table(o: &RunOutcome) -> String {
    let (m, sim) = (&o.data.meta, &o.sim);
    let mut t = format!(
        "scenario {} (seed {}): {:.3} s simulated; results in {} (open {})\n",
        m.scenario,
        m.seed,
        sim.simulated_s,
        o.dir.display(),
        o.dir.join("index.html").display()
    );
    t += &format!(
        "{:<26} {:>9} {:>10} {:>12} {:>11} {:>10} {:>7} {:>9} {:>8} {:>8}\n",
        "flow",
        "connect",
        "complete",
        "bytes",
        "goodput",
        "bottleneck",
        "util",
        "retrans",
        "rtt ms",
        "exact"
    );
    for (f, fs) in o.data.flows.iter().zip(&o.summary.flows) {
        let tot = &f.totals;
        let conn = match (&tot.connect_time_s, &tot.connect_failure) {
            (Some(c), _) => format!("{c:.3}s"),
            (None, Some(_)) => "failed".into(),
            (None, None) => "no".into(),
        };
        t += &format!(
            "{:<26} {:>9} {:>10} {:>12} {:>6.2} Mb/s {:>10} {:>7} {:>9} {:>8.1} {:>8}\n",
            f.name,
            conn,
            tot.completion_time_s
                .map_or("-".into(), |c| format!("{c:.3}s")),
            tot.bytes_received,
            fs.goodput_mbps.mean.unwrap_or(0.0),
            opt(tot.bottleneck_mbps, 0),
            opt(fs.utilisation.map(|u| u * 100.0), 1),
            tot.retransmissions,
            tot.final_rtt_ms,
            match (tot.byte_exact, tot.corrupted) {
                (true, _) => "yes",
                (false, true) => "NO",
                // Intact so far, but not all of it arrived by the end of the run.
                (false, false) => "partial",
            },
        );
        if let Some(m) = sim.messages_of(&f.name) {
            t += &format!(
                "{:<26} messages: {} sent, {} delivered, {} out of order, latency mean {:.2} ms max {:.2} ms\n",
                "", m.sent, m.received, m.out_of_order, m.mean_latency_ms, m.max_latency_ms
            );
        }
    }
    if let Some(j) = o.summary.jain_fairness {
        t += &format!("Jain's fairness index: {j:.4}\n");
    }
    for p in &sim.fairness_phases {
        if let Some(j) = p.jain {
            t += &format!(
                "  {:>7.1}-{:<7.1} s  {} flows, Jain {j:.4} (settled half)\n",
                p.start_s,
                p.end_s,
                p.flows.len()
            );
        }
    }
    for c in &o.data.checks {
        t += &format!(
            "  [{}] {} (observed: {})\n",
            if c.passed { "ok" } else { "FAIL" },
            c.what,
            c.observed
        );
    }
    t
}

/// The timing line: simulated time, wall time, speed-up, simulated packets per CPU second,
/// and the time spent drawing plots.
pub fn timing(o: &RunOutcome) -> String {
    let s = &o.sim;
    let wall = o.wall_s.max(1e-9);
    format!(
        "timing: {:.3} s simulated in {:.3} s wall: {:.1}x real time, {:.0} packets/CPU-s ({} datagrams, {} events); plots drawn in {:.3} s",
        s.simulated_s,
        o.wall_s,
        s.simulated_s / wall,
        s.datagrams as f64 / wall,
        s.datagrams,
        s.events,
        o.plot_s
    )
}
