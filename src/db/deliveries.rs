//! The `deliveries` table: every notification sent or tried, and the retries still to come.

use std::str::FromStr;

use rusqlite::{Connection, OptionalExtension, params};

use super::Cached;
use super::DbError;
use super::channels::{Kind, StoredChannel};
use crate::closed_set::UnknownValue;
use crate::ids::{ChannelId, DeliveryId, MonitorId, RuleId, UserId};

crate::closed_set! {
    /// What a message is about.
    pub enum Event { Alert, Recovered, Summary, Test }
}

crate::closed_set! {
    /// Where a message is in the log: pending (to be tried, again, at `next_attempt_at`), sent,
    /// failed (tried for the last time) or held (over the channel's hourly cap: logged, not
    /// sent).
    pub enum Status { Pending, Sent, Failed, Held }
}

crate::closed_set! {
    /// Why a try failed, in our own words (`channel_gone`: the channel was deleted; `secret`:
    /// its secret cannot be opened).
    pub enum DeliveryError {
        RefusedAddress, NotFound, BadUrl, Timeout, Connect, Http, Rejected, Tls, Smtp, Request,
        BadMessage, ChannelGone, Secret, SmtpNeedsAuth,
    }
}

/// A failed try as the log keeps it: the error and the receiver's detail (an HTTP status, its
/// own short words with every secret cut out), stored as `code` or `code|detail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryFailure {
    pub error: DeliveryError,
    pub detail: Option<String>,
}

impl DeliveryFailure {
    pub fn new(error: DeliveryError) -> Self {
        Self {
            error,
            detail: None,
        }
    }

    pub fn with_detail(error: DeliveryError, detail: impl Into<String>) -> Self {
        Self {
            error,
            detail: Some(detail.into()),
        }
    }

    fn stored(&self) -> String {
        match &self.detail {
            Some(detail) => format!("{}|{detail}", self.error),
            None => self.error.as_str().to_owned(),
        }
    }
}

impl FromStr for DeliveryFailure {
    type Err = UnknownValue;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (code, detail) = match text.split_once('|') {
            Some((code, detail)) => (code, Some(detail.to_owned())),
            None => (text, None),
        };
        Ok(Self {
            error: code.parse()?,
            detail,
        })
    }
}

impl rusqlite::types::ToSql for DeliveryFailure {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rusqlite::types::ToSqlOutput::from(self.stored()))
    }
}

impl rusqlite::types::FromSql for DeliveryFailure {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        value
            .as_str()?
            .parse()
            .map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDelivery {
    pub id: DeliveryId,
    pub user_id: UserId,
    pub channel_id: Option<ChannelId>,
    pub channel_name: String,
    pub channel_kind: Kind,
    pub monitor_id: Option<MonitorId>,
    pub rule_id: Option<RuleId>,
    pub event: Event,
    pub payload: String,
    pub message: String,
    pub status: Status,
    pub attempts: i64,
    pub max_attempts: i64,
    pub last_error: Option<DeliveryFailure>,
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
    /// The channel it goes to (whose name and kind the log keeps, should it be deleted).
    pub channel: &'a StoredChannel,
    pub monitor_id: Option<MonitorId>,
    pub rule_id: Option<RuleId>,
    pub event: Event,
    pub payload: &'a str,
    pub message: &'a str,
    /// `Pending` or `Held`.
    pub status: Status,
    pub max_attempts: i64,
    pub created_at: i64,
}

pub fn insert(conn: &Connection, new: &NewDelivery<'_>) -> Result<DeliveryId, DbError> {
    let channel = new.channel;
    conn.cached_execute(
        "INSERT INTO deliveries (user_id, channel_id, channel_name, channel_kind, monitor_id,
            rule_id, event, payload, message, status, max_attempts, created_at, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, (SELECT id FROM monitors WHERE id = ?5),
                 (SELECT id FROM alert_rules WHERE id = ?6), ?7, ?8, ?9, ?10, ?11, ?12,
                 CASE WHEN ?10 = 'pending' THEN ?12 END)",
        params![
            channel.user_id,
            channel.id,
            channel.name,
            channel.kind,
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
    Ok(conn.cached_rows(
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
        params![now, per_user, limit as i64],
        |r| r.get(0),
    )?)
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
    let sql = format!(
        "UPDATE deliveries SET next_attempt_at = ?3, sending_until = ?3
         WHERE id = ?1 AND status = 'pending' AND next_attempt_at <= ?2
           AND NOT EXISTS (
               SELECT 1 FROM deliveries b WHERE b.sending_until > ?2
                 AND b.status = 'pending' AND b.channel_id = deliveries.channel_id)
           AND (SELECT count(*) FROM deliveries b WHERE b.sending_until > ?2
                  AND b.status = 'pending' AND b.user_id = deliveries.user_id) < ?4
         RETURNING {COLUMNS}"
    );
    taken(conn, &sql, params![id, now, lease_until, per_user])
}

/// The delivery `sql` (an `UPDATE … RETURNING` of its columns) took, if it took one.
fn taken(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Option<StoredDelivery>, DbError> {
    Ok(conn.cached_row(sql, params, from_row).optional()?)
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
    let sql = format!(
        "UPDATE deliveries SET next_attempt_at = ?2, sending_until = ?2
         WHERE id = ?1 AND status = 'pending' RETURNING {COLUMNS}"
    );
    taken(conn, &sql, params![id, lease_until])
}

/// What one attempt came to.
#[derive(Debug, Clone, Copy)]
pub enum Attempted<'a> {
    Sent {
        at: i64,
    },
    /// Failed; tried again at `next`.
    Retry {
        error: &'a DeliveryFailure,
        next: i64,
    },
    /// Failed for the last time.
    Failed {
        error: &'a DeliveryFailure,
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
    Ok(conn.cached_rows(
        &format!(
            "SELECT {COLUMNS} FROM deliveries WHERE user_id = ?1
             ORDER BY created_at DESC, id DESC LIMIT ?2"
        ),
        params![user_id, limit],
        from_row,
    )?)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_stored_as_its_code_and_detail() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (e TEXT)").unwrap();
        let http = DeliveryFailure::with_detail(DeliveryError::Http, "404");
        let words = DeliveryFailure::with_detail(DeliveryError::Rejected, "bad | sign");
        for failure in [http, words, DeliveryFailure::new(DeliveryError::Timeout)] {
            conn.execute("DELETE FROM t", []).unwrap();
            conn.execute("INSERT INTO t (e) VALUES (?1)", [&failure])
                .unwrap();
            let text: String = conn.query_row("SELECT e FROM t", [], |r| r.get(0)).unwrap();
            assert_eq!(text.parse::<DeliveryFailure>().unwrap(), failure, "{text}");
            let read: DeliveryFailure =
                conn.query_row("SELECT e FROM t", [], |r| r.get(0)).unwrap();
            assert_eq!(read, failure);
        }
        let stored: String = conn
            .query_row(
                "SELECT ?1",
                [&DeliveryFailure::with_detail(DeliveryError::Http, "404")],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stored, "http|404");
        assert!("teapot|418".parse::<DeliveryFailure>().is_err());
    }
}
