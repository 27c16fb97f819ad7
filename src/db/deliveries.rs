//! The `deliveries` table: every notification sent or tried, and the retries still to come.

use rusqlite::{Connection, OptionalExtension, params};

use super::Cached;
use super::DbError;
use crate::ids::{ChannelId, DeliveryId, MonitorId, RuleId, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDelivery {
    pub id: DeliveryId,
    pub user_id: UserId,
    pub channel_id: Option<ChannelId>,
    pub channel_name: String,
    pub channel_kind: String,
    pub monitor_id: Option<MonitorId>,
    pub rule_id: Option<RuleId>,
    pub event: String,
    pub payload: String,
    pub message: String,
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub next_attempt_at: Option<i64>,
    pub sent_at: Option<i64>,
}

const COLUMNS: &str = "id, user_id, channel_id, channel_name, channel_kind, monitor_id, rule_id,
    event, payload, message, status, attempts, max_attempts, last_error, created_at,
    next_attempt_at, sent_at";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredDelivery> {
    Ok(StoredDelivery {
        id: row.get(0)?,
        user_id: row.get(1)?,
        channel_id: row.get(2)?,
        channel_name: row.get(3)?,
        channel_kind: row.get(4)?,
        monitor_id: row.get(5)?,
        rule_id: row.get(6)?,
        event: row.get(7)?,
        payload: row.get(8)?,
        message: row.get(9)?,
        status: row.get(10)?,
        attempts: row.get(11)?,
        max_attempts: row.get(12)?,
        last_error: row.get(13)?,
        created_at: row.get(14)?,
        next_attempt_at: row.get(15)?,
        sent_at: row.get(16)?,
    })
}

/// A delivery about to be logged.
pub struct NewDelivery<'a> {
    pub user_id: UserId,
    pub channel_id: ChannelId,
    pub channel_name: &'a str,
    pub channel_kind: &'a str,
    pub monitor_id: Option<MonitorId>,
    pub rule_id: Option<RuleId>,
    pub event: &'a str,
    pub payload: &'a str,
    pub message: &'a str,
    /// `pending` or `held`.
    pub status: &'a str,
    pub max_attempts: i64,
    pub created_at: i64,
}

pub fn insert(conn: &Connection, new: &NewDelivery<'_>) -> Result<DeliveryId, DbError> {
    conn.cached_execute(
        "INSERT INTO deliveries (user_id, channel_id, channel_name, channel_kind, monitor_id,
            rule_id, event, payload, message, status, max_attempts, created_at, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, (SELECT id FROM monitors WHERE id = ?5),
                 (SELECT id FROM alert_rules WHERE id = ?6), ?7, ?8, ?9, ?10, ?11, ?12,
                 CASE WHEN ?10 = 'pending' THEN ?12 END)",
        params![
            new.user_id,
            new.channel_id,
            new.channel_name,
            new.channel_kind,
            new.monitor_id,
            new.rule_id,
            new.event,
            new.payload,
            new.message,
            new.status,
            new.max_attempts,
            new.created_at,
        ],
    )?;
    Ok(DeliveryId(conn.last_insert_rowid()))
}

/// Messages the channel was given since `since` (tests too), held ones not counted.
pub fn sent_since(conn: &Connection, channel_id: ChannelId, since: i64) -> Result<i64, DbError> {
    Ok(conn.cached_row(
        "SELECT count(*) FROM deliveries WHERE channel_id = ?1 AND created_at >= ?2
           AND status <> 'held'",
        params![channel_id, since],
        |r| r.get(0),
    )?)
}

