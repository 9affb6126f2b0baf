//! UDT over real UDP sockets, driven by tokio.
//!
//! An [`Endpoint`] owns one UDP socket and multiplexes any number of UDT
//! connections on it; one tokio task per endpoint (see `driver.rs`) runs the
//! sans-IO [`crate::Endpoint`] against the OS clock. Everything protocol-related
//! happens in the core; this module only moves datagrams, time and wake-ups.
//!
//! ```no_run
//! # async fn demo() -> Result<(), udt::tokio::Error> {
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! let server = udt::tokio::Endpoint::bind("127.0.0.1:0".parse().unwrap()).await?;
//! let listener = server.listen(16)?;
//! let client = udt::tokio::Endpoint::bind("127.0.0.1:0".parse().unwrap()).await?;
//! let mut out = client.connect(server.local_addr()).await?.into_stream();
//! let mut inc = listener.accept().await?.into_stream();
//! out.write_all(b"hello").await?;
//! out.shutdown().await?; // delivers everything, then closes
//! let mut got = Vec::new();
//! inc.read_to_end(&mut got).await?;
//! # Ok(()) }
//! ```

use std::future::poll_fn;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use ::tokio::net::UdpSocket;
use ::tokio::sync::Notify;

use crate::{ConnectionHandle, EndpointConfig, SocketOptions, SocketState, Stats};

mod driver;
mod error;
mod message;
mod stream;

pub use error::Error;
pub use message::UdtMessage;
pub use stream::UdtStream;

use driver::{Shared, Slot, State};
use error::End;

/// The UDP socket buffers the driver asks for, so bursts are not dropped. The
/// kernel caps them at `net.core.{r,w}mem_max`.
const SOCKET_BUFFER: usize = 16 << 20;

/// A counted reference to the endpoint: the driver stops once no handle is left
/// and no connection needs driving (lingering closes finish first).
struct Ref(Arc<Shared>);

impl Ref {
    fn new(shared: Arc<Shared>) -> Self {
        shared.lock().handles += 1;
        Ref(shared)
    }
}

impl Clone for Ref {
    fn clone(&self) -> Self {
        Ref::new(self.0.clone())
    }
}

impl Drop for Ref {
    fn drop(&mut self) {
        self.0.lock().handles -= 1;
        self.0.notify.notify_one();
    }
}

/// One UDP socket carrying UDT connections. Cloning gives another handle to the
/// same endpoint.
#[derive(Clone)]
pub struct Endpoint {
    inner: Ref,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("local_addr", &self.local_addr())
            .finish()
    }
}

impl Endpoint {
    /// Binds a UDP socket at `addr` (port 0 picks a free port) and starts the
    /// driver task on the current tokio runtime.
    pub async fn bind(addr: SocketAddr) -> Result<Endpoint, Error> {
        let socket = bind_socket(addr).map_err(|source| Error::Bind { addr, source })?;
        Self::from_std(socket)
    }

