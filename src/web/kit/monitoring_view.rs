//! Words for the monitoring pages that depend on a stored value: the reasons a monitor gives,
//! what a monitor, a rule or a channel is called, and a delivery's error (all from
//! `locales/<lang>/monitors.ftl`). Shared by the monitors, channels and deliveries pages; not a
//! page itself.

use super::view::points;
use crate::db::alert_rules::StoredRule;
use crate::db::deliveries::DeliveryFailure;
use crate::db::monitors::StoredMonitor;
use crate::i18n::{self, Arg, Lang};
use crate::monitors::rules::Condition;
use crate::monitors::{CheckKind, Reason};
use crate::notify::Kind;

/// Why a monitor or key last failed or skipped: an upstream error code in its usual words,
/// else one of the monitor's own reasons.
pub fn reason_text(lang: Lang, reason: Reason) -> String {
    match reason {
        Reason::Upstream(code) => i18n::text(lang, &format!("code-{}", code.as_str())),
        Reason::Monitor(reason) => i18n::text(lang, &format!("mon-reason-{reason}")),
    }
}

/// A monitor as its heading on `/monitors` reads: what it checks and when.
pub fn monitor_title(lang: Lang, monitor: &StoredMonitor) -> String {
    let what = match monitor.kind {
        CheckKind::Probe => {
            let preset = monitor.preset_name.as_deref().unwrap_or("");
            i18n::text_with(lang, "mon-what-probe", &[("preset", Arg::from(preset))])
        }
        CheckKind::Balance => i18n::text(lang, "mon-what-check"),
    };
    let when = match (monitor.every_minutes, monitor.at_times.as_deref()) {
        (Some(n), _) => i18n::text_with(lang, "mon-every", &[("n", Arg::from(n))]),
        (None, Some(times)) => i18n::text_with(lang, "mon-at", &[("times", Arg::from(times))]),
        (None, None) => String::new(),
    };
    format!("{what} · {when}")
}

/// A rule's condition as its line on `/monitors` reads.
fn condition_text(lang: Lang, rule: &StoredRule) -> String {
    let threshold = || Arg::from(rule.threshold.map(points).unwrap_or_default());
    let model = rule.model.as_deref().unwrap_or("");
    let words = match rule.condition {
        Condition::PointsBelow => {
            i18n::text_with(lang, "rule-points-below", &[("threshold", threshold())])
        }
        Condition::CallsBelow => {
            let words = i18n::text_with(lang, "rule-calls-below", &[("threshold", threshold())]);
            format!("{words} {model}")
        }
        Condition::DailySummary => {
            let time = rule.at_time.as_deref().unwrap_or("");
            i18n::text_with(lang, "rule-summary-at", &[("time", Arg::from(time))])
        }
        Condition::ModelGone => format!("{} {model}", i18n::text(lang, "cond-model_gone")),
        Condition::KeyInvalid => i18n::text(lang, "cond-key_invalid"),
        Condition::PriceChanged => {
            format!("{} {model}", i18n::text(lang, "cond-price_changed"))
        }
        Condition::RunsOutWithin => {
            i18n::text_with(lang, "rule-runs-out-within", &[("hours", threshold())])
        }
        Condition::PointsExpiring => i18n::text_with(
            lang,
            "rule-points-expiring",
            &[
                ("threshold", threshold()),
                (
                    "hours",
                    Arg::from(rule.within_hours.map(points).unwrap_or_default()),
                ),
            ],
        ),
        Condition::GrantUnclaimed => {
            let time = rule.at_time.as_deref().unwrap_or("");
            i18n::text_with(lang, "rule-grant-unclaimed", &[("time", Arg::from(time))])
        }
    };
    words.trim_end().to_owned()
}

/// A rule by its condition and the channel it goes to.
pub fn rule_summary(lang: Lang, rule: &StoredRule) -> String {
    format!("{} → {}", condition_text(lang, rule), rule.channel_name)
}

/// A channel kind in words.
pub fn kind_text(lang: Lang, kind: Kind) -> String {
    i18n::text(lang, &format!("kind-{kind}"))
}

/// A channel by its name and its kind in words (never its secrets or address).
pub fn channel_title(lang: Lang, name: &str, kind: Kind) -> String {
    format!("{name} ({})", kind_text(lang, kind))
}

/// A delivery's logged error in words, with the receiver's own (redacted) words after it.
pub fn delivery_error_text(lang: Lang, failure: &DeliveryFailure) -> String {
    let words = i18n::text(lang, &format!("delivery-error-{}", failure.error));
    match &failure.detail {
        Some(detail) => format!("{words} ({detail})"),
        None => words,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::deliveries::{DeliveryError, Event, Status};
    use crate::monitors::{MonitorReason, Outcome};

    fn has_all<'a>(prefix: &str, values: impl IntoIterator<Item = &'a str>) {
        for value in values {
            for lang in Lang::ALL {
                let id = format!("{prefix}-{value}");
                assert!(i18n::has(lang, &id), "{id} missing in {lang:?}");
            }
        }
    }

    #[test]
    fn every_stored_value_has_words_in_both_languages() {
        has_all("mon-reason", MonitorReason::ALL.iter().map(|v| v.as_str()));
        has_all("mon-outcome", Outcome::ALL.iter().map(|v| v.as_str()));
        has_all(
            "delivery-error",
            DeliveryError::ALL.iter().map(|v| v.as_str()),
        );
        has_all("cond", Condition::ALL.iter().map(|v| v.as_str()));
        has_all("kind", Kind::ALL.iter().map(|v| v.as_str()));
        has_all("del-event", Event::ALL.iter().map(|v| v.as_str()));
        has_all("del-status", Status::ALL.iter().map(|v| v.as_str()));
        let codes = crate::modelscope::ErrorCode::ALL;
        has_all("code", codes.iter().map(|v| v.as_str()));
    }

    #[test]
    fn a_delivery_error_keeps_the_receivers_detail() {
        let failure = DeliveryFailure::with_detail(DeliveryError::Http, "404");
        assert_eq!(
            delivery_error_text(Lang::En, &failure),
            format!("{} (404)", i18n::text(Lang::En, "delivery-error-http"))
        );
    }
}
