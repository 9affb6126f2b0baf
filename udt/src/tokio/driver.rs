//! The driver task: one per endpoint. It owns the UDP socket and runs the
//! sans-IO [`crate::Endpoint`]'s drain rule against the OS clock:
//!
//! 1. wait for a datagram, the core's next timeout, or an application call;
//! 2. read the datagrams waiting (one `recvmmsg` with UDP GRO, through `quinn-udp`)
//!    and hand each to the core, stamped as UDT4 stamps arrivals (see `drive`);
//! 3. run due timers;
//! 4. drain `poll_transmit` and send, in batches, outside the lock (runs of
//!    equal-sized datagrams to one peer as one UDP GSO send, through `quinn-udp`);
//! 5. drain `poll_event` and wake the tasks waiting on each connection.
//!
//! Pacing: the core spaces data packets a few microseconds apart while tokio's
//! timers tick in milliseconds. The driver wakes at the next tick and
//! `poll_transmit(now)` hands out every packet due by `now` (the core lets a late
//! driver catch up by up to 10 ms), so the average rate is the core's exact rate,
//! sent in bursts of at most one tick.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;

use ::tokio::io::Interest;
use ::tokio::net::UdpSocket;
use ::tokio::sync::Notify;
use quinn_udp::{RecvMeta, Transmit, UdpSockRef, UdpSocketState, BATCH_SIZE};
use std::io::IoSliceMut;

use super::error::End;
use crate::time::{Duration, Instant};
use crate::{ConnectionHandle, Event, SocketOptions, SocketState};

/// Room for one datagram of any MSS.
const MAX_DATAGRAM: usize = 65_536;
/// Bytes of datagrams moved per lock hold.
const BATCH_BYTES: usize = 1 << 20;
/// Datagrams moved per lock hold.
const BATCH_COUNT: usize = 256;

/// What the application side knows about one connection.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    pub(crate) read: Option<Waker>,
    pub(crate) write: Option<Waker>,
    /// Connect, shutdown and close waiters.
    pub(crate) status: Option<Waker>,
    pub(crate) connected: bool,
    pub(crate) end: Option<End>,
    /// The application dropped its handle: forget the slot once the core does.
    pub(crate) dropped: bool,
    /// The core's connect deadline, while connecting.
    pub(crate) connect_deadline: Option<std::time::Duration>,
}

impl Slot {
    fn wake_all(&mut self) {
        for w in [self.read.take(), self.write.take(), self.status.take()]
            .into_iter()
            .flatten()
        {
            w.wake();
        }
    }
}

/// Everything behind the endpoint's lock.
pub(crate) struct State {
    pub(crate) ep: crate::Endpoint,
    pub(crate) slots: HashMap<ConnectionHandle, Slot>,
    pub(crate) accept_waker: Option<Waker>,
    /// Live application handles (endpoint, listener, connections).
    pub(crate) handles: usize,
    /// The driver stopped (socket error or all handles gone).
    pub(crate) stopped: Option<End>,
    /// Options for connections this endpoint starts or accepts.
    pub(crate) options: SocketOptions,
    /// Connections whose `shutdown` waits for the close to finish.
    pub(crate) closing: Vec<ConnectionHandle>,
    /// The core timeout the driver last planned to sleep until.
    pub(crate) wake_at: Option<Instant>,
}

