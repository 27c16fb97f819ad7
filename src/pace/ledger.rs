//! Exact expiry from the points ledger (`transactions?type=EARN`), when the upstream answers it:
//! each grant row's time replaces the estimate of the rise it explains, and a grant the readings
//! never saw (made before the first reading, or hidden by spending in the same interval) is
//! added. An answer that lists every grant of the last day (`complete`) also drops the
//! estimates it does not confirm: that rise was something else (a refund, a long-term reward).

use super::{GRANT_LIFE_SECS, Grant, Pace};

/// A ledger's grant row: when it was granted (unix seconds) and how many points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LedgerGrant {
    pub at: i64,
    pub points: f64,
}

/// How far outside the interval a rise was seen in a ledger time may be and still explain it
/// (the two clocks differ a little).
const SLACK_SECS: i64 = 120;

impl Pace {
    pub fn apply_ledger(&mut self, grants: &[LedgerGrant], complete: bool) {
        let Some(last) = self.last else {
            return;
        };
        let mut live: Vec<LedgerGrant> = grants
            .iter()
            .copied()
            .filter(|g| g.points > 0.0 && g.at + GRANT_LIFE_SECS > last.at)
            .collect();
        live.sort_by_key(|g| g.at);
        let mut confirmed = vec![false; self.grants.len()];
        let mut added = Vec::new();
        for grant in live {
            let expires = grant.at + GRANT_LIFE_SECS;
            let explained = self.grants.iter().enumerate().position(|(i, known)| {
                !confirmed[i]
                    && if known.exact {
                        known.expires_from == expires
                    } else {
                        known.expires_from - SLACK_SECS <= expires
                            && expires <= known.expires_by + SLACK_SECS
                    }
            });
            match explained {
                Some(i) => {
                    confirmed[i] = true;
                    let known = &mut self.grants[i];
                    known.expires_from = expires;
                    known.expires_by = expires;
                    known.exact = true;
                }
                None => added.push(Grant {
                    expires_from: expires,
                    expires_by: expires,
                    points: (grant.points - self.spent_since(grant.at)).max(0.0),
                    exact: true,
                }),
            }
        }
        if complete {
            let mut index = 0;
            self.grants.retain(|_| {
                index += 1;
                confirmed[index - 1]
            });
        }
        self.grants.extend(added);
        self.settle(last.total);
    }

    /// Points spent since `at`, as far as the readings tell (none known before the first).
    fn spent_since(&self, at: i64) -> f64 {
        self.anchors
            .iter()
            .find(|a| a.at >= at)
            .map_or(0.0, |a| (self.spent - a.spent).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{HOUR, T0, paced, reading};
    use super::*;

    #[test]
    fn the_ledger_time_makes_an_estimate_exact() {
        let mut pace = paced(&[reading(T0, 10.0, 0.0), reading(T0 + HOUR, 210.0, 0.0)]);
        pace.apply_ledger(
            &[LedgerGrant {
                at: T0 + 1000,
                points: 200.0,
            }],
            true,
        );
        assert_eq!(
            pace.grants,
            [Grant {
                expires_from: T0 + 1000 + GRANT_LIFE_SECS,
                expires_by: T0 + 1000 + GRANT_LIFE_SECS,
                points: 200.0,
                exact: true,
            }]
        );
        // Read again: nothing changes.
        let before = pace.clone();
        pace.apply_ledger(
            &[LedgerGrant {
                at: T0 + 1000,
                points: 200.0,
            }],
            true,
        );
        assert_eq!(pace, before);
    }

    #[test]
    fn a_grant_before_the_first_reading_is_added_and_old_ones_are_ignored() {
        let mut pace = paced(&[
            reading(T0, 230.0, 0.0),
            reading(T0 + HOUR, 220.0, 0.0),
            reading(T0 + 2 * HOUR, 215.0, 0.0),
        ]);
        pace.apply_ledger(
            &[
                LedgerGrant {
                    at: T0 - HOUR,
                    points: 200.0,
                },
                LedgerGrant {
                    at: T0 - 2 * GRANT_LIFE_SECS,
                    points: 200.0,
                },
            ],
            true,
        );
        assert_eq!(pace.grants.len(), 1);
        let grant = pace.grants[0];
        assert_eq!(grant.expires_from, T0 - HOUR + GRANT_LIFE_SECS);
        assert!(grant.exact);
        // The 15 spent since the first reading came out of it.
        assert_eq!(grant.points, 185.0);
    }

    #[test]
    fn a_complete_answer_drops_rises_it_does_not_confirm() {
        let mut pace = paced(&[reading(T0, 10.0, 0.0), reading(T0 + HOUR, 15.0, 0.0)]);
        let mut partial = pace.clone();
        pace.apply_ledger(&[], true);
        assert!(pace.grants.is_empty());
        partial.apply_ledger(&[], false);
        assert_eq!(partial.grants.len(), 1, "a partial answer proves nothing");
    }
}
