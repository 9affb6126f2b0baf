//! Expectations: what a scenario says must hold, checked against the run's summary.

use crate::scenario::{Expectation, Scenario};
use crate::summary::{FlowSummary, Summary};

/// The outcome of one check.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CheckResult {
    /// Index in `expect`.
    pub index: usize,
    /// What was checked, e.g. `bulk: goodput_at_least 30 Mbit/s`.
    pub what: String,
    /// Whether it held.
    pub passed: bool,
    /// What was observed.
    pub observed: String,
}

fn check(out: &mut Vec<CheckResult>, index: usize, what: String, passed: bool, observed: String) {
    out.push(CheckResult {
        index,
        what,
        passed,
        observed,
    });
}

/// Checks every expectation of `s` against `sum`.
pub fn evaluate(s: &Scenario, sum: &Summary) -> Vec<CheckResult> {
    let mut out = vec![];
    for (i, e) in s.expect.iter().enumerate() {
        if let Some(min) = e.fairness_at_least {
            // Every phase with two or more flows must be fair; without such
            // phases, the whole run's index stands in.
            let worst = sum
                .fairness_phases
                .iter()
                .filter_map(|p| p.jain.map(|j| (j, p)))
                .min_by(|x, y| x.0.total_cmp(&y.0));
            let (passed, observed) = match worst {
                Some((j, p)) => (
                    j >= min,
                    format!(
                        "lowest {j:.4} in {:.1}-{:.1} s ({}) over {} phases",
                        p.start_s,
                        p.end_s,
                        p.flows.join(", "),
                        sum.fairness_phases.len()
                    ),
                ),
                None => (
                    sum.jain_fairness.is_some_and(|j| j >= min),
                    format!("{:?} over the whole run", sum.jain_fairness),
                ),
            };
            check(
                &mut out,
                i,
                format!("fairness_at_least {min}"),
                passed,
                observed,
            );
        }
        let Some(name) = &e.flow else { continue };
        let f = sum
            .flows
            .iter()
            .find(|f| &f.name == name)
            .expect("validated: flow exists");
        flow_checks(&mut out, i, e, f);
    }
    out
}

fn flow_checks(out: &mut Vec<CheckResult>, i: usize, e: &Expectation, f: &FlowSummary) {
    let n = &f.name;
    let conn = match (f.connect_time_s, &f.failed) {
        (Some(t), _) => format!("connected after {t:.3} s"),
        (None, Some((t, why))) => format!("failed after {t:.3} s: {why}"),
        (None, None) => "never connected, no failure reported".into(),
    };
    if let Some(want) = e.connects {
        check(
            out,
            i,
            format!("{n}: connects {want}"),
            f.connected == want,
            conn.clone(),
        );
    }
    if let Some(d) = e.connects_within {
        let ok = f.connect_time_s.is_some_and(|t| t <= d.secs());
        check(
            out,
            i,
            format!("{n}: connects_within {} s", d.secs()),
            ok,
            conn.clone(),
        );
    }
    if let Some(d) = e.fails_within {
        let ok = !f.connected && f.failed.as_ref().is_some_and(|(t, _)| *t <= d.secs());
        check(
            out,
            i,
            format!("{n}: fails_within {} s", d.secs()),
            ok,
            conn.clone(),
        );
    }
    if let Some(r) = e.goodput_at_least {
        let want = r.0 as f64 / 1e6;
        check(
            out,
            i,
            format!("{n}: goodput_at_least {want} Mbit/s"),
            f.mean_goodput_mbps >= want,
            format!("{:.3} Mbit/s", f.mean_goodput_mbps),
        );
    }
    if let Some(d) = e.completes_within {
        let ok = f.completion_time_s.is_some_and(|t| t <= d.secs());
        let obs = f.completion_time_s.map_or("did not complete".into(), |t| {
            format!("completed after {t:.3} s")
        });
        check(
            out,
            i,
            format!("{n}: completes_within {} s", d.secs()),
            ok,
            obs,
        );
    }
    if let Some(want) = e.byte_exact {
        let obs = format!(
            "{} of {} bytes, exact: {}",
            f.bytes_received, f.bytes_sent, f.byte_exact
        );
        check(
            out,
            i,
            format!("{n}: byte_exact {want}"),
            f.byte_exact == want && f.bytes_received > 0,
            obs,
        );
    }
    let ratio = f.messages.as_ref().map(|m| {
        if m.sent == 0 {
            0.0
        } else {
            m.received as f64 / m.sent as f64
        }
    });
    let obs = f.messages.as_ref().map_or("no messages".into(), |m| {
        format!("{} of {} delivered", m.received, m.sent)
    });
    if let Some(p) = e.delivered_at_least {
        let ok = ratio.is_some_and(|r| r >= p.0);
        check(
            out,
            i,
            format!("{n}: delivered_at_least {}%", p.0 * 100.0),
            ok,
            obs.clone(),
        );
    }
    if let Some(p) = e.delivered_at_most {
        let ok = ratio.is_some_and(|r| r <= p.0);
        check(
            out,
            i,
            format!("{n}: delivered_at_most {}%", p.0 * 100.0),
            ok,
            obs,
        );
    }
}
