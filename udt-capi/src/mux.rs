//! The multiplexer: one UDP socket, one `udt::Endpoint`, one thread.
//!
//! UDT4 calls it a multiplexer: every UDT socket bound to the same port (with
//! `UDT_REUSEADDR`), every socket a listener accepted on it, and every rendezvous
//! socket on it share one UDP socket. Here that is one sans-IO endpoint behind a
//! mutex and one background thread that runs the endpoint's drain rule against
//! the OS clock:
//!
//! 1. sleep in `ppoll` until a datagram arrives, the core's next timeout passes,
//!    or an application call writes the wake-up eventfd;
//! 2. read every waiting datagram (up to a batch) and hand each to the core;
//! 3. run due timers;
//! 4. drain `poll_event` into per-connection flags and wake the blocked callers
//!    (one condition variable per multiplexer, plus [`wait::notify`] for epoll);
//! 5. drain `poll_transmit` in batches and send them outside the lock.
//!
//! The thread ends when no API socket uses the multiplexer any more and none of
//! its connections still has something to say (a lingering close), or at
//! `UDT::cleanup()`.

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use udt::{ConnectionHandle, Endpoint, EndpointConfig, Event, SocketState};

use crate::addr::Family;
use crate::clock;
use crate::error::{ApiResult, Code};
use crate::wait::{self, lock};

/// Datagrams moved per lock hold, each way.
const BATCH: usize = 64;
/// The longest sleep without a reason: exit conditions are re-checked this often.
const IDLE_WAIT: std::time::Duration = std::time::Duration::from_millis(100);

/// What the API side knows about one connection, from the core's events.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConnInfo {
    /// The handshake completed.
    pub connected: bool,
    /// The handshake failed, and why.
    pub failed: Option<udt::Error>,
    /// The connection broke, and why.
    pub broken: Option<udt::Error>,
    /// Data may be readable (set by `Readable`, cleared by a read that drained).
    pub readable: bool,
    /// The send buffer may have room (set by `Writable`, cleared by "would block").
    pub writable: bool,
    /// The core forgot the connection.
    pub gone: bool,
    /// An API socket stands for it (otherwise `Closed` drops the entry).
    pub owned: bool,
}

/// Everything behind a multiplexer's lock.
pub struct MuxState {
    /// The protocol core.
    pub ep: Endpoint,
    /// Per-connection flags.
    pub conns: HashMap<ConnectionHandle, ConnInfo>,
    /// API sockets bound to this multiplexer.
    pub users: usize,
    /// `cleanup()` asked the thread to stop.
    pub stop: bool,
    /// The thread is gone (or going): no new user may attach.
    pub dead: bool,
}

impl MuxState {
    /// The flags of a connection (default if the core has said nothing yet).
    pub fn info(&mut self, h: ConnectionHandle) -> &mut ConnInfo {
        self.conns.entry(h).or_default()
    }

    fn dispatch(&mut self) -> bool {
        let mut any = false;
        while let Some((h, event)) = self.ep.poll_event() {
            any = true;
            let info = self.conns.entry(h).or_default();
            match event {
                Event::Connected | Event::Accepted => {
                    info.connected = true;
                    info.writable = true;
                }
                Event::Readable => info.readable = true,
                Event::Writable => info.writable = true,
                Event::ConnectFailed(e) => {
                    info.failed.get_or_insert(e);
                }
                Event::Broken(e) => {
                    info.broken.get_or_insert(e);
                }
                Event::Closed => {
                    info.gone = true;
                    if !info.owned {
                        self.conns.remove(&h);
                    }
                }
            }
        }
        any
    }

    /// Whether some connection still needs the thread.
    fn has_live(&self) -> bool {
        self.conns.keys().any(|h| {
            matches!(
                self.ep.state(*h),
                SocketState::Connecting | SocketState::Connected | SocketState::Closing
            )
        })
    }
}

