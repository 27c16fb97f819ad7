//! The one quota result every page shows (quick result, `/query` live and finished, history
//! detail): a strip for the key (available points, what the run spent, what the points buy at
//! each price), then one row per model with one "calls left" number and where it comes from.
//! Plain display values; the words are in `templates/results.html`.

use super::status::ResultStatus;
use super::view::{Meter, PointsView, cost_text, failure_detail, meter, number, points};
use crate::db::history::StoredBalance;
use crate::i18n::Lang;
use crate::modelscope::{
    AccountBalance, BUILT_IN_TIERS, BalanceError, ErrorCode, ModelResult, PriceSource, Tiers,
};
use crate::runs::calls_left::{CallsLeft, ExpectedCost, QuotaSource, calls_for};
use crate::runs::executor::FinishedRun;
use crate::runs::history::RunKind;
use crate::runs::judge::Unclean;

/// The balance as a page can show it: the numbers, or why there are none.
#[derive(Debug, Clone, Default)]
pub struct BalanceShown {
    pub total: Option<f64>,
    pub available: Option<f64>,
    pub frozen: Option<f64>,
    /// Fine, or the error code of a failed read; `None` when no read was made.
    pub code: Option<ResultStatus>,
    pub detail: Option<String>,
}

impl BalanceShown {
    pub fn read(result: &Result<AccountBalance, BalanceError>) -> Self {
        match result {
            Ok(b) => Self {
                total: Some(b.total_balance),
                available: Some(b.available_balance),
                frozen: Some(b.frozen_amount),
                code: Some(ResultStatus::Ok),
                detail: None,
            },
            Err(error) => Self {
                code: Some(ResultStatus::Failed(error.code())),
                detail: error.detail().map(str::to_owned),
                ..Self::default()
            },
        }
    }

    pub fn stored(balance: &StoredBalance) -> Self {
        match (
            balance.total,
            balance.available,
            balance.frozen,
            &balance.error,
        ) {
            (Some(_), Some(_), Some(_), _) => Self {
                total: balance.total,
                available: balance.available,
                frozen: balance.frozen,
                code: Some(ResultStatus::Ok),
                detail: None,
            },
            (_, _, _, Some(code)) => Self {
                code: Some(ResultStatus::Failed(*code)),
                ..Self::default()
            },
            _ => Self::default(),
        }
    }
}

/// What the available points buy at one price tier.
pub struct TierCalls {
    /// `2`, `1`, `0.5` or `0.2`: the template names the tier by it.
    pub price: String,
    pub calls: i64,
}

pub struct Strip {
    /// Nothing was read (an old stored run).
    pub unknown: bool,
    pub points: Option<PointsView>,
    /// Points still held for calls (shown only when there are any).
    pub frozen_held: bool,
    /// Fine, or the code of the failed balance read.
    pub code: ResultStatus,
    pub detail: Option<String>,
    pub spent: Option<String>,
    /// `7.5`, or `5–20` where prices are unknown.
    pub expected: Option<String>,
    pub tiers: Vec<TierCalls>,
    /// The forecast and the points expiring soon (the dashboard's strip).
    pub outlook: Option<super::outlook_view::OutlookView>,
}

crate::closed_set! {
    /// Where a row's "calls left" comes from (sent to the live script as `source`): the
    /// rate-limit headers, the points balance and the model's known price, a range (the balance
    /// is known, the price is not), or nothing.
    pub enum LeftFrom { Headers, Points, Estimate, Unknown = "none" }
}

pub struct RowView {
    pub model: String,
    /// Fine, not checked (no call was made: no badge says healthy) or the error code;
    /// templates say it in words.
    pub code: ResultStatus,
    pub detail: Option<String>,
    /// A call was made (a free check's rows show no latency).
    pub checked: bool,
    pub latency_ms: u64,
    /// `495`, `125–500` or `—`.
    pub calls_left: String,
    pub source: LeftFrom,
    pub price: Option<String>,
    pub price_source: Option<PriceSource>,
    /// The price is none of the built-in tiers (measured all the same).
    pub unusual_price: bool,
    /// While the price is unknown: the tiers it may still be (`1 / 2`), when runs narrowed
    /// them.
    pub candidates: Option<String>,
    /// The four daily headers as `remaining / limit`, when they came.
    pub account: Option<String>,
    pub model_quota: Option<String>,
    /// Calls left this month (the international site's monthly headers).
    pub month_left: Option<i64>,
    pub meter: Option<Meter>,
    /// Worth a retry: a call was made and failed.
    pub retry: bool,
}

