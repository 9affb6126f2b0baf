//! relay_probe: measures `netsim relay` at speed. It binds two loopback sockets, starts the
//! relay on a two-host scenario with them as the hosts' applications (`--host a=… --host
//! b=…`), sends numbered, timestamped datagrams from a to the face of b at a fixed rate
//! (paced by sleeping, in short bursts), and compares each arrival with the model: a FIFO
//! link of the given rate and one-way delay, fed at the probe's own send times. It prints the loss the model
//! did not decide (sent − received − the link's drops in the relay's report) and the
//! percentiles of the delay error (arrival − the model's arrival).
//!
//! ```sh
//! cargo build --release -p netsim --bin netsim --example relay_probe
//! target/release/examples/relay_probe --rate-mbps 1000 --seconds 5
//! target/release/examples/relay_probe --rate-mbps 100 --seconds 5
//! ```
//! Defaults: `netsim/examples/relay_gigabit.yaml` (2 Gbit/s, 5 ms, no loss), 1472-byte
//! payloads (1500-byte IP datagrams), the `netsim` binary next to the example's folder.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Args {
    netsim: PathBuf,
    scenario: PathBuf,
    rate_mbps: f64,
    seconds: f64,
    size: usize,
    link_rate_mbps: f64,
    link_delay_ms: f64,
}

fn parse() -> Result<Args, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut a = Args {
        netsim: exe
            .parent()
            .and_then(|p| p.parent())
            .map(|p| p.join("netsim"))
            .unwrap_or_else(|| "netsim".into()),
        scenario: PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/relay_gigabit.yaml"
        )),
        rate_mbps: 1000.0,
        seconds: 5.0,
        size: 1472,
        link_rate_mbps: 2000.0,
        link_delay_ms: 5.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().ok_or(format!("{k} needs a value"));
        let num = |s: String| {
            s.parse::<f64>()
                .map_err(|_| format!("{k}: `{s}` is not a number"))
        };
        match k.as_str() {
            "--netsim" => a.netsim = v()?.into(),
            "--scenario" => a.scenario = v()?.into(),
            "--rate-mbps" => a.rate_mbps = num(v()?)?,
            "--seconds" => a.seconds = num(v()?)?,
            "--size" => a.size = num(v()?)? as usize,
            "--link-rate-mbps" => a.link_rate_mbps = num(v()?)?,
            "--link-delay-ms" => a.link_delay_ms = num(v()?)?,
            _ => {
                return Err(format!(
                    "unknown option {k}; options: --netsim PATH --scenario FILE --rate-mbps R \
                     --seconds S --size BYTES --link-rate-mbps R --link-delay-ms D"
                ))
            }
        }
    }
    if a.size < 24 || a.size > 65_000 || a.rate_mbps <= 0.0 || a.seconds <= 0.0 {
        return Err("--size must be 24..65000 bytes, --rate-mbps and --seconds positive".into());
    }
    Ok(a)
}

fn bind() -> UdpSocket {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)
        .expect("a UDP socket");
    let _ = s.set_recv_buffer_size(16 << 20);
    let _ = s.set_send_buffer_size(16 << 20);
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("valid address");
    s.bind(&addr.into()).expect("bind 127.0.0.1:0");
    s.into()
}

