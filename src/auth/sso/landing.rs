//! Where a person the provider vouches for lands. Their link (issuer, subject) names the account
//! at every later sign-in. A first sign-in needs a verified email; it is linked to the account
//! holding that email when the admin allows it (`oidc_link_by_email`), else it makes a new
//! account under the sign-up rules (mode, invitation, the per-address limit; the first account
//! of an instance is its admin). A disabled account stays out; an account with two-factor
//! sign-in still asks for its code. What is refused creates and links nothing.

use rusqlite::{Connection, TransactionBehavior};

use super::{Identity, SsoError, Verified};
use crate::auth::accounts::{self, AccountError, NewSession};
use crate::auth::signup::{Gate, SignupMode, admits};
use crate::db::{Db, DbError, login_failures, sso_identities, two_factor, users};
use crate::ids::UserId;

/// The sign-up rules a first sign-in is held to.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// The sign-up mode until an admin chose one (the configuration's).
    pub default_mode: SignupMode,
    /// Sign-ups one address may start an hour (`0`: no limit).
    pub signups_per_hour: u32,
}

/// A single sign-on that got in: a session, or the second factor still to come.
pub enum Landed {
    Session { session: NewSession, next: String },
    SecondFactor { user_id: UserId, next: String },
}

impl From<DbError> for SsoError {
    fn from(error: DbError) -> Self {
        tracing::error!(%error, "single sign-on: database failure");
        SsoError::Storage
    }
}

/// Where the person goes before anything is written.
enum Plan {
    Known(UserId),
    Link(UserId),
    Create,
}

pub(super) async fn land(
    db: &Db,
    verified: &Verified,
    rules: Rules,
    link_by_email: bool,
    client_addr: &str,
    user_agent: &str,
) -> Result<Landed, SsoError> {
    let identity = verified.identity.clone();
    let plan = db
        .run(move |conn| plan(conn, &identity, link_by_email))
        .await??;
    if matches!(plan, Plan::Create) {
        let addr = client_addr.to_owned();
        let per_hour = rules.signups_per_hour;
        db.run(move |conn| login_failures::reserve_signup(conn, &addr, per_hour))
            .await?
            .map_err(|_| SsoError::SignupThrottled)?;
    }
    let identity = verified.identity.clone();
    let gate = Gate {
        default_mode: rules.default_mode,
        invitation: verified.invitation.clone(),
    };
    let (next, agent, addr) = (
        verified.next.clone(),
        user_agent.to_owned(),
        client_addr.to_owned(),
    );
    db.run(move |conn| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let landed = land_on(&tx, &identity, &gate, link_by_email, &addr);
        match landed {
            // A refused invitation code stays recorded (it is throttled).
            Ok(Err(refused)) => {
                tx.commit()?;
                Ok(Err(refused))
            }
            Ok(Ok(user_id)) => {
                let landed = if two_factor::is_on(&tx, user_id)? {
                    Landed::SecondFactor { user_id, next }
                } else {
                    let session = accounts::start_session(&tx, user_id, &agent, &addr)?;
                    Landed::Session { session, next }
                };
                tx.commit()?;
                Ok(Ok(landed))
            }
            // Dropped, not committed: nothing of a refused sign-in is kept.
            Err(Refusal::No(refused)) => Ok(Err(refused)),
            Err(Refusal::Db(error)) => Err(error),
        }
    })
    .await?
}

/// The account `identity` lands in, inside the transaction (checked again there: another tab
/// may have linked or made it). The inner `Err` is a refusal whose writes are kept.
fn land_on(
    tx: &Connection,
    identity: &Identity,
    gate: &Gate,
    link_by_email: bool,
    client_addr: &str,
) -> Result<Result<UserId, SsoError>, Refusal> {
    let now = crate::clock::now();
    let email = verified_email(identity);
    match plan_on(tx, identity, link_by_email)? {
        Plan::Known(user_id) => {
            refuse_disabled(tx, user_id)?;
            sso_identities::touch(tx, &identity.issuer, &identity.subject, email, now)?;
            Ok(Ok(user_id))
        }
        Plan::Link(user_id) => {
            refuse_disabled(tx, user_id)?;
            sso_identities::link(tx, user_id, &identity.issuer, &identity.subject, email, now)?;
            tracing::info!(user = %user_id, "single sign-on linked to an account by its email");
            Ok(Ok(user_id))
        }
        Plan::Create => create(tx, identity, gate, client_addr, now),
    }
}

/// A refusal inside the transaction, or its database failing.
enum Refusal {
    No(SsoError),
    Db(DbError),
}

fn plan(
    conn: &mut Connection,
    identity: &Identity,
    link_by_email: bool,
) -> Result<Result<Plan, SsoError>, DbError> {
    plan_on(conn, identity, link_by_email)
        .map(Ok)
        .or_else(|refusal| match refusal {
            Refusal::No(error) => Ok(Err(error)),
            Refusal::Db(error) => Err(error),
        })
}

impl From<DbError> for Refusal {
    fn from(error: DbError) -> Self {
        Self::Db(error)
    }
}

impl From<rusqlite::Error> for Refusal {
    fn from(error: rusqlite::Error) -> Self {
        Self::Db(error.into())
    }
}

