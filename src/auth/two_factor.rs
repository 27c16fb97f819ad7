//! Two-factor sign-in with TOTP: enrolment (a pending seed, sealed, the same across reloads
//! until a first code confirms it or it is cancelled), the ten recovery codes, the check of a
//! second factor (a code accepted once per time step, or an unused recovery code), and turning
//! it off (the password and a code). Every code check is throttled like a password: failures
//! count per (account, address) and per address, under the account's name + `#2fa`, so a right
//! password never clears them.
//!
//! Time comes from the injected clock (the scheduler's), so tests move it instead of waiting
//! for the next 30-second step or for a half-signed-in state to expire.

use std::sync::Arc;

use rusqlite::Connection;
use zeroize::Zeroizing;

use super::accounts::{self, AccountError};
use super::recovery_codes;
use crate::clock::SharedClock;
use crate::crypto::Vault;
use crate::crypto::totp::{self, Seed};
use crate::db::{Db, DbError, login_failures, two_factor as rows};
use crate::ids::UserId;

/// Where an account's two-factor sign-in stands.
pub enum Status {
    Off,
    /// Enrolling: what the authenticator app needs, shown until confirmed or cancelled.
    Pending {
        text: Zeroizing<String>,
        uri: Zeroizing<String>,
    },
    On {
        recovery_codes_left: i64,
    },
}

/// What turning two-factor sign-in off or making new recovery codes asks of the account's
/// owner: the password and a code, from an address (for the throttles).
pub struct Proof<'a> {
    pub user_id: UserId,
    pub username: &'a str,
    pub password: &'a str,
    pub code: &'a str,
    pub client_addr: &'a str,
}

/// The seal of the authenticators' seeds, the checks of their codes and the half-signed-in
/// states (`half_signed_in.rs`).
#[derive(Clone)]
pub struct TwoFactor {
    pub(super) db: Db,
    vault: Arc<Vault>,
    clock: SharedClock,
}

/// Failed code checks are recorded under `<username>#2fa` (no username holds `#`).
fn throttle_name(username: &str) -> String {
    format!("{username}#2fa")
}

impl TwoFactor {
    pub fn new(db: Db, vault: Arc<Vault>, clock: SharedClock) -> Self {
        Self { db, vault, clock }
    }

    /// Unix seconds on the injected clock.
    pub(super) fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The account's status. A pending seed the vault cannot open (the master key was
    /// replaced mid-enrolment) is dropped: it was never in use, and a new one can start.
    pub async fn status(&self, user_id: UserId, username: &str) -> Result<Status, DbError> {
        let (vault, name) = (self.vault.clone(), username.to_owned());
        self.db
            .run(move |conn| {
                let Some(stored) = rows::get(conn, user_id)? else {
                    return Ok(Status::Off);
                };
                if stored.confirmed {
                    return Ok(Status::On {
                        recovery_codes_left: rows::recovery_codes_left(conn, user_id)?,
                    });
                }
                let opened = vault.open_totp(user_id, &stored.sealed).ok();
                let seed = opened.map(Seed::from_bytes);
                match seed
                    .as_ref()
                    .and_then(|seed| Some((seed.text(), seed.uri(&name)?)))
                {
                    Some((text, uri)) => Ok(Status::Pending { text, uri }),
                    None => {
                        rows::delete_pending(conn, user_id)?;
                        Ok(Status::Off)
                    }
                }
            })
            .await
    }

    /// Begins an enrolment with a new seed, unless one is pending or on already (then
    /// nothing changes: a second click or tab shows the same secret).
    pub async fn begin(&self, user_id: UserId) -> Result<(), AccountError> {
        let (vault, now) = (self.vault.clone(), self.now());
        self.db
            .run(move |conn| {
                if rows::get(conn, user_id)?.is_some() {
                    return Ok(Ok(()));
                }
                let seed = Seed::generate();
                let Ok(sealed) = vault.seal_totp(user_id, seed.bytes()) else {
                    return Ok(Err(AccountError::TwoFactorUnreadable));
                };
                rows::insert_pending(conn, user_id, &sealed, now)?;
                Ok(Ok(()))
            })
            .await?
    }

