//! A UDT message connection (`SocketType::Dgram`): whole messages with an
//! optional time to live and in-order flag.

use std::future::poll_fn;
use std::task::Poll;
use std::time::Duration;

use super::error::End;
use super::{Connection, Error};

/// Messages over UDT (`SocketType::Dgram`): each `send_msg` arrives as one
/// `recv_msg`, or not at all if its time to live ran out.
#[derive(Debug)]
pub struct UdtMessage {
    conn: Connection,
}

impl UdtMessage {
    pub(super) fn new(conn: Connection) -> Self {
        UdtMessage { conn }
    }

    /// The connection underneath (address, statistics, state).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Sends one message, waiting for room in the send buffer. `ttl`: give up
    /// (re)sending after this long; `in_order`: deliver only after every earlier
    /// message.
    pub async fn send_msg(
        &self,
        data: &[u8],
        ttl: Option<Duration>,
        in_order: bool,
    ) -> Result<(), Error> {
        let ttl = ttl.map(|d| crate::time::Duration::from_micros(d.as_micros() as u64));
        let conn = &self.conn;
        let shared = conn.shared();
        poll_fn(|cx| {
            let mut st = shared.lock();
            if let Some(e) = conn.ended(&st) {
                return Poll::Ready(Err(e));
            }
            let now = shared.now();
            match st.ep.send_msg(now, conn.h, data, ttl, in_order) {
                Ok(()) => {
                    if st.needs_wake() {
                        drop(st);
                        shared.notify.notify_one();
                    }
                    Poll::Ready(Ok(()))
                }
                Err(crate::Error::WouldBlock) => {
                    if let Some(slot) = st.slots.get_mut(&conn.h) {
                        slot.write = Some(cx.waker().clone());
                    }
                    Poll::Pending
                }
                Err(e) => Poll::Ready(Err(Error::Udt(e))),
            }
        })
        .await
    }

    /// The next message; `None` once the peer closed the connection and every
    /// message was read.
    pub async fn recv_msg(&self) -> Result<Option<Vec<u8>>, Error> {
        let conn = &self.conn;
        poll_fn(|cx| {
            let mut st = conn.shared().lock();
            match st.ep.recv_msg(conn.h) {
                Ok(Some(m)) => return Poll::Ready(Ok(Some(m))),
                Ok(None) | Err(crate::Error::ConnectionLost) | Err(crate::Error::NoConnection) => {}
                Err(e) => return Poll::Ready(Err(Error::Udt(e))),
            }
            match st.slots.get(&conn.h).and_then(|s| s.end.as_ref()) {
                Some(End::PeerClosed) | Some(End::LocalClose) => return Poll::Ready(Ok(None)),
                Some(_) => return Poll::Ready(Err(conn.ended(&st).expect("ended"))),
                None => {}
            }
            if let Some(e) = conn.ended(&st) {
                return Poll::Ready(Err(e));
            }
            if let Some(slot) = st.slots.get_mut(&conn.h) {
                slot.read = Some(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }

    /// Waits until the peer acknowledged every message sent.
    pub async fn flush(&self) -> Result<(), Error> {
        let conn = &self.conn;
        poll_fn(|cx| {
            let mut st = conn.shared().lock();
            let pending = st.ep.stats(conn.h).map_or(0, |s| s.send_buffer_bytes);
            if pending == 0 {
                return Poll::Ready(Ok(()));
            }
            if let Some(e) = conn.ended(&st) {
                return Poll::Ready(Err(e));
            }
            if let Some(slot) = st.slots.get_mut(&conn.h) {
                slot.write = Some(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }

    /// Closes after delivering what was sent; waits for the close to finish.
    pub async fn close(&mut self) -> Result<(), Error> {
        self.conn.close().await
    }
}
