//! Capture points: every packet a node sends or receives on an interface, written as pcap with
//! simulated timestamps.

use conformance::capture::CaptureWriter;
use std::io::{self, Write};
use std::net::SocketAddr;

/// Where captured packets go.
pub trait CaptureSink {
    /// Records one UDP datagram at simulated time `time_ns`.
    fn write_udp(
        &mut self,
        time_ns: u64,
        src: SocketAddr,
        dst: SocketAddr,
        payload: &[u8],
    ) -> io::Result<()>;
    /// Flushes everything written.
    fn finish(&mut self) -> io::Result<()>;
}

/// The project's pcap writer (`conformance::capture::CaptureWriter`) as a sink; the file is
/// flushed and closed by [`CaptureSink::finish`].
pub struct ProjectCapture<W: Write> {
    writer: Option<CaptureWriter<W>>,
}

impl<W: Write> ProjectCapture<W> {
    /// Writes the pcap header to `w`.
    pub fn new(w: W) -> io::Result<Self> {
        let writer = CaptureWriter::new(w).map_err(io::Error::other)?;
        Ok(ProjectCapture {
            writer: Some(writer),
        })
    }
}

impl<W: Write> CaptureSink for ProjectCapture<W> {
    fn write_udp(
        &mut self,
        time_ns: u64,
        src: SocketAddr,
        dst: SocketAddr,
        payload: &[u8],
    ) -> io::Result<()> {
        match &mut self.writer {
            Some(w) => w
                .write_udp(time_ns, src, dst, payload)
                .map_err(io::Error::other),
            None => Err(io::Error::other("capture already finished")),
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        match self.writer.take() {
            Some(w) => w.into_inner().flush(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_readable_capture() {
        let mut buf = Vec::new();
        {
            let mut w = ProjectCapture::new(&mut buf).unwrap();
            let (a, b) = (
                "10.0.0.1:9000".parse().unwrap(),
                "10.0.0.2:9001".parse().unwrap(),
            );
            w.write_udp(1_500_000_001, a, b, b"hi").unwrap();
            w.finish().unwrap();
        }
        let cap = conformance::capture::read_bytes(&buf).unwrap();
        assert_eq!(cap.datagrams.len(), 1);
    }
}
