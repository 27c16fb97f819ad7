//! Words for the monitoring pages that depend on a code: form errors, flashes and the reasons
//! a monitor gives (all from `locales/<lang>/monitors.ftl`). Shared by the monitors, channels
//! and deliveries pages; not a page itself.

use super::view::{Notice, points};
use crate::db::alert_rules::StoredRule;
use crate::db::monitors::StoredMonitor;
use crate::i18n::{self, Arg, Lang};
use crate::modelscope::ErrorCode;
use crate::monitors::rules::Condition;
use crate::notify::channel_store::ChannelName;

/// A form error from [`super::problem::Problem::monitor`] or `::channel`.
pub fn notice_text(lang: Lang, notice: &Notice) -> String {
    let id = format!("err-{}", notice.code);
    if let Some((cost, cap)) = notice.name.split_once(';') {
        return i18n::text_with(
            lang,
            &id,
            &[("cost", Arg::from(cost)), ("cap", Arg::from(cap))],
        );
    }
    i18n::text_with(
        lang,
        &id,
        &[
            ("n", Arg::from(notice.n)),
            ("name", Arg::from(notice.name.as_str())),
        ],
    )
}

/// Why a monitor or key last failed or skipped: an upstream error code in its usual words,
/// else one of the monitor's own reasons.
pub fn reason_text(lang: Lang, code: &str) -> String {
    if ErrorCode::parse(code).is_some() {
        i18n::text(lang, &format!("code-{code}"))
    } else {
        i18n::text(lang, &format!("mon-reason-{code}"))
    }
}

/// The reasons a monitor gives besides upstream error codes.
#[cfg(test)]
pub const REASONS: &[&str] = &[
    "daily_cap",
    "key_needs_reentry",
    "preset_gone",
    "unavailable",
];

/// Confirmation after a redirect on the monitoring pages: `code`, or `code:name` for the
/// ones that name what they did it to.
pub fn flash_text(lang: Lang, flash: &str) -> String {
    let (code, name) = flash.split_once(':').unwrap_or((flash, ""));
    let id = format!("mon-done-{code}");
    if i18n::has(lang, &id) {
        i18n::text_with(lang, &id, &[("name", Arg::from(name))])
    } else {
        i18n::text(lang, "mon-done-other")
    }
}

/// A monitor as its heading on `/monitors` reads: what it checks and when.
pub fn monitor_title(lang: Lang, monitor: &StoredMonitor) -> String {
    let what = if monitor.kind == "probe" {
        let preset = monitor.preset_name.as_deref().unwrap_or("");
        i18n::text_with(lang, "mon-what-probe", &[("preset", Arg::from(preset))])
    } else {
        i18n::text(lang, "mon-what-check")
    };
    let when = match (monitor.every_minutes, monitor.at_times.as_deref()) {
        (Some(n), _) => i18n::text_with(lang, "mon-every", &[("n", Arg::from(n))]),
        (None, Some(times)) => i18n::text_with(lang, "mon-at", &[("times", Arg::from(times))]),
        (None, None) => String::new(),
    };
    format!("{what} · {when}")
}

/// A rule as its line on `/monitors` reads: the condition, then the channel it goes to.
pub fn rule_summary(lang: Lang, rule: &StoredRule) -> String {
    let threshold = || Arg::from(rule.threshold.map(points).unwrap_or_default());
    let model = rule.model.as_deref().unwrap_or("");
    let condition = match Condition::parse(&rule.condition) {
        Some(Condition::PointsBelow) => {
            i18n::text_with(lang, "rule-points-below", &[("threshold", threshold())])
        }
        Some(Condition::CallsBelow) => {
            let words = i18n::text_with(lang, "rule-calls-below", &[("threshold", threshold())]);
            format!("{words} {model}")
        }
        Some(Condition::DailySummary) => {
            let time = rule.at_time.as_deref().unwrap_or("");
            i18n::text_with(lang, "rule-summary-at", &[("time", Arg::from(time))])
        }
        Some(Condition::ModelGone) => {
            format!("{} {model}", i18n::text(lang, "cond-model_gone"))
        }
        Some(Condition::PriceChanged) => {
            format!("{} {model}", i18n::text(lang, "cond-price_changed"))
        }
        Some(Condition::KeyInvalid) | None => i18n::text(lang, "cond-key_invalid"),
    };
    format!("{} → {}", condition.trim_end(), rule.channel_name)
}

/// A channel by its name and its kind in words (never its secrets or address).
pub fn channel_title(lang: Lang, channel: &ChannelName) -> String {
    let kind = i18n::text(lang, &format!("kind-{}", channel.kind));
    format!("{} ({kind})", channel.name)
}

/// Flash codes the monitoring pages set.
#[cfg(test)]
pub const FLASHES: &[&str] = &[
    "monitor_added",
    "monitor_deleted",
    "monitor_paused",
    "monitor_resumed",
    "monitor_run",
    "monitor_run_queued",
    "monitor_run_running",
    "rule_added",
    "rule_deleted",
    "channel_added",
    "channel_deleted",
    "test_sent",
    "test_failed",
    "other",
];

/// A delivery's logged error (`code` or `code|detail`) in words, with the receiver's own
/// (redacted) words after it.
pub fn delivery_error_text(lang: Lang, logged: &str) -> String {
    let (code, detail) = match logged.split_once('|') {
        Some((code, detail)) => (code, Some(detail)),
        None => (logged, None),
    };
    let id = format!("delivery-error-{code}");
    let words = if i18n::has(lang, &id) {
        i18n::text(lang, &id)
    } else {
        i18n::text(lang, "delivery-error-request")
    };
    match detail {
        Some(detail) => format!("{words} ({detail})"),
        None => words,
    }
}

/// Delivery error codes (see `notify::send::SendError::code` and `notify::deliveries`).
#[cfg(test)]
pub const DELIVERY_ERRORS: &[&str] = &[
    "refused_address",
    "not_found",
    "bad_url",
    "timeout",
    "connect",
    "http",
    "rejected",
    "tls",
    "smtp",
    "request",
    "bad_message",
    "channel_gone",
    "secret",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_words_in_both_languages() {
        for lang in Lang::ALL {
            for code in super::super::problem::MONITORING_CODES {
                assert!(
                    i18n::has(lang, &format!("err-{code}")),
                    "err-{code} in {lang:?}"
                );
            }
            for reason in REASONS {
                assert!(i18n::has(lang, &format!("mon-reason-{reason}")), "{reason}");
            }
            for flash in FLASHES {
                assert!(i18n::has(lang, &format!("mon-done-{flash}")), "{flash}");
            }
            for code in DELIVERY_ERRORS {
                assert!(i18n::has(lang, &format!("delivery-error-{code}")), "{code}");
            }
            for condition in crate::monitors::rules::Condition::ALL {
                assert!(i18n::has(lang, &format!("cond-{}", condition.as_str())));
            }
            for kind in crate::notify::Kind::ALL {
                assert!(i18n::has(lang, &format!("kind-{}", kind.as_str())));
            }
        }
        let over = Notice::new("mon-over-cap").with_name("36;10");
        let text = notice_text(Lang::Zh, &over);
        assert!(text.contains("36") && text.contains("10"), "{text}");
        assert_eq!(
            delivery_error_text(Lang::En, "http|404"),
            format!("{} (404)", i18n::text(Lang::En, "delivery-error-http"))
        );
    }
}
