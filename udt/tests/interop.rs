//! Interop with the reference implementation (UDT 4.11, Debian's libudt-dev):
//! the project's own peer program `tests/peer/udt4_peer.cpp` is compiled with g++
//! against `/usr/include/udt` and run as a child process on loopback, ephemeral
//! ports only. Without g++ or libudt the tests say they are skipped and pass, unless
//! `UDT_REQUIRE_TOOLS=1` (CI) makes that a failure; g++ failing to compile the peer
//! is a failure everywhere.
#![cfg(feature = "tokio")]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;

use md5::{Digest, Md5};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use udt::packet::SocketType;
use udt::tokio::Endpoint;
use udt::SocketOptions;

/// Why there is no compiled peer.
#[derive(Debug)]
enum NoPeer {
    /// libudt-dev or g++ is not installed: a skip, or a failure under
    /// `UDT_REQUIRE_TOOLS=1`.
    Missing(String),
    /// g++ ran and failed: always a failure.
    BuildFailed(String),
}

/// The compiled peer, or why there is none.
fn peer_binary() -> Result<&'static Path, &'static NoPeer> {
    static PEER: OnceLock<Result<PathBuf, NoPeer>> = OnceLock::new();
    PEER.get_or_init(|| {
        if !Path::new("/usr/include/udt/udt.h").exists() {
            return Err(NoPeer::Missing(
                "libudt-dev is not installed (/usr/include/udt/udt.h missing)".into(),
            ));
        }
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peer/udt4_peer.cpp");
        build_peer(&src)
    })
    .as_ref()
    .map(|p| p.as_path())
}

/// Compiles `src` with g++ against libudt into the target's scratch directory.
fn build_peer(src: &Path) -> Result<PathBuf, NoPeer> {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(
        src.file_stem()
            .expect("a file name")
            .to_string_lossy()
            .into_owned(),
    );
    let output = Command::new("g++")
        .args(["-O2", "-o"])
        .arg(&out)
        .arg(src)
        .args(["-ludt", "-lpthread"])
        .output();
    match output {
        Ok(o) if o.status.success() => Ok(out),
        Ok(o) => Err(NoPeer::BuildFailed(format!(
            "g++ failed to build {} ({}):\n{}",
            src.display(),
            o.status,
            String::from_utf8_lossy(&o.stderr)
        ))),
        Err(e) => Err(NoPeer::Missing(format!("g++ is not available ({e})"))),
    }
}

/// The peer binary; when there is none, a failed build panics and a missing tool
/// goes to [`common::missing`] (a skip, or a failure under `UDT_REQUIRE_TOOLS=1`).
fn require_peer() -> Option<&'static Path> {
    match peer_binary() {
        Ok(p) => Some(p),
        Err(NoPeer::BuildFailed(why)) => panic!("{why}"),
        Err(NoPeer::Missing(why)) => {
            common::missing(why);
            None
        }
    }
}

macro_rules! peer_or_skip {
    () => {
        match require_peer() {
            Some(p) => p,
            None => return,
        }
    };
}

