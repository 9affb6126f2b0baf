//! Errors the application sees, with UDT4's numeric codes (`udt-protocol.md` §7.3).

/// A failed operation or a failed connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Error {
    /// 1000: connection set-up failed (e.g. closed while connecting).
    #[error("connection setup failure")]
    ConnectionSetup,
    /// 1001: no answer within the connect deadline (3 s, 30 s for rendezvous).
    #[error("connection timed out: no response from the peer")]
    NoServer,
    /// 1002: the peer rejected the connection (version, socket type or backlog).
    #[error("connection rejected by the peer")]
    Rejected,
    /// 1004: the response's initial sequence number was not ours.
    #[error("connection aborted for security reasons")]
    SecurityFailure,
    /// 2001: the connection broke (peer silent, shutdown received, protocol violation).
    #[error("connection was broken")]
    ConnectionLost,
    /// 2002: no such connection.
    #[error("connection does not exist")]
    NoConnection,
    /// 5000: the operation is not supported here.
    #[error("operation not supported")]
    InvalidOperation,
    /// 5003: a parameter is out of range.
    #[error("invalid parameter")]
    InvalidParameter,
    /// 5006: the endpoint has no listener.
    #[error("no listener on this endpoint")]
    NotListening,
    /// 5007: listen/accept on a rendezvous socket.
    #[error("listen/accept not supported in rendezvous mode")]
    RendezvousNoServer,
    /// 5009: a message call on a stream socket.
    #[error("not supported on a stream socket")]
    StreamIllegal,
    /// 5010: a stream call on a message socket.
    #[error("not supported on a message socket")]
    DgramIllegal,
    /// 5011: a second listener on one endpoint.
    #[error("another socket already listens on this endpoint")]
    DuplicateListener,
    /// 5012: a message larger than the send buffer.
    #[error("message larger than the send buffer")]
    MessageTooLarge,
    /// 6001: the send buffer is full (non-blocking send).
    #[error("no buffer space for sending")]
    WouldBlock,
    /// 7000: the peer signalled an error (type-8 control packet).
    #[error("peer reported error {0}")]
    PeerError(u32),
}

impl Error {
    /// UDT4's numeric error code.
    pub fn code(self) -> i32 {
        match self {
            Error::ConnectionSetup => 1000,
            Error::NoServer => 1001,
            Error::Rejected => 1002,
            Error::SecurityFailure => 1004,
            Error::ConnectionLost => 2001,
            Error::NoConnection => 2002,
            Error::InvalidOperation => 5000,
            Error::InvalidParameter => 5003,
            Error::NotListening => 5006,
            Error::RendezvousNoServer => 5007,
            Error::StreamIllegal => 5009,
            Error::DgramIllegal => 5010,
            Error::DuplicateListener => 5011,
            Error::MessageTooLarge => 5012,
            Error::WouldBlock => 6001,
            Error::PeerError(_) => 7000,
        }
    }
}
