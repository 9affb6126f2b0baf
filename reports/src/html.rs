//! Self-contained HTML pages (inline CSS, relative image paths) that open straight from disk.

use crate::summary::{flow_table, meta_rows, num, RunSummary};
use std::fmt::Write;

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

const STYLE: &str = "body{font-family:'DejaVu Sans',Verdana,sans-serif;margin:2em auto;max-width:1250px;color:#222}\
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 8px;font-size:90%}\
th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}\
figure{margin:1.5em 0}figure img{max-width:100%;border:1px solid #ddd}figcaption{color:#555}\
.ok{color:#1a7f37}.fail{color:#c62828;font-weight:bold}code{font-size:90%}";

/// The opening of a page.
pub fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        esc(title),
        esc(title)
    )
}

/// A table; cells after the first column are right-aligned numbers.
pub fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut o = String::from("<table>\n<tr>");
    for h in head {
        let _ = write!(o, "<th>{}</th>", esc(h));
    }
    o += "</tr>\n";
    for r in rows {
        o += "<tr>";
        for (i, c) in r.iter().enumerate() {
            let class = if i == 0 { "" } else { " class=\"n\"" };
            let _ = write!(o, "<td{class}>{}</td>", esc(c));
        }
        o += "</tr>\n";
    }
    o + "</table>\n"
}

/// A figure showing `png` and linking its SVG twin.
pub fn figure(caption: &str, png: &str, svg: &str) -> String {
    format!(
        "<figure><a href=\"{svg}\"><img src=\"{png}\" alt=\"{c}\"></a><figcaption>{c} (<a href=\"{svg}\">SVG</a>, <a href=\"{png}\">PNG</a>)</figcaption></figure>\n",
        svg = esc(svg),
        png = esc(png),
        c = esc(caption)
    )
}

/// index.html of a run. `plots` holds (caption, png path, svg path), relative to the page.
pub fn run_page(s: &RunSummary, plots: &[(String, String, String)]) -> String {
    let m = &s.meta;
    let mut o = head(&format!("{} (seed {})", m.scenario, m.seed));
    o += "<table>\n";
    for (k, v) in meta_rows(m) {
        let _ = writeln!(
            o,
            "<tr><th>{}</th><td><code>{}</code></td></tr>",
            esc(k),
            esc(&v)
        );
    }
    o += "</table>\n<h2>Flows</h2>\n";
    let (h, rows) = flow_table(s);
    o += &table(&h, &rows);
    for f in &s.flows {
        if let Some(e) = &f.error {
            let _ = writeln!(o, "<p><b>{}</b>: {}</p>", esc(&f.name), esc(e));
        }
    }
    let a = &s.aggregate_goodput_mbps;
    let _ = writeln!(
        o,
        "<p>Jain's fairness index (mean goodputs): <b>{}</b>. Stability index (coefficient of variation of the aggregate goodput): <b>{}</b>. Aggregate goodput: mean {} Mbit/s, p50 {}, p95 {}.</p>",
        num(s.jain_fairness, 4),
        num(s.stability_index, 4),
        num(a.mean, 2),
        num(a.p50, 2),
        num(a.p95, 2)
    );
    if !s.checks.is_empty() {
        o += "<h2>Expectations</h2>\n<ul>\n";
        for c in &s.checks {
            let (class, word) = if c.passed {
                ("ok", "ok")
            } else {
                ("fail", "FAIL")
            };
            let _ = writeln!(
                o,
                "<li><span class=\"{class}\">[{word}]</span> {} (observed: {})</li>",
                esc(&c.what),
                esc(&c.observed)
            );
        }
        o += "</ul>\n";
    }
    if !plots.is_empty() {
        o += "<h2>Plots</h2>\n";
        for (c, png, svg) in plots {
            o += &figure(c, png, svg);
        }
    }
    o += "<p>Files: <a href=\"summary.json\">summary.json</a>, <a href=\"summary.md\">summary.md</a>, <a href=\"timeseries.csv\">timeseries.csv</a>, <a href=\"queues.csv\">queues.csv</a>.</p>\n";
    o + "</body>\n</html>\n"
}
