//! UDT4's epoll: sets of UDT sockets and system sockets, each with the events
//! wanted (UDT_EPOLL_IN/OUT/ERR), and a wait that reports which are ready.
//!
//! Readiness is computed when asked (from the core's state and the flags its
//! events set), not kept in the sets: a multiplexer that reports any event
//! raises the process-wide signal in [`crate::wait`] and wakes the waiters,
//! which then look again.
//! System sockets are asked with `poll(2)`. As in UDT4, a broken socket
//! subscribed to UDT_EPOLL_ERR shows up in both the read and the write set, and
//! a wait that times out is error 6003.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use crate::error::{ApiResult, Code};
use crate::registry;
use crate::wait::{self, lock, LISTENERS};

/// UDT_EPOLL_IN.
pub const IN: i32 = 0x1;
/// UDT_EPOLL_OUT.
pub const OUT: i32 = 0x4;
/// UDT_EPOLL_ERR.
pub const ERR: i32 = 0x8;

#[derive(Default)]
struct Set {
    usocks: BTreeMap<i32, i32>,
    ssocks: BTreeMap<i32, i32>,
}

#[derive(Default)]
struct Table {
    sets: BTreeMap<i32, Set>,
    next: i32,
}

static TABLE: LazyLock<Mutex<Table>> = LazyLock::new(Mutex::default);

/// Forgets every set (cleanup).
pub fn clear() {
    let mut t = lock(&TABLE);
    t.sets = BTreeMap::new();
    LISTENERS.store(0, Ordering::Relaxed);
}

/// `UDT::epoll_create`.
pub fn create() -> i32 {
    let mut t = lock(&TABLE);
    t.next += 1;
    let id = t.next;
    t.sets.insert(id, Set::default());
    LISTENERS.fetch_add(1, Ordering::Relaxed);
    id
}

/// `UDT::epoll_release`.
pub fn release(eid: i32) -> ApiResult<()> {
    let mut t = lock(&TABLE);
    t.sets.remove(&eid).ok_or(Code::EINVPOLLID)?;
    LISTENERS.fetch_sub(1, Ordering::Relaxed);
    Ok(())
}

fn with_set<T>(eid: i32, f: impl FnOnce(&mut Set) -> T) -> ApiResult<T> {
    let mut t = lock(&TABLE);
    t.sets.get_mut(&eid).map(f).ok_or(Code::EINVPOLLID)
}

/// `UDT::epoll_add_usock`; `events` None = all three.
pub fn add_usock(eid: i32, u: i32, events: Option<i32>) -> ApiResult<()> {
    with_set(eid, |_| ())?;
    registry::get(u)?;
    with_set(eid, |s| {
        s.usocks.insert(u, events.unwrap_or(IN | OUT | ERR));
    })
}

/// `UDT::epoll_add_ssock`; `events` None = all three.
pub fn add_ssock(eid: i32, fd: i32, events: Option<i32>) -> ApiResult<()> {
    if fd < 0 {
        return Err(Code::EINVPARAM);
    }
    with_set(eid, |s| {
        s.ssocks.insert(fd, events.unwrap_or(IN | OUT | ERR));
    })
}

/// `UDT::epoll_remove_usock`.
pub fn remove_usock(eid: i32, u: i32) -> ApiResult<()> {
    with_set(eid, |s| {
        s.usocks.remove(&u);
    })
}

/// `UDT::epoll_remove_ssock`.
pub fn remove_ssock(eid: i32, fd: i32) -> ApiResult<()> {
    with_set(eid, |s| {
        s.ssocks.remove(&fd);
    })
}

/// How many UDT and system sockets a set watches.
pub fn size(eid: i32) -> ApiResult<(usize, usize)> {
    with_set(eid, |s| (s.usocks.len(), s.ssocks.len()))
}

/// What a wait found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Ready {
    pub reads: BTreeSet<i32>,
    pub writes: BTreeSet<i32>,
    pub sys_reads: BTreeSet<i32>,
    pub sys_writes: BTreeSet<i32>,
}

impl Ready {
    fn total(&self) -> usize {
        self.reads.len() + self.writes.len() + self.sys_reads.len() + self.sys_writes.len()
    }
}

