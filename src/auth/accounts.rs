//! Sign-up, sign-in, sessions and passwords: the rules, free of any web type.
//! Password hashing is slow by design and runs on the bounded hashing threads
//! (`crypto::passwords::run_bounded`); every password check is throttled by (account, address)
//! and by address, and reserved before it runs.

use crate::crypto::passwords;
use crate::crypto::tokens;
use crate::db::{Db, DbError, login_failures, sessions, users};
use crate::ids::{SessionId, UserId};

pub const MIN_PASSWORD_CHARS: usize = 8;
/// Long enough for any passphrase, short enough that hashing cannot be abused.
pub const MAX_PASSWORD_CHARS: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("username must be 3-32 characters of a-z, 0-9, _ and -")]
    BadUsername,
    #[error("username is taken")]
    UsernameTaken,
    #[error("password too short")]
    PasswordTooShort,
    #[error("password too long")]
    PasswordTooLong,
    #[error("passwords do not match")]
    PasswordMismatch,
    #[error("wrong username or password")]
    BadCredentials,
    #[error("too many failed password checks")]
    Throttled { retry_after_secs: i64 },
    #[error("too many sign-ups from this address")]
    SignupThrottled { retry_after_secs: i64 },
    #[error("too many password checks at once")]
    Busy,
    #[error("wrong password")]
    WrongPassword,
    #[error("the account is disabled")]
    Disabled,
    #[error("the last admin cannot delete their account")]
    LastAdmin,
    #[error("the link is unknown, used or expired")]
    BadLink,
    #[error("sign-up is closed")]
    SignupClosed,
    #[error("sign-up needs an invitation")]
    InvitationNeeded,
    #[error("no code was entered")]
    EmptyCode,
    #[error("the code is wrong or was used already")]
    WrongCode,
    #[error("two-factor sign-in is not on")]
    TwoFactorOff,
    #[error("two-factor sign-in is on already")]
    TwoFactorAlreadyOn,
    #[error("the authenticator's secret cannot be opened with this master key")]
    TwoFactorUnreadable,
    #[error("the sign-in took too long; enter the password again")]
    SecondFactorExpired,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("password hashing failed")]
    Hashing,
}

/// A signed-in browser: the cookie value (plaintext, only ever in the `Set-Cookie` header).
pub struct NewSession {
    pub cookie_token: String,
    pub session_id: SessionId,
    pub user_id: UserId,
}

/// What a right password leads to: a session, or, for an account with two-factor sign-in,
/// the second factor still to come (the session waits for it).
pub enum SignIn {
    Session(NewSession),
    SecondFactor(UserId),
}

/// Usernames are stored lower-case, so uniqueness is case-insensitive by construction.
pub fn normalize_username(raw: &str) -> Result<String, AccountError> {
    let name = raw.trim().to_ascii_lowercase();
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if (3..=32).contains(&name.chars().count()) && valid_chars {
        Ok(name)
    } else {
        Err(AccountError::BadUsername)
    }
}

pub fn check_new_password(password: &str, confirmation: &str) -> Result<(), AccountError> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_CHARS {
        return Err(AccountError::PasswordTooShort);
    }
    if length > MAX_PASSWORD_CHARS {
        return Err(AccountError::PasswordTooLong);
    }
    if password != confirmation {
        return Err(AccountError::PasswordMismatch);
    }
    Ok(())
}

impl AccountError {
    /// Seconds the client should wait before trying again, for a `Retry-After` header.
    pub fn retry_after_secs(&self) -> Option<i64> {
        match self {
            Self::Throttled { retry_after_secs } | Self::SignupThrottled { retry_after_secs } => {
                Some(*retry_after_secs)
            }
            Self::Busy => Some(1),
            _ => None,
        }
    }
}

fn from_password_error(error: passwords::PasswordError) -> AccountError {
    match error {
        passwords::PasswordError::Busy => AccountError::Busy,
        _ => AccountError::Hashing,
    }
}

pub(crate) async fn hash(password: &str) -> Result<String, AccountError> {
    let password = zeroize::Zeroizing::new(password.to_owned());
    passwords::run_bounded(move || passwords::hash_password(&password))
        .await
        .map_err(from_password_error)?
        .map_err(from_password_error)
}

/// Verifies against the stored hash, or against a dummy one when there is no user, so both
/// failures take the same time. `Err(Busy)` when the hashing queue is full.
async fn verify(password: &str, hash: Option<String>) -> Result<bool, AccountError> {
    let password = zeroize::Zeroizing::new(password.to_owned());
    // An account made by single sign-on has no password (an empty hash): checked like an
    // unknown user, so nobody learns which accounts have one.
    passwords::run_bounded(move || match hash.filter(|hash| !hash.is_empty()) {
        Some(hash) => passwords::verify_password(&password, &hash),
        None => {
            passwords::verify_against_dummy(&password);
            false
        }
    })
    .await
    .map_err(from_password_error)
}