/// One UDP port.
pub struct Mux {
    /// The bound address (port resolved).
    pub local: SocketAddr,
    /// IPv4 or IPv6.
    pub family: Family,
    /// The MSS of the socket that opened it: sharers must match (UDT4's rule).
    pub mss: i32,
    /// Opened with UDT_REUSEADDR.
    pub reusable: bool,
    sock: UdpSocket,
    wake_fd: OwnedFd,
    state: Mutex<MuxState>,
    /// Signalled whenever the core reports an event.
    pub cond: Condvar,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Mux {
    /// Opens a multiplexer on a new UDP socket bound to `addr`, or on the
    /// caller's socket, and starts its thread.
    pub fn open(
        addr: Option<SocketAddr>,
        existing: Option<UdpSocket>,
        mss: i32,
        reusable: bool,
        udp_buffers: (i32, i32),
    ) -> ApiResult<Arc<Mux>> {
        let sock = match (existing, addr) {
            (Some(s), _) => s,
            (None, Some(a)) => UdpSocket::bind(a).map_err(|_| Code::ESOCKFAIL)?,
            (None, None) => return Err(Code::EINVPARAM),
        };
        let local = sock.local_addr().map_err(|_| Code::ESOCKFAIL)?;
        sock.set_nonblocking(true).map_err(|_| Code::ESOCKFAIL)?;
        set_buffer(&sock, libc::SO_SNDBUF, udp_buffers.0);
        set_buffer(&sock, libc::SO_RCVBUF, udp_buffers.1);
        // SAFETY: plain syscall; the result is checked.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(Code::ERESOURCE);
        }
        // SAFETY: a fresh descriptor nobody else owns.
        let wake_fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let config = EndpointConfig {
            local_addr: local,
            seed: crate::random_u64(),
        };
        let mux = Arc::new(Mux {
            local,
            family: Family::of(&local),
            mss,
            reusable,
            sock,
            wake_fd,
            state: Mutex::new(MuxState {
                ep: Endpoint::new(config, clock::now()),
                conns: HashMap::new(),
                users: 1,
                stop: false,
                dead: false,
            }),
            cond: Condvar::new(),
            thread: Mutex::new(None),
        });
        let runner = Arc::clone(&mux);
        let handle = std::thread::Builder::new()
            .name(format!("udt-mux-{}", local.port()))
            .spawn(move || runner.run())
            .map_err(|_| Code::ETHREAD)?;
        *lock(&mux.thread) = Some(handle);
        Ok(mux)
    }

