//! After a saved key's balance was read and stored: ModelScope's two optional endpoints, when
//! they are due. The points ledger gives the exact time of each grant (so its expiry), read
//! whenever a reading shows a rise and at least hourly for a key in use; the earn rules say
//! whether today's login grant came, read once a Beijing day after it came and hourly until
//! then. Both are free, and neither is depended on: whether each answered is remembered per key
//! (`db::key_extras`), and one that did not is tried again after [`RETRY_SECS`].

use crate::clock;
use crate::crypto::ApiSecret;
use crate::db::key_extras::{self, KeyExtras};
use crate::db::{Db, pace};
use crate::ids::KeyId;
use crate::modelscope::Site;
use crate::modelscope::extras::{Optional, grant_claimed};
use crate::pace::LedgerGrant;

use super::engine::{Lane, QueryEngine};

/// A key in use has its ledger read at least this often.
pub const LEDGER_EVERY_SECS: i64 = 3600;
/// Today's earn rules are read again this often until they say the grant came.
pub const RULES_EVERY_SECS: i64 = 3600;
/// An endpoint that did not answer a key's token is tried again after this long.
pub const RETRY_SECS: i64 = 6 * 3600;
/// After a call that failed on the way (which proves nothing), the next try waits this long.
const FAILED_WAIT_SECS: i64 = 600;

/// Which optional reads are due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Due {
    pub ledger: bool,
    pub rules: bool,
}

/// What is due for a key after a reading at `now`; `rose`: the reading showed a rise.
pub fn due(extras: &KeyExtras, rose: bool, now: i64) -> Due {
    let since = |at: Option<i64>| at.map_or(i64::MAX, |at| now - at);
    let ledger = match extras.ledger_answered {
        Some(true) => rose || since(extras.ledger_checked_at) >= LEDGER_EVERY_SECS,
        Some(false) => since(extras.ledger_checked_at) >= RETRY_SECS,
        None => since(extras.ledger_checked_at) >= FAILED_WAIT_SECS,
    };
    let midnight = clock::last_midnight(now);
    let rules = match extras.rules_answered {
        Some(true) => {
            let read_today = extras.rules_checked_at.is_some_and(|at| at >= midnight);
            !read_today
                || (extras.grant_claimed != Some(true)
                    && (rose || since(extras.rules_checked_at) >= RULES_EVERY_SECS))
        }
        Some(false) => since(extras.rules_checked_at) >= RETRY_SECS,
        None => since(extras.rules_checked_at) >= FAILED_WAIT_SECS,
    };
    Due { ledger, rules }
}

/// What the optional endpoints said for a key, to be remembered once its run is stored.
pub struct Pending {
    extras: KeyExtras,
    ledger: Option<crate::modelscope::extras::Ledger>,
}

/// Reads whatever is due for `key` now that its balance read `total`, before the run is stored
/// (so a stored run is followed by nothing slow). A rise over the last stored total is a
/// reason to read the ledger. `None` when nothing was due or the state could not be read.
pub async fn fetch(
    engine: &QueryEngine,
    db: &Db,
    key: KeyId,
    site: Site,
    token: &ApiSecret,
    total: f64,
    lane: &Lane,
) -> Option<Pending> {
    let now = engine.clock().now();
    let known = db
        .run(move |conn| {
            let extras = key_extras::for_key(conn, key)?.unwrap_or_default();
            let last = pace::for_key(conn, key)?.and_then(|p| p.last);
            Ok((extras, last.is_some_and(|r| total > r.total + 1e-6)))
        })
        .await;
    let (mut extras, rose) = match known {
        Ok(known) => known,
        Err(error) => {
            tracing::warn!(%error, "reading a key's optional-endpoint state failed");
            return None;
        }
    };
    let due = due(&extras, rose, now);
    if !due.ledger && !due.rules {
        return None;
    }
    let upstream = engine.upstream();
    let mut ledger = None;
    if due.ledger {
        extras.ledger_checked_at = Some(now);
        match engine.optional(lane, upstream.ledger(site, token)).await {
            Optional::Answered(answer) => {
                extras.ledger_answered = Some(true);
                ledger = Some(answer);
            }
            Optional::NotAvailable => extras.ledger_answered = Some(false),
            Optional::Failed => {}
        }
    }
    if due.rules {
        extras.rules_checked_at = Some(now);
        match engine
            .optional(lane, upstream.earn_rules(site, token))
            .await
        {
            Optional::Answered(rules) => {
                extras.rules_answered = Some(true);
                extras.grant_claimed = grant_claimed(&rules);
            }
            Optional::NotAvailable => {
                extras.rules_answered = Some(false);
                extras.grant_claimed = None;
            }
            Optional::Failed => {}
        }
    }
    Some(Pending { extras, ledger })
}

/// Remembers what [`fetch`] learned, after the run (and so the reading) was stored: the
/// ledger's grants then apply to the pace that reading updated. A failure is logged only.
pub async fn save(db: &Db, key: KeyId, pending: Pending) {
    let saved = db
        .run(move |conn| {
            key_extras::save(conn, key, &pending.extras)?;
            if let Some(ledger) = pending.ledger {
                let grants: Vec<LedgerGrant> = ledger
                    .grants
                    .iter()
                    .map(|row| LedgerGrant {
                        at: row.at,
                        points: row.points,
                    })
                    .collect();
                pace::apply_ledger(conn, key, &grants, ledger.complete)?;
            }
            Ok(())
        })
        .await;
    if let Err(error) = saved {
        tracing::warn!(%error, "storing what the optional endpoints said failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn answered(ledger: Option<bool>, at: i64) -> KeyExtras {
        KeyExtras {
            ledger_answered: ledger,
            ledger_checked_at: Some(at),
            rules_answered: ledger,
            rules_checked_at: Some(at),
            grant_claimed: None,
        }
    }

    #[test]
    fn never_tried_means_try_now() {
        assert_eq!(
            due(&KeyExtras::default(), false, NOW),
            Due {
                ledger: true,
                rules: true
            }
        );
    }

    #[test]
    fn the_ledger_on_a_rise_and_hourly() {
        let fresh = answered(Some(true), NOW - 60);
        assert!(!due(&fresh, false, NOW).ledger);
        assert!(due(&fresh, true, NOW).ledger);
        assert!(due(&answered(Some(true), NOW - 3600), false, NOW).ledger);
    }

    #[test]
    fn a_refusal_is_tried_again_after_six_hours_a_failure_after_ten_minutes() {
        assert!(!due(&answered(Some(false), NOW - 3600), true, NOW).ledger);
        assert!(due(&answered(Some(false), NOW - RETRY_SECS), false, NOW).ledger);
        assert!(!due(&answered(None, NOW - 60), false, NOW).rules);
        assert!(due(&answered(None, NOW - 600), false, NOW).rules);
    }

    #[test]
    fn earn_rules_once_a_day_after_the_grant_came_hourly_before() {
        let midnight = clock::last_midnight(NOW);
        let mut claimed = answered(Some(true), midnight + 1);
        claimed.grant_claimed = Some(true);
        assert!(!due(&claimed, true, NOW.max(midnight + 7200)).rules);
        let yesterday = answered(Some(true), midnight - 1);
        assert!(due(&yesterday, false, midnight + 60).rules);
        let mut waiting = answered(Some(true), midnight + 10);
        waiting.grant_claimed = Some(false);
        assert!(!due(&waiting, false, midnight + 600).rules);
        assert!(due(&waiting, true, midnight + 600).rules);
        assert!(due(&waiting, false, midnight + 3610).rules);
    }
}
