//! The grid of a comparison or sweep: the `compare:` and `sweep:` blocks of a scenario, their
//! checks against the rest of the file and their expansion into one scenario per run.
//!
//! A `compare` list is a sweep over `cc`; a `sweep` block varies rate × delay (or RTT) × loss ×
//! cc × seed. Running the grid, the manifest and merging shards are [`crate::sweep`]'s. The
//! syntax is documented in `netsim/SCENARIOS.md`.

use super::units::{Dur, Prob, Rate};
use super::{DirSpec, Direction, LossSpec, Scenario};
use serde::{Deserialize, Serialize};

/// A value of a sweep axis: as written (for labels) and parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct Val<T> {
    /// The text as written in the scenario, e.g. `0.1%`.
    pub text: String,
    /// The parsed value.
    pub value: T,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    S(String),
    U(u64),
    F(f64),
}

macro_rules! val_de {
    ($t:ty) => {
        impl<'de> Deserialize<'de> for Val<$t> {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = match Scalar::deserialize(d)? {
                    Scalar::S(s) => s,
                    Scalar::U(u) => u.to_string(),
                    Scalar::F(f) => f.to_string(),
                };
                let value = <$t>::parse(&text).map_err(serde::de::Error::custom)?;
                Ok(Val { text, value })
            }
        }
    };
}
val_de!(Prob);
val_de!(Dur);
val_de!(Rate);

/// `compare: [udt, cubic]` or `compare: { cc: [udt, cubic], flows: [a] }`.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum CompareSpec {
    /// The algorithms; every flow's `cc` is overridden.
    List(Vec<String>),
    /// The algorithms and the flows whose `cc` is overridden.
    Full {
        /// The algorithms.
        cc: Vec<String>,
        /// The flows (all when empty).
        #[serde(default)]
        flows: Vec<String>,
    },
}

/// A grid of runs: every combination of the given axes.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// The link whose `rate`, `delay` and `loss` vary.
    #[serde(default)]
    pub link: Option<String>,
    /// Which direction of `link` the `rate`, `delay` and `loss` values apply to (default both).
    #[serde(default)]
    pub direction: Direction,
    /// Bernoulli loss probabilities of the link.
    #[serde(default)]
    pub loss: Vec<Val<Prob>>,
    /// One-way propagation delays of the link.
    #[serde(default)]
    pub delay: Vec<Val<Dur>>,
    /// Round-trip times: the link's delay is half of each, in both directions.
    #[serde(default)]
    pub rtt: Vec<Val<Dur>>,
    /// Link rates.
    #[serde(default)]
    pub rate: Vec<Val<Rate>>,
    /// Seeds.
    #[serde(default)]
    pub seeds: Vec<u64>,
    /// Congestion controls.
    #[serde(default)]
    pub cc: Vec<String>,
    /// Flows whose `cc` is set (all when empty).
    #[serde(default)]
    pub flows: Vec<String>,
}

/// The parameters of one run of a grid (`None`: not varied).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// Congestion control.
    pub cc: Option<String>,
    /// Link rate as written.
    pub rate: Option<String>,
    /// One-way delay as written.
    pub delay: Option<String>,
    /// RTT as written.
    pub rtt: Option<String>,
    /// Loss as written.
    pub loss: Option<String>,
    /// Loss probability (fraction).
    pub loss_fraction: Option<f64>,
    /// The RTT or delay, ms (for ordering plots).
    pub delay_ms: Option<f64>,
    /// Seed.
    pub seed: u64,
}

