//! UDT4's error codes (`major * 1000 + minor`), their messages, and the
//! per-thread "last error" that `UDT::getlasterror()` reads.

use std::cell::Cell;
use std::ffi::CStr;

/// A UDT4 error code. Every failing call stores one for its thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code(pub i32);

// The whole table, as udt.h lists it, though not every code has a producer here.
#[allow(dead_code)]
impl Code {
    /// 0: no error.
    pub const SUCCESS: Code = Code(0);
    /// 1000: connection set-up failure.
    pub const ECONNSETUP: Code = Code(1000);
    /// 1001: no answer from the server (connect timed out).
    pub const ENOSERVER: Code = Code(1001);
    /// 1002: the peer rejected the connection.
    pub const ECONNREJ: Code = Code(1002);
    /// 1003: the UDP socket could not be created or configured (bind failed).
    pub const ESOCKFAIL: Code = Code(1003);
    /// 1004: aborted for security reasons.
    pub const ESECFAIL: Code = Code(1004);
    /// 2000: the connection failed.
    pub const ECONNFAIL: Code = Code(2000);
    /// 2001: the connection was broken.
    pub const ECONNLOST: Code = Code(2001);
    /// 2002: no connection.
    pub const ENOCONN: Code = Code(2002);
    /// 3000: system resource failure.
    pub const ERESOURCE: Code = Code(3000);
    /// 3001: no thread could be started.
    pub const ETHREAD: Code = Code(3001);
    /// 3002: no buffer could be allocated.
    pub const ENOBUF: Code = Code(3002);
    /// 4000: file system failure.
    pub const EFILE: Code = Code(4000);
    /// 4001: cannot seek the read position.
    pub const EINVRDOFF: Code = Code(4001);
    /// 4002: read failure.
    pub const ERDPERM: Code = Code(4002);
    /// 4003: cannot seek the write position.
    pub const EINVWROFF: Code = Code(4003);
    /// 4004: write failure.
    pub const EWRPERM: Code = Code(4004);
    /// 5000: operation not supported.
    pub const EINVOP: Code = Code(5000);
    /// 5001: not on a bound socket.
    pub const EBOUNDSOCK: Code = Code(5001);
    /// 5002: not on a connected socket.
    pub const ECONNSOCK: Code = Code(5002);
    /// 5003: bad parameters.
    pub const EINVPARAM: Code = Code(5003);
    /// 5004: invalid socket id.
    pub const EINVSOCK: Code = Code(5004);
    /// 5005: not on an unbound socket.
    pub const EUNBOUNDSOCK: Code = Code(5005);
    /// 5006: the socket is not listening.
    pub const ENOLISTEN: Code = Code(5006);
    /// 5007: listen/accept in rendezvous mode.
    pub const ERDVNOSERV: Code = Code(5007);
    /// 5008: rendezvous connect on an unbound socket.
    pub const ERDVUNBOUND: Code = Code(5008);
    /// 5009: a message call on a stream socket.
    pub const ESTREAMILL: Code = Code(5009);
    /// 5010: a stream call on a message socket.
    pub const EDGRAMILL: Code = Code(5010);
    /// 5011: another socket already listens on the port.
    pub const EDUPLISTEN: Code = Code(5011);
    /// 5012: message larger than the send buffer.
    pub const ELARGEMSG: Code = Code(5012);
    /// 5013: invalid epoll id.
    pub const EINVPOLLID: Code = Code(5013);
    /// 6001: a non-blocking send found no buffer space.
    pub const EASYNCSND: Code = Code(6001);
    /// 6002: a non-blocking receive found no data.
    pub const EASYNCRCV: Code = Code(6002);
    /// 6003: the call timed out.
    pub const ETIMEOUT: Code = Code(6003);
    /// 7000: the peer signalled an error.
    pub const EPEERERR: Code = Code(7000);
    /// -1: unknown error (a panic caught at the boundary lands here).
    pub const EUNKNOWN: Code = Code(-1);
}

impl From<udt::Error> for Code {
    fn from(e: udt::Error) -> Code {
        match e {
            // The core's "would block" is the API's non-blocking send failure.
            udt::Error::WouldBlock => Code::EASYNCSND,
            e => Code(e.code()),
        }
    }
}

