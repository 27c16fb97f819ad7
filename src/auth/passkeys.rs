//! Passkeys: registered on the account page, used as the second factor after the password
//! (an account with passkeys is asked for one, TOTP or not), or to sign in without a password.
//!
//! Every ceremony's state stays on the server (`passkey_ceremonies`), keyed by its challenge,
//! bound to the browser that began it (its session, half-signed-in state or CSRF cookie), used
//! once and good for five minutes on the injected clock. Sign-ins are throttled like passwords:
//! a refused passkey counts as a failed guess, per address (and per account as a second factor,
//! with the TOTP codes' count). The checks themselves are `crypto::webauthn`'s.

use rusqlite::{Connection, TransactionBehavior};

use super::accounts::{self, NewSession};
use super::two_factor::TwoFactor;
use crate::crypto::tokens;
use crate::crypto::webauthn::{self, Assertion, NewCredential, RelyingParty, Started, StoredKey};
pub use crate::db::passkeys::Purpose;
use crate::db::passkeys::{self as rows, Kept, NewPasskey};
use crate::db::{DbError, login_failures, pending_sign_ins, users};
use crate::ids::UserId;

pub use crate::db::passkeys::Listed;

/// The longest name a passkey may have, in characters.
pub const MAX_NAME_CHARS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// No `public_url` and the request's host is not loopback: no RP ID can be trusted.
    #[error("passkeys need public_url to be set")]
    NoRelyingParty,
    #[error("the browser's answer cannot be read: {0}")]
    Malformed(String),
    #[error("this passkey request is unknown, was used already or expired")]
    UnknownChallenge,
    #[error("this passkey is not registered here")]
    UnknownCredential,
    #[error("the passkey was refused: {0}")]
    Refused(String),
    #[error("this passkey belongs to another account")]
    OtherAccount,
    #[error("this passkey is registered already")]
    Duplicate,
    #[error("a passkey's name must be 1-64 characters")]
    BadName,
    #[error("no such passkey")]
    NotFound,
    #[error("the account is disabled")]
    Disabled,
    #[error("too many refused passkeys")]
    Throttled { retry_after_secs: i64 },
    #[error("the sign-in took too long; enter the password again")]
    SecondFactorExpired,
    /// As many ceremonies as one address may have are under way from this one.
    #[error("too many passkey requests from this address are under way")]
    AddressBusy { retry_after_secs: i64 },
    /// As many ceremonies as the instance keeps are under way (a flood): try again shortly.
    #[error("too many passkey requests are under way")]
    Busy,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<webauthn::WebauthnError> for PasskeyError {
    fn from(error: webauthn::WebauthnError) -> Self {
        match error {
            webauthn::WebauthnError::Malformed(why) => Self::Malformed(why),
            other => Self::Refused(other.to_string()),
        }
    }
}

impl From<rusqlite::Error> for PasskeyError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Db(error.into())
    }
}

impl PasskeyError {
    pub fn retry_after_secs(&self) -> Option<i64> {
        match self {
            Self::Throttled { retry_after_secs } | Self::AddressBusy { retry_after_secs } => {
                Some(*retry_after_secs)
            }
            _ => None,
        }
    }

    /// A failed guess, counted by the throttle (not a malformed or stale request).
    fn is_guess(&self) -> bool {
        matches!(
            self,
            Self::UnknownCredential | Self::Refused(_) | Self::OtherAccount
        )
    }
}

/// A passkey's name as typed: trimmed, 1-64 characters, no control characters.
pub fn clean_name(raw: &str) -> Result<String, PasskeyError> {
    let name = raw.trim();
    let count = name.chars().count();
    if (1..=MAX_NAME_CHARS).contains(&count) && !name.chars().any(char::is_control) {
        Ok(name.to_owned())
    } else {
        Err(PasskeyError::BadName)
    }
}

/// The binding of a ceremony to a browser: the SHA-256 of what identifies it.
pub fn binding(kind: &str, value: &str) -> String {
    format!("{kind}:{}", tokens::hash_token(value))
}

/// Passkeys' registrations and sign-ins (the clock and store are two-factor sign-in's).
#[derive(Clone)]
pub struct Passkeys {
    two_factor: TwoFactor,
}

impl Passkeys {
    pub fn new(two_factor: TwoFactor) -> Self {
        Self { two_factor }
    }

    fn now(&self) -> i64 {
        self.two_factor.now()
    }

    /// Which second factors the account has: (TOTP on, any passkey).
    pub async fn second_factors(&self, user_id: UserId) -> Result<(bool, bool), DbError> {
        self.two_factor
            .db
            .run(move |conn| {
                Ok((
                    crate::db::two_factor::is_on(conn, user_id)?,
                    rows::has_any(conn, user_id)?,
                ))
            })
            .await
    }

    pub async fn list(&self, user_id: UserId) -> Result<Vec<Listed>, DbError> {
        self.two_factor
            .db
            .run(move |conn| rows::list(conn, user_id))
            .await
    }