/// When the channel's newest `limit` counted messages since `since` were logged, newest first
/// (for how long until one more is allowed).
pub fn sent_times(
    conn: &Connection,
    channel_id: ChannelId,
    since: i64,
    limit: i64,
) -> Result<Vec<i64>, DbError> {
    let mut statement = conn.prepare_cached(
        "SELECT created_at FROM deliveries WHERE channel_id = ?1 AND created_at >= ?2
           AND status <> 'held' ORDER BY created_at DESC LIMIT ?3",
    )?;
    let rows = statement
        .query_map(params![channel_id, since, limit], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// When the user's newest `limit` test messages since `since` were logged, newest first.
pub fn test_times(
    conn: &Connection,
    user_id: UserId,
    since: i64,
    limit: i64,
) -> Result<Vec<i64>, DbError> {
    let mut statement = conn.prepare_cached(
        "SELECT created_at FROM deliveries WHERE user_id = ?1 AND created_at >= ?2
           AND event = 'test' ORDER BY created_at DESC LIMIT ?3",
    )?;
    let rows = statement
        .query_map(params![user_id, since, limit], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Up to `limit` ids of due pending deliveries in fair order, leaving out those whose channel
/// has an attempt in flight or whose user has `per_user` in flight (on any server): only the
/// oldest of each channel, each user's first before anyone's second, and within a round the
/// longest waiting first.
pub fn due_by_turns(
    conn: &Connection,
    now: i64,
    per_user: i64,
    limit: usize,
) -> Result<Vec<DeliveryId>, DbError> {
    let mut statement = conn.prepare_cached(
        "WITH busy AS (
             SELECT user_id, channel_id FROM deliveries
             WHERE sending_until > ?1 AND status = 'pending'),
         due AS (
             SELECT id, user_id, next_attempt_at,
                    row_number() OVER (PARTITION BY coalesce(channel_id, -id)
                                       ORDER BY next_attempt_at, id) AS channel_turn
             FROM deliveries d
             WHERE status = 'pending' AND next_attempt_at <= ?1
               AND NOT EXISTS (SELECT 1 FROM busy WHERE busy.channel_id = d.channel_id)
               AND (SELECT count(*) FROM busy WHERE busy.user_id = d.user_id) < ?2),
         firsts AS (
             SELECT id, next_attempt_at,
                    row_number() OVER (PARTITION BY user_id
                                       ORDER BY next_attempt_at, id) AS user_turn
             FROM due WHERE channel_turn = 1)
         SELECT id FROM firsts ORDER BY user_turn, next_attempt_at, id LIMIT ?3",
    )?;
    let rows = statement
        .query_map(params![now, per_user, limit as i64], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Takes one due pending delivery for an attempt, holding it until `lease_until`, unless its
/// channel has an attempt in flight or its user `per_user` (one statement, so two servers
/// never both take a turn); `None` when it may not go now.
pub fn claim_due(
    conn: &Connection,
    id: DeliveryId,
    now: i64,
    lease_until: i64,
    per_user: i64,
) -> Result<Option<StoredDelivery>, DbError> {
    Ok(conn
        .cached_row(
            &format!(
                "UPDATE deliveries SET next_attempt_at = ?3, sending_until = ?3
                 WHERE id = ?1 AND status = 'pending' AND next_attempt_at <= ?2
                   AND NOT EXISTS (
                       SELECT 1 FROM deliveries b WHERE b.sending_until > ?2
                         AND b.status = 'pending' AND b.channel_id = deliveries.channel_id)
                   AND (SELECT count(*) FROM deliveries b WHERE b.sending_until > ?2
                          AND b.status = 'pending' AND b.user_id = deliveries.user_id) < ?4
                 RETURNING {COLUMNS}"
            ),
            params![id, now, lease_until, per_user],
            from_row,
        )
        .optional()?)
}

/// The user's attempts in flight, and whether one to `channel_id` is among them.
pub fn in_flight(
    conn: &Connection,
    user_id: UserId,
    channel_id: ChannelId,
    now: i64,
) -> Result<(i64, bool), DbError> {
    Ok(conn.cached_row(
        "SELECT count(*) FILTER (WHERE user_id = ?1),
                count(*) FILTER (WHERE channel_id = ?2) > 0
         FROM deliveries WHERE sending_until > ?3 AND status = 'pending'",
        params![user_id, channel_id, now],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// One delivery, taken for an attempt right now (a test message) if it is still pending.
pub fn claim_one(
    conn: &Connection,
    id: DeliveryId,
    lease_until: i64,
) -> Result<Option<StoredDelivery>, DbError> {
    Ok(conn
        .cached_row(
            &format!(
                "UPDATE deliveries SET next_attempt_at = ?2, sending_until = ?2
                 WHERE id = ?1 AND status = 'pending'
                 RETURNING {COLUMNS}"
            ),
            params![id, lease_until],
            from_row,
        )
        .optional()?)
}

/// What one attempt came to.
#[derive(Debug, Clone, Copy)]
pub enum Attempted<'a> {
    Sent {
        at: i64,
    },
    /// Failed; tried again at `next`.
    Retry {
        error: &'a str,
        next: i64,
    },
    /// Failed for the last time.
    Failed {
        error: &'a str,
    },
}

pub fn record_attempt(
    conn: &Connection,
    id: DeliveryId,
    attempt: Attempted<'_>,
) -> Result<(), DbError> {
    match attempt {
        Attempted::Sent { at } => conn.cached_execute(
            "UPDATE deliveries SET status = 'sent', attempts = attempts + 1, sent_at = ?2,
                next_attempt_at = NULL, sending_until = NULL, last_error = NULL WHERE id = ?1",
            params![id, at],
        )?,
        Attempted::Retry { error, next } => conn.cached_execute(
            "UPDATE deliveries SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3,
                sending_until = NULL
             WHERE id = ?1",
            params![id, error, next],
        )?,
        Attempted::Failed { error } => conn.cached_execute(
            "UPDATE deliveries SET status = 'failed', attempts = attempts + 1, last_error = ?2,
                next_attempt_at = NULL, sending_until = NULL WHERE id = ?1",
            params![id, error],
        )?,
    };
    Ok(())
}

/// When the next pending delivery after `now` is due (those due already wait for a turn: a
/// turn given back wakes the scheduler).
pub fn next_due_after(conn: &Connection, now: i64) -> Result<Option<i64>, DbError> {
    Ok(conn.cached_row(
        "SELECT min(next_attempt_at) FROM deliveries
         WHERE status = 'pending' AND next_attempt_at > ?1",
        [now],
        |r| r.get(0),
    )?)
}

/// The user's newest deliveries, at most `limit`.
pub fn list_for_user(
    conn: &Connection,
    user_id: UserId,
    limit: i64,
) -> Result<Vec<StoredDelivery>, DbError> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM deliveries WHERE user_id = ?1
         ORDER BY created_at DESC, id DESC LIMIT ?2"
    ))?;
    let rows = statement
        .query_map(params![user_id, limit], from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn get_for_user(
    conn: &Connection,
    user_id: UserId,
    id: DeliveryId,
) -> Result<Option<StoredDelivery>, DbError> {
    Ok(conn
        .cached_row(
            &format!("SELECT {COLUMNS} FROM deliveries WHERE id = ?1 AND user_id = ?2"),
            params![id, user_id],
            from_row,
        )
        .optional()?)
}

/// Removes log rows older than `cutoff` that need nothing more.
pub fn delete_before(conn: &Connection, cutoff: i64) -> Result<usize, DbError> {
    Ok(conn.cached_execute(
        "DELETE FROM deliveries WHERE created_at < ?1 AND status <> 'pending'",
        [cutoff],
    )?)
}

/// Keeps the user's newest `keep` log rows (and every pending one); answers how many went.
pub fn prune_user(conn: &Connection, user_id: UserId, keep: i64) -> Result<usize, DbError> {
    Ok(conn.cached_execute(
        "DELETE FROM deliveries WHERE status <> 'pending' AND id IN (
             SELECT id FROM deliveries WHERE user_id = ?1
             ORDER BY created_at DESC, id DESC LIMIT -1 OFFSET ?2)",
        params![user_id, keep],
    )?)
}
