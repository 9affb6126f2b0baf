//! The udt-send / udt-recv tools end to end on loopback (ephemeral ports).
#![cfg(feature = "tokio")]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Kills the child if the test fails before it ends.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run_pair(extra: &[&str], size: usize) {
    let dir = std::env::temp_dir().join(format!(
        "udt-tools-{}-{}",
        std::process::id(),
        extra.join("_")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("in.bin");
    let output = dir.join("out.bin");
    let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(&input, &data).unwrap();

    let mut recv = Kill(
        Command::new(env!("CARGO_BIN_EXE_udt-recv"))
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .arg(&output)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(recv.0.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_string();
    let send = Command::new(env!("CARGO_BIN_EXE_udt-send"))
        .args(["--connect", &addr, "--connect-timeout", "3000"])
        .args(extra)
        .arg(&input)
        .output()
        .unwrap();
    let send_err = String::from_utf8_lossy(&send.stderr).to_string();
    assert!(send.status.success(), "udt-send failed: {send_err}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let start = std::time::Instant::now();
    while recv.0.try_wait().unwrap().is_none() {
        assert!(start.elapsed() < Duration::from_secs(30), "udt-recv hangs");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        recv.0.wait().unwrap().success(),
        "udt-recv failed: {rest:?}"
    );
    let md5_of = |text: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix("md5 ").map(str::to_string))
            .expect("an md5 line")
    };
    let sent_md5 = md5_of(&send_err);
    let recv_md5 = md5_of(&rest.join("\n"));
    assert_eq!(sent_md5, recv_md5);
    assert_eq!(std::fs::read(&output).unwrap(), data);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn stream_file_transfer() {
    run_pair(&["-q"], 3 << 20);
}

#[test]
fn message_file_transfer() {
    run_pair(&["-q", "--message", "10000"], 1 << 20);
}

#[test]
fn connect_to_nobody_fails_with_a_clear_message() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_udt-send"))
        .args(["--connect", &silent.local_addr().unwrap().to_string()])
        .args(["--connect-timeout", "500", "--bytes", "10"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("timed out"), "{err}");
}

#[test]
fn statistics_reach_the_file_before_the_tool_is_killed() {
    // `netsim fidelity` stops the programs with a kill when its window ends; the rows
    // written up to then must be in the file (the reference peer's are).
    let dir = std::env::temp_dir().join(format!("udt-tools-stats-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let stats = dir.join("recv.csv");
    let mut recv = Kill(
        Command::new(env!("CARGO_BIN_EXE_udt-recv"))
            .args(["--listen", "127.0.0.1:0", "--no-md5", "-q", "--stats"])
            .arg(&stats)
            .arg("/dev/null")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(recv.0.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first.strip_prefix("listening on ").unwrap().to_string();
    let _send = Kill(
        Command::new(env!("CARGO_BIN_EXE_udt-send"))
            .args([
                "--connect",
                &addr,
                "--bytes",
                "1000000000000",
                "--no-md5",
                "-q",
            ])
            .args(["--max-bw", "1000000"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(1500));
    recv.0.kill().unwrap();
    recv.0.wait().unwrap();
    let text = std::fs::read_to_string(&stats).unwrap();
    let last = text
        .lines()
        .filter_map(|l| l.split(',').next()?.parse::<f64>().ok())
        .fold(0.0, f64::max);
    // 1.5 s of 100 ms intervals, minus start-up: rows up to at least 1 s.
    assert!(last >= 1.0, "last row at {last} s:\n{text:.300}");
    std::fs::remove_dir_all(&dir).ok();
}
