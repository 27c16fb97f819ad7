//! A probe run: the key's measuring window opens (`measure`), the balance is read, the models
//! the points can pay for are called (the rest are not: `points_exhausted`), the balance is read
//! once more while the calls are in flight and again once the points they hold are back, the
//! window closes, and the difference is judged (`judge`) and, when clean, learned from.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;

use super::calls_left::ExpectedCost;
use super::engine::{CallsSent, PointsHints};
use super::judge::{self, Judgement, Readings};
use super::learn::{self, Cost, Lesson};
use super::scope::{Body, RunEvent, Scope, valid_ids};
use crate::modelscope::{
    AccountBalance, BalanceError, ErrorCode, Failure, ModelEntry, ModelResult, milli,
};

/// The longest a run waits for its calls' frozen points to come back before the last read.
pub const SETTLE_WAIT: Duration = Duration::from_secs(3);
/// How often the balance is read again while waiting.
const SETTLE_POLL: Duration = Duration::from_millis(150);
/// When the reading in flight is made, after the last call went out. Calls that answer sooner
/// make it needless (it is then not made, or dropped): it never makes a run longer.
const DURING_DELAY: Duration = Duration::from_millis(100);
/// The longest a run that learns waits for another one measuring the same key; after that it
/// goes on and reports the shared window.
pub(super) const LOCK_WAIT: Duration = Duration::from_secs(2);
/// How long learning waits for a site's rates table asked for at the start of the run.
const RATES_WAIT: Duration = Duration::from_millis(300);

pub(super) async fn run(scope: &Scope<'_>, entries: Vec<ModelEntry>) -> Body {
    let engine = scope.engine;
    let asking = engine
        .tiers()
        .refresh(engine.upstream(), scope.site, scope.key);
    let expected =
        ExpectedCost::of(valid_ids(&entries).map(|model| scope.known.bounds(model, &scope.tiers)));
    scope.report.say(RunEvent::Expected(expected));
    let watch = engine.watch();
    // Runs that learn never share a window; anonymous ones do not wait (they report a shared
    // window instead).
    let wait = scope.user.map(|_| LOCK_WAIT);
    let window = watch.open(watch.mark(scope.site, scope.key), wait).await;
    let before = engine.balance(scope.site, scope.key, scope.lane).await;
    scope.report.say(RunEvent::Before(before.clone()));
    let available = before.as_ref().ok().map(|b| b.available_balance);
    let count = entries.len();
    let (places, entries, skipped) = affordable(scope, entries, available);
    let called = entries.iter().any(|e| matches!(e, ModelEntry::Valid(_)));
    let (mut rows, during) = call(scope, places, entries, available).await;
    rows.extend(skipped);
    let mut slots: Vec<Option<ModelResult>> = vec![None; count];
    for (index, row) in rows {
        slots[index] = Some(row);
    }
    let results: Vec<ModelResult> = slots.into_iter().flatten().collect();
    if !called && available.is_some() {
        // Nothing was called: the first reading is the last.
        window.close(before.as_ref().ok());
        scope.report.say(RunEvent::Balance {
            balance: before.clone(),
            spent: Some(0.0),
        });
        return Body {
            results,
            expected,
            before: Some(before.clone()),
            balance: before,
            judgement: None,
            points_short: true,
            lesson: Lesson::default(),
            census: None,
        };
    }
    let (balance, settled) = settled_balance(scope, &before).await;
    let judgement = match (&before, &balance) {
        (Ok(first), Ok(last)) => Some(judge::judge(&Readings {
            before: *first,
            during,
            after: *last,
            settled,
            last_settled: window.last_settled(),
            overlapped: window.overlapped_so_far(),
            refundable: refundable(scope, &results),
        })),
        _ => None,
    };
    let end = window.close(balance.as_ref().ok().filter(|_| settled));
    let judgement = judgement.map(|mut judged| {
        if end.overlapped && judged.unclean.is_none() {
            judged.unclean = Some(judge::Unclean::Shared);
        }
        judged
    });
    scope.report.say(RunEvent::Balance {
        balance: balance.clone(),
        spent: judgement.and_then(|j| j.points_spent()),
    });
    asking.wait(RATES_WAIT).await;
    let lesson = teach(scope, &results, judgement).await;
    Body {
        expected,
        before: Some(before),
        judgement,
        lesson,
        ..Body::new(results, balance)
    }
}

