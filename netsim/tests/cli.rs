//! The command line on bad input: a clear message, a non-zero exit, never a panic.

use std::process::Command;

fn netsim(args: &[&str]) -> (i32, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_netsim"))
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    (o.status.code().unwrap_or(-1), err)
}

fn write(name: &str, text: &str) -> String {
    let p = std::env::temp_dir().join(format!("netsim-cli-{}-{name}.yaml", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

const BASE: &str = "name: t\nduration: 1s\nhosts:\n  a: { address: 10.0.0.1 }\n  b: { address: 10.0.0.2 }\nlinks:\n  - between: [a, b]\n    delay: 5ms\n";

#[test]
fn bad_inputs_fail_cleanly() {
    let cases = [
        ("missing", None, "cannot read"),
        ("malformed", Some("name: [oops\n".to_string()), ":1:"),
        (
            "unknown",
            Some(BASE.replace("delay:", "dealy:")),
            "unknown field `dealy`",
        ),
        ("negative", Some(BASE.replace("5ms", "-5ms")), "negative"),
        (
            "loss",
            Some(BASE.replace("delay: 5ms", "loss: { bernoulli: 120% }")),
            "more than 100%",
        ),
        (
            "unit",
            Some(BASE.replace("5ms", "5 fortnights")),
            "unknown duration unit",
        ),
    ];
    for (name, text, want) in cases {
        let path = match text {
            Some(t) => write(name, &t),
            None => "/nonexistent/netsim/scenario.yaml".into(),
        };
        let (code, err) = netsim(&["check", &path]);
        assert_ne!(code, 0, "{name}");
        assert!(err.contains(want), "{name}: {err}");
        assert!(
            err.contains(&path),
            "{name}: the message names the file: {err}"
        );
    }
    let (code, err) = netsim(&["check", &write("where", &BASE.replace("delay:", "dealy:"))]);
    assert_ne!(code, 0);
    assert!(err.contains(":8:5: links[0]: unknown field"), "{err}");
}

#[test]
fn check_fails_when_an_expectation_fails() {
    let text = format!(
        "{BASE}flows:\n  - {{ name: f, from: a, to: \"b:9000\", transfer: 64KiB }}\nexpect:\n  - {{ flow: f, completes_within: 1ms }}\n"
    );
    let path = write("expect", &text);
    let out = std::env::temp_dir().join(format!("netsim-cli-out-{}", std::process::id()));
    let (code, _) = netsim(&[
        "check",
        &path,
        "--quiet",
        "--out",
        &out.display().to_string(),
    ]);
    assert_eq!(code, 1);
    let text = text.replace("completes_within: 1ms", "completes_within: 1s");
    let path = write("expect-ok", &text);
    let (code, err) = netsim(&[
        "check",
        &path,
        "--quiet",
        "--out",
        &out.display().to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    let _ = std::fs::remove_dir_all(out);
}
