//! A price census: the models whose price is unknown, called one at a time with the balance read
//! between calls (once the points they hold are back), each clean difference recorded as that
//! model's measured price. It never spends more than its budget: a model is called only while
//! the budget left covers the dearest price it may have. A difference another client's spending
//! made unclean may be measured once more (the one exception to one call per model per query);
//! otherwise the model stays unmeasured.

use std::collections::HashSet;
use std::time::Duration;

use super::calls_left::ExpectedCost;
use super::judge::{self, Judgement, Readings, Unclean};
use super::learn::Lesson;
use super::probe::{LOCK_WAIT, call, refundable, settled_balance, teach};
use super::scope::{Body, CensusOutcome, RunEvent, Scope, valid_ids};
use crate::modelscope::{
    AccountBalance, ErrorCode, Failure, ModelEntry, ModelResult, Reason, from_milli, milli,
};

/// How long learning waits for a site's rates table asked for at the start.
const RATES_WAIT: Duration = Duration::from_millis(300);

pub(super) async fn run(scope: &Scope<'_>, entries: Vec<ModelEntry>, budget: Option<f64>) -> Body {
    let engine = scope.engine;
    let asking = engine
        .tiers()
        .refresh(engine.upstream(), scope.site, scope.key);
    let unknown: Vec<String> = {
        let mut seen = HashSet::new();
        valid_ids(&entries)
            .filter(|m| scope.known.price(m).is_none() && seen.insert(m.to_string()))
            .map(str::to_owned)
            .collect()
    };
    let expected = ExpectedCost::of(unknown.iter().map(|m| scope.known.bounds(m, &scope.tiers)));
    scope.report.say(RunEvent::Expected(expected));
    let watch = engine.watch();
    let window = watch
        .open(watch.mark(scope.site, scope.key), Some(LOCK_WAIT))
        .await;
    let before = engine.balance(scope.site, scope.key, scope.lane).await;
    scope.report.say(RunEvent::Before(before.clone()));
    let first = match &before {
        Ok(first) => *first,
        Err(error) => {
            drop(window);
            let failure = Failure::new(error.code(), error.detail().map(str::to_owned));
            let results = entries
                .iter()
                .map(|e| unprobed_row(e, Some(failure.clone())))
                .collect();
            let census = CensusOutcome {
                measured: Vec::new(),
                unmeasured: unknown,
                budget: budget.unwrap_or(0.0),
            };
            return body(results, expected, before.clone(), before, None, census);
        }
    };
    asking.wait(RATES_WAIT).await;
    let available = milli(first.available_balance);
    let budget = budget.map_or(available, |b| milli(b).min(available));
    let mut state = Census {
        left: budget,
        last: first,
        settled: true,
        outside: false,
        first_step: true,
        lesson: Lesson::default(),
        outcome: CensusOutcome {
            budget: from_milli(budget),
            ..CensusOutcome::default()
        },
    };
    let mut results = Vec::new();
    let mut done: HashSet<String> = HashSet::new();
    for (index, entry) in entries.into_iter().enumerate() {
        let ModelEntry::Valid(model) = &entry else {
            results.push(unprobed_row(&entry, None));
            continue;
        };
        if !unknown.contains(model) || !done.insert(model.clone()) {
            results.push(unprobed_row(&entry, None));
            continue;
        }
        let row = state.measure(scope, &window, index, model).await;
        results.push(row.unwrap_or_else(|| unprobed_row(&entry, None)));
    }
    let last = state.last;
    let overall = judge::judge(&Readings {
        before: first,
        during: None,
        after: last,
        settled: state.settled,
        last_settled: window.last_settled(),
        overlapped: window.overlapped_so_far(),
        refundable: 0,
    });
    window.close(Some(&last).filter(|_| state.settled));
    let overall = Judgement {
        unclean: overall
            .unclean
            .or(state.outside.then_some(Unclean::Outside)),
        ..overall
    };
    scope.report.say(RunEvent::Balance {
        balance: Ok(last),
        spent: overall.points_spent(),
    });
    let mut finished = body(
        results,
        expected,
        before,
        Ok(last),
        Some(overall),
        state.outcome,
    );
    finished.lesson = state.lesson;
    finished
}

