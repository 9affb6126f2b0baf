//! Expectations: what a scenario says must hold, judged on the run's product
//! ([`reports::RunData`]) with the numbers its summary shows (goodput, Jain's index), and on
//! what only the simulator knows (message workloads, fairness phases). [`evaluate_grid`]
//! judges the comparisons between the runs of a grid.

use crate::scenario::grid::Params;
use crate::scenario::{Expectation, Ratio, Recovery, Scenario, Window};
use crate::summary::{MessageSummary, Summary};
use reports::summary::FlowSummary;
use reports::{Check, FlowPoint, FlowTotals, RunData, RunSummary};

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
        if let Some(r) = &e.ratio {
            let mean = |name: &str| flow_goodput(&summary, name);
            ratio_check(&mut out, "ratio", r, mean(&r.of), mean(&r.to));
        }
        let Some(name) = &e.flow else {
            if let Some(w) = &e.goodput_between {
                let all: Vec<&[FlowPoint]> = run.flows.iter().map(|f| &f.samples[..]).collect();
                window_check(&mut out, "all flows", w, &all);
            }
            continue;
        };
        let k = run
            .flows
            .iter()
            .position(|f| &f.name == name)
            .expect("validated: flow exists");
        let flow = FlowView {
            name,
            whole: s
                .flows
                .iter()
                .any(|f| &f.name == name && f.transfer.is_some()),
            samples: &run.flows[k].samples,
            totals: &run.flows[k].totals,
            summary: &summary.flows[k],
            messages: sim.messages_of(name),
        };
        flow_checks(&mut out, e, &flow);
    }
    out
}

/// A flow's mean goodput in a run's summary (0 when it is not there).
fn flow_goodput(s: &RunSummary, name: &str) -> f64 {
    s.flows
        .iter()
        .find(|f| f.name == name)
        .and_then(|f| f.goodput_mbps.mean)
        .unwrap_or(0.0)
}

/// Checks `of / to` against the ratio's bounds.
fn ratio_check(out: &mut Vec<Check>, kind: &str, r: &Ratio, of: f64, to: f64) {
    let q = if to > 0.0 { of / to } else { f64::INFINITY };
    let mut what = format!("{kind} {} / {}", r.of, r.to);
    if let Some(lo) = r.at_least {
        what += &format!(" at least {lo}");
    }
    if let Some(hi) = r.at_most {
        what += &format!(" at most {hi}");
    }
    let ok = r.at_least.is_none_or(|lo| q >= lo) && r.at_most.is_none_or(|hi| q <= hi);
    check(out, what, ok, format!("{q:.3} ({of:.3} / {to:.3} Mbit/s)"));
}

/// Judges the `cc_ratio` expectations of a grid on its runs (parameters and summaries, in
/// grid order): once per set of the other parameters, each labelled with them. A comparison
/// whose runs are not all here (another shard ran them) is left out.
pub fn evaluate_grid(s: &Scenario, runs: &[(&Params, &RunSummary)]) -> Vec<(String, Check)> {
    let mut out = vec![];
    for e in &s.expect {
        let (Some(r), Some(flow)) = (&e.cc_ratio, &e.flow) else {
            continue;
        };
        let rest = |p: &Params| Params {
            cc: None,
            ..p.clone()
        };
        let mut groups: Vec<Params> = vec![];
        for (p, _) in runs {
            let g = rest(p);
            if !groups.contains(&g) && e.when.as_ref().is_none_or(|w| w.matches(&g)) {
                groups.push(g);
            }
        }
        for g in groups {
            let find = |cc: &str| {
                runs.iter()
                    .find(|(p, _)| p.cc.as_deref() == Some(cc) && rest(p) == g)
                    .map(|(_, s)| flow_goodput(s, flow))
            };
            let (Some(of), Some(to)) = (find(&r.of), find(&r.to)) else {
                continue;
            };
            let mut checks = vec![];
            ratio_check(&mut checks, &format!("{flow}: cc_ratio"), r, of, to);
            out.extend(checks.into_iter().map(|c| (group_label(&g), c)));
        }
    }
    out
}

