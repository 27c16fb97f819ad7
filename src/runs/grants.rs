//! ModelScope's daily grant: 200 short-term points (250 with a bound Alibaba Cloud account) for
//! logging in to the website, valid 24 hours. API use does not claim it; a tool can only
//! remind. The stored balances tell whether today's grant likely arrived.

use crate::db::balance_rises::BalanceRise;

/// Whether the balances read since `midnight` (00:00 Beijing time) show no rise: today's grant
/// is then likely not claimed yet. A rise from the last reading before midnight to the first
/// one after counts as today's. `None` when there is no reading today to judge by.
pub fn grant_likely_unclaimed(rise: Option<BalanceRise>, midnight: i64) -> Option<bool> {
    let rise = rise.filter(|r| r.last_read_at >= midnight)?;
    Some(!rise.rose_at.is_some_and(|at| at >= midnight))
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
    fn without_a_reading_today_there_is_nothing_to_judge() {
        assert_eq!(
            grant_likely_unclaimed(rise(MIDNIGHT - 1, None), MIDNIGHT),
            None
        );
        assert_eq!(grant_likely_unclaimed(None, MIDNIGHT), None);
    }
}