    /// Adopts a bound `std::net::UdpSocket` (made non-blocking here). Must be
    /// called inside a tokio runtime.
    pub fn from_std(socket: std::net::UdpSocket) -> Result<Endpoint, Error> {
        socket.set_nonblocking(true)?;
        let local_addr = socket.local_addr()?;
        let socket = UdpSocket::from_std(socket)?;
        let origin = std::time::Instant::now();
        let config = EndpointConfig {
            local_addr,
            seed: seed(),
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                ep: crate::Endpoint::new(config, crate::time::Instant::ZERO),
                slots: Default::default(),
                accept_waker: None,
                handles: 0,
                stopped: None,
                options: SocketOptions::default(),
                closing: Vec::new(),
                wake_at: None,
            }),
            notify: Notify::new(),
            origin,
            local_addr,
        });
        let inner = Ref::new(shared.clone());
        ::tokio::spawn(driver::run(shared, socket));
        Ok(Endpoint { inner })
    }

    /// The address the UDP socket is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.0.local_addr
    }

    /// The options of connections this endpoint starts or accepts from now on.
    pub fn options(&self) -> SocketOptions {
        self.inner.0.lock().options.clone()
    }

    /// Sets the options of connections this endpoint starts or accepts from now on
    /// (a listener keeps the options it started with).
    pub fn set_options(&self, opts: SocketOptions) -> Result<(), Error> {
        opts.validate()?;
        self.inner.0.lock().options = opts;
        Ok(())
    }

    /// Drop counters of the underlying core endpoint.
    pub fn endpoint_stats(&self) -> crate::EndpointStats {
        self.inner.0.lock().ep.endpoint_stats()
    }

    /// Starts accepting connections (one listener per endpoint).
    pub fn listen(&self, backlog: usize) -> Result<Listener, Error> {
        let shared = &self.inner.0;
        let mut st = shared.lock();
        if let Some(end) = &st.stopped {
            return Err(end.error(shared.local_addr, None));
        }
        let opts = st.options.clone();
        st.ep.listen(shared.now(), opts, backlog)?;
        drop(st);
        Ok(Listener {
            inner: self.inner.clone(),
        })
    }

    /// Connects to a listener at `peer` with the endpoint's options. Fails after
    /// the core's 3 s connect deadline.
    pub async fn connect(&self, peer: SocketAddr) -> Result<Connection, Error> {
        let opts = self.options();
        self.start(peer, opts, false, None).await
    }

    /// Connects with explicit options and, optionally, a deadline shorter than the
    /// core's 3 s.
    pub async fn connect_with(
        &self,
        peer: SocketAddr,
        opts: SocketOptions,
        timeout: Option<std::time::Duration>,
    ) -> Result<Connection, Error> {
        self.start(peer, opts, false, timeout).await
    }

    /// Rendezvous with `peer`, which does the same towards this endpoint's
    /// address. Fails after the core's 30 s deadline.
    pub async fn rendezvous(&self, peer: SocketAddr) -> Result<Connection, Error> {
        let opts = self.options();
        self.start(peer, opts, true, None).await
    }

    /// Rendezvous with explicit options and an optional shorter deadline.
    pub async fn rendezvous_with(
        &self,
        peer: SocketAddr,
        opts: SocketOptions,
        timeout: Option<std::time::Duration>,
    ) -> Result<Connection, Error> {
        self.start(peer, opts, true, timeout).await
    }

    async fn start(
        &self,
        peer: SocketAddr,
        opts: SocketOptions,
        rendezvous: bool,
        timeout: Option<std::time::Duration>,
    ) -> Result<Connection, Error> {
        let shared = &self.inner.0;
        let core_deadline = std::time::Duration::from_secs(if rendezvous { 30 } else { 3 });
        let h = {
            let mut st = shared.lock();
            if let Some(end) = &st.stopped {
                return Err(end.error(peer, None));
            }
            let now = shared.now();
            let h = if rendezvous {
                st.ep.rendezvous(now, peer, opts)?
            } else {
                st.ep.connect(now, peer, opts)?
            };
            st.slots.insert(
                h,
                Slot {
                    connect_deadline: Some(core_deadline),
                    ..Slot::default()
                },
            );
            h
        };
        shared.notify.notify_one();
        let conn = Connection {
            inner: self.inner.clone(),
            h,
            peer,
        };
        let wait = poll_fn(|cx| {
            let mut st = shared.lock();
            let slot = st
                .slots
                .get_mut(&h)
                .expect("the slot lives as long as its handle");
            // Connected first: a peer may connect, deliver and close before this task
            // runs again, and what it sent is still to be read.
            if slot.connected {
                slot.connect_deadline = None;
                return Poll::Ready(Ok(()));
            }
            if let Some(end) = &slot.end {
                return Poll::Ready(Err(end.error(peer, Some(core_deadline))));
            }
            slot.status = Some(cx.waker().clone());
            Poll::Pending
        });
        match timeout {
            Some(after) if after < core_deadline => {
                match ::tokio::time::timeout(after, wait).await {
                    Ok(r) => r?,
                    Err(_) => return Err(Error::ConnectTimeout { peer, after }),
                }
            }
            _ => wait.await?,
        }
        Ok(conn)
    }
}

/// Binds a UDP socket with large buffers; IPv6 sockets are IPv6-only.
fn bind_socket(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    // Best effort: the kernel may cap or refuse large buffers.
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
    socket.bind(&addr.into())?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// A seed for the core's socket ids, ISNs and cookie secret: these must differ
/// between runs and endpoints on a real network.
fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.finish()
}

/// Accepts connections arriving at an endpoint. Dropping it stops listening.
pub struct Listener {
    inner: Ref,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("local_addr", &self.inner.0.local_addr)
            .finish()
    }
}

