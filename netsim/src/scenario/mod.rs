//! The YAML scenario format: types that mirror the file, loading with errors that name the file,
//! line, column and field, and the checks that need the whole file (names that must resolve).
//!
//! The format is documented with a complete example in `netsim/SCENARIOS.md`.

mod expectation;
pub mod grid;
pub mod timing;
pub mod units;
mod validate;
pub use expectation::{Expectation, Ratio, Recovery, RunFilter, Window};
pub use validate::split_host_port as validate_split;

use crate::nat::{Dependence, Preset};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use units::{Dur, Prob, QueueLimit, Rate, Size};

/// A whole scenario file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name, used for the output folder.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Seed of every random stream (overridden by `--seed`).
    #[serde(default = "one")]
    pub seed: u64,
    /// Simulated time to run (overridden by `--duration`).
    pub duration: Dur,
    /// Metrics sampling interval; 100 ms by default.
    #[serde(default)]
    pub sample_interval: Option<Dur>,
    /// Stop before `duration` once every flow has finished (default true).
    #[serde(default = "yes")]
    pub stop_when_done: bool,
    /// Hosts by name.
    pub hosts: BTreeMap<String, HostSpec>,
    /// Routers (forwarding nodes without addresses) by name.
    #[serde(default)]
    pub routers: Vec<String>,
    /// NAT boxes by name.
    #[serde(default)]
    pub nats: BTreeMap<String, NatSpec>,
    /// Links between nodes.
    pub links: Vec<LinkSpec>,
    /// UDT flows and their workloads.
    #[serde(default)]
    pub flows: Vec<FlowSpec>,
    /// Scheduled link changes.
    #[serde(default)]
    pub events: Vec<EventSpec>,
    /// Capture points.
    #[serde(default)]
    pub capture: Vec<CaptureSpec>,
    /// What must hold at the end (`netsim check`).
    #[serde(default)]
    pub expect: Vec<Expectation>,
    /// Run once per congestion control (see [`grid`]).
    #[serde(default)]
    pub compare: Option<grid::CompareSpec>,
    /// Run once per point of a parameter grid (see [`grid`]).
    #[serde(default)]
    pub sweep: Option<grid::SweepSpec>,
    /// How `netsim fidelity` judges this scenario.
    #[serde(default)]
    pub fidelity: Option<FidelitySpec>,
}

fn one() -> u64 {
    1
}
fn yes() -> bool {
    true
}

/// What `netsim fidelity` accepts for this scenario.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FidelitySpec {
    /// Largest accepted goodput difference from the reference library, e.g. `10%`.
    #[serde(default)]
    pub tolerance: Option<Prob>,
}

/// A host: an IPv4 address, optionally behind a NAT.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    /// The host's address (private when behind a NAT).
    pub address: Ipv4Addr,
    /// The NAT whose inside this host is on.
    #[serde(default)]
    pub behind: Option<String>,
    /// How the host's UDT driver wakes up: `exact` (default), `udt4`, `tokio`, or
    /// `{ tick: DUR }` / `{ idle: DUR }` (see [`crate::timing`]).
    #[serde(default)]
    pub timing: Option<timing::TimingSpec>,
}

impl HostSpec {
    /// The host's wake-up rule (validated when the scenario loads).
    pub fn timing(&self) -> crate::timing::HostTiming {
        self.timing
            .as_ref()
            .and_then(|t| t.resolve().ok())
            .unwrap_or_default()
    }
}

/// A NAT box: a preset, or explicit behaviours (which override the preset's).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatSpec {
    /// The outside address.
    pub public: Ipv4Addr,
    /// full-cone, restricted-cone, port-restricted-cone or symmetric.
    #[serde(default)]
    pub preset: Option<Preset>,
    /// endpoint-independent, address-dependent or address-port-dependent.
    #[serde(default)]
    pub mapping: Option<Dependence>,
    /// endpoint-independent, address-dependent or address-port-dependent.
    #[serde(default)]
    pub filtering: Option<Dependence>,
    /// Keep internal ports when free.
    #[serde(default)]
    pub port_preservation: Option<bool>,
    /// Mapping timeout; 120 s by default.
    #[serde(default)]
    pub timeout: Option<Dur>,
    /// Turn inside-to-public packets back inside.
    #[serde(default)]
    pub hairpin: bool,
}

