//! UDT sockets: the id table, each socket's state and options, and the calls
//! that create, bind, listen, accept, connect and close them.
//!
//! Lock order: the registry, then a socket, then a multiplexer. Blocking calls
//! copy what they need out of the socket and wait on the multiplexer's
//! condition variable with only the multiplexer's lock, so one thread may send
//! while another receives on the same socket.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use udt::packet::SocketType;
use udt::{ConnectionHandle, SocketState, Stats};

use crate::addr::Family;
use crate::clock;
use crate::error::{ApiResult, Code};
use crate::mux::{lock, Mux};
use crate::options::{Options, Phase};

/// Where the API socket is; past `Listening` the core's state says the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Init,
    Opened,
    Listening,
    /// Has a connection in the core (connecting, connected, broken …).
    Conn(ConnectionHandle),
}

/// The counters at the last `perfmon(clear = true)`.
#[derive(Clone, Copy, Debug)]
pub struct PerfBase {
    pub stats: Stats,
    pub at: std::time::Instant,
}

/// The mutable part of a socket.
pub struct Inner {
    pub stage: Stage,
    pub opts: Options,
    pub mux: Option<Arc<Mux>>,
    /// When the connection started (perfmon's msTimeStamp).
    pub started: Option<std::time::Instant>,
    pub perf: Option<PerfBase>,
}

/// One UDT socket.
pub struct Socket {
    pub id: i32,
    pub family: Family,
    pub kind: SocketType,
    /// Set by `close`: blocked calls on the socket give up.
    pub closed: AtomicBool,
    pub inner: Mutex<Inner>,
}

/// What a data call needs, copied out of the socket.
pub struct ConnRef {
    pub mux: Arc<Mux>,
    pub h: ConnectionHandle,
    pub opts: Options,
}

impl Socket {
    /// The socket's state, locked.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    /// UDTSTATUS as UDT4 reports it (the core's `SocketState` has its values).
    pub fn status(&self) -> SocketState {
        let inner = self.lock();
        match (inner.stage, &inner.mux) {
            (Stage::Init, _) => SocketState::Init,
            (Stage::Opened, _) => SocketState::Opened,
            (Stage::Listening, _) => SocketState::Listening,
            (Stage::Conn(h), Some(mux)) => {
                let mut st = mux.lock();
                let info = *st.info(h);
                match st.ep.state(h) {
                    SocketState::Connecting if info.failed.is_some() => SocketState::Broken,
                    SocketState::Connecting => SocketState::Connecting,
                    SocketState::Connected => SocketState::Connected,
                    SocketState::Closing => SocketState::Closing,
                    SocketState::Closed if info.failed.is_some() => SocketState::Broken,
                    SocketState::Closed => SocketState::Closed,
                    SocketState::NonExist if info.broken.is_none() && info.failed.is_none() => {
                        SocketState::Closed
                    }
                    _ => SocketState::Broken,
                }
            }
            (Stage::Conn(_), None) => SocketState::Broken,
        }
    }

    /// The option rules' view of the socket.
    pub fn phase(&self, inner: &Inner) -> Phase {
        let status = match inner.stage {
            Stage::Conn(_) => {
                // Avoid re-locking the socket: ask the core directly.
                let mux = inner.mux.as_ref().expect("a connection has a multiplexer");
                match inner.stage {
                    Stage::Conn(h) => mux.lock().ep.state(h),
                    _ => SocketState::Init,
                }
            }
            _ => SocketState::Init,
        };
        Phase {
            opened: inner.stage != Stage::Init,
            connecting_or_connected: matches!(inner.stage, Stage::Conn(_)),
            broken: matches!(status, SocketState::Broken | SocketState::Closing),
        }
    }

    /// The connection, for data calls. UDT4: broken or closing → 2001, anything
    /// else not connected → 2002.
    pub fn conn(&self) -> ApiResult<ConnRef> {
        let inner = self.lock();
        match (inner.stage, &inner.mux) {
            (Stage::Conn(h), Some(mux)) => Ok(ConnRef {
                mux: Arc::clone(mux),
                h,
                opts: inner.opts.clone(),
            }),
            _ => Err(Code::ENOCONN),
        }
    }
}

