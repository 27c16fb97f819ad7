//! The words of a notification (`locales/<lang>/notify.ftl`, Chinese by default) and the JSON
//! body of the generic webhook. Short and actionable: which key, what number, what to do.
//! Built from labels, masked keys and numbers only, so nothing secret can be in a message.

use serde::Serialize;

pub use crate::db::alert_rules::Condition;
pub use crate::db::deliveries::Event as EventKind;
use crate::db::price_learning::PriceChange;
use crate::i18n::{self, Arg, Lang};
use crate::modelscope::ErrorCode;

/// Points print as 12 or 12.5 (two decimals at most).
pub fn points_text(value: f64) -> String {
    let rounded = (value * 100.0).round() / 100.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded}")
    }
}

/// What an alert or recovery message says.
#[derive(Debug, Clone)]
pub struct AlertFacts<'a> {
    pub condition: Condition,
    /// `true` when the condition started, `false` when it cleared.
    pub started: bool,
    pub key_label: &'a str,
    pub key_masked: &'a str,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    pub model: Option<&'a str>,
    pub models: &'a [String],
    /// Calls of a flagship model (2 points) the available points buy.
    pub flagship_calls: Option<i64>,
    /// Today's login grant seems not claimed yet.
    pub grant_unclaimed: bool,
    /// The error code that refused the key.
    pub refused_code: Option<ErrorCode>,
}

fn key(lang: Lang, label: &str, masked: &str) -> String {
    i18n::text_with(
        lang,
        "notify-key",
        &[("label", label.into()), ("masked", masked.into())],
    )
}

fn num(value: Option<f64>) -> Arg<'static> {
    Arg::from(value.map(points_text).unwrap_or_else(|| "—".to_owned()))
}

pub fn alert_text(lang: Lang, facts: &AlertFacts<'_>) -> String {
    let key = key(lang, facts.key_label, facts.key_masked);
    let models = if facts.models.is_empty() {
        facts.model.unwrap_or("").to_owned()
    } else {
        facts.models.join(", ")
    };
    let args = |extra: Vec<(&'static str, Arg<'static>)>| {
        let mut args: Vec<(&'static str, Arg<'static>)> = vec![
            ("key", Arg::from(key.clone())),
            ("value", num(facts.value)),
            ("threshold", num(facts.threshold)),
            ("model", Arg::from(facts.model.unwrap_or("").to_owned())),
            ("models", Arg::from(models.clone())),
        ];
        args.extend(extra);
        args
    };
    let id = match (facts.condition, facts.started) {
        (Condition::PointsBelow, true) => "notify-points-below",
        (Condition::PointsBelow, false) => "notify-points-recovered",
        (Condition::CallsBelow, true) => "notify-calls-below",
        (Condition::CallsBelow, false) => "notify-calls-recovered",
        (Condition::KeyInvalid, true) => "notify-key-invalid",
        (Condition::KeyInvalid, false) => "notify-key-recovered",
        (Condition::ModelGone, true) => "notify-model-gone",
        (Condition::RunsOutWithin, true) => "notify-runs-out",
        (Condition::RunsOutWithin, false) => "notify-runs-out-cleared",
        (Condition::PointsExpiring, true) => "notify-expiring",
        (Condition::PointsExpiring, false) => "notify-expiring-cleared",
        (Condition::GrantUnclaimed, true) => "notify-grant-unclaimed",
        (Condition::GrantUnclaimed, false) => "notify-grant-claimed",
        // A summary or a price change is no alert about a key: it never comes here.
        (Condition::ModelGone | Condition::DailySummary | Condition::PriceChanged, _) => {
            "notify-model-back"
        }
    };
    let refused = facts.refused_code.unwrap_or(ErrorCode::InvalidKey);
    let reason = i18n::text(lang, &format!("notify-refused-{}", refused.as_str()));
    let calls = facts
        .flagship_calls
        .map_or_else(|| "—".to_owned(), |n| n.to_string());
    let mut text = i18n::text_with(
        lang,
        id,
        &args(vec![
            ("calls", Arg::from(calls)),
            ("reason", Arg::from(reason)),
        ]),
    );
    if facts.condition == Condition::PointsBelow && facts.started && facts.grant_unclaimed {
        text.push_str(&i18n::text(lang, "notify-grant"));
    }
    text
}

/// One key's line in a daily summary.
#[derive(Debug, Clone)]
pub struct SummaryLine {
    pub key_label: String,
    pub key_masked: String,
    pub available: Option<f64>,
    pub flagship_calls: Option<i64>,
}

pub fn summary_text(lang: Lang, date: &str, lines: &[SummaryLine]) -> String {
    let mut text = i18n::text_with(lang, "notify-summary-head", &[("date", date.into())]);
    for line in lines {
        let key = key(lang, &line.key_label, &line.key_masked);
        text.push('\n');
        text.push_str(&match line.available {
            Some(available) => i18n::text_with(
                lang,
                "notify-summary-line",
                &[
                    ("key", Arg::from(key)),
                    ("value", Arg::from(points_text(available))),
                    (
                        "calls",
                        Arg::from(
                            line.flagship_calls
                                .map_or_else(|| "—".to_owned(), |n| n.to_string()),
                        ),
                    ),
                ],
            ),
            None => i18n::text_with(lang, "notify-summary-unknown", &[("key", Arg::from(key))]),
        });
    }
    text
}