/// Jitter distributions, written as a one-key map: `{ uniform: 5ms }`,
/// `{ normal: { mean: 0ms, stddev: 2ms } }`, `{ pareto: { scale: 1ms, shape: 1.5 } }`.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(try_from = "JitterRepr")]
pub enum JitterSpec {
    /// Uniform extra delay in `[0, max]`.
    Uniform(Dur),
    /// Normal extra delay, clamped at zero.
    Normal(NormalSpec),
    /// Pareto extra delay (heavy tail), starting at zero.
    Pareto(ParetoSpec),
}

/// Parameters of normal jitter.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormalSpec {
    /// Mean.
    #[serde(default)]
    pub mean: Dur,
    /// Standard deviation.
    pub stddev: Dur,
}

/// Parameters of Pareto jitter.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParetoSpec {
    /// Scale.
    pub scale: Dur,
    /// Shape α (> 0).
    pub shape: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JitterRepr {
    uniform: Option<Dur>,
    normal: Option<NormalSpec>,
    pareto: Option<ParetoSpec>,
}

impl TryFrom<JitterRepr> for JitterSpec {
    type Error = String;
    fn try_from(r: JitterRepr) -> Result<Self, String> {
        match (r.uniform, r.normal, r.pareto) {
            (Some(u), None, None) => Ok(JitterSpec::Uniform(u)),
            (None, Some(n), None) => Ok(JitterSpec::Normal(n)),
            (None, None, Some(p)) => Ok(JitterSpec::Pareto(p)),
            _ => Err("expected exactly one of `uniform`, `normal`, `pareto`".into()),
        }
    }
}

/// Loss models, written as a one-key map: `{ bernoulli: 1% }`,
/// `{ gilbert_elliott: { p_gb: 1%, p_bg: 30%, loss_bad: 50% } }`, `{ drop: [17, 18] }`.
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "LossRepr")]
pub enum LossSpec {
    /// Independent loss with this probability.
    Bernoulli(Prob),
    /// Two-state bursty loss.
    GilbertElliott(GilbertSpec),
    /// Drop exactly these 0-based packet indices of this direction.
    Drop(Vec<u64>),
}

/// Parameters of Gilbert–Elliott loss.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GilbertSpec {
    /// P(Good → Bad) per packet.
    pub p_gb: Prob,
    /// P(Bad → Good) per packet.
    pub p_bg: Prob,
    /// Loss probability in Good.
    #[serde(default)]
    pub loss_good: Prob,
    /// Loss probability in Bad; 100% by default.
    #[serde(default)]
    pub loss_bad: Option<Prob>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LossRepr {
    bernoulli: Option<Prob>,
    gilbert_elliott: Option<GilbertSpec>,
    drop: Option<Vec<u64>>,
}

impl TryFrom<LossRepr> for LossSpec {
    type Error = String;
    fn try_from(r: LossRepr) -> Result<Self, String> {
        match (r.bernoulli, r.gilbert_elliott, r.drop) {
            (Some(p), None, None) => Ok(LossSpec::Bernoulli(p)),
            (None, Some(g), None) => Ok(LossSpec::GilbertElliott(g)),
            (None, None, Some(d)) => Ok(LossSpec::Drop(d)),
            _ => Err("expected exactly one of `bernoulli`, `gilbert_elliott`, `drop`".into()),
        }
    }
}

/// Reordering: a fraction of packets is held back by an extra delay.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReorderSpec {
    /// Fraction of packets held back.
    pub probability: Prob,
    /// Extra delay of those packets.
    pub delay: Dur,
}

/// The impairments of one link direction; every field optional.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirSpec {
    /// Bandwidth (serialisation delay); unlimited when absent.
    pub rate: Option<Rate>,
    /// One-way propagation delay.
    pub delay: Option<Dur>,
    /// Extra per-packet delay.
    pub jitter: Option<JitterSpec>,
    /// Drop-tail limit.
    pub queue: Option<QueueLimit>,
    /// Loss model.
    pub loss: Option<LossSpec>,
    /// Reordering.
    pub reorder: Option<ReorderSpec>,
    /// Duplication probability.
    pub duplicate: Option<Prob>,
    /// Corruption probability (dropped as a UDP checksum failure).
    pub corrupt: Option<Prob>,
    /// Largest IP datagram; 1500 B by default.
    pub mtu: Option<Size>,
}

