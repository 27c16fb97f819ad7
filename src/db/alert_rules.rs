//! Alert rules on monitors, the state of each rule per key (firing or not), and the daily
//! summaries they ask for.

use rusqlite::{Connection, OptionalExtension, params};

use super::Cached;
use super::DbError;
use crate::ids::{ChannelId, KeyId, MonitorId, RuleId, UserId};

crate::closed_set! {
    /// What an alert rule watches for: available points below `threshold`; calls left for
    /// `model` below `threshold`; the key refused (401/403: invalid, not bound, not eligible);
    /// a probed model no longer served (400 "not supported", 404); once a day at `at_time`, a
    /// summary whatever the numbers; a model's price changed for the user (of `model`, or
    /// of any model), once per change; from the key's forecast: the points run out within
    /// `threshold` hours, at least `threshold` points expire within `within_hours`, or by
    /// `at_time` (Beijing time) today's login grant has not come.
    pub enum Condition {
        PointsBelow, CallsBelow, KeyInvalid, ModelGone, DailySummary, PriceChanged, RunsOutWithin,
        PointsExpiring, GrantUnclaimed,
    }
}

/// An `alert_rules` row, with its channel's name.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRule {
    pub id: RuleId,
    pub monitor_id: MonitorId,
    pub user_id: UserId,
    pub condition: Condition,
    pub threshold: Option<f64>,
    pub model: Option<String>,
    pub at_time: Option<String>,
    /// points_expiring: the hours ahead it looks.
    pub within_hours: Option<f64>,
    pub channel_id: ChannelId,
    pub channel_name: String,
    pub next_summary_at: Option<i64>,
}

const RULE_COLUMNS: &str = "r.id, r.monitor_id, r.user_id, r.condition, r.threshold, r.model,
    r.at_time, r.channel_id, c.name, r.next_summary_at, r.within_hours";

fn rule_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredRule> {
    Ok(StoredRule {
        id: row.get(0)?,
        monitor_id: row.get(1)?,
        user_id: row.get(2)?,
        condition: row.get(3)?,
        threshold: row.get(4)?,
        model: row.get(5)?,
        at_time: row.get(6)?,
        channel_id: row.get(7)?,
        channel_name: row.get(8)?,
        next_summary_at: row.get(9)?,
        within_hours: row.get(10)?,
    })
}

/// A rule about to be stored.
#[derive(Debug, Clone)]
pub struct NewRuleRow<'a> {
    pub monitor_id: MonitorId,
    pub user_id: UserId,
    pub condition: Condition,
    pub threshold: Option<f64>,
    pub model: Option<&'a str>,
    pub at_time: Option<&'a str>,
    pub within_hours: Option<f64>,
    pub channel_id: ChannelId,
    pub created_at: i64,
    pub next_summary_at: Option<i64>,
}

/// Stores a rule when both the monitor and the channel are the user's; `None` otherwise.
pub fn insert_rule(conn: &Connection, new: &NewRuleRow<'_>) -> Result<Option<RuleId>, DbError> {
    let inserted = conn.cached_execute(
        "INSERT INTO alert_rules (monitor_id, user_id, condition, threshold, model, at_time,
            channel_id, created_at, next_summary_at, within_hours, seen_change_id)
         SELECT m.id, ?2, ?3, ?4, ?5, ?6, c.id, ?8, ?9, ?10,
                (SELECT coalesce(max(id), 0) FROM price_changes WHERE user_id = ?2)
         FROM monitors m JOIN channels c ON c.id = ?7 AND c.user_id = ?2
         WHERE m.id = ?1 AND m.user_id = ?2",
        params![
            new.monitor_id,
            new.user_id,
            new.condition,
            new.threshold,
            new.model,
            new.at_time,
            new.channel_id,
            new.created_at,
            new.next_summary_at,
            new.within_hours,
        ],
    )?;
    Ok((inserted == 1).then(|| RuleId(conn.last_insert_rowid())))
}

pub fn count_rules(conn: &Connection, monitor_id: MonitorId) -> Result<i64, DbError> {
    Ok(conn.cached_row(
        "SELECT count(*) FROM alert_rules WHERE monitor_id = ?1",
        [monitor_id],
        |r| r.get(0),
    )?)
}

pub fn count_rules_for_user(conn: &Connection, user_id: UserId) -> Result<i64, DbError> {
    Ok(conn.cached_row(
        "SELECT count(*) FROM alert_rules WHERE user_id = ?1",
        [user_id],
        |r| r.get(0),
    )?)
}

pub fn delete_rule_for_user(
    conn: &Connection,
    user_id: UserId,
    monitor_id: MonitorId,
    rule_id: RuleId,
) -> Result<bool, DbError> {
    Ok(conn.cached_execute(
        "DELETE FROM alert_rules WHERE id = ?1 AND monitor_id = ?2 AND user_id = ?3",
        params![rule_id, monitor_id, user_id],
    )? == 1)
}

pub fn rule_for_user(
    conn: &Connection,
    user_id: UserId,
    monitor_id: MonitorId,
    rule_id: RuleId,
) -> Result<Option<StoredRule>, DbError> {
    Ok(conn
        .cached_row(
            &format!(
                "SELECT {RULE_COLUMNS} FROM alert_rules r JOIN channels c ON c.id = r.channel_id
                 WHERE r.id = ?1 AND r.monitor_id = ?2 AND r.user_id = ?3"
            ),
            params![rule_id, monitor_id, user_id],
            rule_from_row,
        )
        .optional()?)
}

