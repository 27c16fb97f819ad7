//! What a key's stored balance readings say about its points, kept up to date one reading at a
//! time: how fast points were spent over the last day, and which short-term grants are still
//! alive and when they expire. `db::pace` keeps one [`Pace`] per key as runs are stored, so a
//! page or `/api/quota` reads one row a key, never the history.
//!
//! ModelScope's rules (docs/upstream.md): short-term points (the daily login grant) expire 24 h
//! after they were granted and are spent before any other points. So:
//! - a rise of the total between two readings is a grant (a refill), never negative spend;
//! - spend is read from the available points, so frozen points (held for calls still running)
//!   count as spent;
//! - when a grant expires, what was left of it vanishes: that drop is expiry, not spend.
//!
//! A grant seen between two readings came at some time between them: its expiry is an estimate
//! (`expires_from` is the earliest it can be, `expires_by` the latest). The ledger, when the
//! upstream answers it, gives the exact time ([`Pace::apply_ledger`]).

mod forecast;
mod ledger;

pub use forecast::{Basis, Forecast, MIN_READINGS, MIN_SPAN_SECS};
pub use ledger::LedgerGrant;

use serde::{Deserialize, Serialize};

/// How long short-term points live after their grant.
pub const GRANT_LIFE_SECS: i64 = 24 * 3600;
/// How far back the burn rate looks from the newest reading.
pub const WINDOW_SECS: i64 = 24 * 3600;
/// Points are decimals sent as floats: anything smaller is rounding.
const EPSILON: f64 = 1e-6;

/// One balance reading of a key: when (unix seconds) and what it said.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub at: i64,
    pub available: f64,
    pub total: f64,
}

/// The first reading of one clock hour inside the window: its time, the points spent up to
/// it, and how many readings that hour held so far.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Anchor {
    pub at: i64,
    pub spent: f64,
    pub readings: u32,
}

/// A short-term grant that may still be alive.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    /// The earliest and the latest time it can expire (equal when `exact`).
    pub expires_from: i64,
    pub expires_by: i64,
    /// What is left of it.
    pub points: f64,
    /// The ledger gave its time.
    pub exact: bool,
}

/// Points that expire at `at` unless spent first.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Expiring {
    pub points: f64,
    /// The earliest time they can expire.
    pub at: i64,
    pub exact: bool,
}

/// The running summary of one key's readings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Pace {
    pub last: Option<Reading>,
    /// Points spent since the first reading (drops of the available points that no expiry
    /// explains).
    pub spent: f64,
    /// One a clock hour, oldest first, none older than [`WINDOW_SECS`] before `last`.
    pub anchors: Vec<Anchor>,
    /// Soonest to expire first.
    pub grants: Vec<Grant>,
    /// The newest reading that showed a rise.
    pub rose_at: Option<i64>,
}

