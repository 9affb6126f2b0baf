//! The exported C functions (`udt_*`, declared in `include/udt/udt_c.h`).
//!
//! Every function checks its pointers and lengths, runs inside `catch_unwind`
//! (a panic becomes error -1, "Unknown error", never an unwind into C), and
//! on failure records UDT4's error code for `udt_getlasterror_code()` and
//! returns -1 (UDT::ERROR / UDT::INVALID_SOCK). Success leaves the last error
//! as it was, as in UDT4.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::net::UdpSocket;
use std::os::fd::FromRawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::addr;
use crate::data;
use crate::epoll;
use crate::error::{self, ApiResult, Code};
use crate::perf::TraceInfo;
use crate::registry;
use crate::socket;

/// UDT::ERROR.
const ERROR: c_int = -1;

/// Runs `f`, turning an error or a panic into UDT4's -1 plus the last error.
pub(crate) fn guard<T>(fail: T, f: impl FnOnce() -> ApiResult<T>) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(code)) => {
            error::set_last(code);
            fail
        }
        Err(_) => {
            error::set_last(Code::EUNKNOWN);
            fail
        }
    }
}

fn ok0(r: ApiResult<()>) -> ApiResult<c_int> {
    r.map(|()| 0)
}

/// A `len`-byte buffer from C: null with a positive length is 5003; a length
/// of zero or less is an empty buffer (UDT4 returns 0 for those).
///
/// # Safety
/// `buf` must be null or valid for `len` bytes.
unsafe fn in_buf<'a>(buf: *const c_char, len: c_int) -> ApiResult<&'a [u8]> {
    if len <= 0 {
        return Ok(&[]);
    }
    if buf.is_null() {
        return Err(Code::EINVPARAM);
    }
    // SAFETY: the caller vouches for len bytes.
    Ok(unsafe { std::slice::from_raw_parts(buf as *const u8, len as usize) })
}

/// # Safety
/// As [`in_buf`], writable.
unsafe fn out_buf<'a>(buf: *mut c_char, len: c_int) -> ApiResult<&'a mut [u8]> {
    if len <= 0 {
        return Ok(&mut []);
    }
    if buf.is_null() {
        return Err(Code::EINVPARAM);
    }
    // SAFETY: the caller vouches for len writable bytes.
    Ok(unsafe { std::slice::from_raw_parts_mut(buf as *mut u8, len as usize) })
}

/// # Safety
/// `p` must be null or a NUL-terminated string.
unsafe fn path<'a>(p: *const c_char) -> ApiResult<&'a str> {
    if p.is_null() {
        return Err(Code::EINVPARAM);
    }
    // SAFETY: the caller vouches for a C string.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|_| Code::EINVPARAM)
}

/// Starts the library (nothing to do: everything starts on first use).
#[no_mangle]
pub extern "C" fn udt_startup() -> c_int {
    0
}

/// Closes every socket and stops every background thread.
#[no_mangle]
pub extern "C" fn udt_cleanup() -> c_int {
    guard(ERROR, || {
        socket::cleanup();
        // Epoll sits beside the socket calls, not below them: its sets go here.
        epoll::clear();
        Ok(0)
    })
}

/// `UDT::socket(af, type, protocol)`.
#[no_mangle]
pub extern "C" fn udt_socket(af: c_int, ty: c_int, _protocol: c_int) -> c_int {
    guard(ERROR, || socket::create(af, ty))
}

/// `UDT::bind`.
///
/// # Safety
/// `name` must be null or valid for `namelen` bytes.
#[no_mangle]
pub unsafe extern "C" fn udt_bind(u: c_int, name: *const libc::sockaddr, namelen: c_int) -> c_int {
    guard(ERROR, || {
        let s = registry::get(u)?;
        // SAFETY: forwarded from the caller.
        let a = unsafe { addr::read(s.family, name, namelen) }?;
        ok0(socket::bind(u, Some(a), None))
    })
}

/// `UDT::bind2`: use an existing UDP socket (the library takes it over and
/// closes it with the multiplexer).
#[no_mangle]
pub extern "C" fn udt_bind2(u: c_int, udpsock: c_int) -> c_int {
    guard(ERROR, || {
        registry::get(u)?;
        let mut ty: c_int = 0;
        let mut len = std::mem::size_of::<c_int>() as libc::socklen_t;
        // SAFETY: SO_TYPE into a c_int; an invalid descriptor just fails.
        let r = unsafe {
            libc::getsockopt(
                udpsock,
                libc::SOL_SOCKET,
                libc::SO_TYPE,
                &mut ty as *mut c_int as *mut c_void,
                &mut len,
            )
        };
        if r != 0 || ty != libc::SOCK_DGRAM {
            return Err(Code::EINVPARAM);
        }
        // SAFETY: a live datagram socket, handed over by the caller (UDT4 owns
        // it from here on as well).
        let sock = unsafe { UdpSocket::from_raw_fd(udpsock) };
        ok0(socket::bind(u, None, Some(sock)))
    })
}

