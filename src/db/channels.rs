//! The `channels` table: where notifications go. Secrets are sealed; plaintext never reaches
//! this module.

use rusqlite::{Connection, params};

use super::owned::{self, Owned};
use super::{Cached, DbError};
use crate::crypto::vault::Sealed;
use crate::ids::{ChannelId, UserId};

crate::closed_set! {
    /// Where a channel's messages go (the form offers a webhook first).
    #[derive(Default)]
    pub enum Kind {
        #[default] Webhook, DingTalk = "dingtalk", Feishu,
        WeCom = "wecom", Telegram, Bark, ServerChan = "serverchan",
        Email,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredChannel {
    pub id: ChannelId,
    pub user_id: UserId,
    pub kind: Kind,
    pub name: String,
    /// JSON of the settings that are not secret.
    pub settings: String,
    /// What a page may show of the secrets.
    pub hint: String,
    pub sealed: Sealed,
    pub created_at: i64,
}

const COLUMNS: &str =
    "id, user_id, kind, name, settings, hint, nonce, ciphertext, master_key_id, created_at";

impl Owned for StoredChannel {
    type Id = ChannelId;
    const TABLE: &'static str = "channels";
    const COLUMNS: &'static str = COLUMNS;
    const ORDER: &'static str = "name COLLATE NOCASE";

    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(StoredChannel {
            id: row.get(0)?,
            user_id: row.get(1)?,
            kind: row.get(2)?,
            name: row.get(3)?,
            settings: row.get(4)?,
            hint: row.get(5)?,
            sealed: owned::read_sealed(row, 6)?,
            created_at: row.get(9)?,
        })
    }
}

/// A channel about to be stored; `seal` seals its secrets for the new row's id.
pub struct NewChannelRow<'a> {
    pub user_id: UserId,
    pub kind: Kind,
    pub name: &'a str,
    pub settings: &'a str,
    pub hint: &'a str,
    pub created_at: i64,
}

/// Inserts the row and seals its secrets inside one transaction (the associated data binds
/// the ciphertext to the row id). `None` when the name is taken.
pub fn insert_sealed<E>(
    conn: &mut Connection,
    new: &NewChannelRow<'_>,
    seal: impl FnOnce(ChannelId) -> Result<Sealed, E>,
) -> Result<Result<Option<ChannelId>, E>, DbError> {
    let insert = |tx: &Connection| {
        tx.cached_execute(
            "INSERT INTO channels (user_id, kind, name, settings, hint, nonce, ciphertext,
                master_key_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, x'', x'', '', ?6) ON CONFLICT DO NOTHING",
            params![
                new.user_id,
                new.kind,
                new.name,
                new.settings,
                new.hint,
                new.created_at
            ],
        )
    };
    owned::insert_sealed::<StoredChannel, E>(conn, ChannelId, insert, seal)
}

/// Replaces a channel's sealed secrets (master-key rotation).
pub fn store_sealed(conn: &Connection, id: ChannelId, sealed: &Sealed) -> Result<(), DbError> {
    owned::store_sealed::<StoredChannel>(conn, id, sealed)
}

pub fn count_for_user(conn: &Connection, user_id: UserId) -> Result<i64, DbError> {
    owned::count::<StoredChannel>(conn, user_id)
}

/// The user's channels, by name.
pub fn list_for_user(conn: &Connection, user_id: UserId) -> Result<Vec<StoredChannel>, DbError> {
    owned::list(conn, user_id)
}

/// One of the user's channels; another user's id is simply not found.
pub fn get_for_user(
    conn: &Connection,
    user_id: UserId,
    id: ChannelId,
) -> Result<Option<StoredChannel>, DbError> {
    owned::get(conn, user_id, id)
}

pub fn delete_for_user(conn: &Connection, user_id: UserId, id: ChannelId) -> Result<bool, DbError> {
    owned::delete::<StoredChannel>(conn, user_id, id)
}

/// Every user's channels (master-key rotation re-seals them all).
pub fn all(conn: &Connection) -> Result<Vec<StoredChannel>, DbError> {
    owned::all(conn)
}
