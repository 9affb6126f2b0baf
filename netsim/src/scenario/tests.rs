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