/// A bidirectional link; the top-level impairments apply to both directions, `forward`
/// (first → second node of `between`) and `reverse` override them per direction.
///
/// The impairment fields repeat [`DirSpec`]'s rather than `#[serde(flatten)]` it: serde
/// cannot combine `flatten` with `deny_unknown_fields`, and a misspelt field must stay an
/// error that names the line.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    /// Name for events and metrics; `a-b` by default.
    #[serde(default)]
    pub name: Option<String>,
    /// The two nodes (hosts, routers, NATs).
    pub between: [String; 2],
    /// See [`DirSpec::rate`].
    pub rate: Option<Rate>,
    /// See [`DirSpec::delay`].
    pub delay: Option<Dur>,
    /// See [`DirSpec::jitter`].
    pub jitter: Option<JitterSpec>,
    /// See [`DirSpec::queue`].
    pub queue: Option<QueueLimit>,
    /// See [`DirSpec::loss`].
    pub loss: Option<LossSpec>,
    /// See [`DirSpec::reorder`].
    pub reorder: Option<ReorderSpec>,
    /// See [`DirSpec::duplicate`].
    pub duplicate: Option<Prob>,
    /// See [`DirSpec::corrupt`].
    pub corrupt: Option<Prob>,
    /// See [`DirSpec::mtu`].
    pub mtu: Option<Size>,
    /// Overrides for first → second.
    #[serde(default)]
    pub forward: Option<DirSpec>,
    /// Overrides for second → first.
    #[serde(default)]
    pub reverse: Option<DirSpec>,
}

impl LinkSpec {
    /// The link's name.
    pub fn name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("{}-{}", self.between[0], self.between[1]))
    }

    /// The effective spec of direction 0 (forward) or 1 (reverse).
    pub fn dir(&self, d: usize) -> DirSpec {
        let both = DirSpec {
            rate: self.rate,
            delay: self.delay,
            jitter: self.jitter,
            queue: self.queue,
            loss: self.loss.clone(),
            reorder: self.reorder,
            duplicate: self.duplicate,
            corrupt: self.corrupt,
            mtu: self.mtu,
        };
        let over = if d == 0 { &self.forward } else { &self.reverse };
        match over {
            None => both,
            Some(o) => DirSpec {
                rate: o.rate.or(both.rate),
                delay: o.delay.or(both.delay),
                jitter: o.jitter.or(both.jitter),
                queue: o.queue.or(both.queue),
                loss: o.loss.clone().or(both.loss),
                reorder: o.reorder.or(both.reorder),
                duplicate: o.duplicate.or(both.duplicate),
                corrupt: o.corrupt.or(both.corrupt),
                mtu: o.mtu.or(both.mtu),
            },
        }
    }
}

/// Stream (byte stream) or message (datagram) UDT sockets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// SOCK_STREAM.
    #[default]
    Stream,
    /// SOCK_DGRAM (messages).
    Message,
}

/// A stream of messages.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageSpec {
    /// Bytes per message (at least 16).
    pub size: Size,
    /// Messages per second.
    pub rate: f64,
    /// How many; unlimited (until `stop`) when absent.
    #[serde(default)]
    pub count: Option<u64>,
    /// Time to live: the sender drops a message not delivered within it.
    #[serde(default)]
    pub ttl: Option<Dur>,
    /// Deliver in order (default true).
    #[serde(default = "yes")]
    pub in_order: bool,
}

/// Per-endpoint UDT options; absent fields keep the library defaults.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionsSpec {
    /// Maximum segment size (bytes, including IP/UDP headers).
    pub mss: Option<u32>,
    /// Maximum packets in flight.
    pub flight_flag_size: Option<u32>,
    /// Send buffer, packets.
    pub send_buffer: Option<u32>,
    /// Receive buffer, packets.
    pub recv_buffer: Option<u32>,
    /// Cap on the sending rate.
    pub max_bandwidth: Option<Rate>,
    /// How long close() keeps sending buffered data.
    pub linger: Option<Dur>,
    /// `improved` (the project's UDT, default) or `reference` (UDT 4.11 exactly as the
    /// reference library behaves); see `udt::Profile`.
    pub profile: Option<ProfileSpec>,
}

/// A flow's protocol profile (`udt::Profile`), by name.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ProfileSpec {
    /// The project's UDT.
    Improved,
    /// UDT 4.11 as the reference library behaves.
    Reference,
}

