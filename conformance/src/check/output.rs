//! Reports: text for people, JSON for scripts, JUnit XML for CI dashboards.
//!
//! In JUnit, each connection is a `<testsuite>` and each check a `<testcase>` named
//! by its id; a failure is a `<failure>` listing the frames, a check that does not
//! apply is `<skipped>`, and warnings go to `<system-out>` (or become failures with
//! `--strict`).

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::{CheckResult, ConnReport, Finding, Mode, Report, Severity, Status, CHECKS};

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::ClientServer { .. } => "client/server",
        Mode::Rendezvous => "rendezvous",
        Mode::Headless => "no handshake captured",
    }
}

fn ids(c: &ConnReport, side: usize) -> String {
    c.ids[side].map_or("?".into(), |id| format!("{id:#010x}"))
}

/// `127.0.0.1:39354 (id 0x…) ↔ 127.0.0.1:9000 (id 0x…)`.
pub fn conn_title(c: &ConnReport) -> String {
    format!(
        "{} (id {}) <-> {} (id {})",
        c.addrs[0],
        ids(c, 0),
        c.addrs[1],
        ids(c, 1)
    )
}

fn frames_text(frames: &[u64]) -> String {
    let list: Vec<String> = frames.iter().map(u64::to_string).collect();
    match list.len() {
        0 => String::new(),
        1 => format!("frame {}", list[0]),
        _ => format!("frames {}", list.join(", ")),
    }
}

fn finding_line(f: &Finding) -> String {
    let sev = match f.severity {
        Severity::Failure => "FAIL",
        Severity::Warning => "warn",
    };
    let frames = frames_text(&f.frames);
    if frames.is_empty() {
        format!("{sev}: {}", f.message)
    } else {
        format!("{sev}: {frames}: {}", f.message)
    }
}

/// The status shown for a result, with `strict` turning warnings into failures.
fn shown(r: &CheckResult, strict: bool) -> Status {
    match r.status() {
        Status::Warn if strict => Status::Fail,
        s => s,
    }
}

/// The human-readable report.
pub fn text(report: &Report, strict: bool) -> String {
    let mut s = String::new();
    for c in &report.conns {
        let _ = writeln!(
            s,
            "connection {}: {}, {}, frames {}-{}, {} packets{}",
            c.number,
            conn_title(c),
            mode_name(c.mode),
            c.frames.0,
            c.frames.1,
            c.packets,
            if c.capture_gaps {
                " (the capture misses packets)"
            } else {
                ""
            }
        );
        for r in &c.results {
            let status = shown(r, strict);
            let _ = write!(
                s,
                "  {:<4} {:<9} {}",
                status.as_str(),
                r.info.id,
                r.info.title
            );
            if let Some(note) = &r.note {
                let _ = write!(s, " ({note})");
            }
            s.push('\n');
            for f in r.findings.iter().flatten() {
                let _ = writeln!(s, "         {}", finding_line(f));
            }
        }
    }
    let count = |st: Status| {
        report
            .conns
            .iter()
            .flat_map(|c| c.results.iter())
            .filter(|r| shown(r, strict) == st)
            .count()
    };
    let _ = writeln!(
        s,
        "{} connection(s), {} checks each: {} pass, {} fail, {} warn, {} n/a{}",
        report.conns.len(),
        CHECKS.len(),
        count(Status::Pass),
        count(Status::Fail),
        count(Status::Warn),
        count(Status::NotApplicable),
        if report.not_udt.is_empty() {
            String::new()
        } else {
            format!(
                "; {} UDP datagrams are not UDT (use --port)",
                report.not_udt.len()
            )
        }
    );
    s
}

/// The report as JSON.
pub fn json(report: &Report, strict: bool) -> Value {
    let conns: Vec<Value> = report
        .conns
        .iter()
        .map(|c| {
            let results: Vec<Value> = c
                .results
                .iter()
                .map(|r| {
                    let findings: Vec<Value> = r
                        .findings
                        .iter()
                        .flatten()
                        .map(|f| {
                            json!({
                                "severity": match f.severity {
                                    Severity::Failure => "failure",
                                    Severity::Warning => "warning",
                                },
                                "frames": f.frames,
                                "message": f.message,
                            })
                        })
                        .collect();
                    json!({
                        "id": r.info.id,
                        "title": r.info.title,
                        "section": r.info.section,
                        "status": shown(r, strict).as_str(),
                        "note": r.note,
                        "findings": findings,
                    })
                })
                .collect();
            json!({
                "number": c.number,
                "endpoints": [
                    { "address": c.addrs[0].to_string(), "socket_id": c.ids[0] },
                    { "address": c.addrs[1].to_string(), "socket_id": c.ids[1] },
                ],
                "mode": mode_name(c.mode),
                "first_frame": c.frames.0,
                "last_frame": c.frames.1,
                "packets": c.packets,
                "capture_gaps": c.capture_gaps,
                "checks": results,
            })
        })
        .collect();
    json!({
        "connections": conns,
        "not_udt_frames": report.not_udt.len(),
        "failed": report.failed_ids(strict),
        "passed": report.exit_code(strict) == 0,
    })
}

/// Escapes text for XML attributes and content.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// The report as JUnit XML; `name` names the top-level `<testsuites>` (the file).
pub fn junit(report: &Report, name: &str, strict: bool) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let all: Vec<&CheckResult> = report.conns.iter().flat_map(|c| &c.results).collect();
    let failures = all
        .iter()
        .filter(|r| shown(r, strict) == Status::Fail)
        .count();
    let _ = writeln!(
        s,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{failures}\">",
        xml_escape(name),
        all.len()
    );
    for c in &report.conns {
        let fails = c
            .results
            .iter()
            .filter(|r| shown(r, strict) == Status::Fail)
            .count();
        let skipped = c
            .results
            .iter()
            .filter(|r| r.status() == Status::NotApplicable)
            .count();
        let _ = writeln!(
            s,
            "  <testsuite name=\"connection {}: {}\" tests=\"{}\" failures=\"{fails}\" skipped=\"{skipped}\">",
            c.number,
            xml_escape(&conn_title(c)),
            c.results.len()
        );
        for r in &c.results {
            let _ = write!(
                s,
                "    <testcase classname=\"{}.connection{}\" name=\"{}: {}\"",
                xml_escape(name),
                c.number,
                r.info.id,
                xml_escape(r.info.title)
            );
            let lines: Vec<String> = r.findings.iter().flatten().map(finding_line).collect();
            match shown(r, strict) {
                Status::Pass => s.push_str("/>\n"),
                Status::NotApplicable => {
                    let _ = writeln!(
                        s,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        xml_escape(r.note.as_deref().unwrap_or("not applicable"))
                    );
                }
                Status::Fail => {
                    let first = lines.first().cloned().unwrap_or_default();
                    let _ = writeln!(
                        s,
                        ">\n      <failure message=\"{}\" type=\"{}\">{} ({})\n{}</failure>\n    </testcase>",
                        xml_escape(&first),
                        r.info.id,
                        xml_escape(r.info.title),
                        xml_escape(r.info.section),
                        xml_escape(&lines.join("\n"))
                    );
                }
                Status::Warn => {
                    let _ = writeln!(
                        s,
                        ">\n      <system-out>{}</system-out>\n    </testcase>",
                        xml_escape(&lines.join("\n"))
                    );
                }
            }
        }
        s.push_str("  </testsuite>\n");
    }
    s.push_str("</testsuites>\n");
    s
}
