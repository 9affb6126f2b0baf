//! The errors of the tokio driver: the core's [`crate::Error`] plus what real
//! sockets add (binding, unreachable peers, timeouts, a stopped driver).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// A failed operation of the tokio driver.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The UDP socket could not be created or bound (e.g. the port is in use).
    #[error("cannot bind a UDP socket to {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// No answer from the peer within the connect deadline.
    #[error("connecting to {peer} timed out after {after:?}: no UDT answer from the peer")]
    ConnectTimeout {
        /// Whom we tried to reach.
        peer: SocketAddr,
        /// How long we waited.
        after: Duration,
    },
    /// The handshake failed for another reason (rejected, security check).
    #[error("connecting to {peer} failed: {source}")]
    Connect {
        /// Whom we tried to reach.
        peer: SocketAddr,
        /// The core's reason.
        #[source]
        source: crate::Error,
    },
    /// Datagrams to the peer cannot be sent (no route, wrong address family).
    #[error("{peer} is unreachable: {source}")]
    Unreachable {
        /// The destination.
        peer: SocketAddr,
        /// What the operating system said when sending.
        #[source]
        source: io::Error,
    },
    /// An established connection's peer went silent (UDT's EXP timer gave up).
    #[error("the peer {peer} stopped responding; the connection is broken")]
    PeerVanished {
        /// The silent peer.
        peer: SocketAddr,
    },
    /// A UDT-level error (wrong socket type, connection lost, …).
    #[error("UDT: {0}")]
    Udt(#[from] crate::Error),
    /// The UDP socket failed while the endpoint was running.
    #[error("UDP socket error: {0}")]
    Io(#[from] io::Error),
    /// The endpoint's driver task has stopped (socket error or runtime shut down).
    #[error("the UDT endpoint has stopped")]
    EndpointClosed,
}

impl Error {
    /// The `std::io::ErrorKind` this error maps to in `AsyncRead`/`AsyncWrite`.
    pub fn kind(&self) -> io::ErrorKind {
        use io::ErrorKind as K;
        match self {
            Error::Bind { source, .. } | Error::Unreachable { source, .. } => source.kind(),
            Error::Io(e) => e.kind(),
            Error::ConnectTimeout { .. } | Error::PeerVanished { .. } => K::TimedOut,
            Error::Connect { source, .. } => match source {
                crate::Error::Rejected => K::ConnectionRefused,
                _ => K::ConnectionAborted,
            },
            Error::Udt(e) => match e {
                crate::Error::ConnectionLost | crate::Error::PeerError(_) => K::ConnectionReset,
                crate::Error::NoConnection => K::NotConnected,
                crate::Error::InvalidParameter
                | crate::Error::StreamIllegal
                | crate::Error::DgramIllegal
                | crate::Error::MessageTooLarge => K::InvalidInput,
                crate::Error::WouldBlock => K::WouldBlock,
                _ => K::Other,
            },
            Error::EndpointClosed => K::BrokenPipe,
        }
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        match e {
            Error::Io(e) => e,
            e => io::Error::new(e.kind(), e),
        }
    }
}

/// Why a connection ended, kept by the driver so every later call can say so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// The peer closed the connection (a shutdown packet): end of stream.
    PeerClosed,
    /// We closed it.
    LocalClose,
    /// The peer went silent.
    Vanished,
    /// Datagrams to the peer could not be sent.
    Unreachable(io::ErrorKind, String),
    /// The core's reason (connect failure, peer error, protocol violation).
    Udt(crate::Error),
    /// The driver stopped.
    Driver,
    /// The endpoint's UDP socket failed.
    Socket(io::ErrorKind, String),
}

impl End {
    /// The error a call sees on a connection that ended this way.
    /// `connecting` is the core's connect deadline while the handshake runs.
    pub(crate) fn error(&self, peer: SocketAddr, connecting: Option<Duration>) -> Error {
        match self {
            End::PeerClosed => Error::Udt(crate::Error::ConnectionLost),
            End::LocalClose => Error::Udt(crate::Error::NoConnection),
            End::Vanished => Error::PeerVanished { peer },
            End::Unreachable(kind, msg) => Error::Unreachable {
                peer,
                source: io::Error::new(*kind, msg.clone()),
            },
            End::Udt(crate::Error::NoServer) if connecting.is_some() => Error::ConnectTimeout {
                peer,
                after: connecting.unwrap_or_default(),
            },
            End::Udt(e) if connecting.is_some() => Error::Connect { peer, source: *e },
            End::Udt(e) => Error::Udt(*e),
            End::Driver => Error::EndpointClosed,
            End::Socket(kind, msg) => Error::Io(io::Error::new(*kind, msg.clone())),
        }
    }
}
