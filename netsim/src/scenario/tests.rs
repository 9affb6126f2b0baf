use super::*;

const GOOD: &str = "\
name: t
duration: 10s
hosts:
  a: { address: 10.0.0.1 }
  b: { address: 10.0.0.2 }
links:
  - between: [a, b]
    rate: 10Mbps
    delay: 5ms
flows:
  - { name: f, from: a, to: b:9000, transfer: 1MiB }
expect:
  - { flow: f, byte_exact: true }
";

fn err(text: &str) -> String {
    Scenario::parse("s.yaml", text).unwrap_err().to_string()
}

#[test]
fn good_scenario_parses() {
    let s = Scenario::parse("s.yaml", GOOD).unwrap();
    assert_eq!(s.links[0].dir(0).rate, Some(units::Rate(10_000_000)));
    assert_eq!(s.flows[0].transfer, Some(units::Size(1 << 20)));
}

#[test]
fn unknown_field_names_file_line_column_and_field() {
    let e = err(&GOOD.replace("    delay: 5ms", "    delya: 5ms"));
    assert!(e.starts_with("s.yaml:9:5: "), "{e}");
    assert!(e.contains("links[0]"), "{e}");
    assert!(e.contains("unknown field `delya`"), "{e}");
    assert!(e.contains("expected one of"), "{e}");
}

#[test]
fn bad_units_negative_delay_and_too_much_loss() {
    let e = err(&GOOD.replace("10Mbps", "10 furlongs"));
    assert!(
        e.starts_with("s.yaml:8:11: ")
            && e.contains("links[0].rate")
            && e.contains("unknown rate unit"),
        "{e}"
    );
    let e = err(&GOOD.replace("5ms", "-5ms"));
    assert!(e.starts_with("s.yaml:9:") && e.contains("negative"), "{e}");
    let e = err(&GOOD.replace("    delay: 5ms", "    loss: { bernoulli: 150% }"));
    assert!(
        e.starts_with("s.yaml:9:") && e.contains("more than 100%"),
        "{e}"
    );
}

#[test]
fn malformed_yaml_and_semantic_errors() {
    let e = err("name: [unclosed\n");
    assert!(e.starts_with("s.yaml:"), "{e}");
    let e = err(&GOOD.replace("to: b:9000", "to: c:9000"));
    assert!(e.contains("flows[0] (f).to: unknown host `c`"), "{e}");
    let e = err(&GOOD.replace("flow: f,", "flow: g,"));
    assert!(e.contains("expect[0].flow: unknown flow `g`"), "{e}");
    let e = Scenario::load(std::path::Path::new("/nonexistent/x.yaml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/x.yaml: cannot read"), "{e}");
}

/// GOOD as a sweep with two flows and an outage, whose one expectation is `expectation`.
fn grid(expectation: &str) -> String {
    GOOD.replace(
        "flows:\n  - { name: f, from: a, to: b:9000, transfer: 1MiB }\nexpect:\n  - { flow: f, byte_exact: true }\n",
        &format!(
            "flows:
  - {{ name: f, from: a, to: b:9000, send_for: 10s }}
  - {{ name: g, from: a, to: b:9001, send_for: 10s }}
events:
  - {{ at: 4s, link: a-b, up: false }}
  - {{ at: 5s, link: a-b, up: true }}
sweep: {{ link: a-b, rtt: [10ms, 50ms], cc: [udt, newreno] }}
expect:
  - {expectation}
"
        ),
    )
}

fn grid_err(expectation: &str) -> String {
    err(&grid(expectation))
}

#[test]
fn new_expectation_kinds_parse() {
    for e in [
        "{ flow: f, goodput_between: { from: 1s, to: 4s, at_least: 1Mbps, at_most: 9Mbps } }",
        "{ goodput_between: { from: 1s, to: 4s, at_least: 1Mbps } }",
        "{ flow: f, recovers: { after: 5s, within: 2s, above: 5Mbps } }",
        "{ when: { cc: newreno, rtt: 50ms }, ratio: { of: f, to: g, at_most: 2 } }",
        "{ flow: f, when: { rtt: 10ms }, cc_ratio: { of: udt, to: newreno, at_least: 0.5 } }",
        "{ flow: f, when: { cc: udt }, goodput_at_most: 9Mbps }",
    ] {
        Scenario::parse("s.yaml", &grid(e)).unwrap_or_else(|x| panic!("{e}: {x}"));
    }
}

#[test]
fn bad_expectation_fields_are_named() {
    let cases = [
        // A misspelt field inside a kind: serde names it, with line and column.
        (
            "{ flow: f, goodput_between: { from: 1s, to: 4s, at_lest: 1Mbps } }",
            "unknown field `at_lest`",
        ),
        (
            "{ flow: f, recovers: { after: 5s, within: 2s } }",
            "missing field `above`",
        ),
        (
            "{ flow: f, goodput_between: { from: 4s, to: 1s, at_least: 1Mbps } }",
            "expect[0].goodput_between: `from` must be before `to`",
        ),
        (
            "{ flow: f, goodput_between: { from: 1s, to: 11s, at_least: 1Mbps } }",
            "expect[0].goodput_between.to: after the end",
        ),
        (
            "{ flow: f, goodput_between: { from: 1s, to: 4s } }",
            "give `at_least`, `at_most` or both",
        ),
        (
            "{ flow: f, recovers: { after: 6s, within: 2s, above: 1Mbps } }",
            "expect[0].recovers.after: no link event is scheduled at 6 s; events at: 4 s, 5 s",
        ),
        (
            "{ flow: f, recovers: { after: 5s, within: 500ms, above: 1Mbps } }",
            "expect[0].recovers.within: at least 1s",
        ),
        (
            "{ ratio: { of: f, to: h, at_least: 1 } }",
            "expect[0].ratio.to: unknown flow `h`",
        ),
        (
            "{ flow: f, ratio: { of: f, to: g, at_least: 1 } }",
            "drop `flow`",
        ),
        (
            "{ ratio: { of: f, to: f, at_least: 1 } }",
            "`of` and `to` are the same flow",
        ),
        (
            "{ when: { rtt: 30ms }, flow: f, connects: true }",
            "expect[0].when.rtt: `30ms` is not a value of the grid's `rtt` axis (10ms, 50ms)",
        ),
        (
            "{ when: { loss: 1% }, flow: f, connects: true }",
            "expect[0].when.loss: `1%` is not a value of the grid's `loss` axis (it does not vary)",
        ),
        (
            "{ when: { cc: bbr }, flow: f, connects: true }",
            "expect[0].when.cc: `bbr` is not one of the grid's algorithms (udt, newreno)",
        ),
        (
            "{ flow: f, cc_ratio: { of: udt, to: bbr, at_least: 1 } }",
            "expect[0].cc_ratio.to: unknown algorithm of the grid `bbr`",
        ),
        (
            "{ flow: f, when: { cc: udt }, cc_ratio: { of: udt, to: newreno, at_least: 1 } }",
            "expect[0].when.cc: `cc_ratio` names its algorithms",
        ),
        (
            "{ cc_ratio: { of: udt, to: newreno, at_least: 1 } }",
            "expect[0]: needs `flow`",
        ),
        ("{ flow: f }", "expect[0]: nothing to check"),
    ];
    for (e, want) in cases {
        let got = grid_err(e);
        assert!(got.contains(want), "{e}: {got}");
    }
    let plain = GOOD.replace(
        "  - { flow: f, byte_exact: true }",
        "  - { flow: f, when: { cc: udt }, byte_exact: true }",
    );
    assert!(err(&plain).contains("expect[0].when: only for a scenario with `compare` or `sweep`"));
}
