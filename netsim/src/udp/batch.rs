//! Batched datagram I/O for the relay's faces, through `quinn-udp`: `recvmmsg` with UDP GRO
//! and kernel receive timestamps (`SO_TIMESTAMPNS`) on the way in, UDP GSO on the way out.
//! No control messages are built here; `quinn-udp` owns them.

use quinn_udp::{RecvMeta, Transmit, UdpSockRef, UdpSocketState, BATCH_SIZE};
use std::io::{self, IoSliceMut};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

/// Room for one receive slot: a GRO batch is at most one maximal UDP payload.
const SLOT: usize = 65_536;

/// One datagram read from a socket.
#[derive(Clone, Copy, Debug)]
pub(super) struct Datagram {
    /// Who sent it.
    pub from: SocketAddr,
    /// When it arrived: the kernel's receive timestamp as UNIX time in ns, if it gave one.
    pub kernel_unix_ns: Option<u64>,
    /// Where it lies in the batch's data.
    pub off: usize,
    /// Its length.
    pub len: usize,
}

/// A receiver: reads every waiting datagram, splitting GRO batches into datagrams.
pub(super) struct Receiver {
    state: UdpSocketState,
    buf: Vec<u8>,
    meta: Vec<RecvMeta>,
}

impl Receiver {
    /// Prepares `sock` (GRO, timestamps) for batched reads.
    pub fn new<S: AsFd>(sock: &S) -> io::Result<Self> {
        let state = UdpSocketState::new(UdpSockRef::from(sock))?;
        Ok(Receiver {
            state,
            buf: vec![0; SLOT * BATCH_SIZE],
            meta: vec![RecvMeta::default(); BATCH_SIZE],
        })
    }

    /// One `recvmmsg`: appends what it read to `data` and `out`. Returns the number of
    /// datagrams, or the socket's error (`WouldBlock` when nothing waits).
    pub fn recv<S: AsFd>(
        &mut self,
        sock: &S,
        data: &mut Vec<u8>,
        out: &mut Vec<Datagram>,
    ) -> io::Result<usize> {
        let mut iovs: Vec<IoSliceMut<'_>> =
            self.buf.chunks_mut(SLOT).map(IoSliceMut::new).collect();
        let n = self
            .state
            .recv(UdpSockRef::from(sock), &mut iovs, &mut self.meta)?;
        let mut count = 0;
        for (m, slot) in self.meta[..n].iter().zip(self.buf.chunks(SLOT)) {
            let stride = m.stride.max(1);
            let ts = m.timestamp.map(|d| d.as_nanos() as u64);
            if m.len == 0 {
                // An empty datagram is a datagram too.
                out.push(Datagram {
                    from: m.addr,
                    kernel_unix_ns: ts,
                    off: data.len(),
                    len: 0,
                });
                count += 1;
                continue;
            }
            let mut at = 0;
            while at < m.len {
                let len = stride.min(m.len - at);
                out.push(Datagram {
                    from: m.addr,
                    kernel_unix_ns: ts,
                    off: data.len(),
                    len,
                });
                data.extend_from_slice(&slot[at..at + len]);
                at += len;
                count += 1;
            }
        }
        Ok(count)
    }
}

/// A sender: runs of equal-sized datagrams to one destination leave in one segmented send.
pub(super) struct Sender {
    state: UdpSocketState,
}

/// How long a send waits for room in a full socket buffer before giving up on a datagram.
const FULL_WAIT: Duration = Duration::from_millis(2);

impl Sender {
    /// Prepares `sock` for segmented sends.
    pub fn new(sock: &UdpSocket) -> io::Result<Self> {
        Ok(Sender {
            state: UdpSocketState::new(UdpSockRef::from(sock))?,
        })
    }

    /// How many datagrams one send may carry.
    pub fn max_segments(&self) -> usize {
        self.state.max_gso_segments().max(1)
    }

    /// Sends `contents` to `to` as datagrams of `segment` bytes (the last may be shorter).
    /// A full socket buffer is waited on for a short while. Returns the error of a send
    /// the kernel refused (for example `ConnectionRefused` when nothing listens at `to`).
    pub fn send(
        &self,
        sock: &UdpSocket,
        to: SocketAddr,
        contents: &[u8],
        segment: usize,
    ) -> io::Result<()> {
        let segmented = contents.len() > segment;
        let t = Transmit {
            destination: to,
            ecn: None,
            contents,
            segment_size: segmented.then_some(segment),
            src_ip: None,
        };
        let started = Instant::now();
        loop {
            match self.state.try_send(UdpSockRef::from(sock), &t) {
                Ok(()) => return Ok(()),
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock && started.elapsed() < FULL_WAIT =>
                {
                    std::thread::yield_now();
                }
                // The kernel cannot segment (quinn-udp has switched segmentation off): send
                // one by one.
                Err(e) if segmented && matches!(e.raw_os_error(), Some(5 | 22)) => {
                    for c in contents.chunks(segment) {
                        self.send(sock, to, c, segment)?;
                    }
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
    }
}
