//! Alert rules: what to watch for in a monitor's runs. A rule fires once when its condition
//! starts to hold for a key and once when it clears, never on every run in between; a run that
//! cannot tell (the balance could not be read, say) changes nothing.

use std::collections::HashMap;

use super::schedule::parse_time_of_day;
pub use crate::db::alert_rules::Condition;
use crate::modelscope::ErrorCode;

/// A rule as the scheduler uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub condition: Condition,
    pub threshold: Option<f64>,
    pub model: Option<String>,
    /// points_expiring: the hours ahead it looks.
    pub within_hours: Option<f64>,
    /// grant_unclaimed: minutes after 00:00 Beijing time from which it may fire.
    pub at_time: Option<u16>,
}

/// Is the key accepted?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyHealth {
    Accepted,
    /// Refused, with the error code that said so.
    Refused(ErrorCode),
    /// Nothing answered clearly (timeout, network, server error).
    Unknown,
}

/// What one key's run saw, in the terms rules ask about.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Available points, when the balance was read.
    pub available: Option<f64>,
    pub key: KeyHealth,
    /// Calls left per model, where known (headers, or points and price).
    pub calls: HashMap<String, i64>,
    /// Probed models: `true` when served, `false` when gone.
    pub served: HashMap<String, bool>,
    /// What the key's stored readings say (forecast, expiring points, today's grant), and when.
    pub outlook: Outlook,
}

/// The forecast and the points facts of a key, as the new rules need them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outlook {
    /// Unix seconds now.
    pub now: i64,
    /// Minutes since 00:00 Beijing time.
    pub minute_of_day: u16,
    /// `Some(when)` when the pace says the points run out; `None` inside when they do not (no
    /// spend); the outer `None` when there is no forecast (too few readings).
    pub runs_out_at: Option<Option<i64>>,
    /// Short-term points and when they expire.
    pub expiring: Vec<(f64, i64)>,
    /// Whether today's login grant is still to come; `None` when nothing tells.
    pub grant_unclaimed: Option<bool>,
}

/// What a rule concluded.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub active: bool,
    /// The number the message names (points, calls).
    pub value: Option<f64>,
    /// The models concerned (model_gone).
    pub models: Vec<String>,
}

/// The rule's verdict on one observation; `None` when it cannot tell.
pub fn evaluate(rule: &Rule, seen: &Observation) -> Option<Verdict> {
    let verdict = |active: bool, value: Option<f64>| Verdict {
        active,
        value,
        models: Vec::new(),
    };
    match rule.condition {
        Condition::PointsBelow => {
            let (threshold, available) = (rule.threshold?, seen.available?);
            Some(verdict(available < threshold, Some(available)))
        }
        Condition::CallsBelow => {
            let threshold = rule.threshold?;
            let calls = *seen.calls.get(rule.model.as_deref()?)?;
            Some(verdict((calls as f64) < threshold, Some(calls as f64)))
        }
        Condition::KeyInvalid => match seen.key {
            KeyHealth::Accepted => Some(verdict(false, None)),
            KeyHealth::Refused(_) => Some(verdict(true, None)),
            KeyHealth::Unknown => None,
        },
        Condition::ModelGone => {
            let gone: Vec<String> = match &rule.model {
                Some(model) => match seen.served.get(model) {
                    Some(false) => vec![model.clone()],
                    Some(true) => Vec::new(),
                    None => return None,
                },
                None => {
                    if seen.served.is_empty() {
                        return None;
                    }
                    let mut gone: Vec<String> = seen
                        .served
                        .iter()
                        .filter(|(_, served)| !**served)
                        .map(|(m, _)| m.clone())
                        .collect();
                    gone.sort();
                    gone
                }
            };
            Some(Verdict {
                active: !gone.is_empty(),
                value: None,
                models: gone,
            })
        }
        // Told once per change by the scheduler (`changes_to_tell`), not as a state.
        Condition::DailySummary | Condition::PriceChanged => None,
        Condition::RunsOutWithin => {
            let hours = rule.threshold?;
            let o = &seen.outlook;
            let left = o
                .runs_out_at?
                .map(|at| ((at - o.now) as f64 / 3600.0).max(0.0));
            let active = left.is_some_and(|left| left < hours);
            Some(verdict(active, left.map(|h| (h * 10.0).round() / 10.0)))
        }
        Condition::PointsExpiring => {
            let (points, hours) = (rule.threshold?, rule.within_hours?);
            seen.available?;
            let o = &seen.outlook;
            let by = o.now + (hours * 3600.0) as i64;
            let expiring: f64 = o
                .expiring
                .iter()
                .filter(|(_, at)| *at <= by)
                .map(|(p, _)| p)
                .sum();
            Some(verdict(expiring + 1e-9 >= points, Some(expiring)))
        }
        Condition::GrantUnclaimed => {
            let unclaimed = seen.outlook.grant_unclaimed?;
            if unclaimed && seen.outlook.minute_of_day < rule.at_time? {
                // Not yet its time today: nothing changes.
                return None;
            }
            Some(verdict(unclaimed, None))
        }
    }
}

