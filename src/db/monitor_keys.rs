//! The `monitor_keys` table: the keys each monitor watches and what each last saw.

use std::str::FromStr;

use rusqlite::{Connection, params};

use super::Cached;
use super::DbError;
use super::monitors::Reason;
use crate::closed_set::UnknownValue;
use crate::ids::{KeyId, MonitorId, RunId, UserId};

/// What a key's last look said: `ok`, or why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCode {
    Ok,
    Failed(Reason),
}

impl KeyCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed(reason) => reason.as_str(),
        }
    }
}

impl FromStr for KeyCode {
    type Err = UnknownValue;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "ok" => Ok(Self::Ok),
            _ => text.parse().map(Self::Failed),
        }
    }
}

crate::stored_as_text!(KeyCode);

/// A key a monitor watches, with what it last saw.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorKey {
    pub monitor_id: MonitorId,
    pub key_id: KeyId,
    pub label: String,
    pub last_four: String,
    pub last_run_id: Option<RunId>,
    pub last_run_at: Option<i64>,
    pub last_code: Option<KeyCode>,
    pub last_available: Option<f64>,
}

fn key_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<MonitorKey> {
    Ok(MonitorKey {
        monitor_id: row.get(0)?,
        key_id: row.get(1)?,
        label: row.get(2)?,
        last_four: row.get(3)?,
        last_run_id: row.get(4)?,
        last_run_at: row.get(5)?,
        last_code: row.get(6)?,
        last_available: row.get(7)?,
    })
}

const KEY_COLUMNS: &str = "mk.monitor_id, mk.api_key_id, k.label, k.last_four, mk.last_run_id,
    mk.last_run_at, mk.last_code, mk.last_available";

/// The keys of every monitor of the user, by monitor and label.
pub fn keys_for_user(conn: &Connection, user_id: UserId) -> Result<Vec<MonitorKey>, DbError> {
    Ok(conn.cached_rows(
        &format!(
            "SELECT {KEY_COLUMNS} FROM monitor_keys mk
             JOIN monitors m ON m.id = mk.monitor_id JOIN api_keys k ON k.id = mk.api_key_id
             WHERE m.user_id = ?1 ORDER BY mk.monitor_id, k.label COLLATE NOCASE"
        ),
        [user_id],
        key_from_row,
    )?)
}

pub fn keys_of(conn: &Connection, monitor_id: MonitorId) -> Result<Vec<MonitorKey>, DbError> {
    Ok(conn.cached_rows(
        &format!(
            "SELECT {KEY_COLUMNS} FROM monitor_keys mk JOIN api_keys k ON k.id = mk.api_key_id
             WHERE mk.monitor_id = ?1 ORDER BY k.label COLLATE NOCASE"
        ),
        [monitor_id],
        key_from_row,
    )?)
}

/// What one key's run saw.
pub fn set_key_result(
    conn: &Connection,
    monitor_id: MonitorId,
    key_id: KeyId,
    run_id: Option<RunId>,
    at: i64,
    code: KeyCode,
    available: Option<f64>,
) -> Result<(), DbError> {
    conn.cached_execute(
        "UPDATE monitor_keys SET last_run_id = (SELECT id FROM queries WHERE id = ?3),
            last_run_at = ?4, last_code = ?5, last_available = ?6
         WHERE monitor_id = ?1 AND api_key_id = ?2",
        params![monitor_id, key_id, run_id, at, code, available],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::monitors::MonitorReason;
    use crate::modelscope::ErrorCode;

    #[test]
    fn a_keys_code_is_ok_an_upstream_code_or_one_of_ours() {
        for code in [
            KeyCode::Ok,
            KeyCode::Failed(Reason::Upstream(ErrorCode::InvalidKey)),
            KeyCode::Failed(Reason::Monitor(MonitorReason::PresetGone)),
        ] {
            assert_eq!(code.as_str().parse::<KeyCode>(), Ok(code));
        }
        assert_eq!(
            "invalid_model".parse::<KeyCode>(),
            Ok(KeyCode::Failed(Reason::Upstream(ErrorCode::InvalidModel)))
        );
        let unknown = "nonsense".parse::<KeyCode>().unwrap_err();
        assert_eq!(unknown.to_string(), "Reason: unknown value \"nonsense\"");
    }
}
