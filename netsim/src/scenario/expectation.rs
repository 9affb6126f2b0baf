//! The `expect:` list: what must hold at the end of a run, and the checks that an
//! expectation makes sense for its scenario (its flows, events and grid exist).
//!
//! Judging a run against these is [`crate::expect`]'s. The syntax is documented in
//! `netsim/SCENARIOS.md`.

use super::grid::{Params, SweepSpec, Val};
use super::units::{Dur, Prob, Rate};
use super::Scenario;
use serde::Deserialize;
use std::collections::BTreeSet;

/// One expectation; every field given is checked.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The flow it is about (all but `fairness_at_least`, `ratio` and `goodput_between`
    /// need one).
    #[serde(default)]
    pub flow: Option<String>,
    /// In a comparison or sweep: only the runs with these parameters (all runs otherwise).
    #[serde(default)]
    pub when: Option<RunFilter>,
    /// The handshake completes (`true`) or never does (`false`).
    #[serde(default)]
    pub connects: Option<bool>,
    /// The handshake completes within this time of the flow's start.
    #[serde(default)]
    pub connects_within: Option<Dur>,
    /// The connect attempt is reported failed within this time of the flow's start.
    #[serde(default)]
    pub fails_within: Option<Dur>,
    /// Mean goodput at least this.
    #[serde(default)]
    pub goodput_at_least: Option<Rate>,
    /// Mean goodput at most this.
    #[serde(default)]
    pub goodput_at_most: Option<Rate>,
    /// Goodput over a stretch of the run within bounds: of `flow`, or without it of all
    /// flows together.
    #[serde(default)]
    pub goodput_between: Option<Window>,
    /// Goodput back above a level soon after a scheduled link event.
    #[serde(default)]
    pub recovers: Option<Recovery>,
    /// The transfer completes within this time of the flow's start.
    #[serde(default)]
    pub completes_within: Option<Dur>,
    /// Every byte that arrived is in order and unaltered (and all of them, for `transfer`).
    #[serde(default)]
    pub byte_exact: Option<bool>,
    /// At least this fraction of messages is delivered.
    #[serde(default)]
    pub delivered_at_least: Option<Prob>,
    /// At most this fraction of messages is delivered (TTL drops happened).
    #[serde(default)]
    pub delivered_at_most: Option<Prob>,
    /// Jain's fairness index across flows at least this.
    #[serde(default)]
    pub fairness_at_least: Option<f64>,
    /// One flow's mean goodput over another's, in the same run.
    #[serde(default)]
    pub ratio: Option<Ratio>,
    /// In a comparison or sweep: `flow`'s mean goodput under one algorithm over its goodput
    /// under another, every other parameter equal.
    #[serde(default)]
    pub cc_ratio: Option<Ratio>,
}

/// `goodput_between: { from: 20s, to: 30s, at_least: 4Mbps, at_most: 6Mbps }`: the bytes
/// read in `[from, to]` (seconds since the run began) over its length.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Start of the stretch.
    pub from: Dur,
    /// End of the stretch.
    pub to: Dur,
    /// Lower bound.
    #[serde(default)]
    pub at_least: Option<Rate>,
    /// Upper bound.
    #[serde(default)]
    pub at_most: Option<Rate>,
}

/// `recovers: { after: 7s, within: 3s, above: 15Mbps }`: some whole second that starts at
/// or after the event scheduled at `after` and ends within `within` of it carries at least
/// `above` of goodput.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recovery {
    /// The time of a scheduled link event.
    pub after: Dur,
    /// How long the flow may take (at least the 1 s averaging window).
    pub within: Dur,
    /// The goodput it must be back to.
    pub above: Rate,
}

/// `{ of: A, to: B, at_least: 2, at_most: 5 }`: A's mean goodput over B's.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ratio {
    /// The numerator: a flow (`ratio`) or an algorithm (`cc_ratio`).
    pub of: String,
    /// The denominator, of the same kind.
    pub to: String,
    /// Lower bound.
    #[serde(default)]
    pub at_least: Option<f64>,
    /// Upper bound.
    #[serde(default)]
    pub at_most: Option<f64>,
}