/// Where a census is.
struct Census {
    /// Budget left, in thousandths.
    left: i64,
    /// The last reading: the next model's first.
    last: AccountBalance,
    settled: bool,
    /// Some model's difference showed another client's spending.
    outside: bool,
    first_step: bool,
    lesson: Lesson,
    outcome: CensusOutcome,
}

impl Census {
    /// Measures one model (twice at most); its last row, or `None` when it was not called.
    async fn measure(
        &mut self,
        scope: &Scope<'_>,
        window: &super::measure::Window,
        index: usize,
        model: &str,
    ) -> Option<ModelResult> {
        let dearest = milli(scope.known.bounds(model, &scope.tiers).1);
        let mut row = None;
        for attempt in 0..2 {
            if self.left < dearest || !self.settled {
                break;
            }
            let available = Some(self.last.available_balance);
            let entry = ModelEntry::Valid(model.to_owned());
            let (rows, during) = call(scope, vec![index], vec![entry], available).await;
            let Some((_, answered)) = rows.into_iter().next() else {
                break;
            };
            let (after, settled) = settled_balance(scope, &Ok(self.last)).await;
            let Ok(after) = after else {
                // Without a reading nothing more can be measured or kept within the budget.
                self.left = 0;
                row = Some(answered);
                break;
            };
            let judged = judge::judge(&Readings {
                before: self.last,
                during,
                after,
                settled,
                last_settled: self.first_step.then(|| window.last_settled()).flatten(),
                overlapped: window.overlapped_so_far(),
                refundable: refundable(scope, std::slice::from_ref(&answered)),
            });
            self.first_step = false;
            self.settled = settled;
            self.last = after;
            // A grant in between (no difference) is charged as the dearest price.
            self.left -= judged.difference.map_or(dearest, milli);
            self.outside |= judged.unclean == Some(Unclean::Outside);
            let healthy = answered.is_healthy();
            let clean = judged.clean_cost().is_some();
            if healthy && clean {
                let lesson = teach(scope, std::slice::from_ref(&answered), Some(judged)).await;
                self.lesson.stored |= lesson.stored;
                if let Some(measured) = &lesson.measured {
                    self.outcome.measured.push(measured.clone());
                    self.lesson.measured = Some(measured.clone());
                    self.lesson.changes.extend(lesson.changes);
                    return Some(answered);
                }
            }
            row = Some(answered);
            // Only spending from elsewhere earns a second call.
            if !(healthy && judged.unclean.is_some() && attempt == 0) {
                break;
            }
        }
        self.outcome.unmeasured.push(model.to_owned());
        row
    }
}

fn body(
    results: Vec<ModelResult>,
    expected: ExpectedCost,
    before: Result<AccountBalance, crate::modelscope::BalanceError>,
    balance: Result<AccountBalance, crate::modelscope::BalanceError>,
    judgement: Option<Judgement>,
    census: CensusOutcome,
) -> Body {
    Body {
        expected,
        before: Some(before),
        judgement,
        census: Some(census),
        ..Body::new(results, balance)
    }
}

/// A row the census did not call: invalid ids as always, the rest unchecked.
fn unprobed_row(entry: &ModelEntry, failure: Option<Failure>) -> ModelResult {
    match entry {
        ModelEntry::Invalid { id, reason } => ModelResult::unprobed(
            id.clone(),
            Some(Failure::because(
                ErrorCode::InvalidModel,
                Reason::from(*reason),
            )),
            Duration::ZERO,
        ),
        ModelEntry::Valid(id) => ModelResult::unprobed(id.clone(), failure, Duration::ZERO),
    }
}