pub fn rules_for_user(conn: &Connection, user_id: UserId) -> Result<Vec<StoredRule>, DbError> {
    Ok(conn.cached_rows(
        &format!(
            "SELECT {RULE_COLUMNS} FROM alert_rules r JOIN channels c ON c.id = r.channel_id
             WHERE r.user_id = ?1 ORDER BY r.monitor_id, r.id"
        ),
        [user_id],
        rule_from_row,
    )?)
}

pub fn rules_of(conn: &Connection, monitor_id: MonitorId) -> Result<Vec<StoredRule>, DbError> {
    Ok(conn.cached_rows(
        &format!(
            "SELECT {RULE_COLUMNS} FROM alert_rules r JOIN channels c ON c.id = r.channel_id
             WHERE r.monitor_id = ?1 ORDER BY r.id"
        ),
        [monitor_id],
        rule_from_row,
    )?)
}

/// Daily summaries due at `now`, at most `limit`.
pub fn summaries_due(
    conn: &Connection,
    now: i64,
    limit: usize,
) -> Result<Vec<StoredRule>, DbError> {
    Ok(conn.cached_rows(
        &format!(
            "SELECT {RULE_COLUMNS} FROM alert_rules r JOIN channels c ON c.id = r.channel_id
             WHERE r.next_summary_at <= ?1 ORDER BY r.next_summary_at LIMIT ?2"
        ),
        params![now, limit as i64],
        rule_from_row,
    )?)
}

/// Moves a summary on to `next` if it is still due at `was` (so one scheduler sends it).
pub fn claim_summary(
    conn: &Connection,
    rule_id: RuleId,
    was: i64,
    next: i64,
) -> Result<bool, DbError> {
    Ok(conn.cached_execute(
        "UPDATE alert_rules SET next_summary_at = ?3 WHERE id = ?1 AND next_summary_at = ?2",
        params![rule_id, was, next],
    )? == 1)
}

pub fn next_summary(conn: &Connection) -> Result<Option<i64>, DbError> {
    Ok(conn.cached_row(
        "SELECT min(next_summary_at) FROM alert_rules WHERE next_summary_at IS NOT NULL",
        [],
        |r| r.get(0),
    )?)
}

/// Whether the rule's condition held for the key at the last look; `None` before the first.
pub fn alert_state(
    conn: &Connection,
    rule_id: RuleId,
    key_id: KeyId,
) -> Result<Option<bool>, DbError> {
    Ok(conn
        .cached_row(
            "SELECT active FROM alert_states WHERE rule_id = ?1 AND api_key_id = ?2",
            params![rule_id, key_id],
            |r| r.get(0),
        )
        .optional()?)
}

/// Records whether the condition holds; `since` changes only when `active` does.
pub fn set_alert_state(
    conn: &Connection,
    rule_id: RuleId,
    key_id: KeyId,
    active: bool,
    now: i64,
) -> Result<(), DbError> {
    conn.cached_execute(
        "INSERT INTO alert_states (rule_id, api_key_id, active, since)
         SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM alert_rules WHERE id = ?1)
           AND EXISTS (SELECT 1 FROM api_keys WHERE id = ?2)
         ON CONFLICT (rule_id, api_key_id) DO UPDATE SET active = excluded.active,
            since = CASE WHEN active = excluded.active THEN since ELSE excluded.since END",
        params![rule_id, key_id, active, now],
    )?;
    Ok(())
}

/// Rules of the user whose condition holds now, with the key: `(rule, key)`.
pub fn active_alerts(conn: &Connection, user_id: UserId) -> Result<Vec<(RuleId, KeyId)>, DbError> {
    Ok(conn.cached_rows(
        "SELECT s.rule_id, s.api_key_id FROM alert_states s
         JOIN alert_rules r ON r.id = s.rule_id
         WHERE r.user_id = ?1 AND s.active = 1",
        [user_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// The price changes a `price_changed` rule has not told of yet (of its model, or of any),
/// oldest first, at most `limit`; they count as told from now on. Called inside the
/// transaction that queues their messages, so each change is told once.
pub fn claim_price_changes(
    conn: &Connection,
    rule: &StoredRule,
    limit: usize,
) -> Result<Vec<super::price_learning::PriceChange>, DbError> {
    let seen: i64 = conn.cached_row(
        "SELECT seen_change_id FROM alert_rules WHERE id = ?1",
        [rule.id],
        |r| r.get(0),
    )?;
    let changes = super::price_learning::changes_after(
        conn,
        rule.user_id,
        seen,
        rule.model.as_deref(),
        limit,
    )?;
    // All that was pending was read: past the newest change of any model (a rule for one model
    // skips the others' for good); else up to the last one read.
    let told = match changes.last() {
        Some(last) if changes.len() >= limit => last.id,
        _ => super::price_learning::newest_change_id(conn, rule.user_id)?,
    };
    conn.cached_execute(
        "UPDATE alert_rules SET seen_change_id = max(seen_change_id, ?2) WHERE id = ?1",
        params![rule.id, told],
    )?;
    Ok(changes)
}
