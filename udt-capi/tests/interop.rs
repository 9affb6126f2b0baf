//! The proof that UDT4 programs switch unchanged: the project's peer program
//! (`udt/tests/peer/udt4_peer.cpp`) and a sendfile/recvfile pair written only
//! against UDT4's API (`tests/programs/udt_file.cpp`) are compiled with g++
//! twice, against this crate's `udt.h` + `-ludt` and against UDT 4.11
//! (libudt-dev), and run against each other, against themselves and against
//! the project's tokio runtime, in stream and message mode, on loopback with
//! OS-chosen ports. Every transfer is checked by length and MD5.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{compile, generated, md5, Lib, Proc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use udt::packet::SocketType;
use udt::SocketOptions;

/// The four programs.
struct Programs {
    capi_peer: PathBuf,
    ref_peer: PathBuf,
    capi_file: PathBuf,
    ref_file: PathBuf,
}

fn programs() -> Result<&'static Programs, String> {
    static P: OnceLock<Result<Programs, String>> = OnceLock::new();
    P.get_or_init(|| {
        let peer = Path::new(env!("CARGO_MANIFEST_DIR")).join("../udt/tests/peer/udt4_peer.cpp");
        let file = common::crate_dir().join("tests/programs/udt_file.cpp");
        Ok(Programs {
            capi_peer: compile(&peer, "udt4_peer_capi", Lib::Capi)?,
            ref_peer: compile(&peer, "udt4_peer_ref", Lib::Reference)?,
            capi_file: compile(&file, "udt_file_capi", Lib::Capi)?,
            ref_file: compile(&file, "udt_file_ref", Lib::Reference)?,
        })
    })
    .as_ref()
    .map_err(|e| e.clone())
}

