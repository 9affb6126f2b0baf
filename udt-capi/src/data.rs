//! Data calls (send/recv, sendmsg/recvmsg, sendfile/recvfile), options,
//! names, state and perfmon: UDT4's semantics over the core's calls.
//!
//! Blocking: a call that cannot go on waits on its multiplexer's condition
//! variable (woken by the core's events, re-checked every few milliseconds) until
//! it can, the socket's timeout (UDT_SNDTIMEO/UDT_RCVTIMEO, ms) passes (6003), or
//! the connection ends. Non-blocking (UDT_SNDSYN/UDT_RCVSYN false): 6001 for a
//! send without buffer space, 6002 for a receive without data.

use std::io::{Read, Seek, SeekFrom, Write};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant as StdInstant;

use udt::packet::SocketType;
use udt::time::Duration;
use udt::{Error, SocketState};

use crate::clock;
use crate::error::{ApiResult, Code};
use crate::mux::{ConnInfo, MuxState};
use crate::options::{opt, Value};
use crate::perf::{self, PerfBase, TraceInfo};
use crate::registry::{self, ConnRef, Socket, Stage};
use crate::wait;

enum Step<T> {
    Done(ApiResult<T>),
    Wait,
}

/// Runs `attempt` under the multiplexer's lock until it is done or `timeout_ms`
/// (negative: none) passes.
fn blocking<T>(
    s: &Socket,
    c: &ConnRef,
    timeout_ms: i32,
    mut attempt: impl FnMut(&mut MuxState) -> Step<T>,
) -> ApiResult<T> {
    let deadline = (timeout_ms >= 0)
        .then(|| StdInstant::now() + std::time::Duration::from_millis(timeout_ms as u64));
    let mut st = c.mux.lock();
    loop {
        if s.closed.load(Ordering::Acquire) {
            return Err(Code::ECONNLOST);
        }
        if let Step::Done(r) = attempt(&mut st) {
            return r;
        }
        let mut slice = wait::SLICE;
        if let Some(d) = deadline {
            let now = StdInstant::now();
            if now >= d {
                return Err(Code::ETIMEOUT);
            }
            slice = slice.min(d - now);
        }
        st = c.mux.cond.wait_timeout(st, slice).expect("unpoisoned").0;
    }
}

/// A core error on an established connection, as UDT4 reports it.
fn conn_error(e: Error, info: ConnInfo) -> Code {
    match e {
        Error::NoConnection if info.broken.is_some() => Code::ECONNLOST,
        e => Code::from(e),
    }
}

/// UDT4's checks before sending: broken or closing → 2001, not (yet) connected → 2002.
fn check_send_state(st: &mut MuxState, c: &ConnRef) -> ApiResult<()> {
    let info = *st.info(c.h);
    match st.ep.state(c.h) {
        SocketState::Connected => Ok(()),
        SocketState::Broken | SocketState::Closing => Err(Code::ECONNLOST),
        _ if info.broken.is_some() => Err(Code::ECONNLOST),
        _ => Err(Code::ENOCONN),
    }
}

/// UDT4's checks before receiving: not connected → 2002 (broken is checked
/// once the buffer is empty).
fn check_recv_state(st: &mut MuxState, c: &ConnRef) -> ApiResult<()> {
    let info = *st.info(c.h);
    match st.ep.state(c.h) {
        SocketState::Connecting | SocketState::Init => Err(Code::ENOCONN),
        SocketState::NonExist if info.broken.is_none() => Err(Code::ENOCONN),
        _ => Ok(()),
    }
}

/// Which way a data call moves bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Send,
    Recv,
}

/// The socket and its connection, after UDT4's checks for a data call: a
/// socket of the `wrong` type is `illegal`, then the connection state.
fn open_for(
    id: i32,
    wrong: SocketType,
    illegal: Code,
    dir: Dir,
) -> ApiResult<(Arc<Socket>, ConnRef)> {
    let s = registry::get(id)?;
    if s.kind == wrong {
        return Err(illegal);
    }
    let c = s.conn()?;
    let mut st = c.mux.lock();
    match dir {
        Dir::Send => check_send_state(&mut st, &c)?,
        Dir::Recv => check_recv_state(&mut st, &c)?,
    }
    drop(st);
    Ok((s, c))
}

/// Nothing could move: wait when blocking, else UDT4's non-blocking error.
fn not_ready<T>(st: &mut MuxState, c: &ConnRef, dir: Dir) -> Step<T> {
    let info = st.info(c.h);
    let (syn, code) = match dir {
        Dir::Send => {
            info.writable = false;
            (c.opts.snd_syn, Code::EASYNCSND)
        }
        Dir::Recv => {
            info.readable = false;
            (c.opts.rcv_syn, Code::EASYNCRCV)
        }
    };
    if syn {
        Step::Wait
    } else {
        Step::Done(Err(code))
    }
}

fn failed<T>(st: &mut MuxState, c: &ConnRef, e: Error) -> Step<T> {
    Step::Done(Err(conn_error(e, *st.info(c.h))))
}

