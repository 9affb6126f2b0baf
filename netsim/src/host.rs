//! The adapter that owns every call into `udt::Endpoint`: the simulator's only contact with the
//! protocol. It converts simulator nanoseconds to UDT's microsecond clock and scenario options
//! to `udt::SocketOptions`.

use crate::scenario::Mode;
use crate::transport::{Conn, ConnEvent, ConnOptions, ConnStats, Transport};
use std::net::SocketAddr;
use udt::packet::SocketType;
use udt::time::{Duration, Instant};
use udt::{ConnectionHandle, Endpoint, EndpointConfig, Event, SocketOptions};

fn at(ns: u64) -> Instant {
    Instant::from_micros(ns / 1000)
}

/// A `udt::Endpoint` as a simulator [`Transport`].
pub struct UdtHost {
    ep: Endpoint,
}

impl UdtHost {
    /// An endpoint bound at `local`, seeded with `seed`, created at `now` (ns).
    pub fn new(local: SocketAddr, seed: u64, now: u64) -> Self {
        UdtHost {
            ep: Endpoint::new(
                EndpointConfig {
                    local_addr: local,
                    seed,
                },
                at(now),
            ),
        }
    }

    /// The factory the simulator uses.
    pub fn factory(local: SocketAddr, seed: u64, now: u64) -> Box<dyn Transport> {
        Box::new(UdtHost::new(local, seed, now))
    }
}

/// The `udt::SocketOptions` of a flow's scenario options (also used by the udp backend).
pub fn options(o: &ConnOptions) -> SocketOptions {
    let mut s = SocketOptions {
        socket_type: match o.mode {
            Mode::Stream => SocketType::Stream,
            Mode::Message => SocketType::Dgram,
        },
        ..Default::default()
    };
    let x = &o.options;
    if let Some(v) = x.mss {
        s.mss = v;
    }
    if let Some(v) = x.flight_flag_size {
        s.flight_flag_size = v;
    }
    if let Some(v) = x.send_buffer {
        s.send_buffer = v;
    }
    if let Some(v) = x.recv_buffer {
        s.recv_buffer = v;
    }
    if let Some(v) = x.max_bandwidth {
        s.max_bandwidth = Some(v.0 / 8);
    }
    if let Some(v) = x.linger {
        s.linger = Duration::from_micros(v.0 / 1000);
    }
    if let Some(p) = x.profile {
        s.profile = p.into();
    }
    if let Some(cc) = &o.cc {
        s.congestion = cc.clone();
    }
    s
}

impl Transport for UdtHost {
    fn listen(&mut self, now: u64, opts: &ConnOptions) -> Result<(), String> {
        self.ep
            .listen(at(now), options(opts), 1024)
            .map_err(|e| e.to_string())
    }
    fn connect(
        &mut self,
        now: u64,
        remote: SocketAddr,
        opts: &ConnOptions,
    ) -> Result<Conn, String> {
        self.ep
            .connect(at(now), remote, options(opts))
            .map(|h| h.0)
            .map_err(|e| e.to_string())
    }
    fn rendezvous(
        &mut self,
        now: u64,
        remote: SocketAddr,
        opts: &ConnOptions,
    ) -> Result<Conn, String> {
        self.ep
            .rendezvous(at(now), remote, options(opts))
            .map(|h| h.0)
            .map_err(|e| e.to_string())
    }
    fn handle_datagram(&mut self, now: u64, from: SocketAddr, bytes: &[u8]) {
        self.ep.handle_datagram(at(now), from, bytes)
    }
    fn handle_timeout(&mut self, now: u64) {
        self.ep.handle_timeout(at(now))
    }
    fn poll_timeout(&mut self) -> Option<u64> {
        self.ep
            .poll_timeout()
            .map(|t| t.as_micros().saturating_mul(1000))
    }
    fn poll_transmit(&mut self, now: u64, buf: &mut [u8]) -> Option<(SocketAddr, usize)> {
        self.ep
            .poll_transmit(at(now), buf)
            .map(|t| (t.destination, t.len))
    }
    fn poll_event(&mut self) -> Option<(Conn, ConnEvent)> {
        let (h, e) = self.ep.poll_event()?;
        let e = match e {
            Event::Connected => ConnEvent::Connected,
            Event::Accepted => ConnEvent::Accepted,
            Event::Readable => ConnEvent::Readable,
            Event::Writable => ConnEvent::Writable,
            Event::ConnectFailed(e) => ConnEvent::ConnectFailed(e.to_string()),
            Event::Broken(e) => ConnEvent::Broken(e.to_string()),
            Event::Closed => ConnEvent::Closed,
        };
        Some((h.0, e))
    }
    fn accept(&mut self) -> Option<Conn> {
        self.ep.accept().map(|h| h.0)
    }
    fn send(&mut self, now: u64, c: Conn, data: &[u8]) -> Result<usize, String> {
        self.ep
            .send(at(now), ConnectionHandle(c), data)
            .map_err(|e| e.to_string())
    }
    fn send_static(&mut self, now: u64, c: Conn, data: &'static [u8]) -> Result<usize, String> {
        let data = bytes::Bytes::from_static(data);
        match self.ep.send_bytes(at(now), ConnectionHandle(c), data) {
            // A full buffer is the bulk workload's usual state: no message to format.
            Err(udt::Error::WouldBlock) => Ok(0),
            r => r.map_err(|e| e.to_string()),
        }
    }
    fn recv(&mut self, c: Conn, buf: &mut [u8]) -> Result<usize, String> {
        self.ep
            .recv(ConnectionHandle(c), buf)
            .map_err(|e| e.to_string())
    }
    fn send_msg(
        &mut self,
        now: u64,
        c: Conn,
        data: &[u8],
        ttl: Option<u64>,
        in_order: bool,
    ) -> Result<(), String> {
        let ttl = ttl.map(|t| Duration::from_micros(t / 1000));
        self.ep
            .send_msg(at(now), ConnectionHandle(c), data, ttl, in_order)
            .map_err(|e| e.to_string())
    }
    fn recv_msg(&mut self, c: Conn) -> Result<Option<Vec<u8>>, String> {
        self.ep
            .recv_msg(ConnectionHandle(c))
            .map_err(|e| e.to_string())
    }
    fn close(&mut self, now: u64, c: Conn) {
        self.ep.close(at(now), ConnectionHandle(c))
    }
    fn stats(&mut self, c: Conn) -> Option<ConnStats> {
        self.ep.stats(ConnectionHandle(c)).map(|s| conn_stats(&s))
    }
}

/// The counters the metrics need, from UDT's statistics.
pub fn conn_stats(s: &udt::Stats) -> ConnStats {
    ConnStats {
        pkt_sent_total: s.pkt_sent_total,
        pkt_retrans_total: s.pkt_retrans_total,
        pkt_snd_loss_total: s.pkt_snd_loss_total,
        pkt_rcv_loss_total: s.pkt_rcv_loss_total,
        bytes_sent_total: s.bytes_sent_total,
        bytes_recv_total: s.bytes_recv_total,
        rtt_us: s.rtt_us as f64,
        cwnd: s.cwnd,
        flow_window: s.flow_window as f64,
        send_period_us: s.send_period_us,
    }
}
