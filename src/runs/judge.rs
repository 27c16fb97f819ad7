//! Whether a run's measured cost can be trusted. The upstream holds a running call's price as
//! frozen points and spends it when the call ends (refunds it when the call failed for a system
//! reason), so the readings around a run say more than the difference of two numbers:
//! - the points held while every call of the run was in flight (none had answered) are what the
//!   run is spending; a final difference that disagrees with them, or points already spent at
//!   that moment, mean another client spent the key meanwhile;
//! - a first reading below the key's last settled one (no run of ours in between) means another
//!   client spends this key; a rise is a grant, never spending;
//! - a last reading with points still held is no settled balance.
//!
//! Only a clean difference teaches a price. An unclean one is still reported as what the
//! balance did, unless another run of the app or another client may have caused part of it.

use crate::modelscope::{AccountBalance, milli};

/// What the balance showed around one probe run.
#[derive(Debug, Clone, Copy)]
pub struct Readings {
    pub before: AccountBalance,
    /// Read while the run's calls were in flight, before any of them answered, when such a
    /// reading was made.
    pub during: Option<AccountBalance>,
    pub after: AccountBalance,
    /// The held points were back by the last reading.
    pub settled: bool,
    /// Available points at the key's last settled reading before the run.
    pub last_settled: Option<f64>,
    /// Another run of the app had a window open on the key meanwhile.
    pub overlapped: bool,
    /// The most that refunds of the run's failed calls could give back, in thousandths.
    pub refundable: i64,
}

pub use crate::db::history::Unclean;

impl Unclean {
    /// The difference cannot be claimed as this run's cost at all.
    pub fn disowns_cost(self) -> bool {
        matches!(self, Self::Shared | Self::Outside)
    }
}

/// What a run's readings allow it to say.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Judgement {
    /// `before - after` of the available points (to a thousandth); `None` when the balance
    /// grew (a grant came in between).
    pub difference: Option<f64>,
    /// `None`: clean.
    pub unclean: Option<Unclean>,
}

impl Judgement {
    /// What the run may report as its own cost.
    pub fn points_spent(&self) -> Option<f64> {
        match self.unclean {
            Some(why) if why.disowns_cost() => None,
            _ => self.difference,
        }
    }

    /// The window's total when it cannot be claimed as this run's.
    pub fn shared_points_spent(&self) -> Option<f64> {
        match self.unclean {
            Some(why) if why.disowns_cost() => self.difference,
            _ => None,
        }
    }

    /// A cost that may teach a price.
    pub fn clean_cost(&self) -> Option<f64> {
        self.difference.filter(|_| self.unclean.is_none())
    }
}

/// How much slack a comparison of readings allows (balances are decimals sent as floats).
const SLACK: i64 = 1;

pub fn judge(readings: &Readings) -> Judgement {
    let (before, after) = (&readings.before, &readings.after);
    let difference = milli(before.available_balance) - milli(after.available_balance);
    let difference = (difference >= 0).then_some(difference);
    let unclean = if readings.overlapped {
        Some(Unclean::Shared)
    } else if outside_before(readings) || difference.is_some_and(|d| outside_during(readings, d)) {
        Some(Unclean::Outside)
    } else if !readings.settled {
        Some(Unclean::Unsettled)
    } else {
        None
    };
    Judgement {
        difference: difference.map(|d| d as f64 / 1000.0),
        unclean,
    }
}

/// The first reading is below the last settled one.
fn outside_before(readings: &Readings) -> bool {
    readings
        .last_settled
        .is_some_and(|last| milli(readings.before.available_balance) < milli(last) - SLACK)
}