    /// Begins registering a passkey for the signed-in user; answers the browser's options.
    pub async fn start_registration(
        &self,
        rp: RelyingParty,
        user_id: UserId,
        username: &str,
        browser: Browser,
    ) -> Result<String, PasskeyError> {
        let (name, now) = (username.to_owned(), self.now());
        self.two_factor
            .db
            .run(move |conn| {
                let handle = rows::user_handle(conn, user_id, webauthn::new_user_handle)?;
                let existing = rows::credential_ids(conn, user_id)?;
                let started = match webauthn::start_registration(&rp, &handle, &name, &existing) {
                    Ok(started) => started,
                    Err(error) => return Ok(Err(error.into())),
                };
                let new = browser.ceremony(&started, Purpose::Register, Some(user_id));
                let kept = rows::insert_ceremony(conn, &new, now)?;
                Ok(refused(kept).map_or(Ok(started.options_json), Err))
            })
            .await?
    }

    /// Checks the browser's new credential against the ceremony this browser began and stores
    /// it under `name`.
    pub async fn finish_registration(
        &self,
        rp: RelyingParty,
        user_id: UserId,
        binding: String,
        json: Vec<u8>,
        name: &str,
    ) -> Result<(), PasskeyError> {
        let credential = NewCredential::parse(&json)?;
        let challenge = credential.challenge()?;
        let name = clean_name(name)?;
        let now = self.now();
        self.two_factor
            .db
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let Some(ceremony) =
                    rows::take_ceremony(&tx, &challenge, Purpose::Register, &binding, now)?
                        .filter(|c| c.user_id == Some(user_id))
                else {
                    return Ok(Err(PasskeyError::UnknownChallenge));
                };
                // The ceremony is used up whatever the answer: commit its removal first.
                tx.commit()?;
                let registered = match credential.verify(&rp, &ceremony.state) {
                    Ok(registered) => registered,
                    Err(error) => return Ok(Err(error.into())),
                };
                let stored = rows::insert(
                    conn,
                    user_id,
                    &NewPasskey {
                        credential_id: &registered.credential_id,
                        transports: registered.transports,
                        static_state: &registered.static_state,
                        dynamic_state: &registered.dynamic_state,
                        name: &name,
                    },
                    now,
                )?;
                Ok(if stored {
                    Ok(())
                } else {
                    Err(PasskeyError::Duplicate)
                })
            })
            .await?
    }

    pub async fn rename(&self, user_id: UserId, id: i64, name: &str) -> Result<(), PasskeyError> {
        let name = clean_name(name)?;
        let renamed = self
            .two_factor
            .db
            .run(move |conn| rows::rename(conn, user_id, id, &name))
            .await?;
        renamed.then_some(()).ok_or(PasskeyError::NotFound)
    }

    pub async fn remove(&self, user_id: UserId, id: i64) -> Result<(), PasskeyError> {
        let removed = self
            .two_factor
            .db
            .run(move |conn| rows::delete(conn, user_id, id))
            .await?;
        removed.then_some(()).ok_or(PasskeyError::NotFound)
    }

    /// Begins a sign-in (without a password, or as the second factor); answers the options.
    pub async fn start_sign_in(
        &self,
        rp: RelyingParty,
        purpose: Purpose,
        browser: Browser,
    ) -> Result<String, PasskeyError> {
        let started = webauthn::start_sign_in(&rp)?;
        let now = self.now();
        self.two_factor
            .db
            .run(move |conn| {
                let new = browser.ceremony(&started, purpose, None);
                let kept = rows::insert_ceremony(conn, &new, now)?;
                Ok(refused(kept).map_or(Ok(started.options_json), Err))
            })
            .await?
    }

    /// Signs in without a password: a session for the passkey's account, unless it is
    /// disabled. Throttled per address.
    pub async fn sign_in(
        &self,
        rp: RelyingParty,
        binding: String,
        json: Vec<u8>,
        client_addr: &str,
        user_agent: &str,
    ) -> Result<NewSession, PasskeyError> {
        let assertion = Assertion::parse(&json)?;
        let challenge = assertion.challenge()?;
        let (addr, agent, now) = (client_addr.to_owned(), user_agent.to_owned(), self.now());
        self.two_factor
            .db
            .run(move |conn| {
                throttled(conn, "#passkey", &addr, |conn| {
                    let user_id = check_assertion(
                        conn,
                        &rp,
                        &assertion,
                        &challenge,
                        Purpose::SignIn,
                        &binding,
                        now,
                    )?;
                    match users::get(conn, user_id)? {
                        Some(user) if !user.disabled => {
                            Ok(accounts::start_session(conn, user_id, &agent, &addr)?)
                        }
                        _ => Err(PasskeyError::Disabled),
                    }
                })
            })
            .await?
    }

    /// The second factor of a half-signed-in browser: a passkey of that same account. Answers
    /// the session and where to go.
    pub async fn second_factor(
        &self,
        rp: RelyingParty,
        cookie: &str,
        json: Vec<u8>,
        client_addr: &str,
        user_agent: &str,
    ) -> Result<(NewSession, String), PasskeyError> {
        let state = self
            .two_factor
            .pending_sign_in(cookie)
            .await?
            .ok_or(PasskeyError::SecondFactorExpired)?;
        let assertion = Assertion::parse(&json)?;
        let challenge = assertion.challenge()?;
        let cookie_hash = tokens::hash_token(cookie);
        let binding = binding("pending", cookie);
        let (addr, agent, now) = (client_addr.to_owned(), user_agent.to_owned(), self.now());
        let name = format!("{}#2fa", state.username);
        self.two_factor
            .db
            .run(move |conn| {
                throttled(conn, &name, &addr, |conn| {
                    let user_id = check_assertion(
                        conn,
                        &rp,
                        &assertion,
                        &challenge,
                        Purpose::SecondFactor,
                        &binding,
                        now,
                    )?;
                    if user_id != state.user_id {
                        return Err(PasskeyError::OtherAccount);
                    }
                    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                    if pending_sign_ins::find_live(&tx, &cookie_hash, now)?.is_none() {
                        return Err(PasskeyError::SecondFactorExpired);
                    }
                    pending_sign_ins::delete(&tx, &cookie_hash)?;
                    let session = accounts::start_session(&tx, user_id, &agent, &addr)?;
                    tx.commit()?;
                    Ok((session, state.next))
                })
            })
            .await?
    }
}