/// `UDT::listen`.
#[no_mangle]
pub extern "C" fn udt_listen(u: c_int, backlog: c_int) -> c_int {
    guard(ERROR, || ok0(socket::listen(u, backlog)))
}

/// `UDT::accept`; `addr`/`addrlen` may both be null.
///
/// # Safety
/// `addr` must be null or valid for `*addrlen` bytes; `addrlen` null or valid.
#[no_mangle]
pub unsafe extern "C" fn udt_accept(
    u: c_int,
    name: *mut libc::sockaddr,
    namelen: *mut c_int,
) -> c_int {
    guard(ERROR, || {
        if !name.is_null() && namelen.is_null() {
            return Err(Code::EINVPARAM);
        }
        let (id, peer) = socket::accept(u)?;
        if !name.is_null() {
            // SAFETY: forwarded from the caller.
            if let Err(e) = unsafe { addr::write(peer, name, namelen) } {
                let _ = socket::close(id);
                return Err(e);
            }
        }
        Ok(id)
    })
}

/// `UDT::connect`.
///
/// # Safety
/// `name` must be null or valid for `namelen` bytes.
#[no_mangle]
pub unsafe extern "C" fn udt_connect(
    u: c_int,
    name: *const libc::sockaddr,
    namelen: c_int,
) -> c_int {
    guard(ERROR, || {
        let s = registry::get(u)?;
        // SAFETY: forwarded from the caller.
        let a = unsafe { addr::read(s.family, name, namelen) }?;
        ok0(socket::connect(u, a))
    })
}

/// `UDT::close`.
#[no_mangle]
pub extern "C" fn udt_close(u: c_int) -> c_int {
    guard(ERROR, || ok0(socket::close(u)))
}

/// `UDT::getpeername`.
///
/// # Safety
/// `name` valid for `*namelen` bytes; either may be null (5003).
#[no_mangle]
pub unsafe extern "C" fn udt_getpeername(
    u: c_int,
    name: *mut libc::sockaddr,
    namelen: *mut c_int,
) -> c_int {
    guard(ERROR, || {
        let a = data::peername(u)?;
        // SAFETY: forwarded from the caller.
        ok0(unsafe { addr::write(a, name, namelen) })
    })
}

/// `UDT::getsockname`.
///
/// # Safety
/// As [`udt_getpeername`].
#[no_mangle]
pub unsafe extern "C" fn udt_getsockname(
    u: c_int,
    name: *mut libc::sockaddr,
    namelen: *mut c_int,
) -> c_int {
    guard(ERROR, || {
        let a = data::sockname(u)?;
        // SAFETY: forwarded from the caller.
        ok0(unsafe { addr::write(a, name, namelen) })
    })
}

/// `UDT::getsockopt`: `*optlen` must hold the option's size (5003 otherwise)
/// and is set to the bytes written.
///
/// # Safety
/// `optval` valid for `*optlen` bytes; either may be null (5003).
#[no_mangle]
pub unsafe extern "C" fn udt_getsockopt(
    u: c_int,
    _level: c_int,
    optname: c_int,
    optval: *mut c_void,
    optlen: *mut c_int,
) -> c_int {
    guard(ERROR, || {
        if optval.is_null() || optlen.is_null() {
            registry::get(u)?;
            return Err(Code::EINVPARAM);
        }
        let v = data::getopt(u, optname)?;
        // SAFETY: checked non-null.
        let room = unsafe { *optlen };
        if room < 0 || (room as usize) < v.size() {
            return Err(Code::EINVPARAM);
        }
        // SAFETY: the caller vouches for room >= size bytes.
        let out = unsafe { std::slice::from_raw_parts_mut(optval as *mut u8, v.size()) };
        v.write(out);
        // SAFETY: checked non-null.
        unsafe { *optlen = v.size() as c_int };
        Ok(0)
    })
}

