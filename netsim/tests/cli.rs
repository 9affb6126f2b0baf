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

#[test]
fn compare_builds_a_report_from_run_folders() {
    let text = format!(
        "{}flows:\n  - {{ name: f, from: a, to: \"b:9000\", transfer: 256KiB }}\n",
        BASE.replace("delay: 5ms", "delay: 5ms\n    rate: 10Mbps")
    );
    let path = write("compare", &text);
    let base = std::env::temp_dir().join(format!("netsim-cli-cmp-{}", std::process::id()));
    let mut runs = vec![];
    for seed in ["1", "2"] {
        let out = base.join(format!("t-seed{seed}"));
        let (code, err) = netsim(&[
            "run",
            &path,
            "--quiet",
            "--no-plots",
            "--seed",
            seed,
            "--out",
            &out.display().to_string(),
        ]);
        assert_eq!(code, 0, "{err}");
        assert!(!out.join("plots").exists());
        let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
        assert!(
            summary.contains("--no-plots"),
            "the command line is recorded"
        );
        runs.push(out.display().to_string());
    }
    let cmp = base.join("cmp");
    let mut args = vec!["compare"];
    args.extend(runs.iter().map(String::as_str));
    let cmp_s = cmp.display().to_string();
    args.extend(["--out", &cmp_s]);
    let (code, err) = netsim(&args);
    assert_eq!(code, 0, "{err}");
    for f in [
        "index.html",
        "summary.md",
        "summary.json",
        "goodput.png",
        "throughput_delay.svg",
    ] {
        assert!(cmp.join(f).exists(), "{f}");
    }
    let (code, err) = netsim(&["compare", "/nonexistent/run", "--out", &cmp_s]);
    assert_ne!(code, 0);
    assert!(err.contains("/nonexistent/run/summary.json"), "{err}");
    let _ = std::fs::remove_dir_all(base);
}