/// UDT sockets' readiness, for the events each is watched for. Closed ids are
/// dropped (UDT4 removes a socket from its sets when it closes).
pub fn ready_usocks(watch: &BTreeMap<i32, i32>, out: &mut Ready) -> Vec<i32> {
    let mut gone = Vec::new();
    for (&u, &ev) in watch {
        let Ok(s) = registry::get(u) else {
            gone.push(u);
            continue;
        };
        let (r, w, e) = s.readiness();
        let e = e && ev & ERR != 0;
        if (r && ev & IN != 0) || e {
            out.reads.insert(u);
        }
        if (w && ev & OUT != 0) || e {
            out.writes.insert(u);
        }
    }
    gone
}

fn ready_ssocks(watch: &BTreeMap<i32, i32>, out: &mut Ready, wait_ms: i32) {
    let mut fds: Vec<libc::pollfd> = watch
        .iter()
        .map(|(&fd, &ev)| libc::pollfd {
            fd,
            events: if ev & IN != 0 { libc::POLLIN } else { 0 }
                | if ev & OUT != 0 { libc::POLLOUT } else { 0 },
            revents: 0,
        })
        .collect();
    // SAFETY: a valid array of pollfds of the given length.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, wait_ms) };
    if n <= 0 {
        return;
    }
    for p in &fds {
        let err = p.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0;
        if p.revents & libc::POLLIN != 0 || (err && p.events & libc::POLLIN != 0) {
            out.sys_reads.insert(p.fd);
        }
        if p.revents & libc::POLLOUT != 0 || (err && p.events & libc::POLLOUT != 0) {
            out.sys_writes.insert(p.fd);
        }
    }
}

/// `UDT::epoll_wait`: blocks until something watched is ready, or `ms`
/// (negative: forever) passes (6003).
pub fn wait(eid: i32, ms: i64) -> ApiResult<Ready> {
    let deadline = (ms >= 0).then(|| Instant::now() + Duration::from_millis(ms as u64));
    loop {
        let (usocks, ssocks) = with_set(eid, |s| (s.usocks.clone(), s.ssocks.clone()))?;
        if usocks.is_empty() && ssocks.is_empty() && deadline.is_none() {
            // Nothing to wait for, forever: UDT4 refuses (5003).
            return Err(Code::EINVPARAM);
        }
        let seen = wait::seen();
        let mut ready = Ready::default();
        let gone = ready_usocks(&usocks, &mut ready);
        if !gone.is_empty() {
            with_set(eid, |s| {
                for u in &gone {
                    s.usocks.remove(u);
                }
            })?;
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let slice = left.map_or(wait::SLICE, |l| l.min(wait::SLICE));
        if !ssocks.is_empty() {
            // Poll the system sockets; sleep in poll only if no UDT socket is ready.
            let wait_ms = if ready.total() > 0 {
                0
            } else {
                slice.as_millis().min(10) as i32
            };
            ready_ssocks(&ssocks, &mut ready, wait_ms);
        }
        if ready.total() > 0 {
            return Ok(ready);
        }
        if left.is_some_and(|l| l.is_zero()) {
            return Err(Code::ETIMEOUT);
        }
        if ssocks.is_empty() {
            wait::wait_after(seen, slice);
        }
    }
}

/// UDT4's deprecated select family: readiness of a list of UDT sockets,
/// waiting up to `ms` (negative: forever) for any. Returns (readable,
/// writable, broken) lists; an unknown id counts as broken.
pub fn select(fds: &[i32], ms: i64) -> (Vec<i32>, Vec<i32>, Vec<i32>) {
    let deadline = (ms >= 0).then(|| Instant::now() + Duration::from_millis(ms as u64));
    loop {
        let seen = wait::seen();
        let (mut r, mut w, mut e) = (Vec::new(), Vec::new(), Vec::new());
        for &u in fds {
            match registry::get(u) {
                Ok(s) => {
                    let (ri, wi, ei) = s.readiness();
                    if ri {
                        r.push(u);
                    }
                    if wi {
                        w.push(u);
                    }
                    if ei {
                        e.push(u);
                    }
                }
                Err(_) => e.push(u),
            }
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if !(r.is_empty() && w.is_empty() && e.is_empty()) || left.is_some_and(|l| l.is_zero()) {
            return (r, w, e);
        }
        let slice = left.map_or(wait::SLICE, |l| l.min(wait::SLICE));
        LISTENERS.fetch_add(1, Ordering::Relaxed);
        wait::wait_after(seen, slice);
        LISTENERS.fetch_sub(1, Ordering::Relaxed);
    }
}