impl Pace {
    /// Takes in the next stored reading. Readings count in the order they are stored; one
    /// stamped earlier than the last counts at the last one's time.
    pub fn record(&mut self, reading: Reading) {
        let Some(last) = self.last else {
            self.last = Some(reading);
            self.anchors = vec![Anchor {
                at: reading.at,
                spent: self.spent,
                readings: 1,
            }];
            return;
        };
        let reading = Reading {
            at: reading.at.max(last.at),
            ..reading
        };
        let at = reading.at;
        // Grants surely expired by now: what was left of them vanished. When the total fell,
        // no more than the fall can have vanished (an estimate may have been too high).
        let (gone, alive): (Vec<Grant>, Vec<Grant>) =
            self.grants.iter().partition(|g| g.expires_by <= at);
        self.grants = alive;
        let left_of_gone: f64 = gone.iter().map(|g| g.points).sum();
        let total_change = reading.total - last.total;
        let lost = if total_change > EPSILON {
            left_of_gone
        } else {
            left_of_gone.min(-total_change).max(0.0)
        };
        let drop = last.available - reading.available - lost;
        let mut granted = None;
        let spend = if total_change > EPSILON {
            // A grant. Whatever else happened in between cannot be told apart from it; only
            // the points newly frozen are surely spent.
            let rise = total_change + lost;
            granted = Some(Grant {
                expires_from: last.at + GRANT_LIFE_SECS,
                expires_by: at + GRANT_LIFE_SECS,
                points: rise,
                exact: false,
            });
            self.rose_at = Some(at);
            (drop + rise).max(0.0)
        } else {
            // Grants that may have expired meanwhile explain the drop first.
            let mut spend = drop.max(0.0);
            for grant in self.grants.iter_mut().filter(|g| g.expires_from <= at) {
                let taken = grant.points.min(spend);
                grant.points -= taken;
                spend -= taken;
            }
            spend
        };
        self.take(spend);
        self.grants.extend(granted);
        self.settle(reading.total);
        self.spent += spend;
        self.last = Some(reading);
        match self.anchors.last_mut() {
            Some(anchor) if anchor.at.div_euclid(3600) == at.div_euclid(3600) => {
                anchor.readings += 1;
            }
            _ => self.anchors.push(Anchor {
                at,
                spent: self.spent,
                readings: 1,
            }),
        }
        self.anchors.retain(|a| a.at >= at - WINDOW_SECS);
    }

    /// Spending takes the points closest to expiry first.
    fn take(&mut self, mut spend: f64) {
        for grant in &mut self.grants {
            let taken = grant.points.min(spend);
            grant.points -= taken;
            spend -= taken;
        }
    }

    /// Drops spent grants, keeps the rest soonest first and never more than the `total` held.
    fn settle(&mut self, total: f64) {
        self.grants.retain(|g| g.points > EPSILON);
        self.grants.sort_by_key(|g| (g.expires_from, g.expires_by));
        let mut excess = self.grants.iter().map(|g| g.points).sum::<f64>() - total.max(0.0);
        for grant in &mut self.grants {
            if excess <= EPSILON {
                break;
            }
            let cut = grant.points.min(excess);
            grant.points -= cut;
            excess -= cut;
        }
        self.grants.retain(|g| g.points > EPSILON);
    }

    /// The grants that have not expired by `now`, soonest first.
    pub fn expiring(&self, now: i64) -> Vec<Expiring> {
        self.grants
            .iter()
            .filter(|g| g.expires_from > now)
            .map(|g| Expiring {
                points: round(g.points),
                at: g.expires_from,
                exact: g.exact,
            })
            .collect()
    }
}

