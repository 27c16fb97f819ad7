//! Which key to use for a model: the user's keys ranked by the calls left of it, most first;
//! on a tie the key whose points expire soonest goes first (use them before they vanish).
//! Where the model's price is unknown, every key's calls are a range at the same unknown
//! price, so the lower ends rank them as the balances do.

use std::cmp::Ordering;

use super::calls_left::CallsLeft;
use crate::ids::KeyId;

/// One key's standing for one model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Standing {
    pub key: KeyId,
    pub calls: CallsLeft,
    /// When its soonest expiring points go.
    pub expires_first: Option<i64>,
}

impl Standing {
    /// The number ranked by: the calls known, or the fewest the range allows; `None` when
    /// nothing is known (never read).
    pub fn calls_ranked(&self) -> Option<i64> {
        self.calls.exact.or(self.calls.range.map(|(low, _)| low))
    }
}

fn order(a: &Standing, b: &Standing) -> Ordering {
    b.calls_ranked()
        .cmp(&a.calls_ranked())
        .then_with(|| match (a.expires_first, b.expires_first) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
        .then_with(|| a.key.cmp(&b.key))
}

/// The key with the most runs of a preset left: its available points over the preset's
/// dearest expected cost (ties: the soonest to expire). `None` without a balance or a cost.
pub fn best_for_cost(keys: &[(KeyId, Option<f64>, Option<i64>)], cost: f64) -> Option<KeyId> {
    if cost <= 0.0 {
        return None;
    }
    let standings = keys
        .iter()
        .filter_map(|&(key, available, expires_first)| {
            Some(Standing {
                key,
                calls: CallsLeft {
                    exact: Some(super::calls_left::calls_for(available?, cost)),
                    ..CallsLeft::default()
                },
                expires_first,
            })
        })
        .collect();
    rank(standings).first().map(|s| s.key)
}

/// Best first.
pub fn rank(mut standings: Vec<Standing>) -> Vec<Standing> {
    standings.sort_by(order);
    standings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing(key: i64, exact: Option<i64>, expires: Option<i64>) -> Standing {
        Standing {
            key: KeyId(key),
            calls: CallsLeft {
                exact,
                ..CallsLeft::default()
            },
            expires_first: expires,
        }
    }

    #[test]
    fn most_calls_first_then_the_soonest_to_expire() {
        let ranked = rank(vec![
            standing(1, Some(50), None),
            standing(2, None, None),
            standing(3, Some(120), Some(900)),
            standing(4, Some(120), Some(500)),
            standing(5, Some(120), None),
        ]);
        let keys: Vec<i64> = ranked.iter().map(|s| s.key.get()).collect();
        assert_eq!(keys, [4, 3, 5, 1, 2]);
    }

    #[test]
    fn ranges_rank_by_their_lower_end() {
        let mut wide = standing(1, None, None);
        wide.calls.range = Some((10, 40));
        let mut narrow = standing(2, None, None);
        narrow.calls.range = Some((20, 80));
        let ranked = rank(vec![wide, narrow]);
        assert_eq!(ranked[0].key, KeyId(2));
    }
}