    /// The state, locked.
    pub fn lock(&self) -> MutexGuard<'_, MuxState> {
        lock(&self.state)
    }

    /// Adds a user unless the thread is ending.
    pub fn attach(&self) -> bool {
        let mut st = self.lock();
        if st.dead || st.stop {
            return false;
        }
        st.users += 1;
        true
    }

    /// Removes a user; the thread may end once its connections are done.
    pub fn detach(&self) {
        let mut st = self.lock();
        st.users = st.users.saturating_sub(1);
        drop(st);
        self.wake();
    }

    /// Whether the thread has ended (or is ending).
    pub fn is_dead(&self) -> bool {
        self.lock().dead
    }

    /// Tells the thread that the core has new work (an application call).
    pub fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a valid u64 to our own eventfd; a full
        // counter (EAGAIN) still leaves the thread woken.
        unsafe {
            libc::write(
                self.wake_fd.as_raw_fd(),
                &one as *const u64 as *const libc::c_void,
                8,
            );
        }
    }

    /// Asks the thread to stop and waits for it; what the core has queued
    /// (shutdown packets of the connections just closed) goes out first.
    pub fn stop_and_join(&self) {
        let mut buf = vec![0u8; (self.mss.max(1500)) as usize];
        let mut st = self.lock();
        st.stop = true;
        let now = clock::now();
        while let Some(t) = st.ep.poll_transmit(now, &mut buf) {
            self.send(&buf[..t.len], t.destination);
        }
        drop(st);
        self.wake();
        self.join();
    }

    /// Waits for the thread if it was started and has not been joined.
    pub fn join(&self) {
        let handle = lock(&self.thread).take();
        if let Some(h) = handle {
            let _ = h.join();
        }
    }

    fn run(self: Arc<Self>) {
        let slot = (self.mss.max(1500) as usize).max(udt::packet::HEADER_LEN + 64);
        let mut rx = vec![0u8; BATCH * 65_536.min(slot * 4)];
        let rx_slot = rx.len() / BATCH;
        let mut tx = vec![0u8; BATCH * slot];
        let mut rx_meta: Vec<(SocketAddr, usize)> = Vec::with_capacity(BATCH);
        let mut tx_meta: Vec<(SocketAddr, usize)> = Vec::with_capacity(BATCH);
        loop {
            let next = {
                let mut st = self.lock();
                if st.stop || (st.users == 0 && !st.has_live()) {
                    st.dead = true;
                    drop(st);
                    self.cond.notify_all();
                    wait::notify();
                    return;
                }
                st.ep.poll_timeout()
            };
            self.sleep(next);
            rx_meta.clear();
            while rx_meta.len() < BATCH {
                let i = rx_meta.len();
                match self.sock.recv_from(&mut rx[i * rx_slot..(i + 1) * rx_slot]) {
                    Ok((n, from)) => rx_meta.push((from, n)),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    // An ICMP error surfacing on the socket: nothing to read.
                    Err(_) => break,
                }
            }
            let mut first = true;
            loop {
                let mut notify = false;
                {
                    let mut st = self.lock();
                    let now = clock::now();
                    if first {
                        for (i, (from, n)) in rx_meta.iter().enumerate() {
                            st.ep
                                .handle_datagram(now, *from, &rx[i * rx_slot..i * rx_slot + n]);
                        }
                        if st.ep.poll_timeout().is_some_and(|t| t <= now) {
                            st.ep.handle_timeout(now);
                        }
                        first = false;
                    }
                    notify |= st.dispatch();
                    tx_meta.clear();
                    while tx_meta.len() < BATCH {
                        let i = tx_meta.len();
                        match st.ep.poll_transmit(now, &mut tx[i * slot..(i + 1) * slot]) {
                            Some(t) => tx_meta.push((t.destination, t.len)),
                            None => break,
                        }
                    }
                    notify |= st.dispatch();
                }
                if notify {
                    self.cond.notify_all();
                    wait::notify();
                }
                for (i, (to, n)) in tx_meta.iter().enumerate() {
                    self.send(&tx[i * slot..i * slot + n], *to);
                }
                if tx_meta.len() < BATCH {
                    break;
                }
            }
        }
    }

    /// Sleeps until a datagram, a wake-up, or the core's next timeout.
    fn sleep(&self, next: Option<udt::time::Instant>) {
        let wait = match next {
            Some(t) => {
                let now = clock::now();
                std::time::Duration::from_micros(t.as_micros().saturating_sub(now.as_micros()))
                    .min(IDLE_WAIT)
            }
            None => IDLE_WAIT,
        };
        if wait.is_zero() {
            return;
        }
        let mut fds = [
            libc::pollfd {
                fd: self.sock.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: self.wake_fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        let ts = libc::timespec {
            tv_sec: wait.as_secs() as libc::time_t,
            tv_nsec: wait.subsec_nanos() as libc::c_long,
        };
        // SAFETY: two valid pollfds, a valid timespec, no signal mask.
        unsafe { libc::ppoll(fds.as_mut_ptr(), 2, &ts, std::ptr::null()) };
        if fds[1].revents & libc::POLLIN != 0 {
            let mut buf = 0u64;
            // SAFETY: reads 8 bytes into a u64 from our own eventfd.
            unsafe {
                libc::read(
                    self.wake_fd.as_raw_fd(),
                    &mut buf as *mut u64 as *mut libc::c_void,
                    8,
                )
            };
        }
    }

    /// Sends one datagram; a full socket buffer gets a short wait, then the
    /// datagram is dropped like any lost packet (UDT retransmits).
    fn send(&self, bytes: &[u8], to: SocketAddr) {
        for _ in 0..2 {
            match self.sock.send_to(bytes, to) {
                Ok(_) => return,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let mut fd = libc::pollfd {
                        fd: self.sock.as_raw_fd(),
                        events: libc::POLLOUT,
                        revents: 0,
                    };
                    // SAFETY: one valid pollfd.
                    unsafe { libc::poll(&mut fd, 1, 5) };
                }
                Err(_) => return,
            }
        }
    }
}

fn set_buffer(sock: &UdpSocket, which: libc::c_int, bytes: i32) {
    if bytes <= 0 {
        return;
    }
    // SAFETY: a valid int option on our own socket; failure (a size above the
    // system's limit is clamped by the kernel anyway) is harmless.
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            which,
            &bytes as *const i32 as *const libc::c_void,
            std::mem::size_of::<i32>() as libc::socklen_t,
        );
    }
}
