//! What a clean run teaches (see `runs::judge` for clean): one model that answered once is a
//! measurement of its price; several are an equation, kept, and solved together with the
//! user's other equations that name the same models (`runs::solve`). Only the models of the run
//! and the equations that name them are read and written, a bounded number of them.
//!
//! A measurement that would replace a known price needs a second clean one that agrees; a
//! contradiction among equations drops the oldest equation of the model concerned. Whenever a
//! model's known price moves from one value to another, the change is recorded.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rusqlite::Connection;

use super::prices::{Known, known_now};
use super::solve::{self, Candidates, Equation};
use crate::db::{Db, DbError, price_learning, prices};
use crate::ids::{KeyId, UserId};
use crate::modelscope::{Tiers, from_milli, milli};

/// Equations read when a run is stored: per round of following models to their equations,
/// and in all.
const EQUATIONS_PER_ROUND: usize = 100;
const EQUATIONS_AT_MOST: usize = 300;

/// What one run taught.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lesson {
    /// A price measured and recorded: `(model, points)`.
    pub measured: Option<(String, f64)>,
    /// A measurement that disagrees with the known price, waiting for a second one.
    pub pending: Option<(String, f64)>,
    /// No tier combination of the answered models makes the cost: nothing was kept.
    pub unexplained: bool,
    /// Older equations dropped because they contradicted the newer ones.
    pub dropped: usize,
    /// Prices that changed: `(model, old, new)`.
    pub changes: Vec<(String, f64, f64)>,
    /// Something was stored (a measurement or an equation): what is known may have moved.
    pub stored: bool,
}

/// What a clean run cost, and who ran it.
pub struct Cost {
    pub user: UserId,
    pub key: Option<KeyId>,
    /// The models whose calls answered (repeats kept): failed calls are refunded.
    pub answered: Vec<String>,
    pub points: f64,
}

/// Learns from a clean run's cost with the site's `tiers`.
pub async fn learn(db: &Db, tiers: Tiers, cost: Cost) -> Result<Lesson, DbError> {
    if cost.answered.is_empty() || milli(cost.points) <= 0 {
        return Ok(Lesson::default());
    }
    db.run(move |conn| {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let lesson = learn_on(&tx, &tiers, &cost)?;
        tx.commit()?;
        Ok(lesson)
    })
    .await
}

fn learn_on(conn: &Connection, tiers: &Tiers, cost: &Cost) -> Result<Lesson, DbError> {
    let user = cost.user;
    let mut models: Vec<String> = cost.answered.clone();
    models.sort_unstable();
    models.dedup();
    let before = known_now(conn, Some(user), &models, false)?;
    let mut lesson = Lesson::default();
    let touched = match cost.answered.as_slice() {
        [only] => {
            measure(conn, cost, only, &before, &mut lesson)?;
            vec![only.clone()]
        }
        _ => {
            let pins = pins(conn, user, &models)?;
            let sets = starting_sets(&models, &pins, &HashMap::new(), tiers);
            if !solve::explains(&sets, &cost.answered, milli(cost.points)) {
                lesson.unexplained = true;
                return Ok(lesson);
            }
            price_learning::insert_equation(conn, user, &cost.answered, milli(cost.points))?;
            lesson.stored = true;
            models.clone()
        }
    };
    lesson.dropped = propagate(conn, user, tiers, &touched)?;
    let after = known_now(conn, Some(user), &models, false)?;
    for model in &models {
        let (Some(old), Some(new)) = (before.price(model), after.price(model)) else {
            continue;
        };
        if milli(old.points) != milli(new.points) {
            price_learning::insert_change(conn, user, model, old.points, new.points, new.source)?;
            lesson.changes.push((model.clone(), old.points, new.points));
        }
    }
    Ok(lesson)
}

/// One model, one answered call: its price, unless that replaces a known one at first sight.
fn measure(
    conn: &Connection,
    cost: &Cost,
    model: &str,
    before: &Known,
    lesson: &mut Lesson,
) -> Result<(), DbError> {
    let user = cost.user;
    let points = from_milli(milli(cost.points));
    let known = before.price(model).map(|p| p.points);
    let replaces = known.is_some_and(|k| milli(k) != milli(points));
    if replaces {
        let pending = price_learning::pending(conn, user, model)?;
        if pending.is_none_or(|p| milli(p) != milli(points)) {
            price_learning::set_pending(conn, user, model, Some(points))?;
            lesson.pending = Some((model.to_owned(), points));
            return Ok(());
        }
    }
    price_learning::set_pending(conn, user, model, None)?;
    prices::insert_measurement(conn, user, cost.key, model, points)?;
    // The measurement pins the model; what equations said of it is re-derived from that.
    price_learning::clear_candidates(conn, user, model)?;
    lesson.measured = Some((model.to_owned(), points));
    lesson.stored = true;
    Ok(())
}

