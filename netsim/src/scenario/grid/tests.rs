use super::*;

const BASE: &str = r#"
name: t
duration: 1s
hosts:
  a: { address: 10.0.0.1 }
  b: { address: 10.0.0.2 }
links:
  - { name: wan, between: [a, b], rate: 10Mbps, delay: 5ms, forward: { loss: { bernoulli: 3% } } }
flows:
  - { name: f1, from: a, to: "b:9000", send_for: 1s }
  - { name: f2, from: a, to: "b:9001", send_for: 1s, cc: bbr }
"#;

fn parse(extra: &str) -> Result<Scenario, String> {
    Scenario::parse("t.yaml", &format!("{BASE}{extra}")).map_err(|e| e.to_string())
}

#[test]
fn grid_expands_in_order_with_labels_and_values() {
    let s = parse(
        "sweep: { link: wan, loss: [0.1%, 1%], rtt: [10ms, 100ms], rate: [5Mbps], seeds: [1, 2], cc: [udt, cubic], flows: [f1] }\n",
    )
    .unwrap();
    let runs = expand(&s, None);
    assert_eq!(runs.len(), 2 * 2 * 2 * 2);
    assert_eq!(runs[0].label, "udt_rate5Mbps_rtt10ms_loss0.1pct_seed1");
    assert_eq!(runs[1].label, "udt_rate5Mbps_rtt10ms_loss0.1pct_seed2");
    assert_eq!(runs[2].label, "cubic_rate5Mbps_rtt10ms_loss0.1pct_seed1");
    assert_eq!(runs[15].label, "cubic_rate5Mbps_rtt100ms_loss1pct_seed2");
    // The seeds of one point share it.
    assert_eq!(runs[0].point, "udt_rate5Mbps_rtt10ms_loss0.1pct");
    assert_eq!(runs[1].point, runs[0].point);
    for (i, r) in runs.iter().enumerate() {
        assert_eq!(r.index, i);
        assert!(r.scenario.sweep.is_none() && r.scenario.compare.is_none());
    }
    let r = &runs[15].scenario;
    assert_eq!(r.seed, 2);
    assert_eq!(r.flows[0].cc.as_deref(), Some("cubic"));
    assert_eq!(
        r.flows[1].cc.as_deref(),
        Some("bbr"),
        "f2 is not in `flows`"
    );
    let l = &r.links[0];
    for d in 0..2 {
        let spec = l.dir(d);
        assert_eq!(spec.delay, Some(Dur(50_000_000)), "rtt/2 each way");
        assert_eq!(spec.rate, Some(Rate(5_000_000)));
        assert!(
            matches!(spec.loss, Some(LossSpec::Bernoulli(Prob(p))) if (p - 0.01).abs() < 1e-12)
        );
    }
    assert_eq!(runs[15].params.loss_fraction, Some(0.01));
    // --seed replaces the seeds axis.
    assert_eq!(expand(&s, Some(7)).len(), 8);
    assert!(expand(&s, Some(7)).iter().all(|r| r.scenario.seed == 7));
}

#[test]
fn compare_overrides_every_flow_or_the_named_ones() {
    let s = parse("compare: [udt, cubic, 'fixed:20']\n").unwrap();
    let runs = expand(&s, None);
    let labels: Vec<&str> = runs.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["udt", "cubic", "fixed-20"]);
    assert_eq!(runs[1].point, "cubic", "no seeds: a run is its own point");
    assert!(runs[1]
        .scenario
        .flows
        .iter()
        .all(|f| f.cc.as_deref() == Some("cubic")));
    let s = parse("compare: { cc: [vegas], flows: [f2] }\n").unwrap();
    let r = &expand(&s, None)[0].scenario;
    assert_eq!(r.flows[0].cc, None);
    assert_eq!(r.flows[1].cc.as_deref(), Some("vegas"));
    assert_eq!(expand(&parse("").unwrap(), None).len(), 1);
}

#[test]
fn bad_grids_are_rejected_with_the_field() {
    for (extra, want) in [
        (
            "compare: [udt, tahoe]\n",
            "unknown congestion control `tahoe`",
        ),
        ("sweep: { loss: [1%] }\n", "sweep.link"),
        ("sweep: { link: lan, loss: [1%] }\n", "unknown link `lan`"),
        (
            "sweep: { link: wan, delay: [1ms], rtt: [2ms] }\n",
            "not both",
        ),
        (
            "sweep: { cc: [udt], flows: [nope] }\n",
            "unknown flow `nope`",
        ),
        ("sweep: { cc: [udt, udt] }\n", "share the label"),
        ("sweep: { link: wan, loss: [lots] }\n", "sweep.loss: `lots`"),
        ("compare: [udt]\nsweep: { cc: [udt] }\n", "not both"),
    ] {
        let e = parse(extra).unwrap_err();
        assert!(e.contains(want), "{extra}: {e}");
    }
}

#[test]
fn forward_only_values_keep_the_reverse_direction() {
    let s = parse("sweep: { link: wan, direction: forward, loss: [2%], delay: [7ms] }\n").unwrap();
    let l = &expand(&s, None)[0].scenario.links[0];
    assert!(matches!(l.dir(0).loss, Some(LossSpec::Bernoulli(Prob(p))) if p == 0.02));
    assert_eq!(l.dir(0).delay, Some(Dur(7_000_000)));
    assert!(l.dir(1).loss.is_none());
    assert_eq!(l.dir(1).delay, Some(Dur(5_000_000)));
    // Both directions: the forward override is cleared so the swept value applies.
    let s = parse("sweep: { link: wan, loss: [2%] }\n").unwrap();
    let l = &expand(&s, None)[0].scenario.links[0];
    for d in 0..2 {
        assert!(matches!(l.dir(d).loss, Some(LossSpec::Bernoulli(Prob(p))) if p == 0.02));
    }
}
