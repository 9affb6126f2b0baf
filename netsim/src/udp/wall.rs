//! The scenario network on the wall clock: the simulator's [`World`] (its [`Net`] of links,
//! routes and capture taps) stepped by real time instead of the event queue's virtual time.
//! Shared by the two drivers that run it between real sockets: `netsim run --backend udp`
//! (the project's own endpoints, `relay.rs`) and `netsim relay` (external programs,
//! `external.rs`). Neither parses what it carries; both hand datagrams in at a host and take
//! out what reaches a host, with the times the model decided.
//!
//! [`Net`]: crate::net::Net

use crate::app::FlowState;
use crate::capture::CaptureSink;
use crate::output::{pcap_sinks, product, write_results, Provenance};
use crate::packet::Packet;
use crate::scenario::Scenario;
use crate::sim::{Ev, EventQueue};
use crate::summary::Summary;
use crate::world::{Endpoints, World};
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// A capture sink that stamps packets with wall-clock time: the run's origin (UNIX epoch) plus
/// the model time.
struct WallClockSink {
    inner: Box<dyn CaptureSink>,
    origin_unix_ns: u64,
}

impl CaptureSink for WallClockSink {
    fn write_udp(
        &mut self,
        time_ns: u64,
        src: SocketAddr,
        dst: SocketAddr,
        payload: &[u8],
    ) -> io::Result<()> {
        self.inner
            .write_udp(self.origin_unix_ns + time_ns, src, dst, payload)
    }
    fn finish(&mut self) -> io::Result<()> {
        self.inner.finish()
    }
}

/// The UNIX time of `Instant::now()`, in ns (0 if the system clock is before 1970).
pub(super) fn unix_now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// The network of a world, driven by the wall clock from `origin`.
pub(super) struct WallNet {
    /// The world: network, flows (for the udp backend) and metrics.
    pub w: World,
    q: EventQueue,
    /// Model time 0.
    pub origin: Instant,
    /// Model time 0 as UNIX time, ns (captures are stamped with it).
    pub origin_unix_ns: u64,
    /// Packets that reached a host: (endpoint index, packet).
    pub local: Vec<(usize, Packet)>,
    /// When each packet in `local` reached its host, by the model (ns since the origin).
    pub local_due: Vec<u64>,
    changes: Vec<(u64, usize)>,
    next_change: usize,
    /// When the next metrics sample is due.
    pub next_sample: u64,
}

impl WallNet {
    /// Builds the layout of `s`'s world (no protocol endpoints: they live on real sockets;
    /// captures into `dir` stamped with wall-clock time); model time starts now.
    pub fn new(s: &Scenario, seed: u64, end: u64, dir: &Path) -> Result<Self, String> {
        let origin_unix_ns = unix_now_ns();
        let mut pcap = pcap_sinks(dir);
        let mut sinks = |name: &str| -> io::Result<Box<dyn CaptureSink>> {
            Ok(Box::new(WallClockSink {
                inner: pcap(name)?,
                origin_unix_ns,
            }))
        };
        let w = World::new(s, seed, end, Endpoints::Elsewhere, &mut sinks)?;
        let mut changes: Vec<(u64, usize)> = s
            .events
            .iter()
            .enumerate()
            .map(|(i, e)| (e.at.0, i))
            .collect();
        changes.sort_by_key(|c| c.0);
        let next_sample = w.metrics.interval;
        Ok(WallNet {
            w,
            q: EventQueue::default(),
            origin: Instant::now(),
            origin_unix_ns,
            local: vec![],
            local_due: vec![],
            changes,
            next_change: 0,
            next_sample,
        })
    }

    /// Model time now: ns since the origin.
    pub fn now(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }

    /// Runs the network's deliveries due by `now`; what reaches a host lands in `local`.
    pub fn run_due(&mut self, now: u64) {
        while let Some(t) = self.q.peek_time() {
            if t > now {
                break;
            }
            let (t, ev) = self.q.pop().expect("peeked above");
            if let Ev::LinkDeliver(ld) = ev {
                self.w.events_processed += 1;
                let before = self.local.len();
                self.w
                    .net
                    .deliver(&mut self.q, t, ld as usize, &mut self.local);
                let added = self.local.len() - before;
                self.local_due.extend(std::iter::repeat_n(t, added));
            }
        }
    }

    /// A datagram enters the network at host `node` at model time `t`.
    pub fn inject(&mut self, t: u64, node: usize, src: SocketAddr, dst: SocketAddr, bytes: &[u8]) {
        self.w.datagrams_sent += 1;
        let payload = self.w.net.pool.make(bytes);
        let p = Packet::new(src, dst, payload);
        let before = self.local.len();
        self.w
            .net
            .send_from(&mut self.q, t, node, p, &mut self.local);
        let added = self.local.len() - before;
        self.local_due.extend(std::iter::repeat_n(t, added));
    }

    /// Returns a delivered packet's buffer to the pool.
    pub fn recycle(&mut self, p: Packet) {
        self.w.net.pool.recycle(p.payload);
    }

    /// The next time something is due in the network (a delivery or a link change).
    pub fn next_due(&mut self) -> Option<u64> {
        let change = self.changes.get(self.next_change).map(|c| c.0);
        [self.q.peek_time(), change].into_iter().flatten().min()
    }

    /// Applies the scheduled link changes due by `now`.
    pub fn apply_changes(&mut self, now: u64) {
        while let Some(&(at, i)) = self.changes.get(self.next_change) {
            if at > now {
                break;
            }
            let e = &self.w.scenario.events[i];
            self.w.net.apply_event(&mut self.q, now, e);
            self.next_change += 1;
        }
    }

    /// The metrics samples due by `now`; `stats(i, flow)` reads flow `i`'s sender statistics.
    pub fn sample_due(
        &mut self,
        now: u64,
        mut stats: impl FnMut(usize, &FlowState) -> Option<udt::Stats>,
    ) {
        let w = &mut self.w;
        while self.next_sample <= now && self.next_sample <= w.end {
            (w.metrics).sample(self.next_sample, &mut w.flows, &mut w.net, &mut stats);
            self.next_sample += w.metrics.interval;
        }
    }
}

/// What a wall-clock run wrote.
pub(super) struct Written {
    pub data: reports::RunData,
    pub summary: reports::RunSummary,
    pub sim: Summary,
    pub plot_s: f64,
    pub files: Vec<std::path::PathBuf>,
}

/// Ends the run at model time `finished_at` and writes the normal output folder: captures,
/// `metrics.json`, the report (summary with per-link counters, time series, queue samples),
/// with `backend` and `details` recorded in the report's data.
pub(super) fn write_report(
    net: &mut WallNet,
    finished_at: u64,
    dir: &Path,
    prov: &Provenance,
    plots: bool,
    backend: &str,
    details: serde_json::Value,
) -> Result<Written, String> {
    let w = &mut net.w;
    w.now = finished_at;
    w.end = finished_at;
    w.finish_captures()?;
    let scenario = w.scenario.clone();
    let (mut data, sim) = product(w, &scenario, prov);
    data.meta.backend = backend.into();
    data.details[backend] = details;
    data.details[backend]["capture_origin_unix_ns"] = net.origin_unix_ns.into();
    let written = write_results(dir, w, &data, reports::ReportOptions { plots })
        .map_err(|e| format!("{}: cannot write results: {e}", dir.display()))?;
    Ok(Written {
        data,
        summary: written.summary,
        sim,
        plot_s: written.plot_seconds,
        files: written.files,
    })
}