fn pct(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let a = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("relay_probe: {e}");
            std::process::exit(2);
        }
    };
    let tx = bind();
    let rx = bind();
    let (ta, ra) = (tx.local_addr().unwrap(), rx.local_addr().unwrap());
    let out = std::env::temp_dir().join(format!("relay_probe-{}", std::process::id()));
    let run_s = a.seconds + a.link_delay_ms / 1e3 + 1.5;
    let mut relay = Command::new(&a.netsim)
        .arg("relay")
        .arg(&a.scenario)
        .args(["--host", &format!("a={ta}"), "--host", &format!("b={ra}")])
        .args(["--duration", &format!("{}ms", (run_s * 1e3) as u64)])
        .args(["--quiet", "--no-plots", "--out"])
        .arg(&out)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", a.netsim.display()));
    let mut lines = BufReader::new(relay.stdout.take().expect("piped")).lines();
    let mut face_b = None;
    for _ in 0..2 {
        let l = lines.next().and_then(|l| l.ok()).unwrap_or_default();
        if let Some(addr) = l.strip_prefix("b=") {
            face_b = addr.parse::<SocketAddr>().ok();
        }
    }
    let face_b = face_b.expect("the relay printed the face of b");
    let origin = Instant::now();
    let done = Arc::new(AtomicBool::new(false));
    let receiver = {
        let done = done.clone();
        std::thread::spawn(move || {
            rx.set_read_timeout(Some(Duration::from_millis(50)))
                .unwrap();
            let mut buf = vec![0u8; 65_536];
            let mut got: Vec<(u64, i64)> = vec![];
            while !done.load(Ordering::Relaxed) {
                if let Ok(n) = rx.recv(&mut buf) {
                    let t = origin.elapsed().as_nanos() as i64;
                    if n >= 16 {
                        let seq = u64::from_le_bytes(buf[..8].try_into().unwrap());
                        let expect = i64::from_le_bytes(buf[8..16].try_into().unwrap());
                        got.push((seq, t - expect));
                    }
                }
            }
            got
        })
    };
    // The model the relay must reproduce: a FIFO at the link rate, then the delay.
    let wire_bits = ((a.size + 28) * 8) as f64;
    let period_ns = wire_bits / (a.rate_mbps * 1e6) * 1e9;
    let ser_ns = wire_bits / (a.link_rate_mbps * 1e6) * 1e9;
    let delay_ns = a.link_delay_ms * 1e6;
    let total = (a.seconds * 1e9 / period_ns) as u64;
    let mut buf = vec![0u8; a.size];
    let mut link_free = 0f64;
    let start = origin.elapsed().as_nanos() as f64 + 1e6;
    let mut send_errors = 0u64;
    for seq in 0..total {
        // Pacing without spinning (the relay needs the cores): sleep while the next datagram
        // is more than 50 us away, then send what is due within 50 us. The model below takes
        // the real send times, so the bursts are accounted for.
        let due = start + seq as f64 * period_ns;
        let ahead = due - origin.elapsed().as_nanos() as f64;
        if ahead > 50_000.0 {
            std::thread::sleep(Duration::from_nanos(ahead as u64));
        }
        let now = origin.elapsed().as_nanos() as f64;
        let depart = now.max(link_free) + ser_ns;
        link_free = depart;
        let expect = (depart + delay_ns) as i64;
        buf[..8].copy_from_slice(&seq.to_le_bytes());
        buf[8..16].copy_from_slice(&expect.to_le_bytes());
        if tx.send_to(&buf, face_b).is_err() {
            send_errors += 1;
        }
    }
    let send_s = (origin.elapsed().as_nanos() as f64 - start) / 1e9;
    std::thread::sleep(Duration::from_millis(a.link_delay_ms as u64 + 500));
    done.store(true, Ordering::Relaxed);
    let got = receiver.join().expect("receiver thread");
    let status = relay.wait().expect("the relay ends");
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&out);
    let json: serde_json::Value = serde_json::from_str(&summary).unwrap_or_default();
    let model_drops: u64 = json["details"]["links"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["link"].as_str().is_some_and(|n| n.ends_with('>')))
        .map(|l| {
            let c = &l["counters"];
            [
                "dropped_loss",
                "dropped_queue",
                "dropped_down",
                "dropped_mtu",
                "dropped_corrupt",
            ]
            .iter()
            .map(|k| c[k].as_u64().unwrap_or(0))
            .sum::<u64>()
        })
        .sum();
    let r = &json["details"]["relay"];
    println!(
        "relay: hosts {}\n  departure lateness {}\n  arrival lag {}",
        r["hosts"], r["departure_lateness"], r["arrival_lag"]
    );
    let mut seen = vec![false; total as usize];
    let mut dups = 0;
    let mut errs: Vec<i64> = vec![];
    for &(seq, e) in &got {
        match seen.get_mut(seq as usize) {
            Some(s) if !*s => {
                *s = true;
                errs.push(e);
            }
            _ => dups += 1,
        }
    }
    errs.sort_unstable();
    let received = errs.len() as u64;
    let lost = total - received;
    println!(
        "offered {:.1} Mbit/s ({} datagrams of {} bytes in {:.2} s, {} send errors); relay exit {}",
        total as f64 * wire_bits / send_s / 1e6,
        total,
        a.size + 28,
        send_s,
        send_errors,
        status
    );
    println!(
        "received {received}, lost {lost} (the model dropped {model_drops}; unexplained {}), duplicates {dups}",
        lost as i64 - model_drops as i64
    );
    let handed = r["hosts"]["b"]["to_app"].as_u64().unwrap_or(0);
    println!(
        "of the unexplained: {} never left the relay, {} left it and were lost in the kernel on the way to the probe",
        (total - model_drops).saturating_sub(handed),
        handed.saturating_sub(received)
    );
    let us = |ns: i64| ns as f64 / 1e3;
    let mut abs: Vec<i64> = errs.iter().map(|e| e.abs()).collect();
    abs.sort_unstable();
    println!(
        "delay error vs model (us): p1 {:.1}  p50 {:.1}  p90 {:.1}  p99 {:.1}  p99.9 {:.1}  max {:.1};  |error| p50 {:.1}",
        us(pct(&errs, 0.01)),
        us(pct(&errs, 0.5)),
        us(pct(&errs, 0.9)),
        us(pct(&errs, 0.99)),
        us(pct(&errs, 0.999)),
        us(*errs.last().unwrap_or(&0)),
        us(pct(&abs, 0.5)),
    );
}
