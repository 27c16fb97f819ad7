//! A user's saved ModelScope keys: validated, sealed with the vault, listed masked, opened
//! only for the duration of a call.

use std::sync::Arc;

use crate::crypto::secret::{ApiSecret, mask_tail};
use crate::crypto::{Vault, VaultError};
use crate::db::api_keys::{self, StoredKey};
use crate::db::{Db, DbError};
use crate::ids::{KeyId, UserId};
use crate::modelscope::Site;
use crate::names::{self, NameError};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("not a ModelScope token")]
    BadShape,
    #[error("label is empty")]
    EmptyLabel,
    #[error("label is too long or has control characters")]
    BadLabel,
    #[error("label is already used")]
    DuplicateLabel,
    #[error("key is already saved")]
    DuplicateKey { label: String },
    #[error("at most {max} keys per user")]
    TooMany { max: i64 },
    #[error("no such key")]
    NotFound,
    /// Tampered, moved, or sealed with another master key: the user must enter it again.
    #[error("this key cannot be opened; enter it again")]
    NeedsReentry,
    #[error("vault: {0}")]
    Vault(VaultError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// What a page may show of a saved key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySummary {
    pub id: KeyId,
    pub label: String,
    pub masked: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub needs_reentry: bool,
    pub site: Site,
    /// The key's last four characters (`masked` shows them too).
    pub last_four: String,
}

/// A saved key opened for one call.
pub struct OpenedKey {
    pub secret: ApiSecret,
    pub label: String,
    pub site: Site,
}

/// The fewest and most characters a key may have.
pub const KEY_CHARS: std::ops::RangeInclusive<usize> = 8..=200;

/// A key the upstream may accept, after trimming: printable ASCII without spaces, 8 to 200
/// characters. ModelScope's tokens are `ms-` and a UUID today ([`is_token_shape`]); any other
/// key is tried all the same, with a hint beside the answer, because a refusal here would lock
/// every user out the day the upstream issues another shape.
pub fn check_key_shape(raw: &str) -> Result<ApiSecret, KeyError> {
    let key = raw.trim();
    if is_key_shape(key) {
        Ok(ApiSecret::new(key))
    } else {
        Err(KeyError::BadShape)
    }
}