/// Every socket and multiplexer of the process.
pub struct Registry {
    pub sockets: HashMap<i32, Arc<Socket>>,
    /// Ids closed lately: getsockstate says CLOSED rather than NONEXIST.
    closed: HashSet<i32>,
    closed_order: VecDeque<i32>,
    pub muxes: Vec<Arc<Mux>>,
    next_id: i32,
}

/// How many closed ids `getsockstate` remembers.
const CLOSED_MEMORY: usize = 4096;

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(|| {
    Mutex::new(Registry {
        sockets: HashMap::new(),
        closed: HashSet::new(),
        closed_order: VecDeque::new(),
        muxes: Vec::new(),
        // UDT4: ids count down from a random start in 1..=2^30.
        next_id: 1 + (crate::random_u64() % (1 << 30)) as i32,
    })
});

/// The registry, locked.
pub fn registry() -> MutexGuard<'static, Registry> {
    lock(&REGISTRY)
}

impl Registry {
    fn allocate_id(&mut self) -> i32 {
        loop {
            self.next_id = if self.next_id <= 1 {
                1 << 30
            } else {
                self.next_id - 1
            };
            if !self.sockets.contains_key(&self.next_id) {
                return self.next_id;
            }
        }
    }

    fn insert(&mut self, family: Family, kind: SocketType, inner: Inner) -> Arc<Socket> {
        let id = self.allocate_id();
        let s = Arc::new(Socket {
            id,
            family,
            kind,
            closed: AtomicBool::new(false),
            inner: Mutex::new(inner),
        });
        self.sockets.insert(id, Arc::clone(&s));
        s
    }

    fn forget(&mut self, id: i32) -> Option<Arc<Socket>> {
        let s = self.sockets.remove(&id)?;
        if self.closed.insert(id) {
            self.closed_order.push_back(id);
        }
        while self.closed_order.len() > CLOSED_MEMORY {
            if let Some(old) = self.closed_order.pop_front() {
                self.closed.remove(&old);
            }
        }
        Some(s)
    }

    /// Drops (and joins) multiplexers whose thread has ended.
    fn prune(&mut self) {
        self.muxes.retain(|m| {
            if m.is_dead() {
                m.join();
                false
            } else {
                true
            }
        });
    }
}

/// The socket with this id, or 5004.
pub fn get(id: i32) -> ApiResult<Arc<Socket>> {
    registry().sockets.get(&id).cloned().ok_or(Code::EINVSOCK)
}

/// UDTSTATUS of any id.
pub fn state_of(id: i32) -> SocketState {
    let s = {
        let reg = registry();
        match reg.sockets.get(&id) {
            Some(s) => Arc::clone(s),
            None if reg.closed.contains(&id) => return SocketState::Closed,
            None => return SocketState::NonExist,
        }
    };
    s.status()
}

/// `UDT::socket`.
pub fn create(af: i32, ty: i32) -> ApiResult<i32> {
    let family = Family::from_af(af).ok_or(Code::EINVPARAM)?;
    let kind = match ty {
        libc::SOCK_STREAM => SocketType::Stream,
        libc::SOCK_DGRAM => SocketType::Dgram,
        _ => return Err(Code::EINVPARAM),
    };
    let inner = Inner {
        stage: Stage::Init,
        opts: Options::default(),
        mux: None,
        started: None,
        perf: None,
    };
    Ok(registry().insert(family, kind, inner).id)
}

/// Finds a multiplexer to share (UDT4: same port, IP version and MSS, both
/// sides reusable) or opens a new one.
fn bind_mux(
    family: Family,
    addr: Option<SocketAddr>,
    existing: Option<UdpSocket>,
    opts: &Options,
) -> ApiResult<Arc<Mux>> {
    let mut reg = registry();
    reg.prune();
    if let (Some(a), None) = (addr, &existing) {
        if a.port() != 0 && opts.reuse_addr {
            let found = reg.muxes.iter().find(|m| {
                m.local.port() == a.port() && m.family == family && m.reusable && m.mss == opts.mss
            });
            if let Some(m) = found {
                if m.attach() {
                    return Ok(Arc::clone(m));
                }
            }
        }
    }
    let mux = Mux::open(
        addr,
        existing,
        opts.mss,
        opts.reuse_addr,
        (opts.udp_snd_buf, opts.udp_rcv_buf),
    )?;
    if mux.family != family {
        mux.detach();
        mux.stop_and_join();
        return Err(Code::EINVPARAM);
    }
    reg.muxes.push(Arc::clone(&mux));
    Ok(mux)
}