/// `UDT::setsockopt`.
///
/// # Safety
/// `optval` must be null or valid for `optlen` bytes.
#[no_mangle]
pub unsafe extern "C" fn udt_setsockopt(
    u: c_int,
    _level: c_int,
    optname: c_int,
    optval: *const c_void,
    optlen: c_int,
) -> c_int {
    guard(ERROR, || {
        registry::get(u)?;
        if optval.is_null() || optlen <= 0 {
            return Err(Code::EINVPARAM);
        }
        // SAFETY: the caller vouches for optlen bytes.
        let v = unsafe { std::slice::from_raw_parts(optval as *const u8, optlen as usize) };
        ok0(data::setopt(u, optname, v))
    })
}

/// `UDT::send`: bytes queued (possibly fewer than `len`).
///
/// # Safety
/// `buf` must be valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn udt_send(
    u: c_int,
    buf: *const c_char,
    len: c_int,
    _flags: c_int,
) -> c_int {
    guard(ERROR, || {
        // SAFETY: forwarded from the caller.
        let b = unsafe { in_buf(buf, len) }?;
        data::send(u, b).map(|n| n as c_int)
    })
}

/// `UDT::recv`: bytes read.
///
/// # Safety
/// `buf` must be valid for `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn udt_recv(u: c_int, buf: *mut c_char, len: c_int, _flags: c_int) -> c_int {
    guard(ERROR, || {
        // SAFETY: forwarded from the caller.
        let b = unsafe { out_buf(buf, len) }?;
        data::recv(u, b).map(|n| n as c_int)
    })
}

/// `UDT::sendmsg`: `ttl` in ms (-1: forever), `inorder` non-zero for in-order
/// delivery.
///
/// # Safety
/// `buf` must be valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn udt_sendmsg(
    u: c_int,
    buf: *const c_char,
    len: c_int,
    ttl: c_int,
    inorder: c_int,
) -> c_int {
    guard(ERROR, || {
        // SAFETY: forwarded from the caller.
        let b = unsafe { in_buf(buf, len) }?;
        data::sendmsg(u, b, ttl, inorder != 0).map(|n| n as c_int)
    })
}

/// `UDT::recvmsg`.
///
/// # Safety
/// `buf` must be valid for `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn udt_recvmsg(u: c_int, buf: *mut c_char, len: c_int) -> c_int {
    guard(ERROR, || {
        // SAFETY: forwarded from the caller.
        let b = unsafe { out_buf(buf, len) }?;
        data::recvmsg(u, b).map(|n| n as c_int)
    })
}

type FileCall = fn(i32, &str, &mut i64, i64, i32) -> ApiResult<i64>;

/// sendfile2/recvfile2: the path, the offset in and out (null: from 0).
///
/// # Safety
/// `p` a C string, `offset` null or valid.
unsafe fn file_call(
    call: FileCall,
    u: c_int,
    p: *const c_char,
    offset: *mut i64,
    size: i64,
    block: c_int,
) -> i64 {
    guard(ERROR as i64, || {
        // SAFETY: forwarded from the caller.
        let p = unsafe { path(p) }?;
        // SAFETY: read only if non-null; the caller vouches for validity.
        let mut off = if offset.is_null() {
            0
        } else {
            unsafe { *offset }
        };
        let r = call(u, p, &mut off, size, block);
        if !offset.is_null() {
            // SAFETY: checked non-null.
            unsafe { *offset = off };
        }
        r
    })
}

/// `UDT::sendfile2`.
///
/// # Safety
/// `path` a C string, `offset` valid (null: start at 0).
#[no_mangle]
pub unsafe extern "C" fn udt_sendfile2(
    u: c_int,
    p: *const c_char,
    offset: *mut i64,
    size: i64,
    block: c_int,
) -> i64 {
    // SAFETY: forwarded from the caller.
    unsafe { file_call(data::sendfile, u, p, offset, size, block) }
}

/// `UDT::recvfile2`.
///
/// # Safety
/// As [`udt_sendfile2`].
#[no_mangle]
pub unsafe extern "C" fn udt_recvfile2(
    u: c_int,
    p: *const c_char,
    offset: *mut i64,
    size: i64,
    block: c_int,
) -> i64 {
    // SAFETY: forwarded from the caller.
    unsafe { file_call(data::recvfile, u, p, offset, size, block) }
}

