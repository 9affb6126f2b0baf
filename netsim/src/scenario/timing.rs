//! A host's `timing:` field as the scenario file writes it; the wake-up rules themselves
//! are [`crate::timing`].

use serde::Deserialize;

use super::units::Dur;
use crate::timing::HostTiming;

/// A host's `timing:` field: a preset name or an explicit rule.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum TimingSpec {
    /// `exact`, `udt4` or `tokio`.
    Preset(String),
    /// `{ tick: 1ms }` or `{ idle: 8ms }`.
    Rule(RuleSpec),
}

/// An explicit wake-up rule.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Timer granularity: wakes on multiples of it (and on arrivals).
    #[serde(default)]
    pub tick: Option<Dur>,
    /// Wakes only on arrivals or after this long without one.
    #[serde(default)]
    pub idle: Option<Dur>,
}

impl TimingSpec {
    /// The rule, or why the field is wrong.
    pub fn resolve(&self) -> Result<HostTiming, String> {
        match self {
            TimingSpec::Preset(name) => HostTiming::preset(name).ok_or_else(|| {
                format!(
                    "unknown timing preset `{name}`; expected one of {} or {{ tick: DUR }} / {{ idle: DUR }}",
                    HostTiming::PRESETS.join(", ")
                )
            }),
            TimingSpec::Rule(RuleSpec {
                tick: Some(t),
                idle: None,
            }) if t.0 > 0 => Ok(HostTiming::Grid { tick: t.0 }),
            TimingSpec::Rule(RuleSpec {
                tick: None,
                idle: Some(i),
            }) if i.0 > 0 => Ok(HostTiming::ArrivalOrIdle {
                idle: i.0,
                spread: 0,
                reaction: 0,
                deep: 0,
                wake: 0,
                seed: 0,
            }),
            TimingSpec::Rule(_) => {
                Err("timing: give exactly one of `tick` or `idle`, longer than 0".into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_specs_say_what_is_expected() {
        let e = TimingSpec::Preset("fast".into()).resolve().unwrap_err();
        assert!(e.contains("exact, udt4, tokio"), "{e}");
        let both = TimingSpec::Rule(RuleSpec {
            tick: Some(Dur(1)),
            idle: Some(Dur(1)),
        });
        assert!(both.resolve().is_err());
        let zero = TimingSpec::Rule(RuleSpec {
            tick: Some(Dur(0)),
            idle: None,
        });
        assert!(zero.resolve().is_err());
    }
}