/// The parameters a group of runs shares, as in run labels (`rtt200ms_loss1pct`).
fn group_label(p: &Params) -> String {
    let mut parts = vec![];
    for (k, v) in p.written() {
        if let (Some(v), false) = (v, k == "cc") {
            parts.push(format!("{k}{}", v.replace('%', "pct")));
        }
    }
    parts.push(format!("seed{}", p.seed));
    parts.join("_")
}

/// The bytes the flow had read `t` seconds into the run, interpolated between samples.
fn bytes_at(samples: &[FlowPoint], t: f64) -> f64 {
    let mut prev = (0.0, 0.0);
    for s in samples {
        let now = (s.t_s, s.bytes_recv as f64);
        if s.t_s >= t {
            let span = now.0 - prev.0;
            return if span > 0.0 {
                prev.1 + (now.1 - prev.1) * (t - prev.0) / span
            } else {
                now.1
            };
        }
        prev = now;
    }
    prev.1
}

/// Goodput between `from` and `to` seconds, Mbit/s.
fn goodput_in(samples: &[FlowPoint], from: f64, to: f64) -> f64 {
    (bytes_at(samples, to) - bytes_at(samples, from)) * 8.0 / (to - from) / 1e6
}

/// Checks the goodput of these flows together in the window.
fn window_check(out: &mut Vec<Check>, n: &str, w: &Window, flows: &[&[FlowPoint]]) {
    let (from, to) = (w.from.secs(), w.to.secs());
    let g: f64 = flows.iter().map(|s| goodput_in(s, from, to)).sum();
    let lo = w.at_least.map(|r| r.0 as f64 / 1e6);
    let hi = w.at_most.map(|r| r.0 as f64 / 1e6);
    let mut what = format!("{n}: goodput_between {from}-{to} s");
    if let Some(lo) = lo {
        what += &format!(" at least {lo} Mbit/s");
    }
    if let Some(hi) = hi {
        what += &format!(" at most {hi} Mbit/s");
    }
    let ok = lo.is_none_or(|lo| g >= lo) && hi.is_none_or(|hi| g <= hi);
    check(out, what, ok, format!("{g:.3} Mbit/s"));
}

/// The first whole second after the event whose goodput reaches the level.
fn recovery_check(out: &mut Vec<Check>, n: &str, r: &Recovery, samples: &[FlowPoint]) {
    let (t0, want) = (r.after.secs(), r.above.0 as f64 / 1e6);
    let end = t0 + r.within.secs();
    let seconds = samples
        .iter()
        .map(|s| s.t_s)
        .filter(|&t| t - 1.0 >= t0 - 1e-9 && t <= end + 1e-9)
        .map(|t| (t, goodput_in(samples, t - 1.0, t)));
    let back = seconds.clone().find(|&(_, g)| g >= want);
    let best = seconds.map(|(_, g)| g).fold(0.0, f64::max);
    let obs = match back {
        Some((t, g)) => format!(
            "{g:.3} Mbit/s in {:.1}-{t:.1} s, {:.1} s after the event",
            t - 1.0,
            t - t0
        ),
        None => format!("best second in {t0}-{end} s: {best:.3} Mbit/s"),
    };
    check(
        out,
        format!(
            "{n}: recovers above {want} Mbit/s within {} s after {t0} s",
            r.within.secs()
        ),
        back.is_some(),
        obs,
    );
}

