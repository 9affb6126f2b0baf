//! Writing a run's results into its output folder, and MD5 digests of everything written.

use crate::capture::{CaptureSink, ProjectCapture};
use crate::expect::CheckResult;
use crate::summary::Summary;
use crate::world::World;
use md5::{Digest, Md5};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// The default output folder: `out/<scenario>-seed<N>`.
pub fn default_dir(name: &str, seed: u64) -> PathBuf {
    PathBuf::from("out").join(format!("{name}-seed{seed}"))
}

/// A capture sink factory writing `<dir>/<point>.pcap`.
pub fn pcap_sinks(dir: &Path) -> impl FnMut(&str) -> std::io::Result<Box<dyn CaptureSink>> + '_ {
    move |name: &str| {
        let f = File::create(dir.join(format!("{name}.pcap")))?;
        Ok(
            Box::new(ProjectCapture::new(BufWriter::with_capacity(1 << 16, f))?)
                as Box<dyn CaptureSink>,
        )
    }
}

/// Writes summary.json, metrics.json, timeseries.csv and queues.csv (captures are written while
/// the run goes). Nothing written depends on the wall clock.
pub fn write_results(
    dir: &Path,
    w: &World,
    sum: &Summary,
    checks: &[CheckResult],
) -> std::io::Result<()> {
    let summary = serde_json::json!({ "summary": sum, "expectations": checks });
    std::fs::write(
        dir.join("summary.json"),
        serde_json::to_string_pretty(&summary)? + "\n",
    )?;
    let metrics = serde_json::json!({
        "interval_s": w.metrics.interval as f64 / 1e9,
        "flows": w.metrics.flows,
        "queues": w.metrics.queues,
    });
    std::fs::write(
        dir.join("metrics.json"),
        serde_json::to_string(&metrics)? + "\n",
    )?;
    std::fs::write(dir.join("timeseries.csv"), w.metrics.flows_csv())?;
    std::fs::write(dir.join("queues.csv"), w.metrics.queues_csv())?;
    Ok(())
}

/// (file name, MD5 hex) of every file in `dir`, sorted by name.
pub fn digests(dir: &Path) -> std::io::Result<Vec<(String, String)>> {
    let mut out = vec![];
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        let mut h = Md5::new();
        let mut f = File::open(entry.path())?;
        std::io::copy(&mut f, &mut h)?;
        let hex = h
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        out.push((entry.file_name().to_string_lossy().into_owned(), hex));
    }
    out.sort();
    Ok(out)
}