/// What changed between the last look and this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Started,
    Cleared,
}

/// A rule fires on its first look if the condition already holds, then only on changes.
pub fn change(previous: Option<bool>, now: bool) -> Option<Change> {
    match (previous, now) {
        (None | Some(false), true) => Some(Change::Started),
        (Some(true), false) => Some(Change::Cleared),
        _ => None,
    }
}

/// A rule's fields as the form sent them.
#[derive(Debug, Default, Clone)]
pub struct RuleAsk {
    pub condition: Option<String>,
    pub threshold: Option<String>,
    pub model: Option<String>,
    pub at_time: Option<String>,
    /// points_expiring: hours ahead.
    pub within_hours: Option<String>,
    pub channel_id: Option<String>,
}

/// A checked rule, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRule {
    pub condition: Condition,
    pub threshold: Option<f64>,
    pub model: Option<String>,
    /// Minutes after midnight (daily_summary, grant_unclaimed).
    pub at_time: Option<u16>,
    /// points_expiring: hours ahead.
    pub within_hours: Option<f64>,
    pub channel_id: crate::ids::ChannelId,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error(
        "condition must be one of points_below, calls_below, key_invalid, model_gone, \
         daily_summary, price_changed, runs_out_within, points_expiring, grant_unclaimed"
    )]
    BadCondition,
    #[error("hours must be a whole number from 1 to 720")]
    BadHours,
    #[error("within must be a whole number of hours from 1 to 24")]
    BadWithin,
    #[error("threshold must be a positive number")]
    BadThreshold,
    #[error("calls_below needs a whole number of calls")]
    BadCalls,
    #[error("a model id (owner/name) is needed")]
    NeedsModel,
    #[error("not a valid model id")]
    BadModel,
    #[error("at_time must be a time of day like 08:00")]
    BadAtTime,
    #[error("choose a channel")]
    NoChannel,
    #[error("model_gone needs a monitor that probes a preset")]
    NeedsProbe,
    #[error("the model is not in the monitor's preset")]
    ModelNotInPreset,
}

/// The largest threshold accepted (no account holds a billion points).
const MAX_THRESHOLD: f64 = 1e9;