impl From<ProfileSpec> for udt::Profile {
    fn from(p: ProfileSpec) -> Self {
        match p {
            ProfileSpec::Improved => udt::Profile::Improved,
            ProfileSpec::Reference => udt::Profile::Reference,
        }
    }
}

/// One UDT connection and its workload. Data flows from `from` to `to` (or from the first to
/// the second peer of `rendezvous`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowSpec {
    /// Name used in expectations and metrics.
    pub name: String,
    /// Client host, optionally `host:port` (an ephemeral port otherwise).
    #[serde(default)]
    pub from: Option<String>,
    /// Server `host:port` (or `ip:port`), which listens.
    #[serde(default)]
    pub to: Option<String>,
    /// Whether the server side listens (default true); `false` tests a connect to a port
    /// where nothing listens.
    #[serde(default = "yes")]
    pub listen: bool,
    /// Instead of from/to: two `host:port` peers that both call rendezvous.
    #[serde(default)]
    pub rendezvous: Option<[String; 2]>,
    /// Stream or message sockets.
    #[serde(default)]
    pub mode: Mode,
    /// Bulk transfer of this many bytes.
    #[serde(default)]
    pub transfer: Option<Size>,
    /// Bulk transfer for this long (as much as fits).
    #[serde(default)]
    pub send_for: Option<Dur>,
    /// A message stream (message mode).
    #[serde(default)]
    pub messages: Option<MessageSpec>,
    /// When the client connects.
    #[serde(default)]
    pub start: Dur,
    /// When both sides close.
    #[serde(default)]
    pub stop: Option<Dur>,
    /// Congestion control by name (`udt` by default).
    #[serde(default)]
    pub cc: Option<String>,
    /// UDT options of both endpoints.
    #[serde(default)]
    pub options: OptionsSpec,
}

/// Which direction of a link an event changes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Both directions.
    #[default]
    Both,
    /// First → second node.
    Forward,
    /// Second → first node.
    Reverse,
}

/// A scheduled change of a link.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    /// When.
    pub at: Dur,
    /// Which link (by name).
    pub link: String,
    /// Which direction.
    #[serde(default)]
    pub direction: Direction,
    /// Take the link down (`false`) or up (`true`).
    #[serde(default)]
    pub up: Option<bool>,
    /// New bandwidth.
    #[serde(default)]
    pub rate: Option<Rate>,
    /// New propagation delay.
    #[serde(default)]
    pub delay: Option<Dur>,
    /// New loss model.
    #[serde(default)]
    pub loss: Option<LossSpec>,
}

/// A capture point: `node` (all its interfaces) or `node:peer` (the interface toward `peer`),
/// optionally limited.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum CaptureSpec {
    /// Just the point.
    Point(String),
    /// The point with limits.
    Limited {
        /// `node` or `node:peer`.
        at: String,
        /// Stop capturing after this simulated time.
        #[serde(default)]
        until: Option<Dur>,
        /// Stop after this many packets.
        #[serde(default)]
        max_packets: Option<u64>,
    },
}

impl CaptureSpec {
    /// `node` or `node:peer`.
    pub fn at(&self) -> &str {
        match self {
            CaptureSpec::Point(s) | CaptureSpec::Limited { at: s, .. } => s,
        }
    }
}

/// A scenario that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file cannot be read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The path.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// Malformed YAML or a field of the wrong shape.
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        /// The path.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What serde said, with the field path.
        message: String,
    },
    /// The file parses but does not make sense as a whole.
    #[error("{file}: {message}")]
    Invalid {
        /// The path.
        file: String,
        /// What is wrong, naming the field.
        message: String,
    },
}

impl Scenario {
    /// Reads and checks a scenario file.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            file: file.clone(),
            source,
        })?;
        Self::parse(&file, &text)
    }

    /// Parses and checks scenario text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, ScenarioError> {
        let s: Scenario = serde_yaml::from_str(text).map_err(|e| {
            let (line, column) = e
                .location()
                .map(|l| (l.line(), l.column()))
                .unwrap_or((0, 0));
            let mut message = e.to_string();
            if let Some(i) = message.rfind(" at line ") {
                message.truncate(i);
            }
            ScenarioError::Syntax {
                file: file.to_string(),
                line,
                column,
                message,
            }
        })?;
        s.validate()
            .and_then(|()| grid::validate(&s))
            .map_err(|message| ScenarioError::Invalid {
                file: file.to_string(),
                message,
            })?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests;
