//! The sealing of saved secrets (ModelScope API keys) with keys derived from the master key.
//!
//! Each sealed API key is stored as (nonce, ciphertext, master key id). The associated data binds
//! the ciphertext to its user and row, so a ciphertext copied to another row or another user does
//! not open. The master key id is a short public fingerprint telling which master key sealed a
//! row, so that rotation can keep old keys readable until every row is re-sealed.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use super::master_key::{KEY_LEN, MasterKey, VaultError};
use super::secret::ApiSecret;
use crate::ids::{ChannelId, KeyId, UserId};

const NONCE_LEN: usize = 12;

/// Fixed HKDF salt: the master key is already uniformly random, so the salt only separates this
/// application's derivations from any other use of the same bytes.
const HKDF_SALT: &[u8] = b"modelscope-balance/vault/hkdf-salt/v1";
const API_KEY_INFO: &[u8] = b"modelscope-balance/api-key/v1";
/// Prefix of the associated data of a sealed API key; ends in NUL so that the fixed-width ids
/// after it can never be confused with the prefix of another purpose.
const API_KEY_AAD_PREFIX: &[u8] = b"api-key\0";
/// A separate key for notification channel secrets (webhook URLs with tokens, bot secrets,
/// SMTP passwords), so the two kinds of ciphertext can never stand in for each other.
const CHANNEL_INFO: &[u8] = b"modelscope-balance/channel-secret/v1";
const CHANNEL_AAD_PREFIX: &[u8] = b"channel\0";
/// A third key for TOTP secrets (the seed of an account's authenticator).
const TOTP_INFO: &[u8] = b"modelscope-balance/totp-secret/v1";
const TOTP_AAD_PREFIX: &[u8] = b"totp\0\0\0\0";

/// The keys derived from one master key.
struct DerivedKeys {
    master_key_id: String,
    api_key: Zeroizing<[u8; KEY_LEN]>,
    channel: Zeroizing<[u8; KEY_LEN]>,
    totp: Zeroizing<[u8; KEY_LEN]>,
}

impl DerivedKeys {
    fn derive(master: &MasterKey) -> Self {
        let hkdf = Hkdf::<Sha256>::new(Some(HKDF_SALT), &master.bytes[..]);
        let mut api_key = Zeroizing::new([0u8; KEY_LEN]);
        // HKDF-SHA256 can produce up to 255 * 32 bytes; 32 is always within that.
        hkdf.expand(API_KEY_INFO, &mut api_key[..])
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        let mut channel = Zeroizing::new([0u8; KEY_LEN]);
        hkdf.expand(CHANNEL_INFO, &mut channel[..])
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        let mut totp = Zeroizing::new([0u8; KEY_LEN]);
        hkdf.expand(TOTP_INFO, &mut totp[..])
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        Self {
            master_key_id: master.id.clone(),
            api_key,
            channel,
            totp,
        }
    }
}

/// A ciphertext with everything needed to open it again, as stored in `api_keys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
    pub master_key_id: String,
}

/// Seals with the current master key; opens rows sealed with it or with any previous key given.
pub struct Vault {
    current: DerivedKeys,
    previous: Vec<DerivedKeys>,
}

impl Vault {
    pub fn new(current: MasterKey) -> Self {
        Self::with_previous(current, Vec::new())
    }

    /// A vault that also opens rows sealed with `previous` keys (during a rotation).
    pub fn with_previous(current: MasterKey, previous: Vec<MasterKey>) -> Self {
        let current = DerivedKeys::derive(&current);
        let mut kept: Vec<DerivedKeys> = Vec::with_capacity(previous.len());
        for key in &previous {
            let known =
                key.id == current.master_key_id || kept.iter().any(|k| k.master_key_id == key.id);
            if !known {
                kept.push(DerivedKeys::derive(key));
            }
        }
        Self {
            current,
            previous: kept,
        }
    }

    /// The id written beside every row sealed now.
    pub fn current_key_id(&self) -> &str {
        &self.current.master_key_id
    }

    /// Encrypts `secret` for row `key_id` of user `user_id` with a fresh random nonce.
    pub fn seal_api_key(
        &self,
        user_id: UserId,
        key_id: KeyId,
        secret: &ApiSecret,
    ) -> Result<Sealed, VaultError> {
        self.seal(
            Purpose::ApiKey,
            user_id,
            key_id.get(),
            secret.expose().as_bytes(),
        )
    }

    /// Decrypts a row sealed by [`Self::seal_api_key`] for the same `user_id` and `key_id`.
    pub fn open_api_key(
        &self,
        user_id: UserId,
        key_id: KeyId,
        sealed: &Sealed,
    ) -> Result<ApiSecret, VaultError> {
        // Moves the buffer into the secret without copying.
        self.open(Purpose::ApiKey, user_id, key_id.get(), sealed)
            .map(ApiSecret::new)
    }

    /// Encrypts a channel's secrets (`plaintext`, any text) for channel row `channel_id` of
    /// user `user_id`, under the channel key, with a fresh random nonce.
    pub fn seal_channel_secret(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
        plaintext: &str,
    ) -> Result<Sealed, VaultError> {
        self.seal(
            Purpose::Channel,
            user_id,
            channel_id.get(),
            plaintext.as_bytes(),
        )
    }