/// Printable ASCII without spaces, 8 to 200 characters, nothing around it.
pub fn is_key_shape(key: &str) -> bool {
    KEY_CHARS.contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

/// Exactly `ms-` followed by a UUID, nothing around it: how ModelScope makes its tokens.
pub fn is_token_shape(key: &str) -> bool {
    let Some(uuid) = key.strip_prefix("ms-") else {
        return false;
    };
    let groups: Vec<&str> = uuid.split('-').collect();
    groups.len() == 5
        && groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
}

pub fn check_label(raw: &str) -> Result<String, KeyError> {
    names::check_name(raw).map_err(|error| match error {
        NameError::Empty => KeyError::EmptyLabel,
        NameError::Invalid => KeyError::BadLabel,
    })
}

#[derive(Clone)]
pub struct Keyring {
    db: Db,
    vault: Arc<Vault>,
    /// Keys one user may save (`max_keys_per_user`; no limit unless set).
    max_per_user: i64,
}

impl Keyring {
    pub fn new(db: Db, vault: Arc<Vault>) -> Self {
        Self {
            db,
            vault,
            max_per_user: i64::MAX,
        }
    }

    /// At most `max` keys per user.
    pub fn with_max_per_user(mut self, max: i64) -> Self {
        self.max_per_user = max;
        self
    }

    fn open_stored(vault: &Vault, key: &StoredKey) -> Result<ApiSecret, KeyError> {
        vault
            .open_api_key(key.user_id, key.id, &key.sealed)
            .map_err(|_| KeyError::NeedsReentry)
    }

    /// The label of a saved key equal to `secret`, among those that still open.
    fn find_duplicate(
        vault: &Vault,
        keys: &[StoredKey],
        secret: &ApiSecret,
        except: Option<KeyId>,
    ) -> Option<String> {
        keys.iter()
            .filter(|key| Some(key.id) != except)
            .find(|key| {
                Self::open_stored(vault, key).is_ok_and(|open| open.expose() == secret.expose())
            })
            .map(|key| key.label.clone())
    }

    pub async fn add(
        &self,
        user_id: UserId,
        label: &str,
        site: Site,
        secret: ApiSecret,
    ) -> Result<KeyId, KeyError> {
        let label = check_label(label)?;
        let vault = self.vault.clone();
        let max = self.max_per_user;
        self.db
            .run(move |conn| {
                let existing = api_keys::list_for_user(conn, user_id)?;
                if let Some(label) = Self::find_duplicate(&vault, &existing, &secret, None) {
                    return Ok(Err(KeyError::DuplicateKey { label }));
                }
                if i64::try_from(existing.len()).unwrap_or(i64::MAX) >= max {
                    return Ok(Err(KeyError::TooMany { max }));
                }
                let inserted = api_keys::insert_sealed(
                    conn,
                    user_id,
                    &label,
                    site,
                    &secret.last_four(),
                    |id| vault.seal_api_key(user_id, id, &secret),
                )?;
                Ok(match inserted {
                    Ok(Some(id)) => Ok(id),
                    Ok(None) => Err(KeyError::DuplicateLabel),
                    Err(error) => Err(KeyError::Vault(error)),
                })
            })
            .await?
    }

    /// Seals a re-entered key over an existing row (the cure for "cannot be opened"); returns
    /// the row's label.
    pub async fn replace(
        &self,
        user_id: UserId,
        key_id: KeyId,
        secret: ApiSecret,
    ) -> Result<String, KeyError> {
        let vault = self.vault.clone();
        self.db
            .run(move |conn| {
                let existing = api_keys::list_for_user(conn, user_id)?;
                let Some(label) = existing
                    .iter()
                    .find(|key| key.id == key_id)
                    .map(|key| key.label.clone())
                else {
                    return Ok(Err(KeyError::NotFound));
                };
                if let Some(label) = Self::find_duplicate(&vault, &existing, &secret, Some(key_id))
                {
                    return Ok(Err(KeyError::DuplicateKey { label }));
                }
                let sealed = match vault.seal_api_key(user_id, key_id, &secret) {
                    Ok(sealed) => sealed,
                    Err(error) => return Ok(Err(KeyError::Vault(error))),
                };
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                api_keys::store_sealed(&tx, key_id, &sealed)?;
                api_keys::set_last_four(&tx, key_id, &secret.last_four())?;
                tx.commit()?;
                Ok(Ok(label))
            })
            .await?
    }

    pub async fn list(&self, user_id: UserId) -> Result<Vec<KeySummary>, KeyError> {
        let vault = self.vault.clone();
        Ok(self
            .db
            .run(move |conn| {
                let keys = api_keys::list_for_user(conn, user_id)?;
                Ok(keys
                    .into_iter()
                    .map(|key| KeySummary {
                        needs_reentry: Self::open_stored(&vault, &key).is_err(),
                        id: key.id,
                        masked: mask_tail(key.last_four.clone()),
                        last_four: key.last_four,
                        label: key.label,
                        created_at: key.created_at,
                        last_used_at: key.last_used_at,
                        site: key.site,
                    })
                    .collect())
            })
            .await?)
    }

    /// The plaintext of one of the user's keys, for one call; marks it used.
    /// The plaintext of one of the user's keys, for one call, with its label and site.
    pub async fn open(&self, user_id: UserId, key_id: KeyId) -> Result<OpenedKey, KeyError> {
        let vault = self.vault.clone();
        self.db
            .run(move |conn| {
                let Some(key) = api_keys::get_for_user(conn, user_id, key_id)? else {
                    return Ok(Err(KeyError::NotFound));
                };
                let opened = Self::open_stored(&vault, &key);
                if opened.is_ok() {
                    api_keys::touch_used(conn, key_id);
                }
                Ok(opened.map(|secret| OpenedKey {
                    secret,
                    label: key.label,
                    site: key.site,
                }))
            })
            .await?
    }

    /// A key by its label (for the JSON API's `key_id` given as a label).
    pub async fn find_id_by_label(
        &self,
        user_id: UserId,
        label: &str,
    ) -> Result<Option<KeyId>, KeyError> {
        let label = label.to_owned();
        Ok(self
            .db
            .run(move |conn| Ok(api_keys::find_by_label(conn, user_id, &label)?.map(|k| k.id)))
            .await?)
    }

    /// Deletes one of the user's keys; returns its label.
    pub async fn delete(&self, user_id: UserId, key_id: KeyId) -> Result<String, KeyError> {
        self.db
            .run(move |conn| api_keys::delete_for_user(conn, user_id, key_id))
            .await?
            .ok_or(KeyError::NotFound)
    }

    /// The label of one of the user's keys (for a confirmation).
    pub async fn label(&self, user_id: UserId, key_id: KeyId) -> Result<String, KeyError> {
        self.db
            .run(move |conn| api_keys::get_for_user(conn, user_id, key_id))
            .await?
            .map(|key| key.label)
            .ok_or(KeyError::NotFound)
    }
}

/// Re-seals every saved key with `vault`'s current master key, in one transaction.
/// Returns (re-sealed, could not be opened and left as they were).
pub fn reseal_all(
    conn: &mut rusqlite::Connection,
    vault: &Vault,
) -> Result<(usize, usize), KeyError> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(DbError::from)?;
    let counts = reseal_keys(&tx, vault)?;
    tx.commit().map_err(DbError::from)?;
    Ok(counts)
}