/// A password check for `username` from `client_addr`: reserved (counted as a failure) before
/// it runs, released when the password was right, cancelled when it could not run.
async fn checked(
    db: &Db,
    username: &str,
    client_addr: &str,
    password: &str,
    hash: Option<String>,
) -> Result<bool, AccountError> {
    let (name, addr) = (username.to_owned(), client_addr.to_owned());
    let reservation = db
        .run(move |conn| login_failures::reserve(conn, &name, &addr))
        .await?
        .map_err(|retry_after_secs| AccountError::Throttled { retry_after_secs })?;
    let verified = verify(password, hash).await;
    let (name, addr) = (username.to_owned(), client_addr.to_owned());
    match verified {
        Ok(true) => {
            db.run(move |conn| login_failures::release(conn, reservation, &name, &addr))
                .await?;
            Ok(true)
        }
        Ok(false) => Ok(false),
        Err(error) => {
            // Not a guess that was checked: it does not count.
            db.run(move |conn| login_failures::cancel(conn, reservation))
                .await?;
            Err(error)
        }
    }
}

/// One generic failure for an unknown user and a wrong password; throttled per (account,
/// address) and per address, so nobody can lock an owner out from elsewhere. An account with
/// two-factor sign-in gets no session yet (see `half_signed_in`).
pub async fn sign_in(
    db: &Db,
    username: &str,
    password: &str,
    client_addr: &str,
    user_agent: &str,
) -> Result<SignIn, AccountError> {
    // An invalid name cannot exist; it is still throttled and timed like any other miss.
    let username = normalize_username(username).unwrap_or_else(|_| username.trim().to_lowercase());
    let name = username.clone();
    let user = db
        .run(move |conn| users::find_by_username(conn, &name))
        .await?;
    let user_id = user.as_ref().map(|u| u.id);
    let disabled = user.as_ref().is_some_and(|u| u.disabled);
    let ok = checked(
        db,
        &username,
        client_addr,
        password,
        user.map(|u| u.password_hash),
    )
    .await?;
    match user_id {
        // Said only after the right password: a guess learns nothing about the account.
        Some(_) if ok && disabled => Err(AccountError::Disabled),
        Some(user_id) if ok => {
            let (agent, addr) = (user_agent.to_owned(), client_addr.to_owned());
            Ok(db
                .run(move |conn| {
                    // TOTP or passkeys: either makes the password only the first step.
                    if crate::db::two_factor::is_on(conn, user_id)?
                        || crate::db::passkeys::has_any(conn, user_id)?
                    {
                        return Ok(SignIn::SecondFactor(user_id));
                    }
                    start_session(conn, user_id, &agent, &addr).map(SignIn::Session)
                })
                .await?)
        }
        _ => Err(AccountError::BadCredentials),
    }
}

/// A fresh random token at every sign-in; the database keeps only its hash.
pub(crate) fn start_session(
    conn: &rusqlite::Connection,
    user_id: UserId,
    user_agent: &str,
    client_addr: &str,
) -> Result<NewSession, DbError> {
    let token = tokens::new_token("");
    let csrf = tokens::random_hex(32);
    let agent: String = user_agent.chars().take(200).collect();
    let addr: String = client_addr.chars().take(64).collect();
    let session_id = sessions::create(conn, &token.hash, user_id, &csrf, &agent, &addr)?;
    Ok(NewSession {
        cookie_token: token.plaintext,
        session_id,
        user_id,
    })
}

pub async fn session_for_cookie(
    db: &Db,
    cookie_token: &str,
) -> Result<Option<sessions::SessionUser>, DbError> {
    let hash = tokens::hash_token(cookie_token);
    db.run(move |conn| sessions::find_live(conn, &hash)).await
}

pub async fn sign_out(db: &Db, session_id: SessionId) -> Result<(), DbError> {
    db.run(move |conn| sessions::delete(conn, session_id)).await
}

/// The re-check of `/account/password`, `/account/delete` and turning two-factor sign-in off:
/// throttled like a sign-in, so a stolen session cannot guess the password without limit.
pub(crate) async fn check_current_password(
    db: &Db,
    user_id: UserId,
    client_addr: &str,
    password: &str,
) -> Result<(), AccountError> {
    let user = db.run(move |conn| users::get(conn, user_id)).await?;
    let Some(user) = user else {
        return Err(AccountError::WrongPassword);
    };
    if checked(
        db,
        &user.username,
        client_addr,
        password,
        Some(user.password_hash),
    )
    .await?
    {
        Ok(())
    } else {
        Err(AccountError::WrongPassword)
    }
}