/// A peer source that does not compile makes the build a failure, not a skip.
#[test]
fn a_peer_that_does_not_compile_is_a_failure() {
    if peer_binary().is_err() {
        // No libudt or g++: `require_peer` decides (skip or failure); a broken
        // project peer panics there.
        require_peer();
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let src = dir.join("broken_peer.cpp");
    std::fs::write(
        &src,
        "#include <udt/udt.h>\nint main() { return undefined_name; }\n",
    )
    .expect("write the broken source");
    match build_peer(&src) {
        Err(NoPeer::BuildFailed(why)) => assert!(why.contains("undefined_name"), "{why}"),
        other => panic!("a broken peer must be a build failure: {other:?}"),
    }
}

/// A running reference peer; killed when dropped.
struct Peer {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Peer {
    fn spawn(bin: &Path, args: &[&str]) -> Peer {
        let mut child = Command::new(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the peer starts");
        let stderr = child.stderr.take().expect("piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[udt4_peer] {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Peer { child, lines }
    }

    /// Waits for a stderr line starting with `prefix`; returns the rest.
    fn expect_line(&self, prefix: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("the peer never printed {prefix}"));
            if let Some(rest) = line.strip_prefix(prefix) {
                return rest.trim().to_string();
            }
            assert!(!line.starts_with("ERROR"), "the peer failed: {line}");
        }
    }

    fn port(&self) -> u16 {
        self.expect_line("PORT").parse().expect("a port number")
    }

    /// MD5 and length of everything the peer writes to stdout, read in a thread.
    fn digest_stdout(&mut self) -> std::thread::JoinHandle<(u64, [u8; 16])> {
        let out: ChildStdout = self.child.stdout.take().expect("piped");
        std::thread::spawn(move || digest_reader(out))
    }

    fn wait_success(mut self) {
        let status = wait_timeout(&mut self.child, Duration::from_secs(120));
        assert!(status, "the peer failed or hung");
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_timeout(child: &mut Child, limit: Duration) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if let Some(status) = child.try_wait().expect("wait works") {
            return status.success();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn digest_reader(mut r: impl Read) -> (u64, [u8; 16]) {
    let mut md5 = Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(k) => {
                md5.update(&buf[..k]);
                n += k as u64;
            }
        }
    }
    (n, md5.finalize().into())
}

/// The bytes `udt4_peer --gen N` and `udt-send --bytes N` send.
fn generated(n: usize) -> Vec<u8> {
    let mut state: u32 = 1;
    (0..n)
        .map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (state >> 16) as u8
        })
        .collect()
}

fn md5(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

/// The reference peer read exactly `data` (length and MD5) and then exited cleanly.
async fn reference_received(
    peer: Peer,
    digest: std::thread::JoinHandle<(u64, [u8; 16])>,
    data: &[u8],
) {
    let (n, got) = tokio::task::spawn_blocking(move || digest.join().unwrap())
        .await
        .unwrap();
    assert_eq!(n, data.len() as u64);
    assert_eq!(got, md5(data));
    tokio::task::spawn_blocking(move || peer.wait_success())
        .await
        .unwrap();
}

fn localhost(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn any() -> SocketAddr {
    localhost(0)
}

fn dgram() -> SocketOptions {
    SocketOptions {
        socket_type: SocketType::Dgram,
        ..SocketOptions::default()
    }
}

const BIG: usize = 64 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_client_to_reference_server_stream_64mib() {
    let bin = peer_or_skip!();
    let mut peer = Peer::spawn(bin, &["listen", "0", "stream", "recv"]);
    let port = peer.port();
    let digest = peer.digest_stdout();
    let data = generated(BIG);
    let ep = Endpoint::bind(any()).await.unwrap();
    let mut s = ep.connect(localhost(port)).await.unwrap().into_stream();
    s.write_all(&data).await.unwrap();
    s.shutdown().await.unwrap();
    let (n, got) = tokio::task::spawn_blocking(move || digest.join().unwrap())
        .await
        .unwrap();
    assert_eq!(n, BIG as u64);
    assert_eq!(got, md5(&data), "MD5 of what the reference received");
    tokio::task::spawn_blocking(move || peer.wait_success())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_client_to_project_server_stream_64mib() {
    let bin = peer_or_skip!();
    let ep = Endpoint::bind(any()).await.unwrap();
    let listener = ep.listen(4).unwrap();
    let port = ep.local_addr().port().to_string();
    let big = BIG.to_string();
    let peer = Peer::spawn(
        bin,
        &[
            "connect",
            "127.0.0.1",
            &port,
            "stream",
            "send",
            "--gen",
            &big,
        ],
    );
    let mut s = listener.accept().await.unwrap().into_stream();
    let mut got = Vec::with_capacity(BIG);
    s.read_to_end(&mut got).await.unwrap();
    assert_eq!(got.len(), BIG);
    assert_eq!(md5(&got), md5(&generated(BIG)), "MD5 of what we received");
    tokio::task::spawn_blocking(move || peer.wait_success())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_client_to_reference_server_messages() {
    let bin = peer_or_skip!();
    let mut peer = Peer::spawn(bin, &["listen", "0", "dgram", "recv", "--msg", "10000"]);
    let port = peer.port();
    let digest = peer.digest_stdout();
    let data = generated(300 * 10_000 - 1234);
    let ep = Endpoint::bind(any()).await.unwrap();
    ep.set_options(dgram()).unwrap();
    let mut m = ep.connect(localhost(port)).await.unwrap().into_message();
    for chunk in data.chunks(10_000) {
        m.send_msg(chunk, None, true).await.unwrap();
    }
    m.close().await.unwrap();
    reference_received(peer, digest, &data).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_client_to_project_server_messages() {
    let bin = peer_or_skip!();
    let ep = Endpoint::bind(any()).await.unwrap();
    ep.set_options(dgram()).unwrap();
    let listener = ep.listen(4).unwrap();
    let port = ep.local_addr().port().to_string();
    let total = 200 * 7000 + 99;
    let peer = Peer::spawn(
        bin,
        &[
            "connect",
            "127.0.0.1",
            &port,
            "dgram",
            "send",
            "--msg",
            "7000",
            "--gen",
            &total.to_string(),
        ],
    );
    let m = listener.accept().await.unwrap().into_message();
    let mut got = Vec::new();
    let mut count = 0;
    while let Some(msg) = m.recv_msg().await.unwrap() {
        assert!(msg.len() == 7000 || msg.len() == 99, "a whole message");
        got.extend_from_slice(&msg);
        count += 1;
    }
    assert_eq!(count, 201);
    assert_eq!(md5(&got), md5(&generated(total)));
    tokio::task::spawn_blocking(move || peer.wait_success())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rendezvous_with_reference_sending() {
    let bin = peer_or_skip!();
    let ep = Endpoint::bind(any()).await.unwrap();
    let port = ep.local_addr().port().to_string();
    let n = 4 << 20;
    let peer = Peer::spawn(
        bin,
        &[
            "rendezvous",
            "0",
            "127.0.0.1",
            &port,
            "stream",
            "send",
            "--gen",
            &n.to_string(),
        ],
    );
    let their = peer.port();
    let mut s = ep.rendezvous(localhost(their)).await.unwrap().into_stream();
    let mut got = Vec::new();
    s.read_to_end(&mut got).await.unwrap();
    assert_eq!(md5(&got), md5(&generated(n)));
    tokio::task::spawn_blocking(move || peer.wait_success())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rendezvous_with_reference_receiving() {
    let bin = peer_or_skip!();
    let ep = Endpoint::bind(any()).await.unwrap();
    let port = ep.local_addr().port().to_string();
    let mut peer = Peer::spawn(
        bin,
        &["rendezvous", "0", "127.0.0.1", &port, "stream", "recv"],
    );
    let their = peer.port();
    let digest = peer.digest_stdout();
    let data = generated(4 << 20);
    let mut s = ep.rendezvous(localhost(their)).await.unwrap().into_stream();
    s.write_all(&data).await.unwrap();
    s.shutdown().await.unwrap();
    reference_received(peer, digest, &data).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_client_to_reference_server_ipv6() {
    let bin = peer_or_skip!();
    if !common::ipv6_loopback() {
        return;
    }
    let mut peer = Peer::spawn(bin, &["listen", "0", "stream", "recv", "--ipv6"]);
    let port = peer.port();
    let digest = peer.digest_stdout();
    let data = generated(2 << 20);
    let ep = Endpoint::bind("[::1]:0".parse().unwrap()).await.unwrap();
    let peer_addr = SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port));
    let mut s = ep.connect(peer_addr).await.unwrap().into_stream();
    s.write_all(&data).await.unwrap();
    s.shutdown().await.unwrap();
    reference_received(peer, digest, &data).await;
}
