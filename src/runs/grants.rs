//! ModelScope's daily grant: 200 short-term points (250 with a bound Alibaba Cloud account) for
//! logging in to the website, valid 24 hours. API use does not claim it; a tool can only
//! remind. Today's earn rules say whether it came, when the upstream answers them for the key;
//! otherwise the stored balances tell whether it likely arrived.

use crate::db::balance_rises::BalanceRise;
use crate::db::key_extras::KeyExtras;

crate::closed_set! {
    /// What decided the reminder.
    pub enum GrantSource {
        /// `earn/rules`, read today.
        EarnRules,
        /// Whether today's readings rose.
        Readings,
    }
}

/// Whether today's grant is still to be claimed, and what says so; `None` when nothing tells.
pub fn grant_unclaimed(
    extras: Option<&KeyExtras>,
    rise: Option<BalanceRise>,
    midnight: i64,
) -> Option<(bool, GrantSource)> {
    let ruled = extras
        .filter(|e| e.rules_answered == Some(true))
        .filter(|e| e.rules_checked_at.is_some_and(|at| at >= midnight))
        .and_then(|e| e.grant_claimed);
    match ruled {
        Some(claimed) => Some((!claimed, GrantSource::EarnRules)),
        None => grant_likely_unclaimed(rise, midnight).map(|u| (u, GrantSource::Readings)),
    }
}

/// Whether the balances read since `midnight` (00:00 Beijing time) show no rise: today's grant
/// is then likely not claimed yet. A rise from the last reading before midnight to the first
/// one after counts as today's. `None` when there is no reading today to judge by.
pub fn grant_likely_unclaimed(rise: Option<BalanceRise>, midnight: i64) -> Option<bool> {
    let rise = rise.filter(|r| r.last_read_at >= midnight)?;
    Some(rise.rose_at.is_none_or(|at| at < midnight))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIDNIGHT: i64 = 1_000_000;

    fn rise(last_read_at: i64, rose_at: Option<i64>) -> Option<BalanceRise> {
        Some(BalanceRise {
            last_read_at,
            rose_at,
        })
    }

    #[test]
    fn a_rise_since_midnight_means_the_grant_came() {
        assert_eq!(
            grant_likely_unclaimed(rise(MIDNIGHT + 60, Some(MIDNIGHT)), MIDNIGHT),
            Some(false)
        );
        assert_eq!(
            grant_likely_unclaimed(rise(MIDNIGHT + 60, Some(MIDNIGHT - 1)), MIDNIGHT),
            Some(true)
        );
        assert_eq!(
            grant_likely_unclaimed(rise(MIDNIGHT + 60, None), MIDNIGHT),
            Some(true)
        );
    }

    #[test]
    fn earn_rules_read_today_decide_over_the_readings() {
        let rules = |claimed: bool, at: i64| KeyExtras {
            rules_answered: Some(true),
            rules_checked_at: Some(at),
            grant_claimed: Some(claimed),
            ..KeyExtras::default()
        };
        let rose_today = rise(MIDNIGHT + 60, Some(MIDNIGHT + 30));
        assert_eq!(
            grant_unclaimed(Some(&rules(false, MIDNIGHT + 5)), rose_today, MIDNIGHT),
            Some((true, GrantSource::EarnRules))
        );
        // Yesterday's answer says nothing about today: the readings decide.
        assert_eq!(
            grant_unclaimed(Some(&rules(false, MIDNIGHT - 5)), rose_today, MIDNIGHT),
            Some((false, GrantSource::Readings))
        );
        assert_eq!(
            grant_unclaimed(None, rise(MIDNIGHT + 60, None), MIDNIGHT),
            Some((true, GrantSource::Readings))
        );
        assert_eq!(grant_unclaimed(None, None, MIDNIGHT), None);
    }

    #[test]
    fn without_a_reading_today_there_is_nothing_to_judge() {
        assert_eq!(
            grant_likely_unclaimed(rise(MIDNIGHT - 1, None), MIDNIGHT),
            None
        );
        assert_eq!(grant_likely_unclaimed(None, MIDNIGHT), None);
    }
}