impl State {
    /// Whether an application call moved the core's next timeout before the
    /// driver's planned wake-up (so the driver must be woken early).
    pub(crate) fn needs_wake(&self) -> bool {
        match (self.ep.poll_timeout(), self.wake_at) {
            (Some(t), Some(w)) => t < w,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    /// Drains the core's events into wakers. `from_peer`: the events follow a
    /// datagram (so a broken connection means the peer said so).
    fn dispatch(&mut self, from_peer: bool) {
        while let Some((h, event)) = self.ep.poll_event() {
            match event {
                Event::Accepted => {
                    self.slots.entry(h).or_default().connected = true;
                    if let Some(w) = self.accept_waker.take() {
                        w.wake();
                    }
                }
                Event::Connected => {
                    let slot = self.slots.entry(h).or_default();
                    slot.connected = true;
                    slot.wake_all();
                }
                Event::Readable => {
                    if let Some(w) = self.slots.get_mut(&h).and_then(|s| s.read.take()) {
                        w.wake();
                    }
                }
                Event::Writable => {
                    if let Some(w) = self.slots.get_mut(&h).and_then(|s| s.write.take()) {
                        w.wake();
                    }
                }
                Event::ConnectFailed(e) => {
                    let slot = self.slots.entry(h).or_default();
                    slot.end.get_or_insert(End::Udt(e));
                    slot.wake_all();
                }
                Event::Broken(e) => {
                    let why = match e {
                        crate::Error::ConnectionLost if from_peer => End::PeerClosed,
                        crate::Error::ConnectionLost => End::Vanished,
                        e => End::Udt(e),
                    };
                    let slot = self.slots.entry(h).or_default();
                    slot.end.get_or_insert(why);
                    slot.wake_all();
                }
                Event::Closed => {
                    if let Some(slot) = self.slots.get_mut(&h) {
                        slot.end.get_or_insert(End::LocalClose);
                        slot.wake_all();
                        if slot.dropped {
                            self.slots.remove(&h);
                        }
                    }
                }
            }
        }
    }

    /// Wakes `shutdown` callers whose connection finished closing.
    fn check_closing(&mut self) {
        let ep = &self.ep;
        let slots = &mut self.slots;
        self.closing.retain(|h| {
            let done = !matches!(
                ep.state(*h),
                SocketState::Connected | SocketState::Closing | SocketState::Connecting
            );
            if done {
                if let Some(w) = slots.get_mut(h).and_then(|s| s.status.take()) {
                    w.wake();
                }
            }
            !done
        });
    }

    /// Sending to `to` failed: connections still handshaking with it fail.
    fn unreachable(&mut self, now: Instant, to: SocketAddr, e: &io::Error) {
        let hs: Vec<ConnectionHandle> = self
            .slots
            .iter()
            .filter(|(h, s)| {
                !s.connected
                    && s.end.is_none()
                    && self.ep.peer_addr(**h) == Some(to)
                    && self.ep.state(**h) == SocketState::Connecting
            })
            .map(|(h, _)| *h)
            .collect();
        for h in hs {
            self.ep.close(now, h);
            if let Some(slot) = self.slots.get_mut(&h) {
                slot.end = Some(End::Unreachable(e.kind(), e.to_string()));
                slot.wake_all();
            }
        }
    }

    /// Any connection the core still has to drive.
    fn has_live_connections(&self) -> bool {
        self.slots.keys().any(|h| {
            matches!(
                self.ep.state(*h),
                SocketState::Connecting | SocketState::Connected | SocketState::Closing
            )
        })
    }

    fn stop(&mut self, why: End) {
        self.stopped = Some(why.clone());
        for slot in self.slots.values_mut() {
            slot.end.get_or_insert(why.clone());
            slot.wake_all();
        }
        if let Some(w) = self.accept_waker.take() {
            w.wake();
        }
    }
}

/// State shared by the driver and every handle.
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    /// Wakes the driver after an application call.
    pub(crate) notify: Notify,
    /// Core time 0.
    pub(crate) origin: std::time::Instant,
    pub(crate) local_addr: SocketAddr,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the core as it was between calls:
        // carrying on is sound.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The OS clock as core time: microseconds since the endpoint was created.
    pub(crate) fn now(&self) -> Instant {
        Instant::from_micros(self.origin.elapsed().as_micros() as u64)
    }

    fn to_std(&self, t: Instant) -> ::tokio::time::Instant {
        (self.origin + std::time::Duration::from_micros(t.as_micros())).into()
    }
}

/// Errors of a receive that concern one peer (ICMP reports), not the socket.
fn transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::Interrupted
    )
}

/// A send error that names the destination, not the socket.
fn per_destination(e: &io::Error) -> bool {
    transient(e)
        || matches!(
            e.kind(),
            io::ErrorKind::InvalidInput
                | io::ErrorKind::AddrNotAvailable
                | io::ErrorKind::PermissionDenied
        )
        || e.raw_os_error() == Some(97) // EAFNOSUPPORT: IPv6 peer on an IPv4 socket
}

