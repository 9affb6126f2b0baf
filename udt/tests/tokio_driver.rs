//! The tokio driver over loopback UDP: project ↔ project. Ephemeral ports only.
#![cfg(feature = "tokio")]

mod common;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use md5::{Digest, Md5};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use udt::packet::SocketType;
use udt::tokio::{Endpoint, Error};
use udt::SocketOptions;

fn any(v6: bool) -> SocketAddr {
    if v6 { "[::1]:0" } else { "127.0.0.1:0" }.parse().unwrap()
}

fn data(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

async fn stream_roundtrip(v6: bool, n: usize) {
    let server = Endpoint::bind(any(v6)).await.unwrap();
    let listener = server.listen(8).unwrap();
    let client = Endpoint::bind(any(v6)).await.unwrap();
    let payload = data(n);
    let expect = Md5::digest(&payload);
    let sender = tokio::spawn(async move {
        let mut s = client
            .connect(server.local_addr())
            .await
            .unwrap()
            .into_stream();
        s.write_all(&payload).await.unwrap();
        s.shutdown().await.unwrap();
    });
    let mut r = listener.accept().await.unwrap().into_stream();
    let mut got = Vec::new();
    r.read_to_end(&mut got).await.unwrap();
    sender.await.unwrap();
    assert_eq!(got.len(), n);
    assert_eq!(Md5::digest(&got), expect);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_ipv4_8mib() {
    stream_roundtrip(false, 8 << 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_ipv6_1mib() {
    if !common::ipv6_loopback() {
        return;
    }
    stream_roundtrip(true, 1 << 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_keep_boundaries() {
    let opts = SocketOptions {
        socket_type: SocketType::Dgram,
        ..SocketOptions::default()
    };
    let server = Endpoint::bind(any(false)).await.unwrap();
    server.set_options(opts.clone()).unwrap();
    let listener = server.listen(8).unwrap();
    let client = Endpoint::bind(any(false)).await.unwrap();
    client.set_options(opts).unwrap();
    let addr = server.local_addr();
    let sender = tokio::spawn(async move {
        let mut m = client.connect(addr).await.unwrap().into_message();
        for i in 0..200usize {
            let msg = data(1 + i * 97);
            m.send_msg(&msg, None, true).await.unwrap();
        }
        m.close().await.unwrap();
    });
    let m = listener.accept().await.unwrap().into_message();
    for i in 0..200usize {
        let got = m.recv_msg().await.unwrap().expect("a message");
        assert_eq!(got, data(1 + i * 97), "message {i}");
    }
    assert_eq!(m.recv_msg().await.unwrap(), None);
    sender.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rendezvous_both_sides() {
    let a = Endpoint::bind(any(false)).await.unwrap();
    let b = Endpoint::bind(any(false)).await.unwrap();
    let (aa, ba) = (a.local_addr(), b.local_addr());
    let t = tokio::spawn(async move {
        let mut s = b.rendezvous(aa).await.unwrap().into_stream();
        s.write_all(b"from b").await.unwrap();
        s.shutdown().await.unwrap();
    });
    let mut s = a.rendezvous(ba).await.unwrap().into_stream();
    let mut got = Vec::new();
    s.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, b"from b");
    t.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_connections_on_one_endpoint() {
    let server = Endpoint::bind(any(false)).await.unwrap();
    let listener = server.listen(16).unwrap();
    let client = Endpoint::bind(any(false)).await.unwrap();
    let addr = server.local_addr();
    let mut tasks = Vec::new();
    for i in 0..4u8 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut s = client.connect(addr).await.unwrap().into_stream();
            s.write_all(&vec![i; 100_000]).await.unwrap();
            s.shutdown().await.unwrap();
        }));
    }
    let mut seen = Vec::new();
    for _ in 0..4 {
        let mut s = listener.accept().await.unwrap().into_stream();
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        assert_eq!(got.len(), 100_000);
        assert!(got.iter().all(|&b| b == got[0]));
        seen.push(got[0]);
    }
    seen.sort();
    assert_eq!(seen, vec![0, 1, 2, 3]);
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test]
async fn connect_to_nobody_times_out() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let client = Endpoint::bind(any(false)).await.unwrap();
    let started = std::time::Instant::now();
    let err = client
        .connect(silent.local_addr().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ConnectTimeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(6));
    assert!(err.to_string().contains("timed out"), "{err}");
}

#[tokio::test]
async fn connect_with_short_deadline() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let client = Endpoint::bind(any(false)).await.unwrap();
    let err = client
        .connect_with(
            silent.local_addr().unwrap(),
            SocketOptions::default(),
            Some(Duration::from_millis(300)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ConnectTimeout { after, .. } if after == Duration::from_millis(300))
    );
}

#[tokio::test]
async fn port_in_use_is_a_bind_error() {
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let err = Endpoint::bind(taken.local_addr().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Bind { .. }), "{err}");
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
}

