//! Compiles the reference peer program (`udt4_peer.cpp`, next to this file) with g++
//! against Debian's libudt-dev. For tests of any crate: include it with
//! `#[path = ".../udt/tests/peer/compile.rs"] mod peer_compile;`.

// One rule for missing tools, shared with every crate's tests.
#[path = "../support/tools.rs"]
mod tools;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds `udt4_peer` into `out_dir` (once per call); the reason when it cannot.
pub fn build_peer(out_dir: &Path) -> Result<PathBuf, String> {
    if !Path::new("/usr/include/udt/udt.h").exists() {
        return Err("libudt-dev is not installed (/usr/include/udt/udt.h missing)".into());
    }
    // Both crates of the workspace sit next to each other.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../udt/tests/peer/udt4_peer.cpp");
    let out = out_dir.join("udt4_peer");
    let status = Command::new("g++")
        .args(["-O2", "-o"])
        .arg(&out)
        .arg(&src)
        .args(["-ludt", "-lpthread"])
        .status();
    match status {
        Ok(s) if s.success() => Ok(out),
        Ok(s) => Err(format!("g++ failed to build the peer ({s})")),
        Err(e) => Err(format!("g++ is not available ({e})")),
    }
}

/// The peer cannot be built because `why`: a failure when g++ rejected the program; when
/// a tool is missing, what [`tools::missing`] does (a failure in CI, else the caller skips).
pub fn cannot_build(why: &str) {
    assert!(!why.starts_with("g++ failed"), "the reference peer: {why}");
    tools::missing(why);
}
