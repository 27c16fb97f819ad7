//! `/api/quota?format=prometheus`: the same figures as Prometheus text gauges (exposition format
//! 0.0.4), one series a key (`key` is its label, `site` its site) and one a key and model, for
//! the caller's own keys only. A figure that is not known is left out, never written as 0.

use std::fmt::Write;

use crate::runs::quota::QuotaReport;

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A label value as the text format needs it: backslash, double quote and newline escaped.
pub fn escape(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            _ => escaped.push(c),
        }
    }
    escaped
}

/// One metric family: its help line, its type, and its samples as `(labels, value)`.
fn family(out: &mut String, name: &str, help: &str, samples: &[(String, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{{{labels}}} {value}");
    }
}

pub fn render(report: &QuotaReport) -> String {
    let key_labels: Vec<String> = report
        .keys
        .iter()
        .map(|k| {
            format!(
                "key=\"{}\",site=\"{}\"",
                escape(&k.key.label),
                k.key.site.as_str()
            )
        })
        .collect();
    let per_key = |value: &dyn Fn(usize) -> Option<f64>| -> Vec<(String, f64)> {
        (0..report.keys.len())
            .filter_map(|i| value(i).map(|v| (key_labels[i].clone(), v)))
            .collect()
    };
    let keys = &report.keys;
    let mut out = String::new();
    family(
        &mut out,
        "msb_key_points_available",
        "Points (magicubes) available on a saved key at its newest reading.",
        &per_key(&|i| keys[i].outlook.balance.map(|b| b.available)),
    );
    family(
        &mut out,
        "msb_key_points_frozen",
        "Points held for calls still running at the newest reading.",
        &per_key(&|i| keys[i].outlook.balance.map(|b| b.frozen)),
    );
    family(
        &mut out,
        "msb_key_points_expiring",
        "Short-term points that expire within 24 hours unless spent first (estimated or exact).",
        &per_key(&|i| {
            keys[i].outlook.balance?;
            Some(keys[i].outlook.expiring_within(report.now, 24 * 3600))
        }),
    );
    family(
        &mut out,
        "msb_key_burn_per_hour",
        "Points spent per hour over the last day of readings; absent without enough readings.",
        &per_key(&|i| keys[i].outlook.forecast.burn_per_hour),
    );
    family(
        &mut out,
        "msb_key_runs_out_timestamp_seconds",
        "When the points run out at the current pace (unix time); absent without a forecast.",
        &per_key(&|i| keys[i].outlook.forecast.runs_out_at.map(|t| t as f64)),
    );
    family(
        &mut out,
        "msb_key_balance_read_timestamp_seconds",
        "When the key's balance was last read (unix time).",
        &per_key(&|i| keys[i].outlook.balance.map(|b| b.read_at as f64)),
    );
    let calls: Vec<(String, f64)> = keys
        .iter()
        .zip(&key_labels)
        .flat_map(|(key, labels)| {
            key.models.iter().filter_map(move |m| {
                m.calls
                    .exact
                    .map(|n| (format!("{labels},model=\"{}\"", escape(&m.model)), n as f64))
            })
        })
        .collect();
    family(
        &mut out,
        "msb_model_calls_left",
        "Calls of a model a key still allows (its points at the model's known price, or the rate-limit headers); absent while the price is unknown.",
        &calls,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape("two\nlines"), "two\\nlines");
        assert_eq!(escape("主 key"), "主 key");
    }
}