/// `UDT::perfmon`.
///
/// # Safety
/// `perf` must be null (5003) or valid.
#[no_mangle]
pub unsafe extern "C" fn udt_perfmon(u: c_int, perf: *mut TraceInfo, clear: c_int) -> c_int {
    guard(ERROR, || {
        registry::get(u)?;
        if perf.is_null() {
            return Err(Code::EINVPARAM);
        }
        let t = data::perfmon(u, clear != 0)?;
        // SAFETY: checked non-null; the caller vouches for the structure.
        unsafe { std::ptr::write_unaligned(perf, t) };
        Ok(0)
    })
}

/// `UDT::getsockstate` (UDTSTATUS; NONEXIST for unknown ids).
#[no_mangle]
pub extern "C" fn udt_getsockstate(u: c_int) -> c_int {
    guard(udt::SocketState::NonExist as c_int, || {
        Ok(registry::state_of(u) as c_int)
    })
}

/// The calling thread's last error code (0: none).
#[no_mangle]
pub extern "C" fn udt_getlasterror_code() -> c_int {
    error::last()
}

/// The calling thread's last error, as UDT4 words it (a static string).
#[no_mangle]
pub extern "C" fn udt_getlasterror_desc() -> *const c_char {
    error::message_c(error::last()).as_ptr()
}

/// UDT4's message for any code (a static string).
#[no_mangle]
pub extern "C" fn udt_strerror(code: c_int) -> *const c_char {
    error::message_c(code).as_ptr()
}

/// Forgets the calling thread's last error.
#[no_mangle]
pub extern "C" fn udt_clearlasterror() {
    error::clear_last();
}

/// Records `code` as the calling thread's last error; returns -1.
#[no_mangle]
pub extern "C" fn udt_setlasterror(code: c_int) -> c_int {
    error::set_last(Code(code));
    ERROR
}

/// `UDT::epoll_create`.
#[no_mangle]
pub extern "C" fn udt_epoll_create() -> c_int {
    guard(ERROR, || Ok(epoll::create()))
}

/// # Safety
/// `events` null or valid.
unsafe fn events(p: *const c_int) -> Option<i32> {
    // SAFETY: the caller vouches for a valid pointer when non-null.
    (!p.is_null()).then(|| unsafe { *p })
}

/// `UDT::epoll_add_usock`; `events` null = IN|OUT|ERR.
///
/// # Safety
/// `events` null or valid.
#[no_mangle]
pub unsafe extern "C" fn udt_epoll_add_usock(eid: c_int, u: c_int, ev: *const c_int) -> c_int {
    // SAFETY: forwarded from the caller.
    guard(ERROR, || {
        ok0(epoll::add_usock(eid, u, unsafe { events(ev) }))
    })
}

/// `UDT::epoll_add_ssock`; `events` null = IN|OUT|ERR.
///
/// # Safety
/// `events` null or valid.
#[no_mangle]
pub unsafe extern "C" fn udt_epoll_add_ssock(eid: c_int, s: c_int, ev: *const c_int) -> c_int {
    // SAFETY: forwarded from the caller.
    guard(ERROR, || {
        ok0(epoll::add_ssock(eid, s, unsafe { events(ev) }))
    })
}

/// `UDT::epoll_remove_usock`.
#[no_mangle]
pub extern "C" fn udt_epoll_remove_usock(eid: c_int, u: c_int) -> c_int {
    guard(ERROR, || ok0(epoll::remove_usock(eid, u)))
}

/// `UDT::epoll_remove_ssock`.
#[no_mangle]
pub extern "C" fn udt_epoll_remove_ssock(eid: c_int, s: c_int) -> c_int {
    guard(ERROR, || ok0(epoll::remove_ssock(eid, s)))
}

/// How many UDT and system sockets a set watches (for sizing wait arrays).
///
/// # Safety
/// Each pointer null or valid.
#[no_mangle]
pub unsafe extern "C" fn udt_epoll_size(
    eid: c_int,
    usocks: *mut c_int,
    ssocks: *mut c_int,
) -> c_int {
    guard(ERROR, || {
        let (u, s) = epoll::size(eid)?;
        // SAFETY: each written only if non-null; the caller vouches for validity.
        unsafe {
            if !usocks.is_null() {
                *usocks = u as c_int;
            }
            if !ssocks.is_null() {
                *ssocks = s as c_int;
            }
        }
        Ok(0)
    })
}