impl Listener {
    /// The address peers connect to.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.0.local_addr
    }

    /// The next connection a peer completed.
    pub async fn accept(&self) -> Result<Connection, Error> {
        let shared = &self.inner.0;
        poll_fn(|cx| {
            let mut st = shared.lock();
            if let Some(h) = st.ep.accept() {
                let peer = st.ep.peer_addr(h).unwrap_or(shared.local_addr);
                st.slots.entry(h).or_default().connected = true;
                drop(st);
                return Poll::Ready(Ok(Connection {
                    inner: self.inner.clone(),
                    h,
                    peer,
                }));
            }
            if let Some(end) = &st.stopped {
                return Poll::Ready(Err(end.error(shared.local_addr, None)));
            }
            st.accept_waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let shared = &self.inner.0;
        let mut st = shared.lock();
        let now = shared.now();
        st.ep.stop_listening(now);
        st.accept_waker = None;
    }
}

/// An established UDT connection, not yet typed: turn it into a [`UdtStream`]
/// (stream sockets) or a [`UdtMessage`] (message sockets). Dropping it closes the
/// connection; unsent data still lingers out in the background.
pub struct Connection {
    inner: Ref,
    h: ConnectionHandle,
    peer: SocketAddr,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("handle", &self.h)
            .field("peer", &self.peer)
            .finish()
    }
}

impl Connection {
    /// As a byte stream (`AsyncRead` + `AsyncWrite`).
    pub fn into_stream(self) -> UdtStream {
        UdtStream::new(self)
    }

    /// As a message socket.
    pub fn into_message(self) -> UdtMessage {
        UdtMessage::new(self)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// The local UDP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.0.local_addr
    }

    /// The local and peer UDT socket ids.
    pub fn socket_ids(&self) -> Option<(u32, u32)> {
        self.inner.0.lock().ep.socket_ids(self.h)
    }

    /// The connection's state in UDT4's terms.
    pub fn state(&self) -> SocketState {
        self.inner.0.lock().ep.state(self.h)
    }

    /// Counters and control state (UDT4's perfmon); `None` once the connection is
    /// gone.
    pub fn stats(&self) -> Option<Stats> {
        self.inner.0.lock().ep.stats(self.h)
    }

    /// A handle that reads this connection's statistics from another task or
    /// thread (a sampler) while the connection is busy reading or writing. It does
    /// not keep the endpoint running.
    pub fn stats_handle(&self) -> StatsHandle {
        StatsHandle {
            shared: self.inner.0.clone(),
            h: self.h,
        }
    }

    fn shared(&self) -> &Shared {
        &self.inner.0
    }

    /// Starts closing (linger: unsent data is still delivered) and waits until the
    /// connection is closed or broken.
    pub async fn close(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.poll_close(cx)).await
    }

    fn poll_close(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Result<(), Error>> {
        let shared = self.shared();
        let mut st = shared.lock();
        match st.ep.state(self.h) {
            SocketState::Connected => {
                let now = shared.now();
                st.ep.close(now, self.h);
                shared.notify.notify_one();
            }
            SocketState::Closing => {}
            _ => {
                let slot = st.slots.get_mut(&self.h);
                return Poll::Ready(match slot.and_then(|s| s.end.clone()) {
                    None | Some(End::LocalClose) | Some(End::PeerClosed) => Ok(()),
                    Some(end) => Err(end.error(self.peer, None)),
                });
            }
        }
        if let Some(slot) = st.slots.get_mut(&self.h) {
            slot.status = Some(cx.waker().clone());
        }
        if !st.closing.contains(&self.h) {
            st.closing.push(self.h);
        }
        shared.notify.notify_one();
        Poll::Pending
    }

    /// The error for a call on a connection that ended, if it did.
    fn ended(&self, st: &State) -> Option<Error> {
        if let Some(end) = st.slots.get(&self.h).and_then(|s| s.end.as_ref()) {
            return Some(end.error(self.peer, None));
        }
        st.stopped.as_ref().map(|e| e.error(self.peer, None))
    }
}

/// Reads one connection's statistics from anywhere; see
/// [`Connection::stats_handle`].
#[derive(Clone)]
pub struct StatsHandle {
    shared: Arc<Shared>,
    h: ConnectionHandle,
}

impl std::fmt::Debug for StatsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatsHandle")
            .field("handle", &self.h)
            .finish()
    }
}

impl StatsHandle {
    /// The connection's statistics now; `None` once the connection is gone.
    pub fn stats(&self) -> Option<Stats> {
        self.shared.lock().ep.stats(self.h)
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let shared = &self.inner.0;
        let mut st = shared.lock();
        let now = shared.now();
        st.ep.close(now, self.h);
        let gone = st.ep.state(self.h) == SocketState::NonExist;
        if gone {
            st.slots.remove(&self.h);
        } else if let Some(slot) = st.slots.get_mut(&self.h) {
            slot.dropped = true;
            slot.read = None;
            slot.write = None;
            slot.status = None;
        }
        drop(st);
        shared.notify.notify_one();
    }
}
