//! The applications of the udp backend: each flow's two `udt::tokio` endpoints and their
//! workloads, with the simulator's semantics (`app.rs`): bulk data in the deterministic pattern
//! checked byte by byte, or numbered, time-stamped messages. What they observe goes into a
//! shared [`FlowState`] that the relay copies into its world.

use crate::app::{next_write, pattern, pattern_matches, socket_options, FlowState, PATTERN_PERIOD};
use crate::scenario::FlowSpec;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use udt::tokio::{Endpoint, StatsHandle, UdtMessage, UdtStream};

/// What one flow's applications observed so far, shared with the relay.
pub(super) struct FlowObs {
    /// Observations in the simulator's terms (times in ns since the run's origin).
    pub state: FlowState,
    /// Reads the sender connection's statistics once connected.
    pub stats: Option<StatsHandle>,
}

impl FlowObs {
    pub fn new(spec: FlowSpec) -> Self {
        FlowObs {
            state: FlowState {
                spec: Some(spec),
                ..Default::default()
            },
            stats: None,
        }
    }
}

/// Copies the applications' observations (not the world's wiring: endpoints, connections,
/// statistics) from `src` into `dst`.
pub(super) fn copy_observations(dst: &mut FlowState, src: &FlowState) {
    dst.started_at = src.started_at;
    dst.connected_at = src.connected_at;
    dst.failed.clone_from(&src.failed);
    dst.broken.clone_from(&src.broken);
    dst.bytes_sent = src.bytes_sent;
    dst.bytes_recv = src.bytes_recv;
    dst.corrupted = src.corrupted;
    dst.completed_at = src.completed_at;
    dst.sending_done = src.sending_done;
    dst.stopped = src.stopped;
    dst.msgs_sent = src.msgs_sent;
    dst.msgs_recv = src.msgs_recv;
    dst.msgs_out_of_order = src.msgs_out_of_order;
    dst.next_msg = src.next_msg;
    dst.latency_sum = src.latency_sum;
    dst.latency_max = src.latency_max;
}

/// One flow: its spec, the two bound sockets, the relay standing for the network.
pub(super) struct FlowSetup {
    pub spec: FlowSpec,
    pub sender: std::net::UdpSocket,
    pub receiver: std::net::UdpSocket,
    pub relay: SocketAddr,
    pub origin: Instant,
    pub obs: Arc<Mutex<FlowObs>>,
}

#[derive(Clone)]
struct Ctx {
    spec: FlowSpec,
    origin: Instant,
    obs: Arc<Mutex<FlowObs>>,
}

impl Ctx {
    fn now(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }
    fn at(&self, ns: u64) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.origin + Duration::from_nanos(ns))
    }
    fn with<R>(&self, f: impl FnOnce(&mut FlowObs) -> R) -> R {
        f(&mut self.obs.lock().expect("flow state lock"))
    }
    fn fail(&self, why: String) {
        let now = self.now();
        self.with(|o| {
            o.state.failed.get_or_insert((now, why));
        });
    }
    fn broke(&self, why: String) {
        let now = self.now();
        self.with(|o| {
            let s = &mut o.state;
            if s.completed_at.is_none() && !s.stopped {
                s.broken.get_or_insert((now, why));
            }
        });
    }
    /// Runs `work` until the flow's `stop` time, if it has one; marks the flow stopped then.
    async fn until_stop(&self, work: impl std::future::Future<Output = ()>) {
        match self.spec.stop {
            None => work.await,
            Some(stop) => {
                if tokio::time::timeout_at(self.at(stop.0), work)
                    .await
                    .is_err()
                {
                    self.with(|o| {
                        o.state.stopped = true;
                        o.state.sending_done = true;
                    });
                }
            }
        }
    }
}

/// The receiver has everything (as `FlowState::pump_recv` decides it).
fn check_complete(s: &mut FlowState, now: u64) {
    let spec = s.spec();
    let all = if let Some(n) = spec.messages.as_ref().and_then(|m| m.count) {
        s.msgs_recv >= n
    } else if spec.messages.is_some() {
        false
    } else {
        match (spec.transfer, spec.send_for) {
            (Some(t), _) => s.bytes_recv >= t.0,
            (None, Some(_)) => s.sending_done && s.bytes_recv >= s.bytes_sent,
            _ => false,
        }
    };
    if all && s.completed_at.is_none() {
        s.completed_at = Some(now);
    }
}

