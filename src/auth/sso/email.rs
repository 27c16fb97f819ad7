//! An account's email, which a first single sign-on may be linked by (when the admin allows it):
//! set or removed by the account's owner with the password. At most one account holds an email.

use super::super::accounts::{self, AccountError};
use crate::db::{Db, sso_identities};
use crate::ids::UserId;

/// The longest address SMTP allows (RFC 5321).
const MAX_EMAIL_CHARS: usize = 254;

#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error("that is not an email address")]
    Bad,
    #[error("another account holds that email")]
    Taken,
    #[error(transparent)]
    Account(#[from] AccountError),
}

/// `raw` as a stored email (trimmed, lower-case), `None` for an empty one; `Err` when it is not
/// an address.
pub fn normalize_email(raw: &str) -> Result<Option<String>, EmailError> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return Ok(None);
    }
    let valid = email.chars().count() <= MAX_EMAIL_CHARS
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if valid {
        Ok(Some(email))
    } else {
        Err(EmailError::Bad)
    }
}

/// Sets (or, given an empty one, removes) the account's email after checking the password
/// (throttled like a sign-in); answers what is stored now.
pub async fn set_email(
    db: &Db,
    user_id: UserId,
    client_addr: &str,
    password: &str,
    raw: &str,
) -> Result<Option<String>, EmailError> {
    let email = normalize_email(raw)?;
    accounts::check_current_password(db, user_id, client_addr, password).await?;
    let stored = email.clone();
    let set = db
        .run(move |conn| sso_identities::set_email(conn, user_id, stored.as_deref()))
        .await
        .map_err(AccountError::from)?;
    if set {
        Ok(email)
    } else {
        Err(EmailError::Taken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            normalize_email(" Dave@Example.TEST ").unwrap().as_deref(),
            Some("dave@example.test")
        );
        assert_eq!(normalize_email("  ").unwrap(), None);
        for bad in [
            "dave",
            "dave@",
            "@example.test",
            "a@b",
            "a b@c.d",
            "a@b@c.d",
            "a@.c",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }
}