/// `when: { cc: newreno, rtt: 200ms, loss: 1% }`: the grid runs with every given value.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunFilter {
    /// Congestion control.
    #[serde(default)]
    pub cc: Option<String>,
    /// Link rate.
    #[serde(default)]
    pub rate: Option<Val<Rate>>,
    /// One-way delay.
    #[serde(default)]
    pub delay: Option<Val<Dur>>,
    /// Round-trip time.
    #[serde(default)]
    pub rtt: Option<Val<Dur>>,
    /// Loss probability.
    #[serde(default)]
    pub loss: Option<Val<Prob>>,
}

/// Whether the run parameter written `have` (absent: not varied) is `want`.
fn same<T: PartialEq>(
    want: &Option<Val<T>>,
    have: &Option<String>,
    parse: fn(&str) -> Result<T, String>,
) -> bool {
    want.as_ref().is_none_or(|w| {
        have.as_deref()
            .and_then(|h| parse(h).ok())
            .is_some_and(|h| h == w.value)
    })
}

impl RunFilter {
    /// Whether a run with these parameters is one of the filter's.
    pub fn matches(&self, p: &Params) -> bool {
        self.cc.as_ref().is_none_or(|c| p.cc.as_ref() == Some(c))
            && same(&self.rate, &p.rate, Rate::parse)
            && same(&self.delay, &p.delay, Dur::parse)
            && same(&self.rtt, &p.rtt, Dur::parse)
            && same(&self.loss, &p.loss, Prob::parse)
    }

