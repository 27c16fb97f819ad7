//! The `channels` table: where notifications go. Secrets are sealed; plaintext never reaches
//! this module.

use rusqlite::{Connection, OptionalExtension, params};

use super::Cached;
use super::DbError;
use crate::crypto::vault::Sealed;
use crate::ids::{ChannelId, UserId};

crate::closed_set! {
    /// Where a channel's messages go (the form offers a webhook first).
    #[derive(Default)]
    pub enum Kind {
        #[default] Webhook = "webhook", DingTalk = "dingtalk", Feishu = "feishu",
        WeCom = "wecom", Telegram = "telegram", Bark = "bark", ServerChan = "serverchan",
        Email = "email",
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

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredChannel> {
    Ok(StoredChannel {
        id: row.get(0)?,
        user_id: row.get(1)?,
        kind: row.get(2)?,
        name: row.get(3)?,
        settings: row.get(4)?,
        hint: row.get(5)?,
        sealed: Sealed {
            nonce: row.get(6)?,
            ciphertext: row.get(7)?,
            master_key_id: row.get(8)?,
        },
        created_at: row.get(9)?,
    })
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
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let inserted = tx.cached_execute(
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
    )?;
    if inserted == 0 {
        return Ok(Ok(None));
    }
    let id = ChannelId(tx.last_insert_rowid());
    let sealed = match seal(id) {
        Ok(sealed) => sealed,
        Err(error) => return Ok(Err(error)),
    };
    store_sealed(&tx, id, &sealed)?;
    tx.commit()?;
    Ok(Ok(Some(id)))
}

pub fn store_sealed(conn: &Connection, id: ChannelId, sealed: &Sealed) -> Result<(), DbError> {
    conn.cached_execute(
        "UPDATE channels SET nonce = ?2, ciphertext = ?3, master_key_id = ?4 WHERE id = ?1",
        params![id, sealed.nonce, sealed.ciphertext, sealed.master_key_id],
    )?;
    Ok(())
}

pub fn count_for_user(conn: &Connection, user_id: UserId) -> Result<i64, DbError> {
    Ok(conn.cached_row(
        "SELECT count(*) FROM channels WHERE user_id = ?1",
        [user_id],
        |r| r.get(0),
    )?)
}

pub fn list_for_user(conn: &Connection, user_id: UserId) -> Result<Vec<StoredChannel>, DbError> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM channels WHERE user_id = ?1 ORDER BY name COLLATE NOCASE"
    ))?;
    let rows = statement
        .query_map([user_id], from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn get_for_user(
    conn: &Connection,
    user_id: UserId,
    id: ChannelId,
) -> Result<Option<StoredChannel>, DbError> {
    Ok(conn
        .cached_row(
            &format!("SELECT {COLUMNS} FROM channels WHERE id = ?1 AND user_id = ?2"),
            params![id, user_id],
            from_row,
        )
        .optional()?)
}

pub fn delete_for_user(conn: &Connection, user_id: UserId, id: ChannelId) -> Result<bool, DbError> {
    Ok(conn.cached_execute(
        "DELETE FROM channels WHERE id = ?1 AND user_id = ?2",
        params![id, user_id],
    )? == 1)
}

pub fn all(conn: &Connection) -> Result<Vec<StoredChannel>, DbError> {
    let mut statement =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM channels ORDER BY id"))?;
    let rows = statement
        .query_map([], from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