macro_rules! programs_or_skip {
    () => {
        or_skip!(programs(), true)
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    /// udt4_peer built against this crate.
    Capi,
    /// udt4_peer built against UDT 4.11.
    Reference,
}

fn peer(p: &Programs, side: Side) -> &Path {
    match side {
        Side::Capi => &p.capi_peer,
        Side::Reference => &p.ref_peer,
    }
}

const STREAM_BYTES: usize = 8 << 20;
const DGRAM_BYTES: usize = 4 << 20;

/// `receiver` listens and receives, `sender` connects and sends.
fn transfer(p: &Programs, sender: Side, receiver: Side, mode: &str) {
    let n = if mode == "stream" {
        STREAM_BYTES
    } else {
        DGRAM_BYTES
    };
    let mut rx = Proc::spawn(peer(p, receiver), &["listen", "0", mode, "recv"]);
    let port = rx.port().to_string();
    let digest = rx.digest_stdout();
    let tx = Proc::spawn(
        peer(p, sender),
        &[
            "connect",
            "127.0.0.1",
            &port,
            mode,
            "send",
            "--gen",
            &n.to_string(),
        ],
    );
    tx.wait_success();
    let (len, sum) = digest.join().unwrap();
    assert_eq!(len, n as u64, "{sender:?} -> {receiver:?} {mode}: length");
    assert_eq!(
        sum,
        md5(&generated(n)),
        "{sender:?} -> {receiver:?} {mode}: MD5"
    );
    rx.wait_success();
}

/// The listener sends, the connecting side receives.
fn transfer_from_listener(p: &Programs, sender: Side, receiver: Side, mode: &str) {
    let n = STREAM_BYTES / 2;
    let tx = Proc::spawn(
        peer(p, sender),
        &["listen", "0", mode, "send", "--gen", &n.to_string()],
    );
    let port = tx.port().to_string();
    let mut rx = Proc::spawn(
        peer(p, receiver),
        &["connect", "127.0.0.1", &port, mode, "recv"],
    );
    let digest = rx.digest_stdout();
    let (len, sum) = digest.join().unwrap();
    assert_eq!((len, sum), (n as u64, md5(&generated(n))));
    tx.wait_success();
    rx.wait_success();
}

#[test]
fn stream_capi_to_reference() {
    transfer(programs_or_skip!(), Side::Capi, Side::Reference, "stream");
}

#[test]
fn stream_reference_to_capi() {
    transfer(programs_or_skip!(), Side::Reference, Side::Capi, "stream");
}

#[test]
fn stream_capi_to_capi() {
    transfer(programs_or_skip!(), Side::Capi, Side::Capi, "stream");
}

#[test]
fn dgram_capi_to_reference() {
    transfer(programs_or_skip!(), Side::Capi, Side::Reference, "dgram");
}

#[test]
fn dgram_reference_to_capi() {
    transfer(programs_or_skip!(), Side::Reference, Side::Capi, "dgram");
}

#[test]
fn dgram_capi_to_capi() {
    transfer(programs_or_skip!(), Side::Capi, Side::Capi, "dgram");
}

#[test]
fn listener_sends_capi_to_reference() {
    transfer_from_listener(programs_or_skip!(), Side::Capi, Side::Reference, "stream");
}

#[test]
fn listener_sends_reference_to_capi() {
    transfer_from_listener(programs_or_skip!(), Side::Reference, Side::Capi, "dgram");
}

/// A port the OS just handed out (for rendezvous between two programs, each of
/// which must know the other's port before it starts).
fn free_port() -> u16 {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.local_addr().unwrap().port()
}

fn rendezvous(p: &Programs, sender: Side, receiver: Side) {
    let n = STREAM_BYTES / 2;
    let rport = free_port().to_string();
    // The sender binds an OS-chosen port and says which; the receiver binds the
    // port reserved above and aims at the sender.
    let tx = Proc::spawn(
        peer(p, sender),
        &[
            "rendezvous",
            "0",
            "127.0.0.1",
            &rport,
            "stream",
            "send",
            "--gen",
            &n.to_string(),
        ],
    );
    let tport = tx.port().to_string();
    let mut rx = Proc::spawn(
        peer(p, receiver),
        &["rendezvous", &rport, "127.0.0.1", &tport, "stream", "recv"],
    );
    let digest = rx.digest_stdout();
    let (len, sum) = digest.join().unwrap();
    assert_eq!(
        (len, sum),
        (n as u64, md5(&generated(n))),
        "{sender:?} -> {receiver:?}"
    );
    tx.wait_success();
    rx.wait_success();
}

#[test]
fn rendezvous_capi_to_reference() {
    rendezvous(programs_or_skip!(), Side::Capi, Side::Reference);
}

#[test]
fn rendezvous_reference_to_capi() {
    rendezvous(programs_or_skip!(), Side::Reference, Side::Capi);
}

#[test]
fn rendezvous_capi_to_capi() {
    rendezvous(programs_or_skip!(), Side::Capi, Side::Capi);
}

// ---- C API <-> the project's tokio runtime ----

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn opts(mode: &str) -> SocketOptions {
    SocketOptions {
        socket_type: if mode == "dgram" {
            SocketType::Dgram
        } else {
            SocketType::Stream
        },
        ..SocketOptions::default()
    }
}

fn localhost(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// The C API program receives from the tokio runtime.
fn tokio_to_capi(mode: &str) {
    let p = programs_or_skip!();
    let n = if mode == "stream" {
        STREAM_BYTES
    } else {
        DGRAM_BYTES
    };
    let mut rx = Proc::spawn(&p.capi_peer, &["listen", "0", mode, "recv"]);
    let port = rx.port();
    let digest = rx.digest_stdout();
    let data = generated(n);
    runtime().block_on(async {
        let ep = udt::tokio::Endpoint::bind(localhost(0)).await.unwrap();
        ep.set_options(opts(mode)).unwrap();
        let conn = ep.connect(localhost(port)).await.unwrap();
        if mode == "stream" {
            let mut s = conn.into_stream();
            s.write_all(&data).await.unwrap();
            s.shutdown().await.unwrap();
        } else {
            let mut m = conn.into_message();
            for chunk in data.chunks(65_536) {
                m.send_msg(chunk, None, true).await.unwrap();
            }
            m.close().await.unwrap();
        }
    });
    let (len, sum) = digest.join().unwrap();
    assert_eq!((len, sum), (n as u64, md5(&data)));
    rx.wait_success();
}

/// The tokio runtime receives from the C API program.
fn capi_to_tokio(mode: &str) {
    let p = programs_or_skip!();
    let n = if mode == "stream" {
        STREAM_BYTES
    } else {
        DGRAM_BYTES
    };
    runtime().block_on(async {
        let ep = udt::tokio::Endpoint::bind(localhost(0)).await.unwrap();
        ep.set_options(opts(mode)).unwrap();
        let listener = ep.listen(4).unwrap();
        let port = ep.local_addr().port().to_string();
        let bin = p.capi_peer.clone();
        let mode_s = mode.to_string();
        let tx = tokio::task::spawn_blocking(move || {
            let tx = Proc::spawn(
                &bin,
                &[
                    "connect",
                    "127.0.0.1",
                    &port,
                    &mode_s,
                    "send",
                    "--gen",
                    &n.to_string(),
                ],
            );
            tx.wait_success();
        });
        let conn = listener.accept().await.unwrap();
        let mut got = Vec::new();
        if mode == "stream" {
            conn.into_stream().read_to_end(&mut got).await.unwrap();
        } else {
            let m = conn.into_message();
            while let Ok(Some(msg)) = m.recv_msg().await {
                got.extend_from_slice(&msg);
            }
        }
        tx.await.unwrap();
        assert_eq!(got.len(), n);
        assert_eq!(md5(&got), md5(&generated(n)));
    });
}

#[test]
fn stream_tokio_to_capi() {
    tokio_to_capi("stream");
}

#[test]
fn dgram_tokio_to_capi() {
    tokio_to_capi("dgram");
}

#[test]
fn stream_capi_to_tokio() {
    capi_to_tokio("stream");
}

#[test]
fn dgram_capi_to_tokio() {
    capi_to_tokio("dgram");
}

#[test]
fn rendezvous_tokio_and_capi() {
    let p = programs_or_skip!();
    let n = STREAM_BYTES / 2;
    runtime().block_on(async {
        let ep = udt::tokio::Endpoint::bind(localhost(0)).await.unwrap();
        let port = ep.local_addr().port().to_string();
        let mut rx = Proc::spawn(
            &p.capi_peer,
            &["rendezvous", "0", "127.0.0.1", &port, "stream", "recv"],
        );
        let their = rx.port();
        let digest = rx.digest_stdout();
        let mut s = ep.rendezvous(localhost(their)).await.unwrap().into_stream();
        s.write_all(&generated(n)).await.unwrap();
        s.shutdown().await.unwrap();
        let (len, sum) = tokio::task::spawn_blocking(move || digest.join().unwrap())
            .await
            .unwrap();
        assert_eq!((len, sum), (n as u64, md5(&generated(n))));
        tokio::task::spawn_blocking(move || rx.wait_success())
            .await
            .unwrap();
    });
}

// ---- sendfile/recvfile (a second UDT4 program) ----

fn file_transfer(server: &Path, client: &Path, by_path: bool) {
    let dir = tempdir();
    let src = dir.join("src.bin");
    let dst = dir.join("dst.bin");
    let data = generated(3 << 20);
    std::fs::write(&src, &data).unwrap();
    let mut args = vec!["serve", "0", src.to_str().unwrap()];
    if by_path {
        args.push("--path");
    }
    let srv = Proc::spawn(server, &args);
    let port = srv.port().to_string();
    let mut args = vec!["fetch", "127.0.0.1", &port, dst.to_str().unwrap()];
    if by_path {
        args.push("--path");
    }
    let cli = Proc::spawn(client, &args);
    cli.wait_success();
    srv.wait_success();
    let got = std::fs::read(&dst).unwrap();
    assert_eq!(got.len(), data.len());
    assert_eq!(md5(&got), md5(&data));
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempdir() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "udt-file-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn sendfile_capi_to_reference() {
    let p = programs_or_skip!();
    file_transfer(&p.capi_file, &p.ref_file, false);
}

#[test]
fn sendfile_reference_to_capi() {
    let p = programs_or_skip!();
    file_transfer(&p.ref_file, &p.capi_file, false);
}

#[test]
fn sendfile_capi_to_capi() {
    let p = programs_or_skip!();
    file_transfer(&p.capi_file, &p.capi_file, false);
}

#[test]
fn sendfile2_by_path_capi_and_reference() {
    let p = programs_or_skip!();
    file_transfer(&p.capi_file, &p.ref_file, true);
    file_transfer(&p.ref_file, &p.capi_file, true);
}

#[test]
fn ipv6_capi_to_reference_and_back() {
    let p = programs_or_skip!();
    if let Err(e) = std::net::UdpSocket::bind("[::1]:0") {
        common::missing(&format!("no IPv6 loopback on this machine ({e})"));
        return;
    }
    let n = 2 << 20;
    for (sender, receiver) in [(Side::Capi, Side::Reference), (Side::Reference, Side::Capi)] {
        let mut rx = Proc::spawn(
            peer(p, receiver),
            &["listen", "0", "stream", "recv", "--ipv6"],
        );
        let port = rx.port().to_string();
        let digest = rx.digest_stdout();
        let tx = Proc::spawn(
            peer(p, sender),
            &[
                "connect",
                "::1",
                &port,
                "stream",
                "send",
                "--gen",
                &n.to_string(),
                "--ipv6",
            ],
        );
        tx.wait_success();
        let (len, sum) = digest.join().unwrap();
        assert_eq!(
            (len, sum),
            (n as u64, md5(&generated(n))),
            "{sender:?} -> {receiver:?}"
        );
        rx.wait_success();
    }
}

/// The same UDT4 program (`tests/programs/codes.cpp`: calls on invalid,
/// closed and wrong-state sockets, option defaults and rules, timeouts, epoll)
/// prints the same return values and error codes with both libraries.
#[test]
fn error_codes_match_udt4_call_for_call() {
    programs_or_skip!();
    let src = common::crate_dir().join("tests/programs/codes.cpp");
    let capi = compile(&src, "codes_capi", Lib::Capi).unwrap();
    let reference = compile(&src, "codes_ref", Lib::Reference).unwrap();
    let run = |bin: &Path| {
        let out = std::process::Command::new(bin)
            .output()
            .expect("codes runs");
        assert!(out.status.success(), "{} failed: {out:?}", bin.display());
        String::from_utf8(out.stdout).unwrap()
    };
    let (ours, theirs) = (run(&capi), run(&reference));
    assert!(theirs.lines().count() > 100, "{theirs}");
    for (a, b) in ours.lines().zip(theirs.lines()) {
        assert_eq!(a, b, "ours (left) and UDT 4.11 (right) differ");
    }
    assert_eq!(ours.lines().count(), theirs.lines().count());
}