/// What the expectations of one flow look at.
struct FlowView<'a> {
    name: &'a str,
    /// Its workload is a `transfer`, so every byte must arrive, not only arrive unaltered.
    whole: bool,
    samples: &'a [FlowPoint],
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
    if let Some(r) = e.goodput_at_most {
        let want = r.0 as f64 / 1e6;
        check(
            out,
            format!("{n}: goodput_at_most {want} Mbit/s"),
            goodput <= want,
            format!("{goodput:.3} Mbit/s"),
        );
    }
    if let Some(w) = &e.goodput_between {
        window_check(out, n, w, &[v.samples]);
    }
    if let Some(r) = &e.recovers {
        recovery_check(out, n, r, v.samples);
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
        // A flow sending for a time may be cut off by the end of the run: what arrived must
        // be exact. A transfer must also arrive whole.
        let exact = if v.whole { f.byte_exact } else { !f.corrupted };
        let obs = format!(
            "{} of {} bytes, {}",
            f.bytes_received,
            f.bytes_sent,
            match (f.corrupted, f.byte_exact) {
                (true, _) => "some altered",
                (false, true) => "all, none altered",
                (false, false) => "none altered",
            }
        );
        check(
            out,
            format!("{n}: byte_exact {want}"),
            exact == want && f.bytes_received > 0,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::units::{Dur, Rate};
    use reports::summary::FlowSummary;

    /// One sample per 100 ms; the flow reads `mbps[i]` during interval i.
    fn series(mbps: &[f64]) -> Vec<FlowPoint> {
        let mut bytes = 0.0;
        mbps.iter()
            .enumerate()
            .map(|(i, m)| {
                bytes += m * 1e6 / 8.0 * 0.1;
                FlowPoint {
                    t_s: (i + 1) as f64 * 0.1,
                    bytes_recv: bytes as u64,
                    ..Default::default()
                }
            })
            .collect()
    }

    const SEC: u64 = 1_000_000_000;

    #[test]
    fn window_goodput_interpolates_between_samples() {
        let s = series(&[10.0; 20]);
        assert!((goodput_in(&s, 0.0, 2.0) - 10.0).abs() < 1e-6);
        assert!((goodput_in(&s, 0.05, 0.15) - 10.0).abs() < 1e-6);
        // After the last sample nothing more arrives.
        assert!((goodput_in(&s, 2.0, 3.0)).abs() < 1e-9);
    }

    #[test]
    fn recovery_needs_a_whole_second_at_the_level_in_time() {
        // Down from 1 s to 2 s, then 2 s at 4 Mbit/s, then 8 Mbit/s.
        let mut m = vec![8.0; 10];
        m.extend([0.0; 10]);
        m.extend([4.0; 20]);
        m.extend([8.0; 20]);
        let s = series(&m);
        let judge = |within: u64, above: u64| {
            let mut out = vec![];
            let r = Recovery {
                after: Dur(2 * SEC),
                within: Dur(within * SEC),
                above: Rate(above * 1_000_000),
            };
            recovery_check(&mut out, "f", &r, &s);
            out[0].passed
        };
        assert!(judge(1, 4));
        assert!(!judge(1, 5));
        assert!(!judge(2, 8), "the second 4-5 s ends 3 s after the event");
        assert!(judge(3, 8));
    }

    #[test]
    fn byte_exact_asks_a_transfer_for_every_byte_and_a_timed_flow_for_what_arrived() {
        let judge = |whole: bool, byte_exact: bool, corrupted: bool| {
            let totals = FlowTotals {
                bytes_sent: 100,
                bytes_received: 60,
                byte_exact,
                corrupted,
                ..Default::default()
            };
            let e = Expectation {
                byte_exact: Some(true),
                ..Default::default()
            };
            let mut out = vec![];
            let view = FlowView {
                name: "f",
                whole,
                samples: &[],
                totals: &totals,
                summary: &FlowSummary::default(),
                messages: None,
            };
            flow_checks(&mut out, &e, &view);
            out[0].passed
        };
        assert!(
            judge(false, false, false),
            "cut off by the end, nothing altered"
        );
        assert!(!judge(false, false, true));
        assert!(!judge(true, false, false), "a transfer must arrive whole");
        assert!(judge(true, true, false));
    }

    #[test]
    fn ratio_bounds_and_a_silent_denominator() {
        let r = |lo: Option<f64>, hi: Option<f64>, of: f64, to: f64| {
            let mut out = vec![];
            let r = Ratio {
                of: "a".into(),
                to: "b".into(),
                at_least: lo,
                at_most: hi,
            };
            ratio_check(&mut out, "ratio", &r, of, to);
            out[0].passed
        };
        assert!(r(Some(2.0), None, 4.0, 2.0));
        assert!(!r(Some(2.0), None, 3.0, 2.0));
        assert!(r(None, Some(1.5), 3.0, 2.0));
        assert!(!r(Some(0.5), Some(1.4), 3.0, 2.0));
        assert!(
            r(Some(10.0), None, 1.0, 0.0),
            "nothing over nothing-moved is unbounded"
        );
        assert!(!r(None, Some(10.0), 1.0, 0.0));
    }
}
