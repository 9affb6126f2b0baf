//! The state of UDT sockets: the id table, and each socket's stage, options
//! and connection, with what is read from them (UDTSTATUS, readiness, the
//! option rules' phase). The calls that change a socket's stage live in
//! [`crate::socket`]; the data calls in [`crate::data`].
//!
//! Lock order: the registry, then a socket, then a multiplexer.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use udt::packet::SocketType;
use udt::{ConnectionHandle, SocketState};

use crate::addr::Family;
use crate::error::{ApiResult, Code};
use crate::mux::Mux;
use crate::options::{Options, Phase};
use crate::perf::PerfBase;
use crate::wait::lock;

/// Where the API socket is; past `Listening` the core's state says the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Init,
    Opened,
    Listening,
    /// Has a connection in the core (connecting, connected, broken …).
    Conn(ConnectionHandle),
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

    /// Readiness as UDT_EVENT and epoll report it: (in, out, err).
    pub fn readiness(&self) -> (bool, bool, bool) {
        let inner = self.lock();
        let (stage, mux) = (inner.stage, inner.mux.clone());
        drop(inner);
        let Some(mux) = mux else {
            return (false, false, false);
        };
        let mut st = mux.lock();
        match stage {
            Stage::Listening => (st.ep.pending_accepts() > 0, false, false),
            Stage::Conn(h) => {
                let info = *st.info(h);
                match st.ep.state(h) {
                    SocketState::Connected => (info.readable, info.writable, false),
                    SocketState::Connecting => (false, false, info.failed.is_some()),
                    // Broken: still readable while acknowledged data is left.
                    _ => (info.readable, false, true),
                }
            }
            _ => (false, false, false),
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

    pub fn insert(&mut self, family: Family, kind: SocketType, inner: Inner) -> Arc<Socket> {
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

    pub fn forget(&mut self, id: i32) -> Option<Arc<Socket>> {
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
    pub fn prune(&mut self) {
        self.muxes.retain(|m| {
            if m.is_dead() {
                m.join();
                false
            } else {
                true
            }
        });
    }

    /// Takes every socket and multiplexer out (cleanup).
    pub fn drain(&mut self) -> (Vec<Arc<Socket>>, Vec<Arc<Mux>>) {
        let sockets: Vec<Arc<Socket>> = self.sockets.drain().map(|(_, s)| s).collect();
        // Give the tables' memory back: a clean exit leaves nothing allocated.
        self.sockets.shrink_to_fit();
        self.closed = HashSet::new();
        self.closed_order = VecDeque::new();
        (sockets, std::mem::take(&mut self.muxes))
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