/// Known by its link, linkable by its email, or new; a first sign-in without a verified email
/// is refused.
fn plan_on(conn: &Connection, identity: &Identity, link_by_email: bool) -> Result<Plan, Refusal> {
    if let Some(user_id) = sso_identities::find(conn, &identity.issuer, &identity.subject)? {
        return Ok(Plan::Known(user_id));
    }
    let Some(email) = verified_email(identity) else {
        return Err(Refusal::No(SsoError::EmailUnverified));
    };
    if link_by_email && let Some(user_id) = sso_identities::user_by_email(conn, email)? {
        return Ok(Plan::Link(user_id));
    }
    Ok(Plan::Create)
}

fn verified_email(identity: &Identity) -> Option<&str> {
    identity
        .email
        .as_deref()
        .filter(|email| identity.email_verified && email.contains('@'))
}

fn refuse_disabled(conn: &Connection, user_id: UserId) -> Result<(), Refusal> {
    match users::get(conn, user_id)? {
        Some(user) if !user.disabled => Ok(()),
        _ => Err(Refusal::No(SsoError::Disabled)),
    }
}

/// A new account for `identity`, if sign-up lets one in now: named after the provider's user
/// name or the email, without a password (see docs/security.md), holding the verified email
/// unless another account does.
fn create(
    conn: &Connection,
    identity: &Identity,
    gate: &Gate,
    client_addr: &str,
    now: i64,
) -> Result<Result<UserId, SsoError>, Refusal> {
    let mode = match admits(conn, gate, client_addr)? {
        Ok(mode) => mode,
        Err(refused) => return Ok(Err(gate_refusal(&refused))),
    };
    let Some(user_id) = username_candidates(identity)
        .find_map(|name| users::create(conn, &name, "").transpose())
        .transpose()?
    else {
        return Err(Refusal::No(SsoError::Storage));
    };
    if mode == SignupMode::Invite {
        let code = gate.invitation.as_deref().unwrap_or_default();
        let hash = crate::crypto::tokens::hash_token(code);
        if !crate::db::invitations::take(conn, &hash, user_id)? {
            return Err(Refusal::No(SsoError::BadInvitation));
        }
    }
    let email = verified_email(identity);
    let free = match email {
        Some(email) => sso_identities::user_by_email(conn, email)?.is_none(),
        None => false,
    };
    if free {
        sso_identities::set_email(conn, user_id, email)?;
    }
    sso_identities::link(
        conn,
        user_id,
        &identity.issuer,
        &identity.subject,
        email,
        now,
    )?;
    tracing::info!(user = %user_id, "single sign-on made a new account");
    Ok(Ok(user_id))
}

fn gate_refusal(error: &AccountError) -> SsoError {
    match error {
        AccountError::SignupClosed => SsoError::SignupClosed,
        AccountError::InvitationNeeded => SsoError::InvitationNeeded,
        AccountError::Throttled { .. } | AccountError::SignupThrottled { .. } => {
            SsoError::SignupThrottled
        }
        _ => SsoError::BadInvitation,
    }
}

/// User names to try, in order: the provider's user name (or the email's local part) made to
/// fit the rules, then with `-2` … `-99`, then with a random suffix.
fn username_candidates(identity: &Identity) -> impl Iterator<Item = String> {
    let raw = identity
        .preferred_username
        .clone()
        .or_else(|| {
            identity
                .email
                .as_deref()
                .and_then(|email| email.split('@').next())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let mut base: String = raw
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' | '_' | '-' => Some(c),
            '.' | '+' | ' ' => Some('-'),
            _ => None,
        })
        .take(26)
        .collect();
    base = base.trim_matches('-').to_owned();
    if base.chars().count() < 3 {
        base = "user".to_owned();
    }
    let numbered = (2..100).map({
        let base = base.clone();
        move |n| format!("{base}-{n}")
    });
    std::iter::once(base.clone())
        .chain(numbered)
        .chain(std::iter::once_with(move || {
            format!("{base}-{}", crate::crypto::tokens::random_hex(2))
        }))
        .filter(|name| accounts::normalize_username(name).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(name: Option<&str>, email: Option<&str>) -> Identity {
        Identity {
            issuer: "https://id.example".into(),
            subject: "s".into(),
            email: email.map(str::to_owned),
            email_verified: true,
            preferred_username: name.map(str::to_owned),
        }
    }

    #[test]
    fn user_names_follow_the_rules() {
        let first = |i: &Identity| username_candidates(i).next().unwrap();
        assert_eq!(first(&identity(Some("Alice.Smith"), None)), "alice-smith");
        assert_eq!(first(&identity(None, Some("bob+x@example.test"))), "bob-x");
        assert_eq!(first(&identity(Some("张三"), None)), "user");
        assert_eq!(first(&identity(None, None)), "user");
        let long = "a".repeat(60);
        let name = first(&identity(Some(&long), None));
        assert!(accounts::normalize_username(&name).is_ok(), "{name}");
        let all: Vec<String> = username_candidates(&identity(Some("al"), None)).collect();
        assert_eq!(all[1], "user-2");
        assert_eq!(all.len(), 100);
    }
}
