//! `netsim run --backend udp`: the same scenario on real UDP sockets, in real time.
//!
//! Every flow endpoint is a `udt::tokio::Endpoint` bound to `127.0.0.1:0`. They all talk to
//! one relay socket (also `127.0.0.1:0`), which stands for the whole scenario network: the
//! relay feeds each datagram into the simulator's own [`Net`](crate::net::Net) (routing, the
//! sans-IO link model with its rate, delay, jitter, queue, loss, reordering, duplication,
//! corruption and MTU, capture taps, scheduled link changes), driven by the wall clock
//! (nanoseconds since the run's origin) instead of the event queue's virtual time, and sends
//! what comes out of the far end to the destination endpoint's real socket. Impairments are
//! thus implemented once, in `link.rs`; shared bottlenecks and multi-hop paths through routers
//! behave as in the simulator.
//!
//! Inside the relay, packets carry the scenario's addresses (a flow's sender at `host:port`,
//! its receiver at `server:port`), so captures look like the simulator's; their timestamps are
//! wall-clock time (UNIX epoch). Workloads (bulk `transfer`/`send_for`, `messages`) follow
//! `app.rs`: the same data pattern checked byte by byte, the same message format. Each
//! connection's `udt::Stats` is sampled every `sample_interval` of wall time into the same
//! [`Metrics`](crate::metrics::Metrics), so the summary, expectations and report are produced
//! by the same code as the simulator's.
//!
//! Not supported (refused before anything runs, naming the feature): NAT boxes.
//! Timing: the relay waits on tokio's millisecond timer (waking on arrivals) when the next
//! delivery is more than 2 ms away, and sleeps its thread in precise steps of at most 0.2 ms
//! (polling the socket) closer to it: a receiver estimates the link capacity from the spacing
//! of packet pairs, which millisecond batches would destroy.

mod batch;
pub mod cpus;
mod external;
mod flows;
mod relay;
mod wall;

pub use external::{relay, relay_file, FacesCallback, RelayOptions, RelayOutcome};

use crate::output::md5_hex;
use crate::run::{RunOptions, RunOutcome};
use crate::scenario::Scenario;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;

/// Socket buffers asked for (the kernel may cap them).
const SOCKET_BUFFER: usize = 8 << 20;

/// Refuses scenarios that need what the udp backend cannot do, with a message naming the
/// feature.
pub fn check_supported(s: &Scenario) -> Result<(), String> {
    if !s.nats.is_empty() {
        let names: Vec<&str> = s.nats.keys().map(|k| k.as_str()).collect();
        return Err(format!(
            "scenario `{}`: the udp backend does not support NAT boxes (`nats`: {}); \
             loopback endpoints cannot be given private and public addresses. \
             Run it on the simulator (`--backend sim`, the default)",
            s.name,
            names.join(", ")
        ));
    }
    if let Some((h, _)) = s.hosts.iter().find(|(_, h)| h.behind.is_some()) {
        return Err(format!(
            "scenario `{}`: the udp backend does not support NAT boxes (host `{h}` is `behind` one)",
            s.name
        ));
    }
    Ok(())
}

/// Loads a scenario file and runs it on real sockets.
pub fn run_file(path: &Path, opts: &RunOptions) -> Result<RunOutcome, String> {
    let s = Scenario::load(path).map_err(|e| e.to_string())?;
    let digest = std::fs::read(path)
        .map(|b| md5_hex(&b))
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    run_with_digest(&s, opts, digest)
}

/// Runs a loaded scenario on real sockets (digest of its debug form, as [`crate::run::run`]).
pub fn run(s: &Scenario, opts: &RunOptions) -> Result<RunOutcome, String> {
    run_with_digest(s, opts, md5_hex(format!("{s:?}").as_bytes()))
}

/// A UDP socket on loopback with an ephemeral port and large buffers.
pub(super) fn bind_loopback() -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("valid address");
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    let _ = s.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = s.set_send_buffer_size(SOCKET_BUFFER);
    s.bind(&addr.into())?;
    s.set_nonblocking(true)?;
    Ok(s.into())
}

fn run_with_digest(s: &Scenario, opts: &RunOptions, digest: String) -> Result<RunOutcome, String> {
    check_supported(s)?;
    let seed = opts.seed.unwrap_or(s.seed);
    let end = opts.duration.unwrap_or(s.duration.0);
    let dir = opts
        .out
        .clone()
        .unwrap_or_else(|| crate::output::default_dir(&s.name, seed));
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("{}: cannot create output folder: {e}", dir.display()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the tokio runtime: {e}"))?;
    let prov = crate::output::Provenance {
        scenario_digest: digest,
        command_line: opts
            .command_line
            .clone()
            .unwrap_or_else(|| "(not recorded)".into()),
    };
    let setup = relay::Setup {
        scenario: s.clone(),
        seed,
        end,
        dir,
        prov,
        plots: !opts.no_plots,
        quiet: opts.quiet,
    };
    let out = rt.block_on(relay::run(setup));
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    out
}