/// Runs a data call with the direction's timeout, then lets the multiplexer
/// send what it queued (or the window update a read made room for).
fn run<T>(
    s: &Socket,
    c: &ConnRef,
    dir: Dir,
    attempt: impl FnMut(&mut MuxState) -> Step<T>,
) -> ApiResult<T> {
    let timeout = match dir {
        Dir::Send => c.opts.snd_timeo,
        Dir::Recv => c.opts.rcv_timeo,
    };
    let r = blocking(s, c, timeout, attempt);
    c.mux.wake();
    r
}

/// `UDT::send`.
pub fn send(id: i32, data: &[u8]) -> ApiResult<usize> {
    let (s, c) = open_for(id, SocketType::Dgram, Code::EDGRAMILL, Dir::Send)?;
    if data.is_empty() {
        return Ok(0);
    }
    run(&s, &c, Dir::Send, |st| {
        match st.ep.send(clock::now(), c.h, data) {
            Ok(n) => Step::Done(Ok(n)),
            Err(Error::WouldBlock) => not_ready(st, &c, Dir::Send),
            Err(e) => failed(st, &c, e),
        }
    })
}

/// `UDT::recv`.
pub fn recv(id: i32, buf: &mut [u8]) -> ApiResult<usize> {
    let (s, c) = open_for(id, SocketType::Dgram, Code::EDGRAMILL, Dir::Recv)?;
    if buf.is_empty() {
        return Ok(0);
    }
    run(&s, &c, Dir::Recv, |st| match st.ep.recv(c.h, buf) {
        Ok(0) => not_ready(st, &c, Dir::Recv),
        Ok(n) => {
            if n < buf.len() {
                st.info(c.h).readable = false;
            }
            Step::Done(Ok(n))
        }
        Err(e) => failed(st, &c, e),
    })
}

/// `UDT::sendmsg`: the whole message or an error; `ttl_ms` < 0 is forever.
pub fn sendmsg(id: i32, data: &[u8], ttl_ms: i32, in_order: bool) -> ApiResult<usize> {
    let (s, c) = open_for(id, SocketType::Stream, Code::ESTREAMILL, Dir::Send)?;
    if data.is_empty() {
        return Ok(0);
    }
    let ttl = (ttl_ms >= 0).then(|| Duration::from_millis(ttl_ms as u64));
    run(&s, &c, Dir::Send, |st| {
        match st.ep.send_msg(clock::now(), c.h, data, ttl, in_order) {
            Ok(()) => Step::Done(Ok(data.len())),
            Err(Error::WouldBlock) => not_ready(st, &c, Dir::Send),
            Err(e) => failed(st, &c, e),
        }
    })
}

/// `UDT::recvmsg`: one message; a longer one is cut to the buffer, as UDT4 does.
pub fn recvmsg(id: i32, buf: &mut [u8]) -> ApiResult<usize> {
    let (s, c) = open_for(id, SocketType::Stream, Code::ESTREAMILL, Dir::Recv)?;
    if buf.is_empty() {
        return Ok(0);
    }
    run(&s, &c, Dir::Recv, |st| match st.ep.recv_msg(c.h) {
        Ok(Some(m)) => {
            let n = m.len().min(buf.len());
            buf[..n].copy_from_slice(&m[..n]);
            Step::Done(Ok(n))
        }
        Ok(None) => not_ready(st, &c, Dir::Recv),
        Err(e) => failed(st, &c, e),
    })
}

/// `UDT::sendfile2`: `size` bytes of the file at `path` from `*offset`.
pub fn sendfile(id: i32, path: &str, offset: &mut i64, size: i64, block: i32) -> ApiResult<i64> {
    let (s, c) = open_for(id, SocketType::Dgram, Code::EDGRAMILL, Dir::Send)?;
    if size <= 0 {
        return Ok(0);
    }
    let mut f = std::fs::File::open(path).map_err(|_| Code::EINVRDOFF)?;
    f.seek(SeekFrom::Start((*offset).max(0) as u64))
        .map_err(|_| Code::EINVRDOFF)?;
    let mut buf = vec![0u8; block.clamp(1, 1 << 24) as usize];
    let mut left = size;
    while left > 0 {
        let want = (left as usize).min(buf.len());
        let n = f.read(&mut buf[..want]).map_err(|_| Code::ERDPERM)?;
        if n == 0 {
            break; // end of file
        }
        let mut sent = 0;
        while sent < n {
            // "sendfile" is always blocking in UDT4.
            sent += send_blocking(&s, &c, &buf[sent..n])?;
        }
        left -= n as i64;
        *offset += n as i64;
    }
    Ok(size - left)
}

fn send_blocking(s: &Socket, c: &ConnRef, data: &[u8]) -> ApiResult<usize> {
    let r = blocking(s, c, -1, |st| match st.ep.send(clock::now(), c.h, data) {
        Ok(n) => Step::Done(Ok(n)),
        Err(Error::WouldBlock) => Step::Wait,
        Err(e) => failed(st, c, e),
    });
    c.mux.wake();
    r
}