    /// Decrypts what [`Self::seal_channel_secret`] sealed for the same user and channel row.
    pub fn open_channel_secret(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
        sealed: &Sealed,
    ) -> Result<Zeroizing<String>, VaultError> {
        self.open(Purpose::Channel, user_id, channel_id.get(), sealed)
            .map(Zeroizing::new)
    }

    /// Encrypts the seed of `user_id`'s authenticator (one per account: the row is the user)
    /// under the TOTP key.
    pub fn seal_totp(&self, user_id: UserId, seed: &[u8]) -> Result<Sealed, VaultError> {
        self.seal(Purpose::Totp, user_id, user_id.get(), seed)
    }

    /// Decrypts what [`Self::seal_totp`] sealed for the same user.
    pub fn open_totp(
        &self,
        user_id: UserId,
        sealed: &Sealed,
    ) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        self.open_bytes(Purpose::Totp, user_id, user_id.get(), sealed)
            .map(Zeroizing::new)
    }

    /// Encrypts `plaintext` for row `row` of `user` under the purpose's key with a fresh
    /// random nonce.
    fn seal(
        &self,
        purpose: Purpose,
        user: UserId,
        row: i64,
        plaintext: &[u8],
    ) -> Result<Sealed, VaultError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(VaultError::Random)?;
        let aad = purpose.aad(user, row);
        let ciphertext = cipher(self.current.key(purpose))
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| VaultError::CannotSeal)?;
        Ok(Sealed {
            nonce: nonce.to_vec(),
            ciphertext,
            master_key_id: self.current.master_key_id.clone(),
        })
    }

    /// Decrypts what [`Self::seal`] sealed for the same purpose, user and row, with whichever
    /// known master key sealed it. The text is wiped if it is somehow not UTF-8.
    fn open(
        &self,
        purpose: Purpose,
        user: UserId,
        row: i64,
        sealed: &Sealed,
    ) -> Result<String, VaultError> {
        let plaintext = self.open_bytes(purpose, user, row, sealed)?;
        String::from_utf8(plaintext).map_err(|e| {
            e.into_bytes().zeroize();
            VaultError::CannotOpen
        })
    }

    /// Decrypts what [`Self::seal`] sealed, as bytes.
    fn open_bytes(
        &self,
        purpose: Purpose,
        user: UserId,
        row: i64,
        sealed: &Sealed,
    ) -> Result<Vec<u8>, VaultError> {
        let keys = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.master_key_id == sealed.master_key_id)
            .ok_or_else(|| VaultError::UnknownMasterKey {
                id: sealed.master_key_id.clone(),
            })?;
        let nonce =
            <&Nonce<_>>::try_from(sealed.nonce.as_slice()).map_err(|_| VaultError::CannotOpen)?;
        let aad = purpose.aad(user, row);
        cipher(keys.key(purpose))
            .decrypt(
                nonce,
                Payload {
                    msg: &sealed.ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| VaultError::CannotOpen)
    }
}

/// What a sealed secret is: each purpose has its own derived key and its own prefix of the
/// associated data, so one kind of ciphertext can never stand in for another.
#[derive(Clone, Copy)]
enum Purpose {
    ApiKey,
    Channel,
    Totp,
}

impl Purpose {
    /// The purpose's prefix + user id + row id: fixed widths, so no two (user, row) pairs share
    /// an encoding.
    fn aad(self, user: UserId, row: i64) -> [u8; 24] {
        let prefix = match self {
            Self::ApiKey => API_KEY_AAD_PREFIX,
            Self::Channel => CHANNEL_AAD_PREFIX,
            Self::Totp => TOTP_AAD_PREFIX,
        };
        row_aad(prefix, user.get(), row)
    }
}

impl DerivedKeys {
    fn key(&self, purpose: Purpose) -> &[u8; KEY_LEN] {
        match purpose {
            Purpose::ApiKey => &self.api_key,
            Purpose::Channel => &self.channel,
            Purpose::Totp => &self.totp,
        }
    }
}

/// An 8-byte purpose prefix (ending in NUL) + user id + row id as 8 big-endian bytes each.
fn row_aad(prefix: &[u8], user: i64, row: i64) -> [u8; 24] {
    let mut aad = [0u8; 24];
    aad[..8].copy_from_slice(prefix);
    aad[8..16].copy_from_slice(&user.to_be_bytes());
    aad[16..].copy_from_slice(&row.to_be_bytes());
    aad
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let previous: Vec<&str> = self
            .previous
            .iter()
            .map(|k| k.master_key_id.as_str())
            .collect();
        f.debug_struct("Vault")
            .field("current", &self.current.master_key_id)
            .field("previous", &previous)
            .finish()
    }
}

fn cipher(key: &[u8; KEY_LEN]) -> Aes256Gcm {
    Aes256Gcm::new(<&Key<Aes256Gcm>>::from(key))
}

#[cfg(test)]
mod tests;