/// [`reseal_all`] inside the caller's transaction (rotation re-seals channel secrets in the
/// same one).
pub fn reseal_keys(tx: &rusqlite::Connection, vault: &Vault) -> Result<(usize, usize), KeyError> {
    let (mut resealed, mut skipped) = (0, 0);
    for key in api_keys::all(tx)? {
        match Keyring::open_stored(vault, &key) {
            Ok(secret) => {
                let sealed = vault
                    .seal_api_key(key.user_id, key.id, &secret)
                    .map_err(KeyError::Vault)?;
                api_keys::store_sealed(tx, key.id, &sealed)?;
                resealed += 1;
            }
            Err(_) => skipped += 1,
        }
    }
    Ok((resealed, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_shape() {
        assert!(check_key_shape(" ms-12345678-abcd-ABCD-1234-1234567890ab ").is_ok());
        assert!(is_token_shape("ms-12345678-abcd-ABCD-1234-1234567890ab"));
        // Another shape is tried (with a hint), never refused for its shape.
        for other in [
            "12345678-abcd-abcd-1234-1234567890ab",
            "ms-12345678-abcd-abcd-1234-1234567890a",
            "sk-abcdefgh",
            "ms-<script>",
        ] {
            assert!(check_key_shape(other).is_ok(), "{other:?}");
            assert!(!is_token_shape(other), "{other:?}");
        }
        let longest = "k".repeat(200);
        assert!(check_key_shape(&longest).is_ok());
        for bad in [
            "",
            "ms-",
            "1234567",
            "ms-1234 5678",
            "ms-12345678\u{7f}",
            "ms-12345678\nabcd",
            "ms-12345678é",
            &"k".repeat(201),
        ] {
            assert!(check_key_shape(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn labels() {
        assert_eq!(check_label("  工作 key ").unwrap(), "工作 key");
        assert!(check_label("   ").is_err());
        assert!(check_label(&"x".repeat(65)).is_err());
        assert!(check_label("a\0b").is_err());
        assert!(
            check_label("<b>x</b>").is_ok(),
            "escaped on output, not refused"
        );
    }
}