/// To a thousandth of a point, as the balance is.
fn round(points: f64) -> f64 {
    (points * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) const T0: i64 = 1_800_000_000;
    pub(super) const HOUR: i64 = 3600;

    pub(super) fn reading(at: i64, available: f64, frozen: f64) -> Reading {
        Reading {
            at,
            available,
            total: available + frozen,
        }
    }

    pub(super) fn paced(readings: &[Reading]) -> Pace {
        let mut pace = Pace::default();
        for r in readings {
            pace.record(*r);
        }
        pace
    }

    #[test]
    fn drops_of_the_available_points_are_spend_and_frozen_points_count() {
        let pace = paced(&[
            reading(T0, 100.0, 0.0),
            // A call holds 2 points: already spent as far as the pace goes.
            reading(T0 + 60, 98.0, 2.0),
            // It settles: nothing more.
            reading(T0 + 120, 98.0, 0.0),
            reading(T0 + 180, 95.5, 0.0),
        ]);
        assert_eq!(pace.spent, 4.5);
        assert!(pace.grants.is_empty());
        assert_eq!(pace.rose_at, None);
    }

    #[test]
    fn a_rise_is_a_grant_expiring_24_hours_later_never_negative_spend() {
        let pace = paced(&[
            reading(T0, 50.0, 0.0),
            reading(T0 + HOUR, 40.0, 0.0),
            reading(T0 + 2 * HOUR, 240.0, 0.0),
        ]);
        assert_eq!(pace.spent, 10.0);
        assert_eq!(pace.rose_at, Some(T0 + 2 * HOUR));
        assert_eq!(
            pace.grants,
            [Grant {
                expires_from: T0 + HOUR + GRANT_LIFE_SECS,
                expires_by: T0 + 2 * HOUR + GRANT_LIFE_SECS,
                points: 200.0,
                exact: false,
            }]
        );
        let expiring = pace.expiring(T0 + 3 * HOUR);
        assert_eq!(expiring.len(), 1);
        assert_eq!(
            (expiring[0].points, expiring[0].at, expiring[0].exact),
            (200.0, T0 + 25 * HOUR, false)
        );
    }

    #[test]
    fn grants_are_spent_first_and_what_is_left_expires_without_counting_as_spend() {
        let mut pace = paced(&[reading(T0, 50.0, 0.0), reading(T0 + 60, 250.0, 0.0)]);
        // 30 points spent: from the grant, which keeps 170.
        pace.record(reading(T0 + HOUR, 220.0, 0.0));
        assert_eq!(pace.grants[0].points, 170.0);
        assert_eq!(pace.spent, 30.0);
        // A day later the 170 left vanish, and 5 more points were spent.
        pace.record(reading(T0 + 60 + GRANT_LIFE_SECS + 60, 45.0, 0.0));
        assert!(pace.grants.is_empty(), "{:?}", pace.grants);
        assert_eq!(pace.spent, 35.0);
    }

    #[test]
    fn a_drop_while_a_grant_may_be_expiring_is_expiry_first() {
        // Readings an hour apart: the grant came some time in that hour.
        let mut pace = paced(&[reading(T0, 10.0, 0.0), reading(T0 + HOUR, 210.0, 0.0)]);
        // Between its earliest and latest expiry, the 200 vanish.
        pace.record(reading(T0 + GRANT_LIFE_SECS + 1800, 10.0, 0.0));
        assert_eq!(pace.spent, 0.0);
        assert!(pace.expiring(T0 + GRANT_LIFE_SECS + 1800).is_empty());
    }

    #[test]
    fn an_estimate_never_holds_more_than_the_balance() {
        let mut pace = paced(&[reading(T0, 0.0, 0.0), reading(T0 + 60, 200.0, 0.0)]);
        pace.grants[0].points = 500.0;
        pace.record(reading(T0 + 120, 150.0, 0.0));
        assert_eq!(pace.grants[0].points, 150.0);
    }

    #[test]
    fn the_window_keeps_one_anchor_an_hour_for_a_day() {
        let readings: Vec<Reading> = (0..90)
            .map(|i| reading(T0 + i * 1200, 1000.0 - i as f64, 0.0))
            .collect();
        let pace = paced(&readings);
        assert!(pace.anchors.len() <= 25, "{}", pace.anchors.len());
        let newest = T0 + 89 * 1200;
        assert!(pace.anchors.iter().all(|a| a.at >= newest - WINDOW_SECS));
        assert_eq!(pace.anchors.iter().map(|a| a.readings).sum::<u32>(), 3 * 24);
    }

    #[test]
    fn a_reading_stored_late_counts_at_the_newest_time() {
        let pace = paced(&[reading(T0 + 100, 10.0, 0.0), reading(T0, 9.0, 0.0)]);
        assert_eq!(pace.last.map(|r| r.at), Some(T0 + 100));
        assert_eq!(pace.spent, 1.0);
    }

    #[test]
    fn it_round_trips_as_json() {
        let pace = paced(&[reading(T0, 10.0, 0.0), reading(T0 + 60, 210.0, 0.0)]);
        let text = serde_json::to_string(&pace).unwrap();
        assert_eq!(serde_json::from_str::<Pace>(&text).unwrap(), pace);
    }
}