/// `UDT::bind` (`addr`) and `UDT::bind2` (`existing`).
pub fn bind(id: i32, addr: Option<SocketAddr>, existing: Option<UdpSocket>) -> ApiResult<()> {
    let s = get(id)?;
    let mut inner = s.lock();
    if inner.stage != Stage::Init {
        return Err(Code::EINVOP);
    }
    let mux = bind_mux(s.family, addr, existing, &inner.opts)?;
    inner.mux = Some(mux);
    inner.stage = Stage::Opened;
    Ok(())
}

/// `UDT::listen`.
pub fn listen(id: i32, backlog: i32) -> ApiResult<()> {
    let s = get(id)?;
    let mut inner = s.lock();
    match inner.stage {
        Stage::Listening => return Ok(()),
        Stage::Opened => {}
        Stage::Init => return Err(Code::EUNBOUNDSOCK),
        Stage::Conn(_) => return Err(Code::ECONNSOCK),
    }
    if inner.opts.rendezvous {
        return Err(Code::ERDVNOSERV);
    }
    if backlog <= 0 {
        return Err(Code::EINVPARAM);
    }
    let mux = Arc::clone(
        inner
            .mux
            .as_ref()
            .expect("an opened socket has a multiplexer"),
    );
    let opts = inner.opts.to_core(s.kind);
    mux.lock()
        .ep
        .listen(clock::now(), opts, backlog as usize)
        .map_err(Code::from)?;
    inner.stage = Stage::Listening;
    Ok(())
}

/// `UDT::accept`: the new socket's id and its peer.
pub fn accept(id: i32) -> ApiResult<(i32, SocketAddr)> {
    let s = get(id)?;
    let (mux, opts) = {
        let inner = s.lock();
        if inner.opts.rendezvous {
            return Err(Code::ERDVNOSERV);
        }
        if inner.stage != Stage::Listening {
            return Err(Code::ENOLISTEN);
        }
        let mux = Arc::clone(inner.mux.as_ref().expect("a listener has a multiplexer"));
        (mux, inner.opts.clone())
    };
    let mut st = mux.lock();
    let h = loop {
        if s.closed.load(Ordering::Acquire) {
            return Err(Code::ENOLISTEN);
        }
        if let Some(h) = st.ep.accept() {
            break h;
        }
        if !opts.rcv_syn {
            return Err(Code::EASYNCRCV);
        }
        st = mux
            .cond
            .wait_timeout(st, crate::WAIT_SLICE)
            .expect("unpoisoned")
            .0;
    };
    let peer = st.ep.peer_addr(h).ok_or(Code::ECONNLOST)?;
    let info = st.info(h);
    info.owned = true;
    info.connected = true;
    info.writable = true;
    st.users += 1;
    drop(st);
    let inner = Inner {
        stage: Stage::Conn(h),
        opts,
        mux: Some(mux),
        started: Some(std::time::Instant::now()),
        perf: None,
    };
    let new = registry().insert(s.family, s.kind, inner);
    Ok((new.id, peer))
}

