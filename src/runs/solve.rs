//! Prices from equations. Each clean probe run says: the prices of the models that answered add
//! up to what it cost. Every model has a set of prices it may still have (its candidates: all
//! the tiers at first, one price once it is known). An equation keeps a candidate of a model
//! only if some choice of candidates for the others makes the sum come out right; when a set
//! shrinks, the equations that mention that model are looked at again, until nothing changes.
//!
//! Pure and in thousandths of a point (0.2 + 0.5 is exactly 0.7). Sums are built model by model
//! and cut at the total (prices are positive), so an equation of 50 models with four tiers
//! stays a few thousand sums, never 4^50 choices.

use std::collections::{BTreeMap, HashSet, VecDeque};

/// `Σ count × price(model) = total` (thousandths).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Equation {
    pub id: i64,
    /// Each model once, with how many of its calls answered.
    pub terms: Vec<(String, u32)>,
    pub total: i64,
}

impl Equation {
    /// An equation from the models that answered, in any order and with repeats.
    pub fn of(id: i64, models: &[String], total: i64) -> Self {
        let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
        for model in models {
            *counts.entry(model).or_default() += 1;
        }
        Self {
            id,
            terms: counts.into_iter().map(|(m, c)| (m.to_owned(), c)).collect(),
            total,
        }
    }

    pub fn mentions(&self, model: &str) -> bool {
        self.terms.iter().any(|(m, _)| m == model)
    }
}

/// Candidate prices per model (thousandths, ascending).
pub type Candidates = BTreeMap<String, Vec<i64>>;

/// The most equations looked at in one narrowing (a bound, never reached by real use).
const MAX_STEPS: usize = 20_000;

/// Narrows `sets` by `equations` until nothing changes. `Err(model)`: that model has no price
/// left, so the equations contradict each other (or a price changed). Models an equation names
/// that have no entry in `sets` are left out of it as unknown: they make it unusable.
pub fn narrow(sets: &mut Candidates, equations: &[Equation]) -> Result<(), String> {
    let mut queue: VecDeque<usize> = (0..equations.len()).collect();
    let mut queued: HashSet<usize> = queue.iter().copied().collect();
    let mut steps = 0;
    while let Some(at) = queue.pop_front() {
        queued.remove(&at);
        steps += 1;
        if steps > MAX_STEPS {
            break;
        }
        let equation = &equations[at];
        for model in narrow_one(sets, equation)? {
            for (other, eq) in equations.iter().enumerate() {
                if other != at && eq.mentions(&model) && queued.insert(other) {
                    queue.push_back(other);
                }
            }
        }
    }
    Ok(())
}

/// One equation's narrowing: the models whose sets shrank.
fn narrow_one(sets: &mut Candidates, equation: &Equation) -> Result<Vec<String>, String> {
    let Some(terms) = equation
        .terms
        .iter()
        .map(|(model, count)| sets.get(model).map(|set| (model, i64::from(*count), set)))
        .collect::<Option<Vec<_>>>()
    else {
        return Ok(Vec::new());
    };
    let total = equation.total;
    // prefix[i]: sums the first i terms can make; suffix[i]: the terms from i on.
    let mut prefix = vec![HashSet::from([0i64])];
    for (_, count, set) in &terms {
        let next = grow(prefix.last().unwrap_or(&HashSet::new()), set, *count, total);
        prefix.push(next);
    }
    let mut suffix = vec![HashSet::from([0i64]); terms.len() + 1];
    for i in (0..terms.len()).rev() {
        let (_, count, set) = &terms[i];
        suffix[i] = grow(&suffix[i + 1], set, *count, total);
    }
    let mut shrunk = Vec::new();
    let mut kept_sets = Vec::new();
    for (i, (model, count, set)) in terms.iter().enumerate() {
        let kept: Vec<i64> = set
            .iter()
            .copied()
            .filter(|price| {
                let rest = total - count * price;
                rest >= 0
                    && prefix[i]
                        .iter()
                        .any(|a| suffix[i + 1].contains(&(rest - a)))
            })
            .collect();
        if kept.is_empty() {
            return Err((*model).clone());
        }
        if kept.len() != set.len() {
            kept_sets.push(((*model).clone(), kept));
        }
    }
    for (model, kept) in kept_sets {
        sets.insert(model.clone(), kept);
        shrunk.push(model);
    }
    Ok(shrunk)
}

