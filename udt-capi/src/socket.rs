//! The calls that create, bind, listen, accept, connect and close UDT
//! sockets, moving them through their stages (the state is in
//! [`crate::registry`]).
//!
//! Blocking calls copy what they need out of the socket and wait on the
//! multiplexer's condition variable with only the multiplexer's lock, so one
//! thread may send while another receives on the same socket.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use udt::packet::SocketType;
use udt::SocketState;

use crate::addr::Family;
use crate::clock;
use crate::error::{ApiResult, Code};
use crate::mux::Mux;
use crate::options::Options;
use crate::registry::{get, registry, Inner, Stage};
use crate::wait;

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
            .wait_timeout(st, wait::SLICE)
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
                .wait_timeout(st, wait::SLICE)
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
                    .wait_timeout(st, wait::SLICE)
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

/// `UDT::cleanup`'s socket part: closes every socket (without lingering) and
/// stops every multiplexer thread.
pub fn cleanup() {
    let (sockets, muxes) = registry().drain();
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
}