    /// Confirms the pending authenticator with its first code; answers the ten recovery codes
    /// (plaintext, shown once; only their hashes are stored).
    pub async fn confirm(
        &self,
        user_id: UserId,
        username: &str,
        code: &str,
        client_addr: &str,
    ) -> Result<Vec<String>, AccountError> {
        let code = totp::compact(code);
        if code.is_empty() {
            return Err(AccountError::EmptyCode);
        }
        let (vault, now) = (self.vault.clone(), self.now());
        self.throttled(username, client_addr, move |conn| {
            let Some(stored) = rows::get(conn, user_id)? else {
                return Ok(Err(AccountError::TwoFactorOff));
            };
            if stored.confirmed {
                return Ok(Err(AccountError::TwoFactorAlreadyOn));
            }
            let step = match matching_step(&vault, &stored, &code, now) {
                Ok(step) => step,
                Err(error) => return Ok(Err(error)),
            };
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            if !rows::take_step(&tx, user_id, step, true, now)? {
                return Ok(Err(AccountError::WrongCode));
            }
            let codes = recovery_codes::generate();
            let hashes: Vec<String> = codes.iter().map(|c| c.hash.clone()).collect();
            rows::replace_recovery_codes(&tx, user_id, &hashes)?;
            tx.commit()?;
            Ok(Ok(codes.into_iter().map(|c| c.plaintext).collect()))
        })
        .await
    }

    /// Drops a pending enrolment (a confirmed authenticator stays); whether there was one.
    pub async fn cancel(&self, user_id: UserId) -> Result<bool, DbError> {
        self.db
            .run(move |conn| rows::delete_pending(conn, user_id))
            .await
    }

    /// The second factor of a sign-in, or of turning it off: a current code not used before,
    /// or an unused recovery code (used up by this).
    pub async fn check(
        &self,
        user_id: UserId,
        username: &str,
        code: &str,
        client_addr: &str,
    ) -> Result<(), AccountError> {
        if code.trim().is_empty() {
            return Err(AccountError::EmptyCode);
        }
        let (vault, now) = (self.vault.clone(), self.now());
        let code = Zeroizing::new(code.to_owned());
        self.throttled(username, client_addr, move |conn| {
            let Some(stored) = rows::get(conn, user_id)?.filter(|s| s.confirmed) else {
                return Ok(Err(AccountError::TwoFactorOff));
            };
            if totp::is_code_shaped(&code) {
                return Ok(
                    match matching_step(&vault, &stored, &totp::compact(&code), now) {
                        Ok(step) if rows::take_step(conn, user_id, step, false, now)? => Ok(()),
                        Err(unreadable @ AccountError::TwoFactorUnreadable) => Err(unreadable),
                        _ => Err(AccountError::WrongCode),
                    },
                );
            }
            Ok(match recovery_codes::hash_of(&code) {
                Some(hash) if rows::use_recovery_code(conn, user_id, &hash, now)? => Ok(()),
                _ => Err(AccountError::WrongCode),
            })
        })
        .await
    }

    /// The password (throttled like a sign-in) and then a code (a current one not used before,
    /// or an unused recovery code), as turning it off and new recovery codes ask.
    async fn prove(&self, proof: &Proof<'_>) -> Result<(), AccountError> {
        if proof.code.trim().is_empty() {
            return Err(AccountError::EmptyCode);
        }
        let (user_id, addr) = (proof.user_id, proof.client_addr);
        accounts::check_current_password(&self.db, user_id, addr, proof.password).await?;
        self.check(user_id, proof.username, proof.code, addr).await
    }

    /// Turns two-factor sign-in off, once `proof` holds.
    pub async fn turn_off(&self, proof: &Proof<'_>) -> Result<(), AccountError> {
        self.prove(proof).await?;
        let user_id = proof.user_id;
        self.db.run(move |conn| rows::delete(conn, user_id)).await?;
        Ok(())
    }

