//! Tidy CSV (one observation per row: time, subject, metric, value), the shape pandas'
//! `pivot`/`pivot_table` and R's tidyr expect.

use crate::model::RunData;
use std::fmt::Write;

/// Quotes a field when it holds a comma, a quote or a line break (RFC 4180).
pub fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Splits one RFC 4180 line into fields.
pub fn split_line(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (vec![], String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn float(x: f64) -> String {
    let s = format!("{x:.3}");
    if s.contains('.') {
        let t = s.trim_end_matches('0').trim_end_matches('.');
        if t == "-0" {
            "0".into()
        } else {
            t.into()
        }
    } else {
        s
    }
}

/// The flow metrics in the order they are written, with their units in the name.
pub const FLOW_METRICS: [&str; 10] = [
    "goodput_mbps",
    "send_rate_mbps",
    "send_period_us",
    "cwnd_pkts",
    "flow_window_pkts",
    "rtt_ms",
    "retrans_pkts",
    "snd_loss_pkts",
    "rcv_loss_pkts",
    "bytes_recv",
];

/// timeseries.csv: `time_s,flow,metric,value`, by time, then flow, then metric.
pub fn timeseries(run: &RunData) -> String {
    let mut rows: Vec<(f64, usize, String)> = vec![];
    for (i, f) in run.flows.iter().enumerate() {
        let name = field(&f.name);
        for p in &f.samples {
            let vals = [
                float(p.goodput_mbps),
                float(p.send_rate_mbps),
                float(p.send_period_us),
                float(p.cwnd_pkts),
                float(p.flow_window_pkts),
                float(p.rtt_ms),
                p.retrans_pkts.to_string(),
                p.snd_loss_pkts.to_string(),
                p.rcv_loss_pkts.to_string(),
                p.bytes_recv.to_string(),
            ];
            let mut s = String::new();
            for (m, v) in FLOW_METRICS.iter().zip(vals) {
                let _ = writeln!(s, "{},{name},{m},{v}", float(p.t_s));
            }
            rows.push((p.t_s, i, s));
        }
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut out = String::from("time_s,flow,metric,value\n");
    for r in rows {
        out += &r.2;
    }
    out
}

/// queues.csv: `time_s,link,metric,value` (metrics `packets`, `bytes`, `dropped_queue`,
/// `dropped_loss`; the drops are cumulative), by time, then link.
pub fn queues(run: &RunData) -> String {
    let mut rows: Vec<(f64, usize, String)> = vec![];
    for (i, l) in run.links.iter().enumerate() {
        let name = field(&l.link);
        for q in &l.samples {
            let mut s = String::new();
            for (m, v) in [
                ("packets", q.packets),
                ("bytes", q.bytes),
                ("dropped_queue", q.dropped_queue),
                ("dropped_loss", q.dropped_loss),
            ] {
                let _ = writeln!(s, "{},{name},{m},{v}", float(q.t_s));
            }
            rows.push((q.t_s, i, s));
        }
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut out = String::from("time_s,link,metric,value\n");
    for r in rows {
        out += &r.2;
    }
    out
}

/// Reads one metric of a tidy CSV back: (subject, [(time, value)]) in first-seen order.
pub fn read_metric(text: &str, metric: &str) -> Vec<(String, Vec<(f64, f64)>)> {
    let mut out: Vec<(String, Vec<(f64, f64)>)> = vec![];
    for line in text.lines().skip(1) {
        let f = split_line(line);
        if f.len() != 4 || f[2] != metric {
            continue;
        }
        let (Ok(t), Ok(v)) = (f[0].parse::<f64>(), f[3].parse::<f64>()) else {
            continue;
        };
        match out.iter_mut().find(|(n, _)| *n == f[1]) {
            Some((_, s)) => s.push((t, v)),
            None => out.push((f[1].clone(), vec![(t, v)])),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_round_trips() {
        for s in ["plain", "a,b", "say \"hi\"", ""] {
            let line = format!("1,{},m,2", field(s));
            assert_eq!(split_line(&line), vec!["1", s, "m", "2"]);
        }
    }

    #[test]
    fn floats_are_short() {
        assert_eq!(float(1.5), "1.5");
        assert_eq!(float(2.0), "2");
        assert_eq!(float(71428.571428), "71428.571");
        assert_eq!(float(-0.0001), "0");
    }
}
