//! What the stored readings say about each of a user's keys, for the dashboard and
//! `/api/quota`: the newest balance, the forecast, the points that expire soon and whether
//! today's login grant came. It reads the per-key rows kept as runs are stored (`db::pace`,
//! `db::key_extras`, `db::balance_rises`): one row a key from each, never the history, and no
//! upstream call.

use std::collections::HashMap;

use rusqlite::Connection;

use super::grants::{GrantSource, grant_unclaimed};
use crate::clock;
use crate::db::{DbError, balance_rises, key_extras, pace};
use crate::ids::{KeyId, UserId};
use crate::pace::{Expiring, Forecast, Pace};

/// A key's newest stored reading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Balance {
    pub available: f64,
    pub frozen: f64,
    pub total: f64,
    pub read_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KeyOutlook {
    pub balance: Option<Balance>,
    pub forecast: Forecast,
    /// Soonest first; only points that have not expired by `now`.
    pub expiring: Vec<Expiring>,
    /// Whether today's login grant is still to be claimed, and what says so.
    pub grant: Option<(bool, GrantSource)>,
}

impl KeyOutlook {
    /// A key never read.
    pub fn unread() -> Self {
        // Nothing is stored, so nothing expires whatever the time.
        Self::of(&Pace::default(), 0, None)
    }

    fn of(pace: &Pace, now: i64, grant: Option<(bool, GrantSource)>) -> Self {
        Self {
            balance: pace.last.map(|r| Balance {
                available: r.available,
                total: r.total,
                frozen: ((r.total - r.available) * 1000.0).round() / 1000.0,
                read_at: r.at,
            }),
            forecast: pace.forecast(),
            expiring: pace.expiring(now),
            grant,
        }
    }

    /// When the soonest expiring points go (the tie-break when ranking keys).
    pub fn expires_first(&self) -> Option<i64> {
        self.expiring.first().map(|e| e.at)
    }

    /// Points that expire within `secs` of `now`.
    pub fn expiring_within(&self, now: i64, secs: i64) -> f64 {
        self.expiring
            .iter()
            .filter(|e| e.at <= now + secs)
            .map(|e| e.points)
            .sum()
    }
}

/// Every one of the user's keys that has something stored, as of `now` (unix seconds).
pub fn read(
    conn: &Connection,
    user: UserId,
    now: i64,
) -> Result<HashMap<KeyId, KeyOutlook>, DbError> {
    let paces = pace::for_user(conn, user)?;
    let extras: HashMap<_, _> = key_extras::for_user(conn, user)?.into_iter().collect();
    let rises: HashMap<_, _> = balance_rises::for_user(conn, user)?.into_iter().collect();
    let midnight = clock::last_midnight(now);
    let mut keys: HashMap<KeyId, KeyOutlook> = paces
        .iter()
        .map(|(key, pace)| {
            let grant = grant_unclaimed(extras.get(key), rises.get(key).copied(), midnight);
            (*key, KeyOutlook::of(pace, now, grant))
        })
        .collect();
    // A key whose earn rules answered but whose balance was never stored (rare).
    for (key, extra) in &extras {
        keys.entry(*key).or_insert_with(|| KeyOutlook {
            grant: grant_unclaimed(Some(extra), None, midnight),
            ..KeyOutlook::unread()
        });
    }
    Ok(keys)
}