/// Takes the ceremony this browser began, finds the passkey and checks its signature; stores
/// its new counter. Answers the passkey's account.
fn check_assertion(
    conn: &mut Connection,
    rp: &RelyingParty,
    assertion: &Assertion,
    challenge: &[u8],
    purpose: Purpose,
    binding: &str,
    now: i64,
) -> Result<UserId, PasskeyError> {
    let Some(ceremony) = rows::take_ceremony(conn, challenge, purpose, binding, now)? else {
        return Err(PasskeyError::UnknownChallenge);
    };
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(stored) = rows::find(&tx, &assertion.credential_id())? else {
        return Err(PasskeyError::UnknownCredential);
    };
    let key = StoredKey {
        user_handle: stored.user_handle,
        static_state: stored.static_state,
        dynamic_state: stored.dynamic_state,
    };
    let dynamic_state = assertion.verify(rp, &ceremony.state, &key)?;
    rows::record_use(&tx, stored.id, &dynamic_state, now)?;
    tx.commit()?;
    Ok(stored.user_id)
}

/// The browser beginning a ceremony: what binds the ceremony to it (see [`binding`]) and its
/// address (only a few may be under way from one).
pub struct Browser {
    pub binding: String,
    pub client_addr: String,
}

impl Browser {
    fn ceremony<'a>(
        &'a self,
        started: &'a Started,
        purpose: Purpose,
        user_id: Option<UserId>,
    ) -> rows::NewCeremony<'a> {
        rows::NewCeremony {
            challenge: &started.challenge,
            purpose,
            binding: &self.binding,
            user_id,
            state: &started.state,
            client_addr: &self.client_addr,
        }
    }
}

/// Why a begun ceremony was not kept, if it was not.
fn refused(kept: Kept) -> Option<PasskeyError> {
    match kept {
        Kept::Yes => None,
        Kept::AddressFull { retry_after_secs } => {
            Some(PasskeyError::AddressBusy { retry_after_secs })
        }
        Kept::InstanceFull => Some(PasskeyError::Busy),
    }
}

/// Runs `check` after the throttle for `name` from this address allowed it, counting it as a
/// failure when it was a refused guess.
fn throttled<T>(
    conn: &mut Connection,
    name: &str,
    addr: &str,
    check: impl FnOnce(&mut Connection) -> Result<T, PasskeyError>,
) -> Result<Result<T, PasskeyError>, DbError> {
    let reservation = match login_failures::reserve(conn, name, addr)? {
        Ok(reservation) => reservation,
        Err(retry_after_secs) => return Ok(Err(PasskeyError::Throttled { retry_after_secs })),
    };
    let checked = check(conn);
    match &checked {
        Ok(_) => login_failures::release(conn, reservation, name, addr)?,
        Err(error) if error.is_guess() => {}
        // Not a guess that was checked (or the database failed): it does not count.
        Err(_) => login_failures::cancel(conn, reservation)?,
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(clean_name("  Laptop  ").unwrap(), "Laptop");
        assert!(clean_name("   ").is_err());
        assert!(clean_name(&"x".repeat(65)).is_err());
        assert!(clean_name(&"键".repeat(64)).is_ok());
        assert!(clean_name("a\u{7}b").is_err());
    }

    #[test]
    fn bindings_hash_what_they_bind() {
        let bound = binding("pending", "cookie-value");
        assert!(bound.starts_with("pending:"));
        assert!(!bound.contains("cookie-value"));
        assert_ne!(bound, binding("anon", "cookie-value"));
    }
}