/// Which of the models to call: their places and entries, and the rows of those the points
/// cannot pay for (in the given order, each at its lowest possible price). Without a balance,
/// every model is called.
fn affordable(
    scope: &Scope<'_>,
    entries: Vec<ModelEntry>,
    available: Option<f64>,
) -> (Vec<usize>, Vec<ModelEntry>, Vec<(usize, ModelResult)>) {
    let mut left = available.map(milli);
    let (mut places, mut call, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    for (index, entry) in entries.into_iter().enumerate() {
        if let (ModelEntry::Valid(model), Some(points)) = (&entry, left.as_mut()) {
            let low = milli(scope.known.bounds(model, &scope.tiers).0);
            if low > *points {
                let failure = Failure::new(ErrorCode::PointsExhausted, None);
                let row = ModelResult::unprobed(model.clone(), Some(failure), Duration::ZERO);
                skipped.push((index, row));
                continue;
            }
            *points -= low;
        }
        places.push(index);
        call.push(entry);
    }
    (places, call, skipped)
}

/// Calls `entries` (at `places` of the run) and reads the balance once while the calls are in
/// flight; every row as it arrives, tagged with its place.
pub(super) async fn call(
    scope: &Scope<'_>,
    places: Vec<usize>,
    entries: Vec<ModelEntry>,
    available: Option<f64>,
) -> (Vec<(usize, ModelResult)>, Option<AccountBalance>) {
    let engine = scope.engine;
    let hints = PointsHints {
        available,
        prices: valid_ids(&entries)
            .map(|id| (id.to_owned(), scope.known.bounds(id, &scope.tiers).1))
            .collect(),
    };
    let calls = valid_ids(&entries).count();
    let sent = Arc::new(CallsSent::default());
    let mut rows = std::pin::pin!(engine.stream(
        scope.site,
        scope.key.clone(),
        entries,
        hints,
        scope.lane,
        sent.clone()
    ));
    // Once every call has gone out (and had a moment to reach the upstream), while none has
    // answered: what is held then is what the run is spending.
    let mut reading = std::pin::pin!(async {
        sent.reached(calls).await;
        tokio::time::sleep(DURING_DELAY).await;
        engine.balance(scope.site, scope.key, scope.lane).await
    });
    let (mut out, mut during, mut answered, mut read) = (Vec::new(), None, false, false);
    loop {
        tokio::select! {
            biased;
            row = rows.next() => {
                let Some((index, mut result)) = row else { break };
                answered |= result.checked;
                answer_from_balance(&mut result, available.is_some());
                result.price = scope.known.price(&result.model);
                let index = places.get(index).copied().unwrap_or(index);
                scope.report.say(RunEvent::Row { index, result: result.clone(), available });
                out.push((index, result));
            }
            balance = &mut reading, if !read && !answered => {
                read = true;
                during = balance.ok();
            }
        }
    }
    (out, during)
}

/// A healthy answer without rate-limit headers rests on the balance; with no balance either,
/// nothing is known and the row says so.
fn answer_from_balance(result: &mut ModelResult, balance_known: bool) {
    if result.is_healthy() && result.quota.is_empty() && !balance_known {
        result.failure = Some(Failure::new(ErrorCode::NoQuotaData, None));
    }
}

/// The balance once the points held for the run's calls are back where they were before it
/// (or after `SETTLE_WAIT`, whichever comes first), and whether they were.
pub(super) async fn settled_balance(
    scope: &Scope<'_>,
    before: &Result<AccountBalance, BalanceError>,
) -> (Result<AccountBalance, BalanceError>, bool) {
    let waited = Instant::now();
    loop {
        let balance = scope
            .engine
            .balance(scope.site, scope.key, scope.lane)
            .await;
        let held = match (before, &balance) {
            (Ok(before), Ok(now)) => milli(now.frozen_amount) > milli(before.frozen_amount),
            _ => false,
        };
        if !held || waited.elapsed() + SETTLE_POLL > SETTLE_WAIT {
            return (balance, !held);
        }
        tokio::time::sleep(SETTLE_POLL).await;
    }
}

/// What refunds of the run's failed calls could give back at most.
pub(super) fn refundable(scope: &Scope<'_>, results: &[ModelResult]) -> i64 {
    results
        .iter()
        .filter(|r| r.checked && r.failure.is_some())
        .map(|r| milli(scope.known.bounds(&r.model, &scope.tiers).1))
        .sum()
}

/// Learns from a clean difference (signed-in runs only); a failure is logged, never the run's.
pub(super) async fn teach(
    scope: &Scope<'_>,
    results: &[ModelResult],
    judgement: Option<Judgement>,
) -> Lesson {
    let (Some(user), Some(points)) = (scope.user, judgement.and_then(|j| j.clean_cost())) else {
        return Lesson::default();
    };
    let answered: Vec<String> = results
        .iter()
        .filter(|r| r.is_healthy())
        .map(|r| r.model.clone())
        .collect();
    let cost = Cost {
        user,
        key: scope.key_id,
        answered,
        points,
    };
    let tiers = scope.engine.tiers().tiers(scope.site);
    match learn::learn(scope.db, tiers, cost).await {
        Ok(lesson) => lesson,
        Err(error) => {
            // Optional: the run itself is fine without it.
            tracing::warn!(%error, "learning from a run's cost failed");
            Lesson::default()
        }
    }
}