/// Datagrams laid end to end in one buffer (a send batch).
struct Batch {
    buf: Vec<u8>,
    items: Vec<(SocketAddr, usize, usize)>,
    used: usize,
}

impl Batch {
    fn new() -> Self {
        Batch {
            buf: vec![0; BATCH_BYTES + MAX_DATAGRAM],
            items: Vec::with_capacity(BATCH_COUNT),
            used: 0,
        }
    }
    fn clear(&mut self) {
        self.items.clear();
        self.used = 0;
    }
    fn full(&self) -> bool {
        self.used >= BATCH_BYTES || self.items.len() >= BATCH_COUNT
    }
    fn room(&mut self) -> &mut [u8] {
        &mut self.buf[self.used..self.used + MAX_DATAGRAM]
    }
    fn push(&mut self, addr: SocketAddr, len: usize) {
        self.items.push((addr, self.used, len));
        self.used += len;
    }
}

/// The driver task's body.
pub(crate) async fn run(shared: Arc<Shared>, socket: UdpSocket) {
    let why = match drive(&shared, &socket).await {
        Ok(()) => End::Driver,
        Err(e) => End::Socket(e.kind(), e.to_string()),
    };
    shared.lock().stop(why);
}

/// A receive batch: one `recvmmsg` worth of slots, each big enough for a GRO run.
struct RxBatch {
    buf: Vec<u8>,
    meta: Vec<RecvMeta>,
    /// (source, offset, length) of each datagram read.
    items: Vec<(SocketAddr, usize, usize)>,
}

/// Bytes per receive slot: a GRO run is at most one maximal UDP payload.
const RX_SLOT: usize = 65_536;

impl RxBatch {
    fn new() -> Self {
        RxBatch {
            buf: vec![0; RX_SLOT * BATCH_SIZE],
            meta: vec![RecvMeta::default(); BATCH_SIZE],
            items: Vec::with_capacity(BATCH_SIZE),
        }
    }

    /// One `recvmmsg`: the datagrams waiting, GRO runs cut at their stride.
    fn read(&mut self, socket: &UdpSocket, state: &UdpSocketState) -> io::Result<()> {
        self.items.clear();
        let mut iovs: Vec<IoSliceMut<'_>> =
            self.buf.chunks_mut(RX_SLOT).map(IoSliceMut::new).collect();
        let n = socket.try_io(Interest::READABLE, || {
            state.recv(UdpSockRef::from(socket), &mut iovs, &mut self.meta)
        })?;
        for (k, m) in self.meta[..n].iter().enumerate() {
            let stride = m.stride.max(1);
            let mut off = 0;
            while off < m.len {
                let len = stride.min(m.len - off);
                self.items.push((m.addr, k * RX_SLOT + off, len));
                off += len;
            }
        }
        Ok(())
    }
}

