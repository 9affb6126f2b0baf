//! Shared helpers for the integration tests.
#![allow(dead_code)]

pub mod edit;
pub mod frames;

use std::path::PathBuf;

/// The reference captures recorded from the C++ UDT4 library.
pub const REFERENCE: [&str; 12] = [
    "cs_clean_transfer",
    "cs_handshake_transfer",
    "cs_idle_keepalive",
    "cs_late_listener",
    "cs_silent_peer_data",
    "cs_silent_peer_idle",
    "lossy_transfer",
    "lossy_transfer_5mib_snap256",
    "rejected_socktype",
    "rejected_version",
    "rendezvous",
    "sendfile_recvfile",
];

/// `conformance/traces/reference/`.
pub fn reference_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("traces/reference")
}

/// The path of a reference capture's file with the given suffix.
pub fn reference_file(name: &str, suffix: &str) -> PathBuf {
    reference_dir().join(format!("{name}{suffix}"))
}

/// A fresh scratch directory for one test.
pub fn scratch_dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir under the target dir");
    dir
}

/// Runs the `conformance` binary: exit code, stdout, stderr.
pub fn conformance(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(args)
        .output()
        .expect("run conformance");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub mod sim;

#[path = "../../../udt/tests/support/tools.rs"]
mod tools;
pub use tools::missing;

/// Whether `tshark --version` runs; when not, reports it through [`missing`].
pub fn tshark_or_skip() -> bool {
    let ok = std::process::Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        missing("tshark is not installed (not on PATH)");
    }
    ok
}