/// Copies a set into a C array of capacity `*num`; `*num` becomes the count.
///
/// # Safety
/// `arr` valid for `*num` ints; either may be null (then nothing is written).
unsafe fn fill(set: &std::collections::BTreeSet<i32>, arr: *mut c_int, num: *mut c_int) {
    if arr.is_null() || num.is_null() {
        return;
    }
    // SAFETY: the caller vouches for the pointers.
    unsafe {
        let cap = (*num).max(0) as usize;
        let n = set.len().min(cap);
        for (i, v) in set.iter().take(n).enumerate() {
            *arr.add(i) = *v;
        }
        *num = n as c_int;
    }
}

/// `UDT::epoll_wait2`: ready sockets into caller arrays (in: capacity, out:
/// count); returns how many were ready in all, or -1 (6003 on timeout).
///
/// # Safety
/// Each array valid for its count; pairs may be null.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn udt_epoll_wait2(
    eid: c_int,
    readfds: *mut c_int,
    rnum: *mut c_int,
    writefds: *mut c_int,
    wnum: *mut c_int,
    ms: i64,
    lrfds: *mut c_int,
    lrnum: *mut c_int,
    lwfds: *mut c_int,
    lwnum: *mut c_int,
) -> c_int {
    guard(ERROR, || {
        let mut r = epoll::wait(eid, ms)?;
        // Report only the sets the caller asked for.
        if readfds.is_null() || rnum.is_null() {
            r.reads.clear();
        }
        if writefds.is_null() || wnum.is_null() {
            r.writes.clear();
        }
        if lrfds.is_null() || lrnum.is_null() {
            r.sys_reads.clear();
        }
        if lwfds.is_null() || lwnum.is_null() {
            r.sys_writes.clear();
        }
        // SAFETY: forwarded from the caller.
        unsafe {
            fill(&r.reads, readfds, rnum);
            fill(&r.writes, writefds, wnum);
            fill(&r.sys_reads, lrfds, lrnum);
            fill(&r.sys_writes, lwfds, lwnum);
        }
        Ok((r.reads.len() + r.writes.len() + r.sys_reads.len() + r.sys_writes.len()) as c_int)
    })
}

/// `UDT::epoll_release`.
#[no_mangle]
pub extern "C" fn udt_epoll_release(eid: c_int) -> c_int {
    guard(ERROR, || ok0(epoll::release(eid)))
}

/// The select family's core: which of `fds` are readable, writable or broken
/// (unknown ids count as broken), waiting up to `ms` (-1: forever) for any.
/// Each output array holds up to `n` ids; its count is written. Returns the
/// total.
///
/// # Safety
/// `fds` valid for `n` ints; each output array null or valid for `n` ints.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn udt_select_ready(
    fds: *const c_int,
    n: c_int,
    rd: *mut c_int,
    rn: *mut c_int,
    wr: *mut c_int,
    wn: *mut c_int,
    ex: *mut c_int,
    en: *mut c_int,
    ms: i64,
) -> c_int {
    guard(ERROR, || {
        if n < 0 || (n > 0 && fds.is_null()) {
            return Err(Code::EINVPARAM);
        }
        // SAFETY: the caller vouches for n ints.
        let list = if n == 0 {
            &[][..]
        } else {
            unsafe { std::slice::from_raw_parts(fds, n as usize) }
        };
        let (r, w, e) = epoll::select(list, ms);
        let put = |v: &[i32], arr: *mut c_int, num: *mut c_int| {
            let set: std::collections::BTreeSet<i32> = v.iter().copied().collect();
            if !num.is_null() {
                // SAFETY: the caller vouches for the pointers.
                unsafe { *num = n };
            }
            // SAFETY: as above.
            unsafe { fill(&set, arr, num) };
        };
        put(&r, rd, rn);
        put(&w, wr, wn);
        put(&e, ex, en);
        Ok((r.len() + w.len() + e.len()) as c_int)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_code() {
        error::clear_last();
        let r = guard(ERROR, || -> ApiResult<c_int> { panic!("deliberate") });
        assert_eq!(r, ERROR);
        assert_eq!(error::last(), -1);
    }

    #[test]
    fn bad_ids_and_null_pointers() {
        assert_eq!(udt_close(12345), ERROR);
        assert_eq!(udt_getlasterror_code(), 5004);
        let u = udt_socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(u > 0);
        let r = unsafe { udt_send(u, std::ptr::null(), 10, 0) };
        assert_eq!((r, udt_getlasterror_code()), (ERROR, 5003));
        let r = unsafe { udt_getsockopt(u, 0, 0, std::ptr::null_mut(), std::ptr::null_mut()) };
        assert_eq!((r, udt_getlasterror_code()), (ERROR, 5003));
        assert_eq!(udt_close(u), 0);
    }
}