    /// Every given value must be one the grid runs with.
    fn check(&self, sw: &SweepSpec, at: &str) -> Result<(), String> {
        fn one<T: PartialEq>(
            field: &str,
            want: &Option<Val<T>>,
            axis: &[Val<T>],
            at: &str,
        ) -> Result<(), String> {
            match want {
                Some(w) if !axis.iter().any(|a| a.value == w.value) => Err(format!(
                    "{at}.when.{field}: `{}` is not a value of the grid's `{field}` axis ({})",
                    w.text,
                    if axis.is_empty() {
                        "it does not vary".to_string()
                    } else {
                        axis.iter()
                            .map(|a| a.text.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                )),
                _ => Ok(()),
            }
        }
        if let Some(c) = &self.cc {
            if !sw.cc.contains(c) {
                return Err(format!(
                    "{at}.when.cc: `{c}` is not one of the grid's algorithms ({})",
                    sw.cc.join(", ")
                ));
            }
        }
        one("rate", &self.rate, &sw.rate, at)?;
        one("delay", &self.delay, &sw.delay, at)?;
        one("rtt", &self.rtt, &sw.rtt, at)?;
        one("loss", &self.loss, &sw.loss, at)
    }
}

fn list(names: &BTreeSet<&str>) -> String {
    names.iter().copied().collect::<Vec<_>>().join(", ")
}

fn bounds<T>(lo: &Option<T>, hi: &Option<T>, at: &str) -> Result<(), String> {
    if lo.is_none() && hi.is_none() {
        return Err(format!("{at}: give `at_least`, `at_most` or both"));
    }
    Ok(())
}

fn check_ratio(r: &Ratio, known: &BTreeSet<&str>, what: &str, at: &str) -> Result<(), String> {
    bounds(&r.at_least, &r.at_most, at)?;
    for (field, name) in [("of", &r.of), ("to", &r.to)] {
        if !known.contains(name.as_str()) {
            return Err(format!(
                "{at}.{field}: unknown {what} `{name}`; known: {}",
                list(known)
            ));
        }
    }
    if r.of == r.to {
        return Err(format!("{at}: `of` and `to` are the same {what}"));
    }
    for b in [r.at_least, r.at_most].into_iter().flatten() {
        if !(b >= 0.0 && b.is_finite()) {
            return Err(format!("{at}: bounds must be finite numbers ≥ 0, got {b}"));
        }
    }
    Ok(())
}

impl Expectation {
    /// Checks the expectation `expect[i]` against its scenario; `grid` is the scenario's
    /// comparison or sweep, if any.
    pub(super) fn check(
        &self,
        i: usize,
        s: &Scenario,
        grid: Option<&SweepSpec>,
    ) -> Result<(), String> {
        let at = format!("expect[{i}]");
        let flows: BTreeSet<&str> = s.flows.iter().map(|f| f.name.as_str()).collect();
        match &self.flow {
            Some(name) if !flows.contains(name.as_str()) => {
                return Err(format!(
                    "{at}.flow: unknown flow `{name}`; known flows: {}",
                    list(&flows)
                ));
            }
            None if self.needs_flow() => {
                return Err(format!(
                    "{at}: needs `flow` (only `fairness_at_least`, `ratio` and \
                     `goodput_between` can be about several flows)"
                ));
            }
            _ => {}
        }
        if !self.needs_flow()
            && self.fairness_at_least.is_none()
            && self.ratio.is_none()
            && self.goodput_between.is_none()
        {
            return Err(format!("{at}: nothing to check"));
        }
        if let Some(w) = &self.goodput_between {
            let at = format!("{at}.goodput_between");
            bounds(&w.at_least, &w.at_most, &at)?;
            if w.from >= w.to {
                return Err(format!("{at}: `from` must be before `to`"));
            }
            if w.to > s.duration {
                return Err(format!("{at}.to: after the end of the scenario (duration)"));
            }
        }
        if let Some(r) = &self.recovers {
            let at = format!("{at}.recovers");
            if !s.events.iter().any(|e| e.at == r.after) {
                let times: Vec<String> = s
                    .events
                    .iter()
                    .map(|e| format!("{} s", e.at.secs()))
                    .collect();
                return Err(format!(
                    "{at}.after: no link event is scheduled at {} s; events at: {}",
                    r.after.secs(),
                    if times.is_empty() {
                        "none".to_string()
                    } else {
                        times.join(", ")
                    }
                ));
            }
            if r.within < Dur(1_000_000_000) {
                return Err(format!(
                    "{at}.within: at least 1s (goodput is averaged over a second)"
                ));
            }
        }
        if let Some(r) = &self.ratio {
            if self.flow.is_some() {
                return Err(format!(
                    "{at}.ratio: names its flows in `of` and `to`; drop `flow`"
                ));
            }
            check_ratio(r, &flows, "flow", &format!("{at}.ratio"))?;
        }
        match grid {
            None if self.when.is_some() => Err(format!(
                "{at}.when: only for a scenario with `compare` or `sweep`"
            )),
            None if self.cc_ratio.is_some() => Err(format!(
                "{at}.cc_ratio: only for a scenario with `compare` or `sweep` over `cc`"
            )),
            None => Ok(()),
            Some(sw) => {
                if let Some(w) = &self.when {
                    w.check(sw, &at)?;
                }
                if let Some(r) = &self.cc_ratio {
                    let ccs: BTreeSet<&str> = sw.cc.iter().map(|c| c.as_str()).collect();
                    check_ratio(r, &ccs, "algorithm of the grid", &format!("{at}.cc_ratio"))?;
                    if self.when.as_ref().is_some_and(|w| w.cc.is_some()) {
                        return Err(format!(
                            "{at}.when.cc: `cc_ratio` names its algorithms in `of` and `to`"
                        ));
                    }
                }
                Ok(())
            }
        }
    }

    /// Whether it has a check that is only about one flow.
    fn needs_flow(&self) -> bool {
        self.connects.is_some()
            || self.connects_within.is_some()
            || self.fails_within.is_some()
            || self.goodput_at_least.is_some()
            || self.goodput_at_most.is_some()
            || self.recovers.is_some()
            || self.completes_within.is_some()
            || self.byte_exact.is_some()
            || self.delivered_at_least.is_some()
            || self.delivered_at_most.is_some()
            || self.cc_ratio.is_some()
    }

    /// Whether it compares runs of a grid (judged once the grid has run, not per run).
    pub fn across_runs(&self) -> bool {
        self.cc_ratio.is_some()
    }
}