/// UDT4's text for a code: the category, then the detail, then a period.
pub fn message_c(code: i32) -> &'static CStr {
    match code {
        0 => c"Success.",
        1000 => c"Connection setup failure.",
        1001 => c"Connection setup failure: connection time out.",
        1002 => c"Connection setup failure: connection rejected.",
        1003 => c"Connection setup failure: unable to create/configure UDP socket.",
        1004 => c"Connection setup failure: abort for security reasons.",
        2000 => c"Connection was broken.",
        2001 => c"Connection was broken.",
        2002 => c"Connection does not exist.",
        3000 => c"System resource failure.",
        3001 => c"System resource failure: unable to create new threads.",
        3002 => c"System resource failure: unable to allocate buffers.",
        4000 => c"File system failure.",
        4001 => c"File system failure: cannot seek read position.",
        4002 => c"File system failure: failure in read.",
        4003 => c"File system failure: cannot seek write position.",
        4004 => c"File system failure: failure in write.",
        5000 => c"Operation not supported.",
        5001 => c"Operation not supported: Cannot do this operation on a BOUND socket.",
        5002 => c"Operation not supported: Cannot do this operation on a CONNECTED socket.",
        5003 => c"Operation not supported: Bad parameters.",
        5004 => c"Operation not supported: Invalid socket ID.",
        5005 => c"Operation not supported: Cannot do this operation on an UNBOUND socket.",
        5006 => c"Operation not supported: Socket is not in listening state.",
        5007 => {
            c"Operation not supported: Listen/accept is not supported in rendezous connection setup."
        }
        5008 => {
            c"Operation not supported: Cannot call connect on UNBOUND socket in rendezvous connection setup."
        }
        5009 => c"Operation not supported: This operation is not supported in SOCK_STREAM mode.",
        5010 => c"Operation not supported: This operation is not supported in SOCK_DGRAM mode.",
        5011 => c"Operation not supported: Another socket is already listening on the same port.",
        5012 => {
            c"Operation not supported: Message is too large to send (it must be less than the UDT send buffer size)."
        }
        5013 => c"Operation not supported: Invalid epoll ID.",
        6000 => c"Non-blocking call failure.",
        6001 => c"Non-blocking call failure: no buffer available for sending.",
        6002 => c"Non-blocking call failure: no data available for reading.",
        6003 => c"Non-blocking call failure.",
        7000 => c"The peer side has signalled an error.",
        _ => c"Unknown error.",
    }
}

/// UDT4's text for a code.
#[cfg(test)]
pub fn message(code: i32) -> &'static str {
    message_c(code).to_str().expect("the messages are ASCII")
}

thread_local! {
    static LAST: Cell<i32> = const { Cell::new(0) };
}

/// Records `code` as this thread's last error.
pub fn set_last(code: Code) {
    LAST.with(|c| c.set(code.0));
}

/// This thread's last error code (0 after `clear_last`).
pub fn last() -> i32 {
    LAST.with(|c| c.get())
}

/// Forgets this thread's last error.
pub fn clear_last() {
    set_last(Code::SUCCESS);
}

/// Result of an API operation.
pub type ApiResult<T> = Result<T, Code>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_follow_udt4_layout() {
        assert_eq!(message(5004), "Operation not supported: Invalid socket ID.");
        assert_eq!(message(6003), "Non-blocking call failure.");
        assert_eq!(message(12345), "Unknown error.");
    }

    #[test]
    fn core_errors_map_to_api_codes() {
        assert_eq!(Code::from(udt::Error::WouldBlock), Code::EASYNCSND);
        assert_eq!(Code::from(udt::Error::NoServer), Code::ENOSERVER);
        assert_eq!(Code::from(udt::Error::ConnectionLost), Code::ECONNLOST);
    }

    #[test]
    fn last_error_is_per_thread() {
        set_last(Code::EINVSOCK);
        std::thread::spawn(|| assert_eq!(last(), 0)).join().unwrap();
        assert_eq!(last(), 5004);
        clear_last();
        assert_eq!(last(), 0);
    }
}
