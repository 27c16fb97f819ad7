//! Words for the monitoring pages that depend on a code: form errors, flashes and the reasons
//! a monitor gives (all from `locales/<lang>/monitors.ftl`). Shared by the monitors, channels
//! and deliveries pages; not a page itself.

use super::view::Notice;
use crate::i18n::{self, Arg, Lang};
use crate::modelscope::ErrorCode;

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

/// Confirmation after a redirect on the monitoring pages.
pub fn flash_text(lang: Lang, code: &str) -> String {
    let id = format!("mon-done-{code}");
    if i18n::has(lang, &id) {
        i18n::text(lang, &id)
    } else {
        i18n::text(lang, "mon-done-other")
    }
}

/// Flash codes the monitoring pages set.
#[cfg(test)]
pub const FLASHES: &[&str] = &[
    "monitor_added",
    "monitor_deleted",
    "monitor_paused",
    "monitor_resumed",
    "monitor_run",
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
