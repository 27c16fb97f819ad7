//! Typed row ids, so a user id cannot be passed where a key id is expected. Each is a plain
//! SQLite integer on disk and a bare number in URLs and JSON.

use std::fmt;
use std::str::FromStr;

use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

/// A text that is not a positive integer id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a positive integer id")]
pub struct BadId;

macro_rules! row_id {
    ($($(#[$doc:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[derive(serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        /// Ids are positive: `0`, `-1`, `1.5` and `abc` are refused.
        impl FromStr for $name {
            type Err = BadId;

            fn from_str(text: &str) -> Result<Self, BadId> {
                match text.trim().parse::<i64>() {
                    Ok(id) if id > 0 => Ok(Self(id)),
                    _ => Err(BadId),
                }
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                self.0.to_sql()
            }
        }

        impl From<$name> for rusqlite::types::Value {
            fn from(id: $name) -> Self {
                Self::Integer(id.0)
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                i64::column_result(value).map(Self)
            }
        }
    )+};
}

row_id!(
    /// An account.
    UserId,
    /// A saved ModelScope key.
    KeyId,
    /// A model preset.
    PresetId,
    /// A stored run (a row of `queries`).
    RunId,
    /// A signed-in browser.
    SessionId,
    /// A personal access token.
    TokenId,
    /// A scheduled watch over saved keys.
    MonitorId,
    /// An alert rule of a monitor.
    RuleId,
    /// A notification channel (webhook, bot, email).
    ChannelId,
    /// A row of the delivery log.
    DeliveryId,
    /// An invitation to sign up.
    InvitationId,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_positive_integers_are_ids() {
        assert_eq!("42".parse::<KeyId>(), Ok(KeyId(42)));
        assert_eq!(" 7 ".parse::<RunId>(), Ok(RunId(7)));
        for bad in ["0", "-1", "1.5", "abc", "", "99999999999999999999"] {
            assert_eq!(bad.parse::<UserId>(), Err(BadId), "{bad:?}");
        }
        assert_eq!(PresetId(3).to_string(), "3");
        assert_eq!(serde_json::to_string(&TokenId(9)).unwrap(), "9");
    }
}