/// Checks a rule's fields; `probes` says whether the monitor probes a preset.
pub fn check_rule(ask: &RuleAsk, probes: bool) -> Result<NewRule, RuleError> {
    let condition = ask
        .condition
        .as_deref()
        .and_then(|text| Condition::parse(text.trim()))
        .ok_or(RuleError::BadCondition)?;
    let channel_id = ask
        .channel_id
        .as_deref()
        .and_then(|id| id.parse().ok())
        .ok_or(RuleError::NoChannel)?;
    let text = |field: &Option<String>| {
        field
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let threshold = || -> Result<f64, RuleError> {
        text(&ask.threshold)
            .and_then(|t| t.parse::<f64>().ok())
            .filter(|t| t.is_finite() && *t > 0.0 && *t <= MAX_THRESHOLD)
            .ok_or(RuleError::BadThreshold)
    };
    let model = |required: bool| -> Result<Option<String>, RuleError> {
        match text(&ask.model) {
            Some(model) => crate::modelscope::validate_model_id(&model)
                .map(|()| Some(model))
                .map_err(|_| RuleError::BadModel),
            None if required => Err(RuleError::NeedsModel),
            None => Ok(None),
        }
    };
    let mut rule = NewRule {
        condition,
        threshold: None,
        model: None,
        at_time: None,
        within_hours: None,
        channel_id,
    };
    let whole = |field: &Option<String>, max: f64, error: RuleError| {
        text(field)
            .and_then(|t| t.parse::<f64>().ok())
            .filter(|n| n.fract() == 0.0 && (1.0..=max).contains(n))
            .ok_or(error)
    };
    let at_time = || {
        text(&ask.at_time)
            .as_deref()
            .and_then(parse_time_of_day)
            .ok_or(RuleError::BadAtTime)
    };
    match condition {
        Condition::PointsBelow => rule.threshold = Some(threshold()?),
        Condition::CallsBelow => {
            let n = threshold()?;
            if n.fract() != 0.0 {
                return Err(RuleError::BadCalls);
            }
            rule.threshold = Some(n);
            rule.model = model(true)?;
        }
        Condition::KeyInvalid => {}
        Condition::ModelGone => {
            if !probes {
                return Err(RuleError::NeedsProbe);
            }
            rule.model = model(false)?;
        }
        Condition::PriceChanged => rule.model = model(false)?,
        Condition::DailySummary | Condition::GrantUnclaimed => rule.at_time = Some(at_time()?),
        Condition::RunsOutWithin => {
            rule.threshold = Some(whole(&ask.threshold, 720.0, RuleError::BadHours)?);
        }
        Condition::PointsExpiring => {
            rule.threshold = Some(threshold()?);
            rule.within_hours = Some(whole(&ask.within_hours, 24.0, RuleError::BadWithin)?);
        }
    }
    Ok(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(available: Option<f64>, key: KeyHealth) -> Observation {
        Observation {
            outlook: Outlook::default(),
            available,
            key,
            calls: HashMap::from([("Qwen/Qwen3-32B".to_owned(), 6)]),
            served: HashMap::from([
                ("Qwen/Qwen3-32B".to_owned(), true),
                ("a/gone".to_owned(), false),
            ]),
        }
    }

    fn rule(condition: Condition, threshold: Option<f64>, model: Option<&str>) -> Rule {
        Rule {
            condition,
            threshold,
            model: model.map(str::to_owned),
            within_hours: None,
            at_time: None,
        }
    }

    #[test]
    fn the_forecast_rules() {
        let now = 1_800_000_000;
        let mut low = seen(Some(40.0), KeyHealth::Accepted);
        low.outlook = Outlook {
            now,
            minute_of_day: 600,
            runs_out_at: Some(Some(now + 4 * 3600)),
            expiring: vec![(180.0, now + 3 * 3600), (50.0, now + 20 * 3600)],
            grant_unclaimed: Some(true),
        };
        let soon = rule(Condition::RunsOutWithin, Some(6.0), None);
        assert_eq!(
            evaluate(&soon, &low).map(|v| (v.active, v.value)),
            Some((true, Some(4.0)))
        );
        let later = rule(Condition::RunsOutWithin, Some(2.0), None);
        assert_eq!(evaluate(&later, &low).map(|v| v.active), Some(false));
        let mut idle = low.clone();
        idle.outlook.runs_out_at = Some(None);
        assert_eq!(evaluate(&soon, &idle).map(|v| v.active), Some(false));
        idle.outlook.runs_out_at = None;
        assert_eq!(evaluate(&soon, &idle), None, "no forecast, no verdict");

        let mut expiring = rule(Condition::PointsExpiring, Some(100.0), None);
        expiring.within_hours = Some(6.0);
        assert_eq!(
            evaluate(&expiring, &low).map(|v| (v.active, v.value)),
            Some((true, Some(180.0)))
        );
        expiring.threshold = Some(200.0);
        assert_eq!(evaluate(&expiring, &low).map(|v| v.active), Some(false));

        let mut grant = rule(Condition::GrantUnclaimed, None, None);
        grant.at_time = Some(9 * 60);
        assert_eq!(evaluate(&grant, &low).map(|v| v.active), Some(true));
        grant.at_time = Some(21 * 60);
        assert_eq!(evaluate(&grant, &low), None, "not its time yet");
        low.outlook.grant_unclaimed = Some(false);
        assert_eq!(evaluate(&grant, &low).map(|v| v.active), Some(false));
    }

    #[test]
    fn verdicts() {
        let low = seen(Some(12.0), KeyHealth::Accepted);
        let points = rule(Condition::PointsBelow, Some(20.0), None);
        assert_eq!(evaluate(&points, &low).map(|v| v.active), Some(true));
        assert_eq!(
            evaluate(&points, &seen(Some(25.0), KeyHealth::Accepted)).map(|v| v.active),
            Some(false)
        );
        assert_eq!(evaluate(&points, &seen(None, KeyHealth::Unknown)), None);
        let calls = rule(Condition::CallsBelow, Some(10.0), Some("Qwen/Qwen3-32B"));
        assert_eq!(evaluate(&calls, &low).map(|v| v.value), Some(Some(6.0)));
        let key = rule(Condition::KeyInvalid, None, None);
        assert_eq!(
            evaluate(&key, &seen(None, KeyHealth::Refused(ErrorCode::InvalidKey)))
                .map(|v| v.active),
            Some(true)
        );
        assert_eq!(evaluate(&key, &seen(None, KeyHealth::Unknown)), None);
        let gone = rule(Condition::ModelGone, None, None);
        assert_eq!(
            evaluate(&gone, &low).map(|v| v.models),
            Some(vec!["a/gone".to_owned()])
        );
    }

    #[test]
    fn fires_once_on_and_once_off() {
        assert_eq!(change(None, true), Some(Change::Started));
        assert_eq!(change(None, false), None);
        assert_eq!(change(Some(true), true), None);
        assert_eq!(change(Some(true), false), Some(Change::Cleared));
        assert_eq!(change(Some(false), false), None);
    }

    #[test]
    fn checks_fields() {
        let ask = |condition: &str, threshold: &str, model: &str, at: &str| RuleAsk {
            condition: Some(condition.into()),
            threshold: Some(threshold.into()),
            model: Some(model.into()),
            at_time: Some(at.into()),
            within_hours: Some("6".into()),
            channel_id: Some("3".into()),
        };
        assert_eq!(
            check_rule(&ask("runs_out_within", "24", "", ""), false).map(|r| r.threshold),
            Ok(Some(24.0))
        );
        for bad in ["0", "1.5", "721", "x"] {
            assert_eq!(
                check_rule(&ask("runs_out_within", bad, "", ""), false),
                Err(RuleError::BadHours),
                "{bad}"
            );
        }
        let expiring = check_rule(&ask("points_expiring", "100", "", ""), false).unwrap();
        assert_eq!(
            (expiring.threshold, expiring.within_hours),
            (Some(100.0), Some(6.0))
        );
        let mut too_far = ask("points_expiring", "100", "", "");
        too_far.within_hours = Some("48".into());
        assert_eq!(check_rule(&too_far, false), Err(RuleError::BadWithin));
        assert_eq!(
            check_rule(&ask("grant_unclaimed", "", "", "20:00"), false).map(|r| r.at_time),
            Ok(Some(1200))
        );
        assert_eq!(
            check_rule(&ask("grant_unclaimed", "", "", ""), false),
            Err(RuleError::BadAtTime)
        );
        assert!(check_rule(&ask("points_below", "20", "", ""), false).is_ok());
        assert_eq!(
            check_rule(&ask("points_below", "-1", "", ""), false),
            Err(RuleError::BadThreshold)
        );
        assert_eq!(
            check_rule(&ask("calls_below", "5", "", ""), false),
            Err(RuleError::NeedsModel)
        );
        assert_eq!(
            check_rule(&ask("calls_below", "5.5", "a/b", ""), false),
            Err(RuleError::BadCalls)
        );
        assert_eq!(
            check_rule(&ask("model_gone", "", "", ""), false),
            Err(RuleError::NeedsProbe)
        );
        assert_eq!(
            check_rule(&ask("daily_summary", "", "", "25:00"), false),
            Err(RuleError::BadAtTime)
        );
        assert_eq!(
            check_rule(&ask("daily_summary", "", "", "21:30"), false).map(|r| r.at_time),
            Ok(Some(1290))
        );
        assert_eq!(
            check_rule(&ask("nonsense", "", "", ""), false),
            Err(RuleError::BadCondition)
        );
        let mut no_channel = ask("key_invalid", "", "", "");
        no_channel.channel_id = Some("x".into());
        assert_eq!(check_rule(&no_channel, false), Err(RuleError::NoChannel));
    }
}
