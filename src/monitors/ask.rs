//! A monitor's form, checked: its keys, what it checks, its schedule and its cost cap
//! (ownership and the cost itself are checked when it is stored).

use super::schedule::{MIN_CHECK_MINUTES, MIN_PROBE_MINUTES, Schedule};
use super::{CheckKind, MAX_DAILY_CAP, MonitorError};
use crate::ids::{KeyId, PresetId};

/// A monitor's fields as the form sent them.
#[derive(Debug, Default, Clone)]
pub struct MonitorAsk {
    pub key_ids: Vec<String>,
    pub check: Option<String>,
    pub preset_id: Option<String>,
    pub every_minutes: Option<String>,
    pub at_times: Option<String>,
    pub daily_cost_cap: Option<String>,
}

/// A checked monitor, ready to be priced and stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMonitor {
    pub keys: Vec<KeyId>,
    pub kind: CheckKind,
    pub preset: Option<PresetId>,
    pub schedule: Schedule,
    pub daily_cost_cap: Option<f64>,
}

fn text(field: &Option<String>) -> Option<&str> {
    field.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The form's `check` field: `balance` (the default), or a kind as stored (`check`, `probe`).
pub fn check_kind(field: Option<&str>) -> Option<CheckKind> {
    match field.map(str::trim).filter(|s| !s.is_empty()) {
        None | Some("balance") => Some(CheckKind::Balance),
        Some(other) => CheckKind::parse(other),
    }
}

/// Checks a monitor's fields, with at most `max_keys` keys.
pub fn check_monitor(ask: &MonitorAsk, max_keys: usize) -> Result<NewMonitor, MonitorError> {
    let mut keys = Vec::new();
    for raw in ask
        .key_ids
        .iter()
        .map(|k| k.trim())
        .filter(|k| !k.is_empty())
    {
        let id: KeyId = raw.parse().map_err(|_| MonitorError::KeyNotFound)?;
        if !keys.contains(&id) {
            keys.push(id);
        }
    }
    if keys.is_empty() {
        return Err(MonitorError::NoKey);
    }
    if keys.len() > max_keys {
        return Err(MonitorError::TooManyKeys { max: max_keys });
    }
    let kind = check_kind(ask.check.as_deref()).ok_or(MonitorError::BadCheck)?;
    let min_every = match kind {
        CheckKind::Balance => MIN_CHECK_MINUTES,
        CheckKind::Probe => MIN_PROBE_MINUTES,
    };
    let schedule = Schedule::parse(
        ask.every_minutes.as_deref(),
        ask.at_times.as_deref(),
        min_every,
    )
    .map_err(MonitorError::Schedule)?;
    let cap = match text(&ask.daily_cost_cap) {
        Some(cap) => Some(
            cap.parse::<f64>()
                .ok()
                .filter(|c| c.is_finite() && *c > 0.0 && *c <= MAX_DAILY_CAP)
                .ok_or(MonitorError::BadCap)?,
        ),
        None => None,
    };
    let (preset, cap) = match kind {
        CheckKind::Balance => (None, None),
        CheckKind::Probe => {
            let preset: PresetId = text(&ask.preset_id)
                .ok_or(MonitorError::NoPreset)?
                .parse()
                .map_err(|_| MonitorError::PresetNotFound)?;
            (Some(preset), Some(cap.ok_or(MonitorError::NeedsCap)?))
        }
    };
    Ok(NewMonitor {
        keys,
        kind,
        preset,
        schedule,
        daily_cost_cap: cap,
    })
}

#[cfg(test)]
mod tests {
    use super::super::schedule::ScheduleError;
    use super::*;

    fn check_monitor(ask: &MonitorAsk) -> Result<NewMonitor, MonitorError> {
        super::check_monitor(ask, 10)
    }

    fn ask(keys: &[&str], check: &str, every: &str, cap: &str) -> MonitorAsk {
        MonitorAsk {
            key_ids: keys.iter().map(|k| k.to_string()).collect(),
            check: Some(check.into()),
            preset_id: Some("4".into()),
            every_minutes: Some(every.into()),
            at_times: None,
            daily_cost_cap: Some(cap.into()),
        }
    }

    #[test]
    fn checks_a_monitor() {
        let ok = check_monitor(&ask(&["1", "2", "1"], "balance", "5", "")).unwrap();
        assert_eq!(ok.keys, vec![KeyId(1), KeyId(2)]);
        assert_eq!(ok.preset, None);
        assert_eq!(ok.daily_cost_cap, None);
        assert!(matches!(
            check_monitor(&ask(&[], "balance", "5", "")),
            Err(MonitorError::NoKey)
        ));
        assert!(matches!(
            check_monitor(&ask(&["1"], "probe", "10", "50")),
            Err(MonitorError::Schedule(ScheduleError::BadInterval {
                min: 30
            }))
        ));
        assert!(matches!(
            check_monitor(&ask(&["1"], "probe", "30", "")),
            Err(MonitorError::NeedsCap)
        ));
        assert!(matches!(
            check_monitor(&ask(&["1"], "probe", "30", "-3")),
            Err(MonitorError::BadCap)
        ));
        assert!(matches!(
            check_monitor(&ask(&["x"], "balance", "5", "")),
            Err(MonitorError::KeyNotFound)
        ));
        assert!(matches!(
            check_monitor(&ask(&["1"], "everything", "5", "")),
            Err(MonitorError::BadCheck)
        ));
        assert!(matches!(
            check_monitor(&ask(&["1"], " check ", "5", "")).map(|m| m.kind),
            Ok(CheckKind::Balance)
        ));
        let keys: Vec<String> = (1..=11).map(|k| k.to_string()).collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        assert!(matches!(
            check_monitor(&ask(&keys, "balance", "5", "")),
            Err(MonitorError::TooManyKeys { max: 10 })
        ));
        let probe = check_monitor(&ask(&["1"], "probe", "30", "40")).unwrap();
        assert_eq!(probe.preset, Some(PresetId(4)));
        assert_eq!(probe.daily_cost_cap, Some(40.0));
    }
}