async fn drive(shared: &Shared, socket: &UdpSocket) -> io::Result<()> {
    let state = UdpSocketState::new(UdpSockRef::from(socket))?;
    let mut rx = RxBatch::new();
    let mut tx = Batch::new();
    // The arrival time the core was last given.
    let mut last_arrival = Instant::ZERO;
    loop {
        let deadline = {
            let mut st = shared.lock();
            if st.handles == 0 && !st.has_live_connections() {
                return Ok(());
            }
            st.check_closing();
            st.wake_at = st.ep.poll_timeout();
            st.wake_at
        };
        let sleep = async {
            match deadline {
                Some(t) => ::tokio::time::sleep_until(shared.to_std(t)).await,
                None => std::future::pending().await,
            }
        };
        let readable = ::tokio::select! {
            biased;
            r = socket.readable() => { r?; true }
            _ = shared.notify.notified() => false,
            _ = sleep => false,
        };
        // Read what is waiting, without the lock. Each datagram keeps its own
        // arrival time: the core's packet-pair and arrival-rate estimates need it.
        rx.items.clear();
        if readable {
            match rx.read(socket, &state) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if transient(&e) => {}
                Err(e) => return Err(e),
            }
        }
        let now = {
            let mut st = shared.lock();
            for &(from, at, len) in &rx.items {
                // Arrival times as UDT4 takes them: when the packet is processed
                // (`CUDT::processData` reads the clock), at least a microsecond apart. A
                // batch (recvmmsg, and a GRO run above all, whose datagrams share one
                // kernel timestamp) would otherwise give the core's arrival-rate and
                // packet-pair estimates zero gaps, and UDT's window would stay at 16
                // packets: the estimate needs the spacing a one-by-one reader sees.
                let t = shared.now().max(last_arrival + Duration::from_micros(1));
                last_arrival = t;
                st.ep.handle_datagram(t, from, &rx.buf[at..at + len]);
                st.dispatch(true);
            }
            // The core's clock never goes back, not even behind a stamp given above.
            let now = shared.now().max(last_arrival);
            st.ep.handle_timeout(now);
            st.dispatch(false);
            now
        };
        // Send what is due, in batches, without the lock.
        while fill(shared, now, &mut tx) {
            let mut failed: Vec<(SocketAddr, io::Error)> = Vec::new();
            let mut i = 0;
            while i < tx.items.len() {
                let (to, at, len) = tx.items[i];
                let n = gso_run(&tx.items[i..], state.max_gso_segments());
                let end = tx.items[i + n - 1].1 + tx.items[i + n - 1].2;
                let t = Transmit {
                    destination: to,
                    ecn: None,
                    contents: &tx.buf[at..end],
                    segment_size: (n > 1).then_some(len),
                    src_ip: None,
                };
                match send(socket, &state, &t).await {
                    Ok(()) => {}
                    // The kernel cannot segment: quinn-udp has switched segmentation
                    // off, so send this run again one by one.
                    Err(_) if n > 1 && state.max_gso_segments() == 1 => continue,
                    Err(e) if per_destination(&e) => failed.push((to, e)),
                    Err(e) => return Err(e),
                }
                i += n;
            }
            if !failed.is_empty() {
                let mut st = shared.lock();
                for (to, e) in failed {
                    st.unreachable(now, to, &e);
                }
                st.dispatch(false);
            }
        }
        shared.lock().check_closing();
    }
}

/// Sends one transmit (one datagram, or a segmented run), waiting while the socket
/// buffer is full. Errors are the kernel's, unfiltered.
async fn send(socket: &UdpSocket, state: &UdpSocketState, t: &Transmit<'_>) -> io::Result<()> {
    loop {
        match socket.try_io(Interest::WRITABLE, || {
            state.try_send(UdpSockRef::from(socket), t)
        }) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => socket.writable().await?,
            r => return r,
        }
    }
}

/// How many datagrams from the front of `items` can go as one segmented send:
/// same destination, laid end to end, equal sizes (the last may be shorter),
/// at most `max_segments` and [`MAX_GSO_BYTES`].
fn gso_run(items: &[(SocketAddr, usize, usize)], max_segments: usize) -> usize {
    let (to, at, len) = items[0];
    let mut total = len;
    let mut n = 1;
    for &(to2, at2, len2) in &items[1..] {
        if n >= max_segments
            || to2 != to
            || at2 != at + total
            || len2 > len
            || total + len2 > MAX_GSO_BYTES
        {
            break;
        }
        total += len2;
        n += 1;
        if len2 < len {
            break;
        }
    }
    n
}

/// A UDP payload is at most 65 507 bytes (IPv4).
const MAX_GSO_BYTES: usize = 65_000;

/// Takes the next batch of due datagrams from the core; false when none is due.
fn fill(shared: &Shared, now: Instant, tx: &mut Batch) -> bool {
    let mut st = shared.lock();
    tx.clear();
    while !tx.full() {
        match st.ep.poll_transmit(now, tx.room()) {
            Some(t) => tx.push(t.destination, t.len),
            None => break,
        }
    }
    st.dispatch(false);
    !tx.items.is_empty()
}
