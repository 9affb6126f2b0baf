//! The run path's error: why a scenario could not be run or its results not written.

use crate::scenario::ScenarioError;
use std::path::PathBuf;

/// Why a run could not be carried out or its results not written.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The scenario file does not load.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The scenario file cannot be read (for its digest).
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The output folder cannot be created.
    #[error("{}: cannot create output folder: {source}", path.display())]
    OutputDir {
        /// The folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The network, the endpoints or a capture file could not be set up.
    #[error("{0}")]
    Setup(String),
    /// A capture could not be finished.
    #[error("{0}")]
    Capture(String),
    /// metrics.json could not be written.
    #[error("{}: cannot write results: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The report could not be written.
    #[error("cannot write results: {0}")]
    Report(#[from] reports::ReportError),
    /// A run of a grid ended without a result (its thread panicked).
    #[error("the run did not finish")]
    Unfinished,
}