/// A model's price changed for the user (a `price_changed` rule).
pub fn price_change_text(lang: Lang, change: &PriceChange) -> String {
    let source = i18n::text(lang, &format!("notify-source-{}", change.source));
    i18n::text_with(
        lang,
        "notify-price-changed",
        &[
            ("model", change.model.as_str().into()),
            ("from", points_text(change.old_points).into()),
            ("to", points_text(change.new_points).into()),
            ("source", source.into()),
        ],
    )
}

/// A test message. The channel's name is the only text in it a user typed, so it goes in as
/// plain text only ([`plain_name`]); the title (an email's subject) never has it.
pub fn test_text(lang: Lang, channel_name: &str, markdown: bool) -> String {
    let name = plain_name(channel_name, markdown);
    i18n::text_with(lang, "notify-test", &[("name", name.into())])
}

/// Characters that reorder or hide text: bidirectional controls and zero-width characters.
fn hides_text(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}'
    )
}

/// A name as plain text: no control character or one that reorders or hides text, and for a
/// receiver that renders Markdown (ServerChan) every Markdown character escaped, so a name
/// can never become a link, an image or markup there.
pub fn plain_name(name: &str, markdown: bool) -> String {
    let mut plain = String::with_capacity(name.len());
    for c in name.chars().filter(|c| !c.is_control() && !hides_text(*c)) {
        if markdown && "\\`*_{}[]()<>#+-.!|~&".contains(c) {
            plain.push('\\');
        }
        plain.push(c);
    }
    plain
}

pub fn title(lang: Lang, kind: EventKind) -> String {
    i18n::text(lang, &format!("notify-title-{kind}"))
}

/// The message with a link to the monitors page, when the app knows its public address.
pub fn with_link(lang: Lang, text: String, public_url: Option<&str>) -> String {
    match public_url {
        Some(base) => {
            let link = i18n::text_with(
                lang,
                "notify-link",
                &[("url", Arg::from(format!("{base}/monitors")))],
            );
            format!("{text}\n{link}")
        }
        None => text,
    }
}

/// What a message is about, as the generic webhook's body says it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct About<'a> {
    pub event: EventKind,
    pub condition: Option<Condition>,
    pub key_label: Option<&'a str>,
    pub model: Option<&'a str>,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
}

impl About<'_> {
    /// A message about nothing but its event (a test).
    pub fn event(event: EventKind) -> Self {
        Self {
            event,
            condition: None,
            key_label: None,
            model: None,
            value: None,
            threshold: None,
        }
    }
}

/// The generic webhook's JSON body.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookBody<'a> {
    #[serde(flatten)]
    pub about: &'a About<'a>,
    pub message: &'a str,
    /// RFC 3339 in Beijing time.
    pub at: String,
}

impl WebhookBody<'_> {
    pub fn to_json(&self) -> String {
        // Plain strings and numbers: always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(
        condition: Condition,
        started: bool,
        key_label: &'a str,
        key_masked: &'a str,
    ) -> AlertFacts<'a> {
        AlertFacts {
            condition,
            started,
            key_label,
            key_masked,
            value: None,
            threshold: None,
            model: None,
            models: &[],
            flagship_calls: None,
            grant_unclaimed: false,
            refused_code: None,
        }
    }

    #[test]
    fn a_channel_name_is_only_plain_text() {
        assert_eq!(
            plain_name("ops\u{202e}moc.evil\u{200b}", false),
            "opsmoc.evil"
        );
        assert_eq!(
            plain_name("[win](http://x.example) **now**", true),
            "\\[win\\]\\(http://x\\.example\\) \\*\\*now\\*\\*"
        );
        let text = test_text(Lang::En, "<b>x</b>", false);
        assert!(text.contains("<b>x</b>"), "{text}");
    }

    #[test]
    fn the_points_alert_reads_as_the_issue_says() {
        let text = alert_text(
            Lang::Zh,
            &AlertFacts {
                value: Some(12.0),
                threshold: Some(20.0),
                flagship_calls: Some(6),
                grant_unclaimed: true,
                ..facts(Condition::PointsBelow, true, "主账号", "ms-…abcd")
            },
        );
        assert_eq!(
            text,
            "主账号 ms-…abcd：可用魔粒 12（低于 20），约可调用旗舰模型 6 次；短期魔粒明天 00:00 前需登录魔搭领取"
        );
        let linked = with_link(Lang::Zh, text, Some("https://msb.example"));
        assert!(linked.ends_with("https://msb.example/monitors"), "{linked}");
    }

    #[test]
    fn every_condition_has_words_in_both_languages() {
        for lang in Lang::ALL {
            let alerts = Condition::ALL
                .iter()
                .filter(|c| !matches!(c, Condition::DailySummary | Condition::PriceChanged));
            for condition in alerts {
                for started in [true, false] {
                    let text = alert_text(
                        lang,
                        &AlertFacts {
                            model: Some("a/b"),
                            refused_code: Some(ErrorCode::AccountNotEligible),
                            ..facts(*condition, started, "k", "ms-…0000")
                        },
                    );
                    assert!(text.starts_with("k ms-…0000"), "{text}");
                    assert!(!text.contains("notify-"), "{text}");
                }
            }
            for kind in EventKind::ALL {
                assert!(!title(lang, *kind).contains("notify-"));
            }
            assert!(i18n::has(lang, "notify-refused-invalid_key"));
        }
        assert_eq!(points_text(240.5), "240.5");
        assert_eq!(points_text(0.1 + 0.2), "0.3");
    }
}