pub struct ResultView {
    pub check: bool,
    pub census: bool,
    /// Every row failed for the key itself (invalid, not eligible): said once, at the top.
    pub key_problem: Option<ResultStatus>,
    /// No model was called: the points could not pay for any of them.
    pub points_short: bool,
    /// Why the run's cost taught nothing, when something else spent the key (`outside`) or
    /// another run of the app measured it at the same time (`shared`).
    pub unclean: Option<Unclean>,
    /// The shared window's total, when the run could not claim it as its own.
    pub shared: Option<String>,
    /// A census: the prices it measured, and the models it left unmeasured.
    pub measured: Vec<(String, String)>,
    pub unmeasured: Vec<String>,
    /// Prices this run changed: model, from, to.
    pub changes: Vec<(String, String, String)>,
    /// The pasted key is not shaped like a ModelScope token (it was tried all the same).
    pub key_hint: bool,
    pub strip: Strip,
    pub rows: Vec<RowView>,
    pub ok_count: usize,
    pub failed_count: usize,
    pub elapsed_ms: u64,
}

/// One run's outcome, however it was obtained (just now, or from history).
pub struct Outcome<'a> {
    pub kind: RunKind,
    pub results: &'a [ModelResult],
    pub elapsed_ms: u64,
    pub balance: BalanceShown,
    pub spent: Option<f64>,
    pub shared: Option<f64>,
    pub unclean: Option<Unclean>,
    pub points_short: bool,
    pub expected: Option<ExpectedCost>,
    pub tiers: &'a Tiers,
}

impl ResultView {
    /// The result of a run that just finished.
    pub fn finished(run: &FinishedRun, key_hint: bool, lang: Lang) -> Self {
        let mut view = Self::new(
            Outcome {
                kind: run.kind,
                results: &run.report.results,
                elapsed_ms: u64::try_from(run.report.elapsed.as_millis()).unwrap_or(u64::MAX),
                balance: BalanceShown::read(&run.balance),
                spent: run.points_spent,
                shared: run.shared_points_spent,
                unclean: run.unclean,
                points_short: run.points_short,
                expected: Some(run.expected),
                tiers: &run.tiers,
            },
            lang,
        );
        if let Some(census) = &run.census {
            view.measured = census
                .measured
                .iter()
                .map(|(model, price)| (model.clone(), points(*price)))
                .collect();
            view.unmeasured = census.unmeasured.clone();
        }
        view.changes = run
            .lesson
            .changes
            .iter()
            .map(|(model, old, new)| (model.clone(), points(*old), points(*new)))
            .collect();
        view.key_hint = key_hint;
        view
    }

    pub fn new(outcome: Outcome<'_>, lang: Lang) -> Self {
        let available = outcome.balance.available;
        let rows: Vec<RowView> = outcome
            .results
            .iter()
            .map(|result| RowView::new(result, available, lang))
            .collect();
        let ok_count = rows.iter().filter(|row| row.code.is_ok()).count();
        let failed_count = rows
            .iter()
            .filter(|row| matches!(row.code, ResultStatus::Failed(_)))
            .count();
        Self {
            check: outcome.kind == RunKind::Check,
            census: outcome.kind == RunKind::Census,
            key_problem: key_problem(&rows),
            points_short: outcome.points_short,
            unclean: outcome.unclean.filter(|u| u.disowns_cost()),
            shared: outcome.shared.map(points),
            measured: Vec::new(),
            unmeasured: Vec::new(),
            changes: Vec::new(),
            key_hint: false,
            strip: Strip::new(&outcome),
            failed_count,
            ok_count,
            rows,
            elapsed_ms: outcome.elapsed_ms,
        }
    }
}

impl ResultView {
    /// A stored census: what it measured (the rows it called that answered with a price) and
    /// what it left unknown.
    pub fn census_from_rows(&mut self, results: &[ModelResult]) {
        for result in results
            .iter()
            .filter(|r| r.error_code() != Some(ErrorCode::InvalidModel))
        {
            match result.price {
                Some(price) if result.is_healthy() => self
                    .measured
                    .push((result.model.clone(), points(price.points))),
                Some(_) => {}
                None => self.unmeasured.push(result.model.clone()),
            }
        }
    }
}

impl Strip {
    fn new(outcome: &Outcome<'_>) -> Self {
        let expected = outcome.expected.filter(|_| outcome.kind != RunKind::Check);
        Self::of(
            outcome.balance.clone(),
            outcome.spent,
            expected,
            outcome.tiers,
        )
    }

