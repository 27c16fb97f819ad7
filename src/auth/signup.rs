//! Who may make an account, decided at run time: open, invitation only, or closed (an admin
//! chooses on `/admin`; the configuration gives the default until one does), and the
//! invitations themselves (`/signup?invite=<code>`: single use, with an expiry, hashed at rest,
//! listed and revocable). A new instance that should not be open starts in invite mode
//! (`signup_mode = "invite"`) and its first account signs up with an invitation made on the
//! server's shell (`admin invite`).

use rusqlite::Connection;

use super::accounts::{self, AccountError, NewSession};
use super::codes;
use crate::db::invitations::{self, Invitation};
use crate::db::{Db, DbError, instance, login_failures, users};
use crate::ids::{InvitationId, UserId};

crate::closed_set! {
    /// Who may make an account: anyone, only holders of an invitation, or nobody. The
    /// configuration's `signup_mode` is the default until an admin chooses on `/admin`.
    pub enum SignupMode {
        Open, Invite, Closed,
    }
}

impl SignupMode {
    /// The configured default (checked at start-up to be one of the three; anything else
    /// reads as closed, the safe side).
    pub fn configured(text: &str) -> Self {
        Self::parse(text).unwrap_or(Self::Closed)
    }
}

/// The `instance_settings` row that holds the mode.
const MODE_SETTING: &str = "signup_mode";

/// What a sign-up is allowed by: the instance's mode until an admin chose (the configuration's)
/// and the invitation code the form carried, if any.
#[derive(Debug, Clone)]
pub struct Gate {
    pub default_mode: SignupMode,
    pub invitation: Option<String>,
}

impl Gate {
    /// Anyone may sign up (tests, and instances that never chose).
    pub fn open() -> Self {
        Self {
            default_mode: SignupMode::Open,
            invitation: None,
        }
    }
}

/// The mode in force: the admin's choice, else `default`. A stored value this version does not
/// know is read as closed (the safe side) and logged.
pub fn mode_on(conn: &Connection, default: SignupMode) -> Result<SignupMode, DbError> {
    Ok(match instance::get(conn, MODE_SETTING)? {
        None => default,
        Some(text) => SignupMode::parse(&text).unwrap_or_else(|| {
            tracing::warn!(stored = %text, "unknown sign-up mode stored; treated as closed");
            SignupMode::Closed
        }),
    })
}

pub async fn mode(db: &Db, default: SignupMode) -> Result<SignupMode, DbError> {
    db.run(move |conn| mode_on(conn, default)).await
}

pub async fn set_mode(db: &Db, mode: SignupMode) -> Result<(), DbError> {
    db.run(move |conn| instance::set(conn, MODE_SETTING, mode.as_str()))
        .await
}

/// What the sign-up page may offer: `Ok(mode)` when the form can be sent (an invitation given
/// in invite mode was checked, throttled like any code), else why not.
pub async fn check_gate(
    db: &Db,
    gate: &Gate,
    client_addr: &str,
) -> Result<SignupMode, AccountError> {
    let (gate, addr) = (gate.clone(), client_addr.to_owned());
    db.run(move |conn| admits(conn, &gate, &addr)).await?
}

/// Whether `gate` lets a new account in now (the code is only looked at, not used); single
/// sign-on's first sign-in asks it too.
pub(super) fn admits(
    conn: &Connection,
    gate: &Gate,
    client_addr: &str,
) -> Result<Result<SignupMode, AccountError>, DbError> {
    let mode = mode_on(conn, gate.default_mode)?;
    Ok(match (mode, &gate.invitation) {
        (SignupMode::Open, _) => Ok(mode),
        (SignupMode::Closed, _) => Err(AccountError::SignupClosed),
        (SignupMode::Invite, None) => Err(AccountError::InvitationNeeded),
        (SignupMode::Invite, Some(code)) => codes::check(conn, code, client_addr, |conn, hash| {
            Ok(invitations::is_live(conn, hash)?.then_some(()))
        })?
        .map(|()| mode),
    })
}

/// `signups_per_hour` sign-ups may start from one client address per hour (`0`: no limit). In
/// invite mode the invitation is used up in the transaction that makes the account: a name that
/// is taken leaves it unused, and two forms racing with one code make one account.
#[allow(clippy::too_many_arguments)] // a form's fields, the client's address and agent, a rule
pub async fn sign_up(
    db: &Db,
    username: &str,
    password: &str,
    confirmation: &str,
    client_addr: &str,
    signups_per_hour: u32,
    user_agent: &str,
    gate: &Gate,
) -> Result<NewSession, AccountError> {
    let username = accounts::normalize_username(username)?;
    accounts::check_new_password(password, confirmation)?;
    check_gate(db, gate, client_addr).await?;
    let addr = client_addr.to_owned();
    db.run(move |conn| login_failures::reserve_signup(conn, &addr, signups_per_hour))
        .await?
        .map_err(|retry_after_secs| AccountError::SignupThrottled { retry_after_secs })?;
    let hash = accounts::hash(password).await?;
    let (user_agent, gate, addr) = (user_agent.to_owned(), gate.clone(), client_addr.to_owned());
    db.run(move |conn| {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Again inside the transaction: the mode may have changed, the code been used.
        let mode = match admits(&tx, &gate, &addr)? {
            Ok(mode) => mode,
            Err(refused) => {
                tx.commit()?; // keeps a recorded miss
                return Ok(Err(refused));
            }
        };
        let Some(user_id) = users::create(&tx, &username, &hash)? else {
            return Ok(Err(AccountError::UsernameTaken));
        };
        if mode == SignupMode::Invite {
            let code = gate.invitation.as_deref().unwrap_or_default();
            if !invitations::take(&tx, &crate::crypto::tokens::hash_token(code), user_id)? {
                return Ok(Err(AccountError::BadLink));
            }
        }
        let session = accounts::start_session(&tx, user_id, &user_agent, &addr)?;
        tx.commit()?;
        Ok(Ok(session))
    })
    .await?
}

/// A new invitation's code, valid for `days` (the plaintext is shown once, never stored).
pub fn invite_on(conn: &Connection, by: Option<UserId>, days: u32) -> Result<String, DbError> {
    let code = codes::new_code();
    invitations::insert(conn, &code.hash, by, i64::from(days) * 86_400)?;
    Ok(code.plaintext)
}

pub async fn invite(db: &Db, by: UserId, days: u32) -> Result<String, DbError> {
    db.run(move |conn| invite_on(conn, Some(by), days)).await
}

pub async fn invitations(db: &Db) -> Result<Vec<Invitation>, DbError> {
    db.run(|conn| invitations::list(conn)).await
}

/// Revokes an unused invitation; `false` when there is none.
pub async fn revoke(db: &Db, id: InvitationId) -> Result<bool, DbError> {
    db.run(move |conn| invitations::revoke(conn, id)).await
}

/// Where an invitation points: `/signup?invite=<code>`.
pub fn invitation_path(code: &str) -> String {
    format!("/signup?invite={code}")
}

#[cfg(test)]
mod tests {
    /// Stored in the instance settings and read from `signup_mode`: a renamed variant must keep
    /// its text.
    #[test]
    fn the_stored_texts_do_not_change_with_a_rename() {
        let texts: Vec<_> = super::SignupMode::ALL.iter().map(|v| v.as_str()).collect();
        assert_eq!(texts, ["open", "invite", "closed"]);
    }
}
