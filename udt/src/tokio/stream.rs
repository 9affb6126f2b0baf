//! A UDT stream connection as tokio's `AsyncRead` + `AsyncWrite`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::error::End;
use super::{Connection, Error};

/// A byte stream over UDT (`SocketType::Stream`).
///
/// - Reads end (`Ok(0)`) when the peer closed the connection and everything it
///   sent was read; a peer that went silent is an error (`TimedOut`).
/// - Writes take what fits in the send buffer and wait for room otherwise.
/// - `flush` waits until the peer acknowledged everything written.
/// - `shutdown` closes the connection once the peer acknowledged everything
///   (UDT has no half-close: reading stops too).
#[derive(Debug)]
pub struct UdtStream {
    conn: Connection,
}

impl UdtStream {
    pub(super) fn new(conn: Connection) -> Self {
        UdtStream { conn }
    }

    /// The connection underneath (address, statistics, state).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Closes after delivering what was written; waits for the close to finish.
    pub async fn close(&mut self) -> Result<(), Error> {
        self.conn.close().await
    }
}

impl AsyncRead for UdtStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let conn = &self.conn;
        let mut st = conn.shared().lock();
        let dst = buf.initialize_unfilled();
        match st.ep.recv(conn.h, dst) {
            Ok(0) => {}
            Ok(n) => {
                buf.advance(n);
                return Poll::Ready(Ok(()));
            }
            Err(crate::Error::ConnectionLost) | Err(crate::Error::NoConnection) => {}
            Err(e) => return Poll::Ready(Err(Error::Udt(e).into())),
        }
        // Nothing readable: end of stream, an error, or wait.
        match st.slots.get(&conn.h).and_then(|s| s.end.as_ref()) {
            Some(End::PeerClosed) | Some(End::LocalClose) => return Poll::Ready(Ok(())),
            Some(_) => {
                let e = conn.ended(&st).expect("the connection ended");
                return Poll::Ready(Err(e.into()));
            }
            None => {}
        }
        if let Some(e) = conn.ended(&st) {
            return Poll::Ready(Err(e.into()));
        }
        if let Some(slot) = st.slots.get_mut(&conn.h) {
            slot.read = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl AsyncWrite for UdtStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let conn = &self.conn;
        let shared = conn.shared();
        let mut st = shared.lock();
        if let Some(e) = conn.ended(&st) {
            return Poll::Ready(Err(e.into()));
        }
        let now = shared.now();
        match st.ep.send(now, conn.h, buf) {
            Ok(n) => {
                if st.needs_wake() {
                    drop(st);
                    shared.notify.notify_one();
                }
                Poll::Ready(Ok(n))
            }
            Err(crate::Error::WouldBlock) => {
                if let Some(slot) = st.slots.get_mut(&conn.h) {
                    slot.write = Some(cx.waker().clone());
                }
                Poll::Pending
            }
            Err(e) => Poll::Ready(Err(Error::Udt(e).into())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let conn = &self.conn;
        let mut st = conn.shared().lock();
        let pending = st.ep.stats(conn.h).map_or(0, |s| s.send_buffer_bytes);
        if pending == 0 {
            return Poll::Ready(Ok(()));
        }
        if let Some(e) = conn.ended(&st) {
            return Poll::Ready(Err(e.into()));
        }
        if let Some(slot) = st.slots.get_mut(&conn.h) {
            slot.write = Some(cx.waker().clone());
        }
        Poll::Pending
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().conn.poll_close(cx).map_err(io::Error::from)
    }
}
