//! Expectations: what a scenario says must hold, judged on the run's product
//! ([`reports::RunData`]) with the numbers its summary shows (goodput, Jain's index), and on
//! what only the simulator knows (message workloads, fairness phases).

use crate::scenario::{Expectation, Scenario};
use crate::summary::{MessageSummary, Summary};
use reports::summary::FlowSummary;
use reports::{Check, FlowTotals, RunData};

fn check(out: &mut Vec<Check>, what: String, passed: bool, observed: String) {
    out.push(Check {
        what,
        passed,
        observed,
    });
}

/// Checks every expectation of `s` against the run `run` and the simulator's account `sim`.
pub fn evaluate(s: &Scenario, run: &RunData, sim: &Summary) -> Vec<Check> {
    let summary = reports::summarise(run);
    let mut out = vec![];
    for e in &s.expect {
        if let Some(min) = e.fairness_at_least {
            // Every phase with two or more flows must be fair; without such
            // phases, the whole run's index stands in.
            let worst = sim
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
                        sim.fairness_phases.len()
                    ),
                ),
                None => (
                    summary.jain_fairness.is_some_and(|j| j >= min),
                    format!("{:?} over the whole run", summary.jain_fairness),
                ),
            };
            check(
                &mut out,
                format!("fairness_at_least {min}"),
                passed,
                observed,
            );
        }
        let Some(name) = &e.flow else { continue };
        let k = run
            .flows
            .iter()
            .position(|f| &f.name == name)
            .expect("validated: flow exists");
        let flow = FlowView {
            name,
            totals: &run.flows[k].totals,
            summary: &summary.flows[k],
            messages: sim.messages_of(name),
        };
        flow_checks(&mut out, e, &flow);
    }
    out
}

/// What the expectations of one flow look at.
struct FlowView<'a> {
    name: &'a str,
    totals: &'a FlowTotals,
    summary: &'a FlowSummary,
    messages: Option<&'a MessageSummary>,
}

fn flow_checks(out: &mut Vec<Check>, e: &Expectation, v: &FlowView) {
    let (n, f) = (v.name, v.totals);
    let goodput = v.summary.goodput_mbps.mean.unwrap_or(0.0);
    let conn = match (f.connect_time_s, &f.connect_failure) {
        (Some(t), _) => format!("connected after {t:.3} s"),
        (None, Some((t, why))) => format!("failed after {t:.3} s: {why}"),
        (None, None) => "never connected, no failure reported".into(),
    };
    if let Some(want) = e.connects {
        check(
            out,
            format!("{n}: connects {want}"),
            f.connected == want,
            conn.clone(),
        );
    }
    if let Some(d) = e.connects_within {
        let ok = f.connect_time_s.is_some_and(|t| t <= d.secs());
        check(
            out,
            format!("{n}: connects_within {} s", d.secs()),
            ok,
            conn.clone(),
        );
    }
    if let Some(d) = e.fails_within {
        let ok = !f.connected
            && f.connect_failure
                .as_ref()
                .is_some_and(|(t, _)| *t <= d.secs());
        check(
            out,
            format!("{n}: fails_within {} s", d.secs()),
            ok,
            conn.clone(),
        );
    }
    if let Some(r) = e.goodput_at_least {
        let want = r.0 as f64 / 1e6;
        check(
            out,
            format!("{n}: goodput_at_least {want} Mbit/s"),
            goodput >= want,
            format!("{goodput:.3} Mbit/s"),
        );
    }
    if let Some(d) = e.completes_within {
        let ok = f.completion_time_s.is_some_and(|t| t <= d.secs());
        let obs = f.completion_time_s.map_or("did not complete".into(), |t| {
            format!("completed after {t:.3} s")
        });
        check(
            out,
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
            format!("{n}: byte_exact {want}"),
            f.byte_exact == want && f.bytes_received > 0,
            obs,
        );
    }
    let ratio = v.messages.map(|m| {
        if m.sent == 0 {
            0.0
        } else {
            m.received as f64 / m.sent as f64
        }
    });
    let obs = v.messages.map_or("no messages".into(), |m| {
        format!("{} of {} delivered", m.received, m.sent)
    });
    if let Some(p) = e.delivered_at_least {
        let ok = ratio.is_some_and(|r| r >= p.0);
        check(
            out,
            format!("{n}: delivered_at_least {}%", p.0 * 100.0),
            ok,
            obs.clone(),
        );
    }
    if let Some(p) = e.delivered_at_most {
        let ok = ratio.is_some_and(|r| r <= p.0);
        check(
            out,
            format!("{n}: delivered_at_most {}%", p.0 * 100.0),
            ok,
            obs,
        );
    }
}