/// The user's own settings and measurements of `models`, in thousandths (settings win).
fn pins(
    conn: &Connection,
    user: UserId,
    models: &[String],
) -> Result<HashMap<String, i64>, DbError> {
    let mut pins: HashMap<String, i64> = prices::own_measurements(conn, user, models)?
        .into_iter()
        .map(|(m, p)| (m, milli(p)))
        .collect();
    for (model, points) in prices::settings(conn, user, models)? {
        pins.insert(model, milli(points));
    }
    Ok(pins)
}

/// Each model's starting set: its pin, else its stored candidates among the tiers, else every
/// tier.
fn starting_sets(
    models: &[String],
    pins: &HashMap<String, i64>,
    stored: &HashMap<String, Vec<f64>>,
    tiers: &Tiers,
) -> Candidates {
    let all: Vec<i64> = tiers.prices().iter().map(|p| milli(*p)).collect();
    models
        .iter()
        .map(|model| {
            let set = match (pins.get(model), stored.get(model)) {
                (Some(pin), _) => vec![*pin],
                (None, Some(stored)) => {
                    let kept: Vec<i64> = stored
                        .iter()
                        .map(|p| milli(*p))
                        .filter(|p| all.contains(p))
                        .collect();
                    if kept.is_empty() { all.clone() } else { kept }
                }
                (None, None) => all.clone(),
            };
            (model.clone(), set)
        })
        .collect()
}

/// Solves the equations that name `start` (and, a few rounds on, the models they name) and
/// stores each unpinned model's new candidates. Returns how many equations were dropped.
fn propagate(
    conn: &Connection,
    user: UserId,
    tiers: &Tiers,
    start: &[String],
) -> Result<usize, DbError> {
    let mut equations: BTreeMap<i64, Equation> = BTreeMap::new();
    let mut seen: BTreeSet<String> = start.iter().cloned().collect();
    let mut frontier: Vec<String> = start.to_vec();
    while !frontier.is_empty() && equations.len() < EQUATIONS_AT_MOST {
        let found = price_learning::equations_naming(conn, user, &frontier, EQUATIONS_PER_ROUND)?;
        frontier.clear();
        for stored in found {
            for model in &stored.models {
                if seen.insert(model.clone()) {
                    frontier.push(model.clone());
                }
            }
            equations
                .entry(stored.id)
                .or_insert_with(|| Equation::of(stored.id, &stored.models, stored.total));
        }
    }
    let models: Vec<String> = seen.into_iter().collect();
    let pins = pins(conn, user, &models)?;
    let stored = price_learning::candidates(conn, user, &models)?;
    let mut sets = starting_sets(&models, &pins, &stored, tiers);
    let mut dropped = 0;
    loop {
        let list: Vec<Equation> = equations.values().cloned().collect();
        match solve::narrow(&mut sets, &list) {
            Ok(()) => break,
            Err(model) => {
                // The oldest equation of that model goes; the rest start again from scratch.
                let Some(oldest) = list.iter().find(|e| e.mentions(&model)).map(|e| e.id) else {
                    break;
                };
                price_learning::delete_equation(conn, user, oldest)?;
                equations.remove(&oldest);
                dropped += 1;
                sets = starting_sets(&models, &pins, &HashMap::new(), tiers);
            }
        }
    }
    let all: Vec<i64> = tiers.prices().iter().map(|p| milli(*p)).collect();
    for (model, set) in &sets {
        if pins.contains_key(model) {
            continue;
        }
        let before: Option<Vec<i64>> = stored
            .get(model)
            .map(|s| s.iter().map(|p| milli(*p)).collect());
        let unchanged = match &before {
            Some(before) => before == set,
            None => set == &all,
        };
        if !unchanged {
            let prices: Vec<f64> = set.iter().map(|m| from_milli(*m)).collect();
            price_learning::set_candidates(conn, user, model, &prices)?;
        }
    }
    Ok(dropped)
}