/// `UDT::recvfile2`: `size` bytes into the file at `path` from `*offset`.
pub fn recvfile(id: i32, path: &str, offset: &mut i64, size: i64, block: i32) -> ApiResult<i64> {
    let (s, c) = open_for(id, SocketType::Dgram, Code::EDGRAMILL, Dir::Recv)?;
    if size <= 0 {
        return Ok(0);
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|_| Code::EINVWROFF)?;
    f.seek(SeekFrom::Start((*offset).max(0) as u64))
        .map_err(|_| Code::EINVWROFF)?;
    let mut buf = vec![0u8; block.clamp(1, 1 << 24) as usize];
    let mut left = size;
    while left > 0 {
        let want = (left as usize).min(buf.len());
        // "recvfile" is always blocking in UDT4.
        let n = blocking(&s, &c, -1, |st| match st.ep.recv(c.h, &mut buf[..want]) {
            Ok(0) => Step::Wait,
            Ok(n) => Step::Done(Ok(n)),
            Err(e) => failed(st, &c, e),
        })?;
        c.mux.wake();
        f.write_all(&buf[..n]).map_err(|_| Code::EWRPERM)?;
        left -= n as i64;
        *offset += n as i64;
    }
    Ok(size - left)
}

/// `UDT::getsockname`: the bound address (UDT4: 2002 before bind).
pub fn sockname(id: i32) -> ApiResult<SocketAddr> {
    let s = registry::get(id)?;
    let inner = s.lock();
    match &inner.mux {
        Some(m) if inner.stage != Stage::Init => Ok(m.local),
        _ => Err(Code::ENOCONN),
    }
}

/// `UDT::getpeername`: the peer of a connected socket (2002 otherwise, an
/// unknown id included, as UDT 4.11 answers).
pub fn peername(id: i32) -> ApiResult<SocketAddr> {
    let s = registry::get(id).map_err(|_| Code::ENOCONN)?;
    if s.status() != SocketState::Connected {
        return Err(Code::ENOCONN);
    }
    let c = s.conn()?;
    let addr = c.mux.lock().ep.peer_addr(c.h);
    addr.ok_or(Code::ENOCONN)
}

/// `UDT::getsockopt`: stored options plus the live ones (state, events, buffers).
pub fn getopt(id: i32, name: i32) -> ApiResult<Value> {
    let s = registry::get(id)?;
    match name {
        opt::UDT_STATE => return Ok(Value::Int(s.status() as i32)),
        opt::UDT_EVENT => {
            let (i, o, e) = s.readiness();
            let ev = if e {
                0x8
            } else {
                i32::from(i) | if o { 0x4 } else { 0 }
            };
            return Ok(Value::Int(ev));
        }
        opt::UDT_SNDDATA | opt::UDT_RCVDATA => {
            let stats = s.conn().ok().and_then(|c| c.mux.lock().ep.stats(c.h));
            let payload = (s.lock().opts.mss - 44).max(1) as u64;
            let v = stats.map_or(0, |st| {
                if name == opt::UDT_SNDDATA {
                    st.send_buffer_bytes.div_ceil(payload)
                } else {
                    st.bytes_recv_total.saturating_sub(st.bytes_delivered_total)
                }
            });
            return Ok(Value::Int(v.min(i32::MAX as u64) as i32));
        }
        opt::UDT_CC => {
            return if s.lock().stage == Stage::Init {
                Err(Code::EUNBOUNDSOCK)
            } else {
                Ok(Value::Pointer)
            };
        }
        _ => {}
    }
    let inner = s.lock();
    inner.opts.get(name)
}

/// `UDT::setsockopt`.
pub fn setopt(id: i32, name: i32, value: &[u8]) -> ApiResult<()> {
    let s = registry::get(id)?;
    let mut inner = s.lock();
    let phase = s.phase(&inner);
    inner.opts.set(name, value, phase)
}

/// `UDT::perfmon`.
pub fn perfmon(id: i32, clear: bool) -> ApiResult<TraceInfo> {
    let s = registry::get(id)?;
    let c = s.conn()?;
    let (stats, state) = {
        let st = c.mux.lock();
        (st.ep.stats(c.h), st.ep.state(c.h))
    };
    match state {
        SocketState::Connected => {}
        SocketState::Connecting => return Err(Code::ENOCONN),
        _ => return Err(Code::ECONNLOST),
    }
    let stats = stats.ok_or(Code::ECONNLOST)?;
    let now = StdInstant::now();
    let mut inner = s.lock();
    let started = *inner.started.get_or_insert(now);
    let base = *inner.perf.get_or_insert(PerfBase {
        stats: udt::Stats::default(),
        at: started,
    });
    let info = perf::trace(&stats, &base, started, now, &inner.opts);
    if clear {
        inner.perf = Some(PerfBase { stats, at: now });
    }
    Ok(info)
}