/// The reading made while every call was in flight disagrees with the final difference.
fn outside_during(readings: &Readings, difference: i64) -> bool {
    let Some(during) = readings.during else {
        return false;
    };
    let before = &readings.before;
    let held = milli(during.frozen_amount) - milli(before.frozen_amount);
    if held <= SLACK {
        // Nothing held yet: the calls had not reached the upstream; the reading says nothing.
        return false;
    }
    let gone = milli(before.available_balance) - milli(during.available_balance);
    // Spent (not just held) before any call of the run had answered: someone else's call.
    let spent_meanwhile = gone - held > SLACK;
    // More went than was in flight: a call that started after the reading.
    let more_after = difference - held > SLACK;
    // More was held than went, beyond what refunds explain: another client's call in flight.
    let held_more = held - difference > readings.refundable + SLACK;
    spent_meanwhile || more_after || held_more
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(available: f64, frozen: f64) -> AccountBalance {
        AccountBalance {
            total_balance: available + frozen,
            available_balance: available,
            frozen_amount: frozen,
        }
    }

    fn readings(before: f64, during: Option<(f64, f64)>, after: f64) -> Readings {
        Readings {
            before: at(before, 0.0),
            during: during.map(|(a, f)| at(a, f)),
            after: at(after, 0.0),
            settled: true,
            last_settled: None,
            overlapped: false,
            refundable: 0,
        }
    }

    #[test]
    fn a_lone_run_is_clean() {
        let judged = judge(&readings(10.0, Some((6.5, 3.5)), 6.5));
        assert_eq!(judged.unclean, None);
        assert_eq!(judged.clean_cost(), Some(3.5));
        assert_eq!(judged.points_spent(), Some(3.5));
        // Without a reading in flight, or one made before the calls arrived, too.
        assert_eq!(judge(&readings(10.0, None, 9.0)).clean_cost(), Some(1.0));
        assert_eq!(
            judge(&readings(10.0, Some((10.0, 0.0)), 9.0)).clean_cost(),
            Some(1.0)
        );
    }

    #[test]
    fn another_clients_call_during_the_run_is_seen() {
        // Started and settled before the reading: 2 already spent while 1 was held.
        let judged = judge(&readings(10.0, Some((7.0, 1.0)), 7.0));
        assert_eq!(judged.unclean, Some(Unclean::Outside));
        assert_eq!(judged.points_spent(), None);
        assert_eq!(judged.shared_points_spent(), Some(3.0));
        // Started after the reading: more went than was held.
        let judged = judge(&readings(10.0, Some((9.0, 1.0)), 7.0));
        assert_eq!(judged.unclean, Some(Unclean::Outside));
        // In flight beside ours and refunded: more held than went.
        let judged = judge(&readings(10.0, Some((7.0, 3.0)), 9.0));
        assert_eq!(judged.unclean, Some(Unclean::Outside));
        // Unless the run's own failed calls can explain it.
        let mut refunded = readings(10.0, Some((7.0, 3.0)), 9.0);
        refunded.refundable = 2000;
        assert_eq!(judge(&refunded).unclean, None);
    }

    #[test]
    fn a_fall_since_the_last_settled_reading_is_someone_else() {
        let mut fell = readings(10.0, None, 9.0);
        fell.last_settled = Some(12.0);
        assert_eq!(judge(&fell).unclean, Some(Unclean::Outside));
        let mut rose = readings(10.0, None, 9.0);
        rose.last_settled = Some(8.0);
        assert_eq!(judge(&rose).unclean, None, "a rise is a grant");
    }

    #[test]
    fn shared_and_unsettled_windows() {
        let mut shared = readings(10.0, None, 6.5);
        shared.overlapped = true;
        let judged = judge(&shared);
        assert_eq!(judged.points_spent(), None);
        assert_eq!(judged.shared_points_spent(), Some(3.5));
        let mut unsettled = readings(10.0, None, 9.0);
        unsettled.settled = false;
        let judged = judge(&unsettled);
        assert_eq!(
            judged.points_spent(),
            Some(1.0),
            "still what the balance did"
        );
        assert_eq!(judged.clean_cost(), None);
    }

    #[test]
    fn a_grant_leaves_no_difference() {
        let judged = judge(&readings(10.0, None, 210.0));
        assert_eq!(judged.difference, None);
        assert_eq!(judged.points_spent(), None);
    }
}
