//! Channels in the vault: sealed on the way in, listed with their hints, opened for one send,
//! re-sealed when the master key rotates.

use std::sync::Arc;

use zeroize::Zeroizing;

use crate::crypto::Vault;
use crate::db::Db;
use crate::db::channels::{self as rows, NewChannelRow, StoredChannel};
use crate::ids::{ChannelId, UserId};

use super::channel_check::check_channel;
use super::channels::{
    ChannelAsk, ChannelError, ChannelRules, Kind, NewChannel, Secrets, Settings,
};

/// What a page may show of a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSummary {
    pub id: ChannelId,
    pub kind: Kind,
    pub name: String,
    pub hint: String,
    pub created_at: i64,
    pub needs_reentry: bool,
}

/// What a confirmation or a notice names a channel by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelName {
    pub name: String,
    pub kind: Kind,
}

impl ChannelName {
    fn of(stored: StoredChannel) -> Self {
        Self {
            name: stored.name,
            kind: stored.kind,
        }
    }
}

/// A channel opened for one send.
#[derive(Debug)]
pub struct OpenedChannel {
    pub id: ChannelId,
    pub user_id: UserId,
    pub kind: Kind,
    pub name: String,
    pub settings: Settings,
    pub secrets: Secrets,
}

#[derive(Clone)]
pub struct Channels {
    db: Db,
    vault: Arc<Vault>,
    rules: ChannelRules,
}

impl Channels {
    pub fn new(db: Db, vault: Arc<Vault>, rules: ChannelRules) -> Self {
        Self { db, vault, rules }
    }

    /// Checks a form under the instance's rules, from the form alone (no name is looked up).
    pub fn check(&self, ask: &ChannelAsk) -> Result<NewChannel, ChannelError> {
        check_channel(ask, &self.rules)
    }

    pub async fn add(&self, user: UserId, new: NewChannel) -> Result<ChannelId, ChannelError> {
        let vault = self.vault.clone();
        let max = self.rules.max_per_user;
        self.db
            .run(move |conn| {
                if rows::count_for_user(conn, user)? >= max {
                    return Ok(Err(ChannelError::TooMany { max }));
                }
                // Both documents are plain structs of strings: they always serialise.
                let settings = serde_json::to_string(&new.settings).unwrap_or_default();
                let plaintext =
                    Zeroizing::new(serde_json::to_string(&new.secrets).unwrap_or_default());
                let row = NewChannelRow {
                    user_id: user,
                    kind: new.kind,
                    name: &new.name,
                    settings: &settings,
                    hint: &new.hint,
                    created_at: crate::clock::now(),
                };
                let inserted = rows::insert_sealed(conn, &row, |id| {
                    vault.seal_channel_secret(user, id, &plaintext)
                })?;
                Ok(match inserted {
                    Ok(Some(id)) => Ok(id),
                    Ok(None) => Err(ChannelError::DuplicateName),
                    Err(error) => Err(ChannelError::Vault(error)),
                })
            })
            .await?
    }

    pub async fn list(&self, user: UserId) -> Result<Vec<ChannelSummary>, ChannelError> {
        let vault = self.vault.clone();
        Ok(self
            .db
            .run(move |conn| {
                Ok(rows::list_for_user(conn, user)?
                    .into_iter()
                    .map(|c| ChannelSummary {
                        needs_reentry: open_stored(&vault, &c).is_err(),
                        id: c.id,
                        kind: c.kind,
                        name: c.name,
                        hint: c.hint,
                        created_at: c.created_at,
                    })
                    .collect())
            })
            .await?)
    }

    /// One of the user's channels by name and kind (never its secrets), for the confirmation
    /// before deleting it.
    pub async fn named(&self, user: UserId, id: ChannelId) -> Result<ChannelName, ChannelError> {
        self.db
            .run(move |conn| Ok(rows::get_for_user(conn, user, id)?.map(ChannelName::of)))
            .await?
            .ok_or(ChannelError::NotFound)
    }

    /// Deletes one of the user's channels (the rules that use it go with it); answers what it
    /// was.
    pub async fn delete(&self, user: UserId, id: ChannelId) -> Result<ChannelName, ChannelError> {
        self.db
            .run(move |conn| {
                let Some(stored) = rows::get_for_user(conn, user, id)? else {
                    return Ok(None);
                };
                Ok(rows::delete_for_user(conn, user, id)?.then(|| ChannelName::of(stored)))
            })
            .await?
            .ok_or(ChannelError::NotFound)
    }

    /// One of the user's channels with its secrets, for one send.
    pub async fn open(&self, user: UserId, id: ChannelId) -> Result<OpenedChannel, ChannelError> {
        let vault = self.vault.clone();
        self.db
            .run(move |conn| {
                Ok(match rows::get_for_user(conn, user, id)? {
                    Some(stored) => open_stored(&vault, &stored),
                    None => Err(ChannelError::NotFound),
                })
            })
            .await?
    }
}

fn open_stored(vault: &Vault, stored: &StoredChannel) -> Result<OpenedChannel, ChannelError> {
    let settings: Settings =
        serde_json::from_str(&stored.settings).map_err(|_| ChannelError::NeedsReentry)?;
    let plaintext = vault
        .open_channel_secret(stored.user_id, stored.id, &stored.sealed)
        .map_err(|_| ChannelError::NeedsReentry)?;
    let secrets: Secrets =
        serde_json::from_str(&plaintext).map_err(|_| ChannelError::NeedsReentry)?;
    Ok(OpenedChannel {
        id: stored.id,
        user_id: stored.user_id,
        kind: stored.kind,
        name: stored.name.clone(),
        settings,
        secrets,
    })
}

/// Re-seals every channel's secrets with `vault`'s current master key (inside the caller's
/// transaction). Returns (re-sealed, could not be opened and left as they were).
pub fn reseal_all(
    conn: &rusqlite::Connection,
    vault: &Vault,
) -> Result<(usize, usize), ChannelError> {
    let (mut resealed, mut skipped) = (0, 0);
    for stored in rows::all(conn)? {
        match vault.open_channel_secret(stored.user_id, stored.id, &stored.sealed) {
            Ok(plaintext) => {
                let sealed = vault
                    .seal_channel_secret(stored.user_id, stored.id, &plaintext)
                    .map_err(ChannelError::Vault)?;
                rows::store_sealed(conn, stored.id, &sealed)?;
                resealed += 1;
            }
            Err(_) => skipped += 1,
        }
    }
    Ok((resealed, skipped))
}
