//! Between the password and the second factor: a browser that gave the right password of an
//! account with two-factor sign-in gets a cookie for a half-signed-in state (only its hash is
//! stored), which lasts five minutes and opens nothing but the second-factor page. The session
//! starts only when the second factor is right.

use super::accounts::{self, AccountError, NewSession};
use super::two_factor::TwoFactor;
use crate::crypto::tokens;
use crate::db::DbError;
use crate::db::pending_sign_ins::{self, Pending};
use crate::ids::UserId;

pub use crate::db::pending_sign_ins::LIFETIME_SECS;

impl TwoFactor {
    /// Starts a half-signed-in state for `user_id`, to go to `next` once finished; answers the
    /// cookie's value (plaintext, only ever in the `Set-Cookie` header).
    pub async fn half_sign_in(&self, user_id: UserId, next: &str) -> Result<String, DbError> {
        let token = tokens::new_token("");
        let (hash, next, now) = (token.hash, next.to_owned(), self.now());
        self.db
            .run(move |conn| pending_sign_ins::insert(conn, &hash, user_id, &next, now))
            .await?;
        Ok(token.plaintext)
    }

    /// The live state behind a cookie (an expired one, or a disabled account's, is `None`).
    pub async fn pending_sign_in(&self, cookie: &str) -> Result<Option<Pending>, DbError> {
        let (hash, now) = (tokens::hash_token(cookie), self.now());
        self.db
            .run(move |conn| pending_sign_ins::find_live(conn, &hash, now))
            .await
    }

    /// Checks the second factor (throttled) and, when it is right, ends the half-signed-in
    /// state and starts the session in one transaction; answers it and where to go.
    pub async fn finish_sign_in(
        &self,
        cookie: &str,
        code: &str,
        client_addr: &str,
        user_agent: &str,
    ) -> Result<(NewSession, String), AccountError> {
        let state = self
            .pending_sign_in(cookie)
            .await?
            .ok_or(AccountError::SecondFactorExpired)?;
        self.check(state.user_id, &state.username, code, client_addr)
            .await?;
        let (hash, agent, addr, now) = (
            tokens::hash_token(cookie),
            user_agent.to_owned(),
            client_addr.to_owned(),
            self.now(),
        );
        self.db
            .run(move |conn| {
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                // Again inside the transaction: the state may have ended (expired, the account
                // disabled, a second tab finished it) while the code was checked.
                if pending_sign_ins::find_live(&tx, &hash, now)?.is_none() {
                    return Ok(Err(AccountError::SecondFactorExpired));
                }
                pending_sign_ins::delete(&tx, &hash)?;
                let session = accounts::start_session(&tx, state.user_id, &agent, &addr)?;
                tx.commit()?;
                Ok(Ok((session, state.next)))
            })
            .await?
    }
}