impl Params {
    /// The link and algorithm parameters by name, as written (`None`: not varied).
    pub fn written(&self) -> [(&'static str, &Option<String>); 5] {
        [
            ("cc", &self.cc),
            ("rate", &self.rate),
            ("delay", &self.delay),
            ("rtt", &self.rtt),
            ("loss", &self.loss),
        ]
    }
}

/// One run of a grid.
#[derive(Clone, Debug)]
pub struct GridRun {
    /// Position in the grid (0-based); shards split on it.
    pub index: usize,
    /// Folder name, e.g. `cubic_rtt50ms_loss0.1pct_seed2`.
    pub label: String,
    /// The grid point it is a seed of: the label without its seed (`cubic_rtt50ms_loss0.1pct`;
    /// `run` when nothing else varies).
    pub point: String,
    /// Its parameters.
    pub params: Params,
    /// The scenario with the parameters applied (no `compare`/`sweep` left).
    pub scenario: Scenario,
}

/// Whether a scenario is a comparison or a sweep.
pub fn is_grid(s: &Scenario) -> bool {
    s.compare.is_some() || s.sweep.is_some()
}

/// The sweep a scenario describes (a `compare` list is a sweep over `cc`).
pub(super) fn spec_of(s: &Scenario) -> Option<SweepSpec> {
    match (&s.compare, &s.sweep) {
        (Some(CompareSpec::List(cc)), _) => Some(SweepSpec {
            cc: cc.clone(),
            ..Default::default()
        }),
        (Some(CompareSpec::Full { cc, flows }), _) => Some(SweepSpec {
            cc: cc.clone(),
            flows: flows.clone(),
            ..Default::default()
        }),
        (None, Some(sw)) => Some(sw.clone()),
        (None, None) => None,
    }
}

/// Checks `compare`/`sweep` against the rest of the scenario.
pub fn validate(s: &Scenario) -> Result<(), String> {
    if s.compare.is_some() && s.sweep.is_some() {
        return Err(
            "give either `compare` or `sweep`, not both (a sweep has its own `cc` list)".into(),
        );
    }
    let Some(sw) = spec_of(s) else {
        return Ok(());
    };
    let field = if s.compare.is_some() {
        "compare"
    } else {
        "sweep"
    };
    for c in &sw.cc {
        if udt::cc::by_name(c).is_none() {
            return Err(format!(
                "{field}.cc: unknown congestion control `{c}`; known: {}",
                udt::cc::NAMES.join(", ")
            ));
        }
    }
    for f in &sw.flows {
        if !s.flows.iter().any(|x| &x.name == f) {
            return Err(format!("{field}.flows: unknown flow `{f}`"));
        }
    }
    let link_axes =
        !(sw.loss.is_empty() && sw.delay.is_empty() && sw.rtt.is_empty() && sw.rate.is_empty());
    match &sw.link {
        Some(l) if !s.links.iter().any(|x| &x.name() == l) => {
            return Err(format!(
                "sweep.link: unknown link `{l}`; known links: {}",
                s.links
                    .iter()
                    .map(|x| x.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
        None if link_axes => {
            return Err("sweep.link: name the link whose loss, delay, rtt or rate vary".into())
        }
        _ => {}
    }
    if !sw.delay.is_empty() && !sw.rtt.is_empty() {
        return Err("sweep: give `delay` or `rtt`, not both".into());
    }
    if !sw.rtt.is_empty() && sw.direction != Direction::Both {
        return Err("sweep.rtt: sets both directions; drop `direction` or use `delay`".into());
    }
    let runs = expand_spec(s, &sw, None);
    let mut labels: Vec<&str> = runs.iter().map(|r| r.label.as_str()).collect();
    labels.sort_unstable();
    if let Some(w) = labels.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!(
            "{field}: two runs would share the label `{}` (a value given twice?)",
            w[0]
        ));
    }
    Ok(())
}

/// A label part: letters, digits, `.` and `-` only (`%` becomes `pct`).
fn clean(s: &str) -> String {
    s.replace('%', "pct")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn axis<T: Clone>(v: &[T]) -> Vec<Option<T>> {
    if v.is_empty() {
        vec![None]
    } else {
        v.iter().cloned().map(Some).collect()
    }
}

fn set_dir(s: &mut Scenario, link: &str, d: Direction, f: impl Fn(&mut DirSpec)) {
    let Some(l) = s.links.iter_mut().find(|l| l.name() == link) else {
        return;
    };
    match d {
        Direction::Both => {
            let mut both = l.dir(0);
            f(&mut both);
            l.rate = both.rate;
            l.delay = both.delay;
            l.loss = both.loss;
            // The value applies to both directions: clear the per-direction overrides of it.
            for o in [&mut l.forward, &mut l.reverse].into_iter().flatten() {
                let mut probe = DirSpec::default();
                f(&mut probe);
                if probe.rate.is_some() {
                    o.rate = None;
                }
                if probe.delay.is_some() {
                    o.delay = None;
                }
                if probe.loss.is_some() {
                    o.loss = None;
                }
            }
        }
        Direction::Forward => f(l.forward.get_or_insert_with(Default::default)),
        Direction::Reverse => f(l.reverse.get_or_insert_with(Default::default)),
    }
}

fn expand_spec(s: &Scenario, sw: &SweepSpec, seed: Option<u64>) -> Vec<GridRun> {
    let seeds: Vec<Option<u64>> = match seed {
        Some(x) => vec![Some(x)],
        None => axis(&sw.seeds),
    };
    let (delays, is_rtt) = if sw.rtt.is_empty() {
        (axis(&sw.delay), false)
    } else {
        (axis(&sw.rtt), true)
    };
    let link = sw.link.clone().unwrap_or_default();
    let mut out = vec![];
    for rate in axis(&sw.rate) {
        for delay in &delays {
            for loss in axis(&sw.loss) {
                for cc in axis(&sw.cc) {
                    for sd in &seeds {
                        let mut sc = s.clone();
                        sc.compare = None;
                        sc.sweep = None;
                        let mut parts = vec![];
                        let mut p = Params {
                            seed: sd.unwrap_or(s.seed),
                            ..Default::default()
                        };
                        if let Some(c) = &cc {
                            parts.push(clean(c));
                            for f in &mut sc.flows {
                                if sw.flows.is_empty() || sw.flows.contains(&f.name) {
                                    f.cc = Some(c.clone());
                                }
                            }
                            p.cc = Some(c.clone());
                        }
                        if let Some(r) = &rate {
                            parts.push(format!("rate{}", clean(&r.text)));
                            let v = r.value;
                            set_dir(&mut sc, &link, sw.direction, |d| d.rate = Some(v));
                            p.rate = Some(r.text.clone());
                        }
                        if let Some(d) = delay {
                            let v = if is_rtt { Dur(d.value.0 / 2) } else { d.value };
                            let dir = if is_rtt {
                                Direction::Both
                            } else {
                                sw.direction
                            };
                            set_dir(&mut sc, &link, dir, |x| x.delay = Some(v));
                            p.delay_ms = Some(d.value.0 as f64 / 1e6);
                            if is_rtt {
                                parts.push(format!("rtt{}", clean(&d.text)));
                                p.rtt = Some(d.text.clone());
                            } else {
                                parts.push(format!("delay{}", clean(&d.text)));
                                p.delay = Some(d.text.clone());
                            }
                        }
                        if let Some(l) = &loss {
                            parts.push(format!("loss{}", clean(&l.text)));
                            let v = l.value;
                            set_dir(&mut sc, &link, sw.direction, |d| {
                                d.loss = Some(LossSpec::Bernoulli(v))
                            });
                            p.loss = Some(l.text.clone());
                            p.loss_fraction = Some(l.value.0);
                        }
                        let point = if parts.is_empty() {
                            "run".to_string()
                        } else {
                            parts.join("_")
                        };
                        if let Some(x) = sd {
                            parts.push(format!("seed{x}"));
                            sc.seed = *x;
                        }
                        if parts.is_empty() {
                            parts.push("run".into());
                        }
                        // A run judges what is about it alone; comparisons across runs are
                        // judged once the grid has run.
                        sc.expect.retain(|e| {
                            !e.across_runs() && e.when.as_ref().is_none_or(|w| w.matches(&p))
                        });
                        out.push(GridRun {
                            index: out.len(),
                            label: parts.join("_"),
                            point,
                            params: p,
                            scenario: sc,
                        });
                    }
                }
            }
        }
    }
    out
}

/// The runs of a comparison or sweep in grid order; `seed` (from `--seed`) replaces the
/// `seeds` axis. A plain scenario gives one run labelled `run`.
pub fn expand(s: &Scenario, seed: Option<u64>) -> Vec<GridRun> {
    expand_spec(s, &spec_of(s).unwrap_or_default(), seed)
}

/// The axes that vary: `cc`, `rate`, `delay`/`rtt`, `loss`, `seed` (for the manifest).
pub fn axes(s: &Scenario) -> Vec<String> {
    let Some(sw) = spec_of(s) else { return vec![] };
    let mut a = vec![];
    if !sw.cc.is_empty() {
        a.push("cc".to_string());
    }
    if !sw.rate.is_empty() {
        a.push("rate".into());
    }
    if !sw.delay.is_empty() {
        a.push("delay".into());
    }
    if !sw.rtt.is_empty() {
        a.push("rtt".into());
    }
    if !sw.loss.is_empty() {
        a.push("loss".into());
    }
    if !sw.seeds.is_empty() {
        a.push("seed".into());
    }
    a
}

#[cfg(test)]
mod tests;
