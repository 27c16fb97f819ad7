//! ModelScope's daily grant: 200 short-term points (250 with a bound Alibaba Cloud account) for
//! logging in to the website, valid 24 hours. API use does not claim it; a tool can only
//! remind. The stored balances tell whether today's grant likely arrived.

/// Whether the balances read since 00:00 Beijing time show no rise: today's grant is then
/// likely not claimed yet. `baseline` is the last balance read before midnight; `today` the
/// balances read since, oldest first (total points: available plus frozen). `None` when there
/// is no reading today to judge by.
pub fn grant_likely_unclaimed(baseline: Option<f64>, today: &[f64]) -> Option<bool> {
    let (&first, rest) = today.split_first()?;
    // Without yesterday's last reading, only a rise within today shows a grant.
    let mut previous = baseline.unwrap_or(first);
    let mut rose = baseline.is_some_and(|b| first > b + 1e-9);
    for &total in rest {
        rose |= total > previous + 1e-9;
        previous = total;
    }
    Some(!rose)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rise_since_midnight_means_the_grant_came() {
        assert_eq!(
            grant_likely_unclaimed(Some(10.0), &[210.0, 205.0]),
            Some(false)
        );
        assert_eq!(grant_likely_unclaimed(Some(10.0), &[9.0, 8.0]), Some(true));
        assert_eq!(grant_likely_unclaimed(None, &[9.0, 209.0]), Some(false));
        assert_eq!(grant_likely_unclaimed(None, &[9.0, 8.5]), Some(true));
        assert_eq!(grant_likely_unclaimed(Some(10.0), &[]), None);
    }
}
