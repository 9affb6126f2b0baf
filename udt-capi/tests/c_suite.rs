//! The C test suite of the API's edge cases (`tests/c/edge_cases.c`, linked
//! statically against `libudt.a`) and a valgrind run of a connect / transfer /
//! close loop (`tests/c/loop.c`, linked against `libudt.so`).

mod common;

use std::process::Command;

use common::{compile, Lib};

#[test]
fn edge_cases_return_udt4_error_codes() {
    let src = common::crate_dir().join("tests/c/edge_cases.c");
    let bin = or_skip!(compile(&src, "edge_cases", Lib::CapiStatic), true);
    let out = Command::new(&bin).output().expect("the suite runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success() && stdout.starts_with("PASS"),
        "edge cases failed ({}): {stdout}",
        out.status
    );
    let n: usize = stdout.trim()["PASS ".len()..].parse().unwrap();
    assert!(n > 250, "the suite ran {n} checks only");
}

#[test]
fn connect_transfer_close_loop_is_clean_under_valgrind() {
    let src = common::crate_dir().join("tests/c/loop.c");
    let bin = or_skip!(compile(&src, "capi_loop", Lib::Capi), true);
    let vg = or_skip!(
        Command::new("valgrind")
            .arg("--version")
            .output()
            .map_err(|e| format!("valgrind is not available ({e})")),
        false
    );
    assert!(vg.status.success());
    let out = Command::new("valgrind")
        .args([
            "--leak-check=full",
            "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=definite,indirect",
            "--error-exitcode=99",
        ])
        .arg(&bin)
        .arg("6")
        .output()
        .expect("valgrind runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary: Vec<&str> = stderr
        .lines()
        .filter(|l| {
            l.contains("ERROR SUMMARY") || l.contains("lost:") || l.contains("in use at exit")
        })
        .collect();
    eprintln!("{}", summary.join("\n"));
    assert!(
        out.status.success(),
        "valgrind found errors or leaks ({}):\n{stderr}",
        out.status
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("DONE 6 rounds"));
    assert!(stderr.contains("ERROR SUMMARY: 0 errors"), "{stderr}");
    // cleanup() joins every thread and frees every table: nothing is left.
    assert!(
        stderr.contains("in use at exit: 0 bytes in 0 blocks"),
        "{stderr}"
    );
}

/// A UDT4 program built with nothing but `pkg-config --cflags --libs udt`
/// (the prefix laid out as `install.sh` does) connects to itself.
#[test]
fn pkg_config_file_builds_a_udt4_program() {
    let prefix = common::prefix();
    let flags = or_skip!(
        Command::new("pkg-config")
            .args(["--cflags", "--libs", "udt"])
            .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
            .output()
            .map_err(|e| format!("pkg-config is not available ({e})")),
        false
    );
    assert!(flags.status.success(), "pkg-config does not know udt");
    let flags = String::from_utf8(flags.stdout).unwrap();
    assert!(flags.contains("-ludt"), "{flags}");
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("udt4_peer_pkgconfig");
    let src = common::crate_dir().join("../udt/tests/peer/udt4_peer.cpp");
    let gxx = or_skip!(
        Command::new("g++")
            .arg("-o")
            .arg(&out)
            .arg(&src)
            .args(flags.split_whitespace())
            .arg(format!("-Wl,-rpath,{}", prefix.join("lib").display()))
            .status()
            .map_err(|e| format!("g++ is not available ({e})")),
        true
    );
    assert!(gxx.success(), "g++ with the pkg-config flags failed");
    let n = 1 << 20;
    let mut rx = common::Proc::spawn(&out, &["listen", "0", "stream", "recv"]);
    let port = rx.port().to_string();
    let digest = rx.digest_stdout();
    let tx = common::Proc::spawn(
        &out,
        &[
            "connect",
            "127.0.0.1",
            &port,
            "stream",
            "send",
            "--gen",
            &n.to_string(),
        ],
    );
    tx.wait_success();
    let (len, sum) = digest.join().unwrap();
    assert_eq!((len, sum), (n as u64, common::md5(&common::generated(n))));
    rx.wait_success();
}