/// Every sum of one from `sums` and `count` calls at one price of `set`, up to `cap`.
fn grow(sums: &HashSet<i64>, set: &[i64], count: i64, cap: i64) -> HashSet<i64> {
    let mut out = HashSet::new();
    for sum in sums {
        for price in set {
            let next = sum + count * price;
            if next <= cap {
                out.insert(next);
            }
        }
    }
    out
}

/// Whether `total` is a sum of one candidate per model (with repeats), without narrowing.
pub fn explains(sets: &Candidates, models: &[String], total: i64) -> bool {
    let equation = Equation::of(0, models, total);
    equation.terms.iter().all(|(m, _)| sets.contains_key(m))
        && narrow_one(&mut sets.clone(), &equation).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIERS: [i64; 4] = [200, 500, 1000, 2000];

    fn all(models: &[&str]) -> Candidates {
        models
            .iter()
            .map(|m| ((*m).to_owned(), TIERS.to_vec()))
            .collect()
    }

    fn eq(id: i64, models: &[&str], total: i64) -> Equation {
        let models: Vec<String> = models.iter().map(|m| (*m).to_owned()).collect();
        Equation::of(id, &models, total)
    }

    #[test]
    fn the_worked_example_pins_all_three() {
        let mut sets = all(&["A", "B", "C"]);
        let equations = [
            eq(1, &["A", "B", "C"], 3500),
            eq(2, &["A", "B"], 3000),
            eq(3, &["B", "C"], 2500),
        ];
        narrow(&mut sets, &equations).unwrap();
        assert_eq!(sets["A"], [1000]);
        assert_eq!(sets["B"], [2000]);
        assert_eq!(sets["C"], [500]);
    }

    #[test]
    fn one_equation_leaves_the_possible_tiers() {
        let mut sets = all(&["A", "B"]);
        narrow(&mut sets, &[eq(1, &["A", "B"], 3000)]).unwrap();
        assert_eq!(sets["A"], [1000, 2000]);
        assert_eq!(sets["B"], [1000, 2000]);
        // 0.2 + 0.5 = 0.7 exactly.
        let mut sets = all(&["A", "B"]);
        narrow(&mut sets, &[eq(1, &["A", "B"], 700)]).unwrap();
        assert_eq!(sets["A"], [200, 500]);
    }

    #[test]
    fn repeats_count_and_known_prices_pin() {
        let mut sets = all(&["A", "B"]);
        sets.insert("B".into(), vec![500]);
        narrow(&mut sets, &[eq(1, &["A", "A", "B"], 4500)]).unwrap();
        assert_eq!(sets["A"], [2000]);
    }

    #[test]
    fn a_contradiction_names_a_model() {
        let mut sets = all(&["A", "B"]);
        let equations = [eq(1, &["A"], 1000), eq(2, &["A", "B"], 900)];
        assert!(narrow(&mut sets, &equations).is_err());
        // No tier sum makes 0.3.
        let mut sets = all(&["A", "B"]);
        assert!(narrow(&mut sets, &[eq(1, &["A", "B"], 300)]).is_err());
    }

    #[test]
    fn an_unknown_model_makes_an_equation_unusable() {
        let mut sets = all(&["A"]);
        narrow(&mut sets, &[eq(1, &["A", "Z"], 1000)]).unwrap();
        assert_eq!(sets["A"], TIERS);
    }

    #[test]
    fn fifty_models_stay_small() {
        let names: Vec<String> = (0..50).map(|i| format!("m{i}")).collect();
        let mut sets: Candidates = names.iter().map(|m| (m.clone(), TIERS.to_vec())).collect();
        let started = std::time::Instant::now();
        narrow(&mut sets, &[Equation::of(1, &names, 50 * 2000)]).unwrap();
        assert!(sets.values().all(|s| s == &[2000]));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn explains_checks_without_narrowing() {
        let sets = all(&["A", "B"]);
        let models = ["A".to_owned(), "B".to_owned()];
        assert!(explains(&sets, &models, 3000));
        assert!(!explains(&sets, &models, 300));
        assert!(!explains(&sets, &["Z".to_owned()], 1000));
    }
}