/// `UDT::connect` (client/server, or rendezvous with UDT_RENDEZVOUS).
pub fn connect(id: i32, addr: SocketAddr) -> ApiResult<()> {
    let s = get(id)?;
    let (mux, h, rcv_syn) = {
        let mut inner = s.lock();
        match inner.stage {
            Stage::Init if inner.opts.rendezvous => return Err(Code::ERDVUNBOUND),
            Stage::Init => {
                let mux = bind_mux(s.family, Some(s.family.any()), None, &inner.opts)?;
                inner.mux = Some(mux);
                inner.stage = Stage::Opened;
            }
            Stage::Opened => {}
            _ => return Err(Code::ECONNSOCK),
        }
        if Family::of(&addr) != s.family {
            return Err(Code::EINVPARAM);
        }
        let mux = Arc::clone(
            inner
                .mux
                .as_ref()
                .expect("an opened socket has a multiplexer"),
        );
        let opts = inner.opts.to_core(s.kind);
        let h = {
            let mut st = mux.lock();
            let now = clock::now();
            let h = if inner.opts.rendezvous {
                st.ep.rendezvous(now, addr, opts)
            } else {
                st.ep.connect(now, addr, opts)
            }
            .map_err(Code::from)?;
            st.info(h).owned = true;
            h
        };
        inner.stage = Stage::Conn(h);
        inner.started = Some(std::time::Instant::now());
        inner.perf = None;
        (mux, h, inner.opts.rcv_syn)
    };
    mux.wake();
    if !rcv_syn {
        return Ok(());
    }
    let result = {
        let mut st = mux.lock();
        loop {
            let info = *st.info(h);
            if info.connected {
                break Ok(());
            }
            if let Some(e) = info.failed {
                break Err(Code::from(e));
            }
            if s.closed.load(Ordering::Acquire) {
                break Err(Code::ECONNSETUP);
            }
            st = mux
                .cond
                .wait_timeout(st, crate::WAIT_SLICE)
                .expect("unpoisoned")
                .0;
        }
    };
    if result.is_err() {
        // UDT4 puts the socket back to OPENED: it may connect again.
        let mut st = mux.lock();
        st.ep.close(clock::now(), h);
        st.conns.remove(&h);
        drop(st);
        let mut inner = s.lock();
        if inner.stage == Stage::Conn(h) {
            inner.stage = Stage::Opened;
        }
    }
    result
}

/// `UDT::close`: the id is gone at once; a blocking socket with linger on waits
/// until its data is delivered (or the linger time passes), as UDT4's does.
pub fn close(id: i32) -> ApiResult<()> {
    let s = registry().forget(id).ok_or(Code::EINVSOCK)?;
    s.closed.store(true, Ordering::Release);
    let (stage, mux, opts) = {
        let mut inner = s.lock();
        (inner.stage, inner.mux.take(), inner.opts.clone())
    };
    let Some(mux) = mux else {
        return Ok(());
    };
    mux.cond.notify_all();
    match stage {
        Stage::Listening => mux.lock().ep.stop_listening(clock::now()),
        Stage::Conn(h) => {
            let mut st = mux.lock();
            st.ep.close(clock::now(), h);
            mux.wake();
            let lingering = opts.snd_syn && opts.linger_on;
            let deadline = std::time::Instant::now()
                + std::time::Duration::from_secs(opts.linger_secs.max(0) as u64);
            while lingering
                && st.ep.state(h) == SocketState::Closing
                && std::time::Instant::now() < deadline
            {
                st = mux
                    .cond
                    .wait_timeout(st, crate::WAIT_SLICE)
                    .expect("unpoisoned")
                    .0;
            }
            if let Some(info) = st.conns.get_mut(&h) {
                info.owned = false;
                if info.gone {
                    st.conns.remove(&h);
                }
            }
        }
        _ => {}
    }
    mux.detach();
    Ok(())
}

/// `UDT::cleanup`: closes every socket (without lingering) and stops every
/// multiplexer thread.
pub fn cleanup() {
    let (sockets, muxes) = {
        let mut reg = registry();
        let sockets: Vec<Arc<Socket>> = reg.sockets.drain().map(|(_, s)| s).collect();
        // Give the tables' memory back: a clean exit leaves nothing allocated.
        reg.sockets.shrink_to_fit();
        reg.closed = HashSet::new();
        reg.closed_order = VecDeque::new();
        (sockets, std::mem::take(&mut reg.muxes))
    };
    for s in &sockets {
        s.closed.store(true, Ordering::Release);
        let mut inner = s.lock();
        if let (Stage::Conn(h), Some(mux)) = (inner.stage, &inner.mux) {
            mux.lock().ep.close(clock::now(), h);
        }
        inner.mux = None;
    }
    for m in &muxes {
        m.cond.notify_all();
        m.stop_and_join();
    }
    crate::epoll::clear();
}
