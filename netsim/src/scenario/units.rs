//! Units written as strings in scenarios: `50ms`, `100Mbps`, `2MiB`, `1%`.
//!
//! Each type deserialises from a string (or a bare number where that is unambiguous) and
//! rejects negative, non-finite and out-of-range values, so a bad value is reported by
//! serde with the line and column where it was written.

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::fmt;

/// A length of simulated time, in nanoseconds. Written `50ms`, `1.5s`, `250us`, `10ns`, `2m`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dur(pub u64);

/// A bit rate in bits per second. Written `100Mbps`, `1Gbps`, `64kbps`, `12.5MBps` (bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rate(pub u64);

/// A number of bytes. Written `1500B`, `64KiB`, `2MiB`, `1GB`, or a bare integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Size(pub u64);

/// A probability in `[0, 1]`. Written `1%`, `0.5%`, or a bare fraction `0.01`.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd)]
pub struct Prob(pub f64);

/// A link queue limit: `1000 packets` or a size such as `2MiB`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueLimit {
    /// At most this many packets waiting or being serialised.
    Packets(u64),
    /// At most this many bytes (IP datagram sizes) waiting or being serialised.
    Bytes(u64),
}

fn split_number(s: &str) -> Result<(f64, &str), String> {
    let s = s.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == 'e'))
        .unwrap_or(s.len());
    // `e` may start a unit; only treat it as an exponent when digits follow.
    let (mut num, mut unit) = s.split_at(end);
    if let Some(pos) = num.find('e') {
        if !num[pos + 1..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == '-')
        {
            unit = &s[pos..];
            num = &s[..pos];
        }
    }
    let v: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` does not start with a number"))?;
    if !v.is_finite() {
        return Err(format!("`{s}` is not a finite number"));
    }
    if v < 0.0 {
        return Err(format!("`{s}` is negative; it must be zero or more"));
    }
    Ok((v, unit.trim()))
}

impl Dur {
    /// Parses `50ms`, `1s`, `10us`, `100ns`, `2m`, `1h`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (v, unit) = split_number(s)?;
        let mul = match unit {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" | "min" => 60e9,
            "h" => 3600e9,
            "" => {
                return Err(format!(
                    "`{s}` has no unit; expected a duration such as `50ms`, `1s`, `250us`"
                ))
            }
            u => {
                return Err(format!(
                    "unknown duration unit `{u}` in `{s}`; expected ns, us, ms, s, m or h"
                ))
            }
        };
        Ok(Dur((v * mul).round() as u64))
    }
    /// Seconds as a float, for reports.
    pub fn secs(self) -> f64 {
        self.0 as f64 / 1e9
    }
}

impl Rate {
    /// Parses `100Mbps`, `1Gbps`, `64kbps`, `500bps`, `12.5MBps` (bytes per second).
    pub fn parse(s: &str) -> Result<Self, String> {
        let (v, unit) = split_number(s)?;
        let mul = match unit {
            "bps" => 1.0,
            "kbps" | "Kbps" => 1e3,
            "Mbps" => 1e6,
            "Gbps" => 1e9,
            "Bps" => 8.0,
            "kBps" | "KBps" => 8e3,
            "MBps" => 8e6,
            "GBps" => 8e9,
            "" => return Err(format!("`{s}` has no unit; expected a rate such as `100Mbps`")),
            u => return Err(format!("unknown rate unit `{u}` in `{s}`; expected bps, kbps, Mbps, Gbps or Bps, KBps, MBps, GBps")),
        };
        let r = (v * mul).round() as u64;
        if r == 0 {
            return Err(format!("rate `{s}` is zero; it must be positive"));
        }
        Ok(Rate(r))
    }
}

impl Size {
    /// Parses `1500B`, `64KiB`, `10KB`, `2MiB`, `1GB`, or a bare integer of bytes.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (v, unit) = split_number(s)?;
        let mul = match unit {
            "" | "B" => 1.0,
            "KB" | "kB" => 1e3,
            "MB" => 1e6,
            "GB" => 1e9,
            "KiB" => 1024.0,
            "MiB" => 1024.0 * 1024.0,
            "GiB" => 1024.0 * 1024.0 * 1024.0,
            u => {
                return Err(format!(
                    "unknown size unit `{u}` in `{s}`; expected B, KB, MB, GB, KiB, MiB or GiB"
                ))
            }
        };
        Ok(Size((v * mul).round() as u64))
    }
}

impl Prob {
    /// Parses `1%` or a fraction `0.01`; must lie in `[0, 1]`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (v, unit) = split_number(s)?;
        let p = match unit {
            "%" => v / 100.0,
            "" => v,
            u => return Err(format!("unknown unit `{u}` in `{s}`; expected a percentage such as `1%` or a fraction such as `0.01`")),
        };
        if p > 1.0 {
            return Err(format!("`{s}` is more than 100%"));
        }
        Ok(Prob(p))
    }
}

impl QueueLimit {
    /// Parses `1000 packets`, `1000p`, or a size such as `2MiB`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        for suffix in ["packets", "packet", "pkts", "p"] {
            if let Some(n) = t.strip_suffix(suffix) {
                let n = n.trim();
                if let Ok(v) = n.parse::<u64>() {
                    return Ok(QueueLimit::Packets(v));
                }
            }
        }
        Size::parse(t)
            .map(|b| QueueLimit::Bytes(b.0))
            .map_err(|e| format!("{e}; a queue limit is `N packets` or a size such as `2MiB`"))
    }
}

struct StrVisitor<T> {
    what: &'static str,
    parse: fn(&str) -> Result<T, String>,
    numbers: bool,
}

impl<T> Visitor<'_> for StrVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.what)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.parse)(v).map_err(E::custom)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        if self.numbers || v == 0 {
            (self.parse)(&v.to_string()).map_err(E::custom)
        } else {
            Err(E::custom(format!(
                "`{v}` has no unit; expected {}",
                self.what
            )))
        }
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        if v < 0 {
            return Err(E::custom(format!(
                "`{v}` is negative; expected {}",
                self.what
            )));
        }
        self.visit_u64(v as u64)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        if self.numbers {
            (self.parse)(&v.to_string()).map_err(E::custom)
        } else if v < 0.0 {
            Err(E::custom(format!(
                "`{v}` is negative; expected {}",
                self.what
            )))
        } else {
            Err(E::custom(format!(
                "`{v}` has no unit; expected {}",
                self.what
            )))
        }
    }
}

macro_rules! string_unit {
    ($t:ty, $what:expr, $numbers:expr) => {
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(StrVisitor {
                    what: $what,
                    parse: <$t>::parse,
                    numbers: $numbers,
                })
            }
        }
    };
}

string_unit!(Dur, "a duration such as `50ms` or `1s`", false);
string_unit!(Rate, "a rate such as `100Mbps`", false);
string_unit!(Size, "a size such as `1500B` or `2MiB`", true);
string_unit!(Prob, "a probability such as `1%` or `0.01`", true);
string_unit!(
    QueueLimit,
    "a queue limit such as `1000 packets` or `2MiB`",
    false
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(Dur::parse("50ms").unwrap(), Dur(50_000_000));
        assert_eq!(Dur::parse("1.5s").unwrap(), Dur(1_500_000_000));
        assert_eq!(Dur::parse("250us").unwrap(), Dur(250_000));
        assert!(Dur::parse("-5ms").unwrap_err().contains("negative"));
        assert!(Dur::parse("5").unwrap_err().contains("no unit"));
        assert!(Dur::parse("5 parsecs")
            .unwrap_err()
            .contains("unknown duration unit"));
    }

    #[test]
    fn rates_sizes_probs() {
        assert_eq!(Rate::parse("100Mbps").unwrap(), Rate(100_000_000));
        assert_eq!(Rate::parse("1Gbps").unwrap(), Rate(1_000_000_000));
        assert_eq!(Rate::parse("1MBps").unwrap(), Rate(8_000_000));
        assert_eq!(Size::parse("2MiB").unwrap(), Size(2 * 1024 * 1024));
        assert_eq!(Size::parse("1500").unwrap(), Size(1500));
        assert_eq!(Prob::parse("1%").unwrap(), Prob(0.01));
        assert!(Prob::parse("101%").unwrap_err().contains("more than 100%"));
        assert_eq!(
            QueueLimit::parse("1000 packets").unwrap(),
            QueueLimit::Packets(1000)
        );
        assert_eq!(
            QueueLimit::parse("64KiB").unwrap(),
            QueueLimit::Bytes(65536)
        );
    }
}