#[tokio::test]
async fn unreachable_address_fails_fast() {
    // An IPv6 destination from an IPv4 socket cannot be sent to at all.
    let client = Endpoint::bind(any(false)).await.unwrap();
    let started = std::time::Instant::now();
    let err = client
        .connect("[2001:db8::1]:9000".parse().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vanished_peer_is_an_error_not_eof() {
    let server = Endpoint::bind(any(false)).await.unwrap();
    let listener = server.listen(8).unwrap();
    // The client's socket is adopted from std so the test can keep it bound
    // while its driver is gone.
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let addr = server.local_addr();
    let conn = client_rt.spawn(async move {
        let client = Endpoint::bind(any(false)).await.unwrap();
        let mut s = client.connect(addr).await.unwrap().into_stream();
        s.write_all(b"partial").await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        std::mem::forget(s); // never closes
        std::mem::forget(client);
    });
    let mut r = listener.accept().await.unwrap().into_stream();
    conn.await.unwrap();
    // UDT gives up on a silent peer after 17 EXP periods of n·300 ms (about 46 s).
    // The peer's runtime, and with it its driver, disappears without a shutdown.
    client_rt.shutdown_background();
    let mut got = Vec::new();
    let started = std::time::Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(90), r.read_to_end(&mut got))
        .await
        .expect("no hang")
        .unwrap_err();
    assert_eq!(got, b"partial");
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
    assert!(started.elapsed() >= Duration::from_secs(4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn driver_task_ends_when_handles_are_dropped() {
    let server = Endpoint::bind(any(false)).await.unwrap();
    let addr = server.local_addr();
    drop(server);
    // Once the driver ended, the socket is closed and the port can be bound again.
    let mut rebound = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if std::net::UdpSocket::bind(addr).is_ok() {
            rebound = true;
            break;
        }
    }
    assert!(rebound, "the driver task kept the socket open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopts_a_std_socket() {
    let std_socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = std_socket.local_addr().unwrap();
    let server = Endpoint::from_std(std_socket).unwrap();
    assert_eq!(server.local_addr(), addr);
    let listener = server.listen(1).unwrap();
    assert!(matches!(
        server.listen(1),
        Err(Error::Udt(udt::Error::DuplicateListener))
    ));
    let client = Endpoint::bind(any(false)).await.unwrap();
    let t = tokio::spawn(async move {
        let mut s = client.connect(addr).await.unwrap().into_stream();
        s.write_all(b"adopted").await.unwrap();
        s.flush().await.unwrap();
        let stats = s.connection().stats().unwrap();
        assert_eq!(stats.send_buffer_bytes, 0, "flush waits for the ACK");
        s.shutdown().await.unwrap();
    });
    let mut r = listener.accept().await.unwrap().into_stream();
    let mut got = Vec::new();
    r.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, b"adopted");
    t.await.unwrap();
}

#[tokio::test]
async fn socket_type_mismatch_is_rejected() {
    let server = Endpoint::bind(any(false)).await.unwrap();
    server
        .set_options(SocketOptions {
            socket_type: SocketType::Dgram,
            ..SocketOptions::default()
        })
        .unwrap();
    let _listener = server.listen(1).unwrap();
    let client = Endpoint::bind(any(false)).await.unwrap();
    let err = client.connect(server.local_addr()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Connect {
                source: udt::Error::Rejected,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
}

/// A thousand connections on one endpoint over loopback, each moving a little data
/// both ways in parallel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_connections_on_one_endpoint() {
    const N: usize = 1000;
    let server = Endpoint::bind(any(false)).await.unwrap();
    let listener = server.listen(N).unwrap();
    let client = Endpoint::bind(any(false)).await.unwrap();
    let to = server.local_addr();
    let echo = tokio::spawn(async move {
        let mut tasks = Vec::new();
        for _ in 0..N {
            let mut s = listener.accept().await.unwrap().into_stream();
            tasks.push(tokio::spawn(async move {
                let mut buf = [0u8; 8];
                s.read_exact(&mut buf).await.unwrap();
                s.write_all(&buf).await.unwrap();
                s.shutdown().await.unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    let mut tasks = Vec::new();
    for i in 0..N as u64 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut s = client.connect(to).await.unwrap().into_stream();
            s.write_all(&i.to_be_bytes()).await.unwrap();
            let mut back = [0u8; 8];
            s.read_exact(&mut back).await.unwrap();
            assert_eq!(u64::from_be_bytes(back), i);
        }));
    }
    let all = async {
        for t in tasks {
            t.await.unwrap();
        }
        echo.await.unwrap();
    };
    tokio::time::timeout(Duration::from_secs(120), all)
        .await
        .expect("1000 connections within 2 minutes");
}

/// A peer that connects, delivers and closes before the connecting task runs again: the
/// connect still succeeds and what was sent is read (the race behind a rendezvous that
/// failed with `ConnectionLost` on a loaded machine).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_delivers_and_closes_before_connect_returns_is_still_read() {
    // The race needs the connect to be still pending after its first poll. A test thread
    // descheduled right after sending the request (a loaded machine) can find the whole
    // handshake done already; then set up again, a few times at most.
    for _attempt in 0..5 {
        let server = Endpoint::bind(any(false)).await.unwrap();
        let listener = server.listen(4).unwrap();
        let client = Endpoint::bind(any(false)).await.unwrap();
        let mut connect = Box::pin(client.connect(server.local_addr()));
        // Poll once: the request goes out; the connection completes in the driver task.
        let first =
            std::future::poll_fn(|cx| std::task::Poll::Ready(connect.as_mut().poll(cx))).await;
        if first.is_ready() {
            continue;
        }
        let mut s = listener.accept().await.unwrap().into_stream();
        s.write_all(b"early").await.unwrap();
        s.shutdown().await.unwrap(); // returns once the client acknowledged, then closes
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut c = connect
            .await
            .expect("connected before the peer closed")
            .into_stream();
        let mut got = Vec::new();
        c.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"early");
        return;
    }
    panic!("in 5 attempts the connect was never pending after its first poll");
}