    /// The strip for a balance, the run's cost and its expected cost (probe runs), with what
    /// the points buy at each of the site's tiers.
    pub fn of(
        balance: BalanceShown,
        spent: Option<f64>,
        expected: Option<ExpectedCost>,
        tiers: &Tiers,
    ) -> Self {
        let balance = &balance;
        let points_view = match (balance.total, balance.available, balance.frozen) {
            (Some(total), Some(available), Some(frozen)) => Some(PointsView {
                total: points(total),
                available: points(available),
                frozen: points(frozen),
            }),
            _ => None,
        };
        Self {
            unknown: balance.code.is_none(),
            frozen_held: balance.frozen.is_some_and(|f| f > 0.0),
            points: points_view,
            code: balance.code.unwrap_or(ResultStatus::Ok),
            detail: balance.detail.clone(),
            spent: spent.map(points),
            expected: expected.map(|cost| cost_text(&cost)),
            outlook: None,
            tiers: balance
                .available
                .map(|available| {
                    tiers
                        .prices()
                        .iter()
                        .rev()
                        .map(|price| TierCalls {
                            price: points(*price),
                            calls: calls_for(available, *price),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// The key-level code every row shares, if they all failed with the same one.
fn key_problem(rows: &[RowView]) -> Option<ResultStatus> {
    let first = rows.first()?.code;
    (first.is_key_level() && rows.iter().all(|row| row.code == first)).then_some(first)
}

impl RowView {
    pub fn new(result: &ModelResult, available: Option<f64>, lang: Lang) -> Self {
        let quota = result.quota;
        let price = result.price;
        let left = CallsLeft::of_row(result, available);
        let (calls_left, source) = match (left.exact, left.range, left.source) {
            (Some(n), _, Some(QuotaSource::Headers)) => (n.to_string(), LeftFrom::Headers),
            (Some(n), _, _) => (n.to_string(), LeftFrom::Points),
            (None, Some((low, high)), _) => (format!("{low}–{high}"), LeftFrom::Estimate),
            _ => ("—".to_owned(), LeftFrom::Unknown),
        };
        let daily = [
            quota.request_limit,
            quota.request_remaining,
            quota.model_request_limit,
            quota.model_request_remaining,
        ]
        .iter()
        .any(Option::is_some);
        let unusual = price.is_some_and(|p| Tiers::default().tier(p.points).is_none());
        Self {
            model: result.model.clone(),
            code: ResultStatus::of_row(result.error_code(), result.checked),
            detail: result
                .failure
                .as_ref()
                .and_then(|f| failure_detail(f, lang)),
            checked: result.checked,
            latency_ms: result.latency_ms,
            calls_left,
            source,
            price: price.map(|p| points(p.points)),
            price_source: price.map(|p| p.source),
            unusual_price: unusual,
            candidates: result
                .candidates
                .as_ref()
                .filter(|c| c.len() < BUILT_IN_TIERS.len())
                .map(|c| c.iter().map(|p| points(*p)).collect::<Vec<_>>().join(" / ")),
            account: daily.then(|| {
                format!(
                    "{} / {}",
                    number(quota.request_remaining),
                    number(quota.request_limit)
                )
            }),
            model_quota: daily.then(|| {
                format!(
                    "{} / {}",
                    number(quota.model_request_remaining),
                    number(quota.model_request_limit)
                )
            }),
            month_left: quota.model_month_request_remaining,
            meter: meter(quota.model_request_remaining, quota.model_request_limit),
            retry: result.checked && result.failure.is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modelscope::ErrorCode;

    #[test]
    fn stored_balances() {
        let none = StoredBalance::default();
        assert!(BalanceShown::stored(&none).code.is_none());
        let ok = BalanceShown::stored(&StoredBalance {
            total: Some(250.0),
            available: Some(12.5),
            frozen: Some(0.0),
            ..none.clone()
        });
        let strip = Strip::of(ok, None, None, &Tiers::default());
        let shown = strip.points.unwrap();
        assert_eq!(
            (shown.total.as_str(), shown.available.as_str()),
            ("250", "12.5")
        );
        let failed = BalanceShown::stored(&StoredBalance {
            error: Some(ErrorCode::InvalidKey),
            ..none
        });
        assert_eq!(failed.code.map(ResultStatus::as_str), Some("invalid_key"));
        // An unknown stored code is no longer shown as `upstream_error`: reading the row fails
        // (`db::history::tests::an_unknown_stored_code_is_an_error`).
    }

    #[test]
    fn the_strip_says_what_the_points_buy_dearest_first() {
        let strip = Strip::of(
            BalanceShown {
                total: Some(10.0),
                available: Some(7.5),
                frozen: Some(2.5),
                code: Some(ResultStatus::Ok),
                detail: None,
            },
            Some(1.0),
            Some(ExpectedCost { min: 1.0, max: 4.0 }),
            &Tiers::default(),
        );
        let tiers: Vec<(String, i64)> = strip
            .tiers
            .into_iter()
            .map(|t| (t.price, t.calls))
            .collect();
        assert_eq!(
            tiers,
            [
                ("2".into(), 3),
                ("1".into(), 7),
                ("0.5".into(), 15),
                ("0.2".into(), 37)
            ]
        );
        assert!(strip.frozen_held);
        assert_eq!(strip.spent.as_deref(), Some("1"));
        assert_eq!(strip.expected.as_deref(), Some("1–4"));
    }
}