/// Changes the password and ends every other session of the user.
pub async fn change_password(
    db: &Db,
    user_id: UserId,
    keep_session: SessionId,
    client_addr: &str,
    current: &str,
    new: &str,
    confirmation: &str,
) -> Result<usize, AccountError> {
    check_current_password(db, user_id, client_addr, current).await?;
    check_new_password(new, confirmation)?;
    let hash = hash(new).await?;
    Ok(db
        .run(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            users::set_password_hash(&tx, user_id, &hash)?;
            let ended = sessions::delete_others(&tx, user_id, keep_session)?;
            tx.commit()?;
            Ok(ended)
        })
        .await?)
}

/// Deletes the user and everything of theirs (sessions, keys, presets, history, tokens, and
/// the failed sign-ins recorded under their name), in one transaction. `secure_delete` makes
/// SQLite overwrite what it deletes.
pub async fn delete_account(
    db: &Db,
    user_id: UserId,
    client_addr: &str,
    password: &str,
) -> Result<(), AccountError> {
    check_current_password(db, user_id, client_addr, password).await?;
    db.run(move |conn| erase(conn, user_id)).await?
}

/// Deletes the user and everything of theirs in one transaction (see [`delete_account`]),
/// unless they are the last admin of an instance that has other users.
pub(crate) fn erase(
    conn: &mut rusqlite::Connection,
    user_id: UserId,
) -> Result<Result<(), AccountError>, DbError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    if let Some(user) = users::get(&tx, user_id)? {
        if user.is_admin && users::other_active_admins(&tx, user_id)? == 0 && users::count(&tx)? > 1
        {
            return Ok(Err(AccountError::LastAdmin));
        }
        login_failures::delete_for_user(&tx, &user.username)?;
    }
    users::delete(&tx, user_id)?;
    tx.commit()?;
    // The WAL still holds the old pages (labels, names); fold it back and empty it,
    // trying again while another checkpoint or a reader holds it off.
    crate::db::truncate_wal(conn);
    Ok(Ok(()))
}

/// Housekeeping: expired sessions and half-signed-in states, old login failures and reset
/// links past their hour.
pub async fn clean_up(db: &Db) -> Result<(usize, usize), DbError> {
    db.run(|conn| {
        Ok((
            sessions::delete_expired(conn)?
                + crate::db::pending_sign_ins::delete_expired(conn, crate::clock::now())?
                + crate::db::passkeys::delete_expired_ceremonies(conn, crate::clock::now())?,
            login_failures::delete_old(conn)? + crate::db::password_resets::delete_expired(conn)?,
        ))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(normalize_username(" Alice_1 ").unwrap(), "alice_1");
        for bad in [
            "ab",
            &"a".repeat(33),
            "a b",
            "<script>",
            "名字名字",
            "a\0b",
            "al.ce",
        ] {
            assert!(normalize_username(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_rules() {
        assert!(check_new_password("12345678", "12345678").is_ok());
        assert!(matches!(
            check_new_password("1234567", "1234567"),
            Err(AccountError::PasswordTooShort)
        ));
        assert!(matches!(
            check_new_password("12345678", "12345679"),
            Err(AccountError::PasswordMismatch)
        ));
        let long = "x".repeat(1025);
        assert!(matches!(
            check_new_password(&long, &long),
            Err(AccountError::PasswordTooLong)
        ));
    }

    #[tokio::test]
    async fn sign_up_in_out() {
        use crate::auth::signup::{Gate, sign_up};
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        let gate = Gate::open();
        let sign_up_as = |name: &'static str| {
            let password = "correct horse";
            sign_up(&db, name, password, password, "1.2.3.4", 10, "ua", &gate)
        };
        let first = sign_up_as("Alice").await.unwrap();
        assert!(matches!(
            sign_up_as("alice").await,
            Err(AccountError::UsernameTaken)
        ));
        let Ok(SignIn::Session(second)) =
            sign_in(&db, "ALICE", "correct horse", "1.2.3.4", "ua").await
        else {
            panic!("a right password without two-factor sign-in starts a session");
        };
        assert_ne!(first.cookie_token, second.cookie_token);
        assert!(matches!(
            sign_in(&db, "alice", "wrong", "1.2.3.4", "ua").await,
            Err(AccountError::BadCredentials)
        ));
        assert!(matches!(
            sign_in(&db, "nobody", "wrong", "1.2.3.4", "ua").await,
            Err(AccountError::BadCredentials)
        ));
        let live = session_for_cookie(&db, &second.cookie_token)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(live.username, "alice");
        sign_out(&db, live.session_id).await.unwrap();
        assert!(
            session_for_cookie(&db, &second.cookie_token)
                .await
                .unwrap()
                .is_none()
        );
    }
}
