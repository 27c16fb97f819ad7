//! The words of a notification (`locales/<lang>/notify.ftl`, Chinese by default) and the JSON
//! body of the generic webhook. Short and actionable: which key, what number, what to do.
//! Built from labels, masked keys and numbers only, so nothing secret can be in a message.

use serde::Serialize;

use crate::i18n::{self, Arg, Lang};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Alert,
    Recovered,
    Summary,
    Test,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alert => "alert",
            Self::Recovered => "recovered",
            Self::Summary => "summary",
            Self::Test => "test",
        }
    }
}

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
#[derive(Debug, Clone, Default)]
pub struct AlertFacts<'a> {
    pub condition: &'a str,
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
    pub refused_code: Option<&'a str>,
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
        ("points_below", true) => "notify-points-below",
        ("points_below", false) => "notify-points-recovered",
        ("calls_below", true) => "notify-calls-below",
        ("calls_below", false) => "notify-calls-recovered",
        ("key_invalid", true) => "notify-key-invalid",
        ("key_invalid", false) => "notify-key-recovered",
        ("model_gone", true) => "notify-model-gone",
        _ => "notify-model-back",
    };
    let reason = facts
        .refused_code
        .map(|code| i18n::text(lang, &format!("notify-refused-{code}")))
        .unwrap_or_else(|| i18n::text(lang, "notify-refused-invalid_key"));
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
    if facts.condition == "points_below" && facts.started && facts.grant_unclaimed {
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
    i18n::text(lang, &format!("notify-title-{}", kind.as_str()))
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

/// The generic webhook's JSON body.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookBody<'a> {
    pub event: &'a str,
    pub condition: Option<&'a str>,
    pub key_label: Option<&'a str>,
    pub model: Option<&'a str>,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
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
                condition: "points_below",
                started: true,
                key_label: "主账号",
                key_masked: "ms-…abcd",
                value: Some(12.0),
                threshold: Some(20.0),
                flagship_calls: Some(6),
                grant_unclaimed: true,
                ..AlertFacts::default()
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
            for condition in ["points_below", "calls_below", "key_invalid", "model_gone"] {
                for started in [true, false] {
                    let text = alert_text(
                        lang,
                        &AlertFacts {
                            condition,
                            started,
                            key_label: "k",
                            key_masked: "ms-…0000",
                            model: Some("a/b"),
                            refused_code: Some("account_not_eligible"),
                            ..AlertFacts::default()
                        },
                    );
                    assert!(text.starts_with("k ms-…0000"), "{text}");
                    assert!(!text.contains("notify-"), "{text}");
                }
            }
            for kind in [
                EventKind::Alert,
                EventKind::Recovered,
                EventKind::Summary,
                EventKind::Test,
            ] {
                assert!(!title(lang, kind).contains("notify-"));
            }
            assert!(i18n::has(lang, "notify-refused-invalid_key"));
        }
        assert_eq!(points_text(240.5), "240.5");
        assert_eq!(points_text(0.1 + 0.2), "0.3");
    }
}