/// Runs one flow to its end (or until the run aborts it).
pub(super) async fn run_flow(f: FlowSetup) {
    let cx = Ctx {
        spec: f.spec.clone(),
        origin: f.origin,
        obs: f.obs.clone(),
    };
    let opts = socket_options(&f.spec);
    let (snd, rcv) = match (Endpoint::from_std(f.sender), Endpoint::from_std(f.receiver)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return cx.fail(format!("endpoint: {e}")),
    };
    for ep in [&snd, &rcv] {
        if let Err(e) = ep.set_options(opts.clone()) {
            return cx.fail(format!("options: {e}"));
        }
    }
    let rendezvous = f.spec.rendezvous.is_some();
    let listener = if !rendezvous && f.spec.listen {
        match rcv.listen(1024) {
            Ok(l) => Some(l),
            Err(e) => return cx.fail(format!("listen: {e}")),
        }
    } else {
        None
    };
    let receiving = {
        let cx = cx.clone();
        let relay = f.relay;
        async move {
            let conn = if rendezvous {
                tokio::time::sleep_until(cx.at(cx.spec.start.0)).await;
                rcv.rendezvous(relay).await
            } else if let Some(l) = &listener {
                l.accept().await
            } else {
                return; // nothing listens: the sender's connect fails
            };
            let Ok(conn) = conn else {
                return; // the sender reports the failure
            };
            let work = async {
                if cx.spec.messages.is_some() {
                    recv_messages(&cx, conn.into_message()).await
                } else {
                    recv_bulk(&cx, conn.into_stream()).await
                }
            };
            cx.until_stop(work).await;
        }
    };
    let sending = {
        let cx = cx.clone();
        let relay = f.relay;
        async move {
            tokio::time::sleep_until(cx.at(cx.spec.start.0)).await;
            let now = cx.now();
            cx.with(|o| o.state.started_at = Some(now));
            let conn = if rendezvous {
                snd.rendezvous(relay).await
            } else {
                snd.connect(relay).await
            };
            let conn = match conn {
                Ok(c) => c,
                Err(e) => return cx.fail(e.to_string()),
            };
            let now = cx.now();
            cx.with(|o| {
                o.state.connected_at = Some(now);
                o.stats = Some(conn.stats_handle());
            });
            let work = async {
                if cx.spec.messages.is_some() {
                    send_messages(&cx, conn.into_message()).await
                } else {
                    send_bulk(&cx, conn.into_stream()).await
                }
            };
            cx.until_stop(work).await;
        }
    };
    tokio::join!(receiving, sending);
}

/// Writes the pattern until `transfer` bytes or the `send_for` deadline, then closes after
/// delivering what was written.
async fn send_bulk(cx: &Ctx, mut s: UdtStream) {
    let target = cx.spec.transfer.map(|x| x.0);
    if target.is_none() && cx.spec.send_for.is_none() {
        return std::future::pending().await; // connect only: hold the connection
    }
    let writing = async {
        let mut sent = 0u64;
        while let Some(slice) = next_write(sent, target) {
            let n = s.write(slice).await?;
            sent += n as u64;
            cx.with(|o| o.state.bytes_sent = sent);
        }
        Ok(())
    };
    let result: std::io::Result<()> = match cx.spec.send_for {
        Some(d) => tokio::time::timeout_at(cx.at(cx.spec.start.0 + d.0), writing)
            .await
            .unwrap_or(Ok(())),
        None => writing.await,
    };
    let now = cx.now();
    cx.with(|o| {
        o.state.sending_done = true;
        check_complete(&mut o.state, now);
    });
    if let Err(e) = result {
        return cx.broke(e.to_string());
    }
    // Deliver the rest, then close (UDT's linger); the receiver reads to the end.
    let _ = s.shutdown().await;
}

/// Reads and checks everything until the end of the stream.
async fn recv_bulk(cx: &Ctx, mut s: UdtStream) {
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match s.read(&mut buf).await {
            Ok(0) => return,
            Ok(n) => {
                let now = cx.now();
                cx.with(|o| {
                    let st = &mut o.state;
                    if !pattern_matches(st.bytes_recv, &buf[..n]) {
                        st.corrupted = true;
                    }
                    st.bytes_recv += n as u64;
                    check_complete(st, now);
                });
            }
            Err(e) => return cx.broke(e.to_string()),
        }
    }
}

/// Sends numbered, time-stamped messages at the spec's rate (`FlowState::send_message`'s
/// format), then holds the connection open.
async fn send_messages(cx: &Ctx, m: UdtMessage) {
    let Some(spec) = cx.spec.messages.clone() else {
        return;
    };
    let size = spec.size.0 as usize;
    let period = Duration::from_nanos((1e9 / spec.rate).round().max(1.0) as u64);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let ttl = spec.ttl.map(|d| Duration::from_nanos(d.0));
    let mut seq = 0u64;
    let mut buf = Vec::with_capacity(size);
    while spec.count.is_none_or(|n| seq < n) {
        tick.tick().await;
        buf.clear();
        buf.extend_from_slice(&seq.to_le_bytes());
        buf.extend_from_slice(&cx.now().to_le_bytes());
        let mut off = 0usize;
        while buf.len() < size {
            let n = (size - buf.len()).min(PATTERN_PERIOD);
            buf.extend_from_slice(&pattern()[off..off + n]);
            off = (off + n) % PATTERN_PERIOD;
        }
        if let Err(e) = m.send_msg(&buf, ttl, spec.in_order).await {
            return cx.broke(e.to_string());
        }
        seq += 1;
        cx.with(|o| {
            o.state.msgs_sent = seq;
            o.state.bytes_sent += size as u64;
        });
    }
    cx.with(|o| o.state.sending_done = true);
    std::future::pending::<()>().await;
}

/// Receives messages, checking each with `FlowState::on_message`.
async fn recv_messages(cx: &Ctx, m: UdtMessage) {
    loop {
        let msg = match m.recv_msg().await {
            Ok(Some(msg)) => msg,
            Ok(None) => return,
            Err(e) => return cx.broke(e.to_string()),
        };
        let now = cx.now();
        cx.with(|o| {
            o.state.on_message(now, &msg);
            check_complete(&mut o.state, now);
        });
    }
}
