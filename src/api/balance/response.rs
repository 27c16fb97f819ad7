//! The answer of `POST /api/balance`: the original tool's fields first, additions after.

use serde_json::{Value, json};

use crate::i18n::{self, Lang};
use crate::ids::RunId;
use crate::modelscope::{AccountBalance, BalanceError, ErrorCode, Failure, ModelResult};
use crate::runs::calls_left::CallsLeft;
use crate::runs::executor::FinishedRun;
use crate::runs::history::RunKind;

pub fn envelope(run: &FinishedRun, history_id: Option<RunId>, key_hint: bool, lang: Lang) -> Value {
    let report = &run.report;
    let available = run.available();
    let mut envelope = json!({
        "success": run.success(),
        "data": report.results.iter().map(|row| row_json(row, available, lang)).collect::<Vec<_>>(),
        "message": message(run, lang),
        "elapsed_ms": u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX),
        "account": account_json(&run.balance, lang),
        "probe": run.kind != RunKind::Check,
    });
    if run.kind != RunKind::Check {
        envelope["points_spent"] = run.points_spent.map_or(Value::Null, points);
        envelope["shared_points_spent"] = run.shared_points_spent.map_or(Value::Null, points);
        envelope["points_note"] = json!(run.unclean.map(|u| u.as_str()));
        envelope["expected_points"] =
            json!({"min": points(run.expected.min), "max": points(run.expected.max)});
    }
    if let Some(census) = &run.census {
        let measured: serde_json::Map<String, Value> = census
            .measured
            .iter()
            .map(|(model, price)| (model.clone(), points(*price)))
            .collect();
        envelope["measured"] = Value::Object(measured);
        envelope["unmeasured"] = json!(census.unmeasured);
        envelope["budget"] = points(census.budget);
    }
    if !run.lesson.changes.is_empty() {
        envelope["price_changes"] = run
            .lesson
            .changes
            .iter()
            .map(|(model, old, new)| json!({"model": model, "from": points(*old), "to": points(*new)}))
            .collect();
    }
    if key_hint {
        envelope["key_hint"] = json!(i18n::text(lang, "api-key-hint"));
    }
    if let Some(id) = history_id {
        envelope["history_id"] = json!(id);
    }
    envelope
}

/// The answer's `message`: what was done, in one sentence.
fn message(run: &FinishedRun, lang: Lang) -> String {
    let report = &run.report;
    match (run.kind, &run.balance) {
        (_, Ok(balance)) if run.points_short => i18n::text_with(
            lang,
            "api-points-short",
            &[("available", balance.available_balance.into())],
        ),
        (RunKind::Check, Ok(balance)) => i18n::text_with(
            lang,
            "api-check-ok",
            &[("available", balance.available_balance.into())],
        ),
        (RunKind::Check, Err(_)) => i18n::text(lang, "api-check-failed"),
        (RunKind::Census, _) => {
            let census = run.census.clone().unwrap_or_default();
            i18n::text_with(
                lang,
                "api-census",
                &[
                    ("measured", census.measured.len().into()),
                    ("unmeasured", census.unmeasured.len().into()),
                    ("spent", run.points_spent.unwrap_or(0.0).into()),
                ],
            )
        }
        (RunKind::Probe, _) => {
            let (ok, failed) = (report.ok_count(), report.failed_count());
            if failed > 0 {
                i18n::text_with(
                    lang,
                    "api-ok-some-failed",
                    &[("ok", ok.into()), ("failed", failed.into())],
                )
            } else {
                i18n::text_with(lang, "api-ok", &[("ok", ok.into())])
            }
        }
    }
}

/// The original six fields, then the additions. `available`: the balance the run ended with.
pub fn row_json(row: &ModelResult, available: Option<f64>, lang: Lang) -> Value {
    let price = row.price;
    let left = CallsLeft::of_row(row, available);
    json!({
        "model": row.model,
        "request_limit": row.quota.request_limit,
        "request_remaining": row.quota.request_remaining,
        "model_request_limit": row.quota.model_request_limit,
        "model_request_remaining": row.quota.model_request_remaining,
        "error": row.failure.as_ref().map(|f| failure_message(f, row.status, lang)),
        "error_code": row.error_code(),
        "status": row.status,
        "latency_ms": row.latency_ms,
        "checked": row.checked,
        "quota_source": left.source,
        "points_per_call": price.map(|p| points(p.points)),
        "price_source": price.map(|p| p.source),
        "price_candidates": row.candidates.as_ref().map(|c| c.iter().map(|p| points(*p)).collect::<Vec<_>>()),
        "calls_left": left.exact,
        "calls_left_range": left.range.map(|(low, high)| [low, high]),
        "model_month_request_limit": row.quota.model_month_request_limit,
        "model_month_request_remaining": row.quota.model_month_request_remaining,
    })
}

fn account_json(account: &Result<AccountBalance, BalanceError>, lang: Lang) -> Value {
    match account {
        Ok(balance) => json!({
            "total_balance": points(balance.total_balance),
            "available_balance": points(balance.available_balance),
            "frozen_amount": points(balance.frozen_amount),
        }),
        Err(error) => json!({
            "error": error_message(error.code(), error.detail(), None, lang),
            "error_code": error.code(),
        }),
    }
}

/// 250 rather than 250.0 when the number is whole.
pub fn points(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        json!(value as i64)
    } else {
        json!(value)
    }
}

fn failure_message(failure: &Failure, status: Option<u16>, lang: Lang) -> String {
    let reason = failure
        .reason
        .map(|reason| i18n::text(lang, &format!("reason-{}", reason.as_str())));
    let detail = reason.as_deref().or(failure.detail.as_deref());
    error_message(failure.code, detail, status, lang)
}

/// A row's `error` text: what happened in words, then the reason or upstream's own words.
fn error_message(code: ErrorCode, detail: Option<&str>, status: Option<u16>, lang: Lang) -> String {
    let summary = i18n::text(lang, &format!("code-{}", code.as_str()));
    let message = match status.filter(|s| *s != 200) {
        Some(status) => i18n::text_with(
            lang,
            "api-row-error-status",
            &[("summary", summary.into()), ("status", status.into())],
        ),
        None => summary,
    };
    match detail {
        Some(detail) => i18n::text_with(
            lang,
            "api-row-error-detail",
            &[("error", message.into()), ("detail", detail.into())],
        ),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_whole_when_whole() {
        assert_eq!(points(250.0), json!(250));
        assert_eq!(points(12.5), json!(12.5));
    }

    #[test]
    fn error_text_names_the_status_and_the_words() {
        assert_eq!(
            error_message(ErrorCode::InvalidKey, Some("bad"), Some(401), Lang::Zh),
            "API Key 无效或已被撤销（HTTP 401）：bad"
        );
        assert_eq!(
            error_message(ErrorCode::Timeout, None, None, Lang::En),
            "The request timed out"
        );
    }
}