    /// Replaces all ten recovery codes once `proof` holds; answers the new ones (plaintext,
    /// shown once). The old ones stop working at once.
    pub async fn regenerate_recovery_codes(
        &self,
        proof: &Proof<'_>,
    ) -> Result<Vec<String>, AccountError> {
        self.prove(proof).await?;
        let user_id = proof.user_id;
        let codes = recovery_codes::generate();
        let hashes: Vec<String> = codes.iter().map(|c| c.hash.clone()).collect();
        self.db
            .run(move |conn| {
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                // Turned off meanwhile (another tab): no codes for an authenticator that is gone.
                if !rows::is_on(&tx, user_id)? {
                    return Ok(Err(AccountError::TwoFactorOff));
                }
                rows::replace_recovery_codes(&tx, user_id, &hashes)?;
                tx.commit()?;
                Ok(Ok(()))
            })
            .await??;
        Ok(codes.into_iter().map(|c| c.plaintext).collect())
    }

    /// Runs `check` after the throttle for the account's codes from this address allowed it,
    /// counting it as a failure unless it succeeded (a database failure counts for nothing).
    async fn throttled<T: Send + 'static>(
        &self,
        username: &str,
        client_addr: &str,
        check: impl FnOnce(&mut Connection) -> Result<Result<T, AccountError>, DbError> + Send + 'static,
    ) -> Result<T, AccountError> {
        let (name, addr) = (throttle_name(username), client_addr.to_owned());
        self.db
            .run(move |conn| {
                let reservation = match login_failures::reserve(conn, &name, &addr)? {
                    Ok(reservation) => reservation,
                    Err(retry_after_secs) => {
                        return Ok(Err(AccountError::Throttled { retry_after_secs }));
                    }
                };
                let checked = check(conn);
                match &checked {
                    Ok(Ok(_)) => login_failures::release(conn, reservation, &name, &addr)?,
                    Ok(Err(AccountError::WrongCode)) => {}
                    // Not a guess that was checked: it does not count.
                    _ => login_failures::cancel(conn, reservation)?,
                }
                checked
            })
            .await?
    }
}

/// The step `code` is right at `now`, for a stored authenticator.
fn matching_step(
    vault: &Vault,
    stored: &rows::StoredTotp,
    code: &str,
    now: i64,
) -> Result<i64, AccountError> {
    let bytes = vault
        .open_totp(stored.user_id, &stored.sealed)
        .map_err(|_| AccountError::TwoFactorUnreadable)?;
    Seed::from_bytes(bytes)
        .matching_step(code, now)
        .ok_or(AccountError::WrongCode)
}

/// Re-seals every authenticator's seed with `vault`'s current master key (inside the caller's
/// transaction, at a master-key rotation). Answers (re-sealed, could not be opened).
pub fn reseal_all(conn: &Connection, vault: &Vault) -> Result<(usize, usize), DbError> {
    let (mut resealed, mut skipped) = (0, 0);
    for stored in rows::all(conn)? {
        let sealed = vault
            .open_totp(stored.user_id, &stored.sealed)
            .and_then(|seed| vault.seal_totp(stored.user_id, &seed));
        match sealed {
            Ok(sealed) => {
                rows::store_sealed(conn, stored.user_id, &sealed)?;
                resealed += 1;
            }
            Err(_) => skipped += 1,
        }
    }
    Ok((resealed, skipped))
}

/// Turns it off for `username` from the server's shell (`admin two-factor-off`), the way back
/// in for someone who lost both their phone and their recovery codes (TOTP and passkeys); answers the account's
/// name as stored and whether it was on (`None`: no such account).
pub fn turn_off_for(conn: &Connection, username: &str) -> Result<Option<(String, bool)>, DbError> {
    let Ok(name) = accounts::normalize_username(username) else {
        return Ok(None);
    };
    match crate::db::users::find_by_username(conn, &name)? {
        None => Ok(None),
        Some(user) => {
            // Passkeys are a second factor too: the way back in removes them as well.
            let passkeys = crate::db::passkeys::delete_all(conn, user.id)?;
            Ok(Some((name, rows::delete(conn, user.id)? || passkeys > 0)))
        }
    }
}
