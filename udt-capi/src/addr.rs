//! `struct sockaddr` <-> `SocketAddr`, with UDT4's length checks.

use std::mem::size_of;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::error::{ApiResult, Code};

/// The address family of a UDT socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// AF_INET.
    V4,
    /// AF_INET6.
    V6,
}

impl Family {
    /// From an `af` argument; anything but AF_INET/AF_INET6 is refused.
    pub fn from_af(af: i32) -> Option<Family> {
        match af {
            libc::AF_INET => Some(Family::V4),
            libc::AF_INET6 => Some(Family::V6),
            _ => None,
        }
    }

    /// The family of an address.
    pub fn of(addr: &SocketAddr) -> Family {
        match addr {
            SocketAddr::V4(_) => Family::V4,
            SocketAddr::V6(_) => Family::V6,
        }
    }

    /// `sizeof(sockaddr_in)` or `sizeof(sockaddr_in6)`.
    pub fn sockaddr_len(self) -> usize {
        match self {
            Family::V4 => size_of::<libc::sockaddr_in>(),
            Family::V6 => size_of::<libc::sockaddr_in6>(),
        }
    }

    /// The wildcard address with port 0.
    pub fn any(self) -> SocketAddr {
        match self {
            Family::V4 => SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)),
            Family::V6 => SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 0, 0, 0)),
        }
    }
}

/// Reads a socket address of `family`: UDT4 wants `namelen` to be exactly the
/// family's structure size (5003 otherwise).
///
/// # Safety
/// `name` must be null or point to `namelen` readable bytes.
pub unsafe fn read(
    family: Family,
    name: *const libc::sockaddr,
    namelen: i32,
) -> ApiResult<SocketAddr> {
    if name.is_null() || namelen < 0 || namelen as usize != family.sockaddr_len() {
        return Err(Code::EINVPARAM);
    }
    match family {
        Family::V4 => {
            // SAFETY: the caller vouches for namelen bytes, checked to be the size.
            let a = unsafe { std::ptr::read_unaligned(name as *const libc::sockaddr_in) };
            if i32::from(a.sin_family) != libc::AF_INET {
                return Err(Code::EINVPARAM);
            }
            let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Ok(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(a.sin_port),
            )))
        }
        Family::V6 => {
            // SAFETY: as above.
            let a = unsafe { std::ptr::read_unaligned(name as *const libc::sockaddr_in6) };
            if i32::from(a.sin6_family) != libc::AF_INET6 {
                return Err(Code::EINVPARAM);
            }
            let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
            Ok(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
    }
}

/// Writes `addr` into the caller's buffer; `*namelen` must be large enough
/// (5003 otherwise) and is set to the bytes written.
///
/// # Safety
/// `name` must be null or point to `*namelen` writable bytes; `namelen` must be
/// null or valid.
pub unsafe fn write(
    addr: SocketAddr,
    name: *mut libc::sockaddr,
    namelen: *mut i32,
) -> ApiResult<()> {
    if name.is_null() || namelen.is_null() {
        return Err(Code::EINVPARAM);
    }
    // SAFETY: checked non-null; the caller vouches for validity.
    let room = unsafe { *namelen };
    let need = Family::of(&addr).sockaddr_len();
    if room < 0 || (room as usize) < need {
        return Err(Code::EINVPARAM);
    }
    match addr {
        SocketAddr::V4(a) => {
            // SAFETY: all-zero is a valid sockaddr_in.
            let mut s: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            s.sin_family = libc::AF_INET as libc::sa_family_t;
            s.sin_port = a.port().to_be();
            s.sin_addr.s_addr = u32::from(*a.ip()).to_be();
            // SAFETY: room >= need bytes are writable.
            unsafe { std::ptr::write_unaligned(name as *mut libc::sockaddr_in, s) };
        }
        SocketAddr::V6(a) => {
            // SAFETY: all-zero is a valid sockaddr_in6.
            let mut s: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            s.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            s.sin6_port = a.port().to_be();
            s.sin6_addr.s6_addr = a.ip().octets();
            s.sin6_flowinfo = a.flowinfo();
            s.sin6_scope_id = a.scope_id();
            // SAFETY: as above.
            unsafe { std::ptr::write_unaligned(name as *mut libc::sockaddr_in6, s) };
        }
    }
    // SAFETY: checked non-null.
    unsafe { *namelen = need as i32 };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_v4_and_v6() {
        for addr in ["127.0.0.1:9000", "[::1]:7000"] {
            let addr: SocketAddr = addr.parse().unwrap();
            let mut buf = [0u8; 128];
            let mut len = 128;
            unsafe { write(addr, buf.as_mut_ptr() as *mut _, &mut len) }.unwrap();
            let family = Family::of(&addr);
            assert_eq!(len as usize, family.sockaddr_len());
            let back = unsafe { read(family, buf.as_ptr() as *const _, len) }.unwrap();
            assert_eq!(back, addr);
        }
    }

    #[test]
    fn wrong_lengths_and_nulls_are_bad_parameters() {
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mut buf = [0u8; 8];
        let mut len = 8;
        let r = unsafe { write(addr, buf.as_mut_ptr() as *mut _, &mut len) };
        assert_eq!(r, Err(Code::EINVPARAM));
        let r = unsafe { read(Family::V4, std::ptr::null(), 16) };
        assert_eq!(r, Err(Code::EINVPARAM));
        let r = unsafe { read(Family::V4, buf.as_ptr() as *const _, -3) };
        assert_eq!(r, Err(Code::EINVPARAM));
    }
}
