//! The `webauthn_users`, `passkeys` and `passkey_ceremonies` tables: an account's user handle,
//! its passkeys (public keys and signature counters, as `crypto::webauthn` encodes them) and the
//! ceremonies under way (single use, bound to a browser, five minutes).

use rusqlite::{Connection, OptionalExtension, params};

use super::{Cached, DbError};
use crate::ids::UserId;

/// How long a ceremony may take between its options and the browser's answer.
pub const CEREMONY_SECS: i64 = 5 * 60;

/// A passkey as the account page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A passkey as a sign-in checks it.
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: i64,
    pub user_id: UserId,
    pub user_handle: Vec<u8>,
    pub static_state: Vec<u8>,
    pub dynamic_state: Vec<u8>,
}

/// A passkey to store after a registration.
pub struct NewPasskey<'a> {
    pub credential_id: &'a [u8],
    pub transports: u8,
    pub static_state: &'a [u8],
    pub dynamic_state: &'a [u8],
    pub name: &'a str,
}

/// A ceremony taken (and so ended) by its answer.
#[derive(Debug)]
pub struct Ceremony {
    pub user_id: Option<UserId>,
    pub state: Vec<u8>,
}

/// The account's user handle, made on first use.
pub fn user_handle(
    conn: &Connection,
    user_id: UserId,
    new: impl FnOnce() -> Vec<u8>,
) -> Result<Vec<u8>, DbError> {
    conn.cached_execute(
        "INSERT OR IGNORE INTO webauthn_users (user_id, user_handle) VALUES (?1, ?2)",
        params![user_id, new()],
    )?;
    Ok(conn.cached_row(
        "SELECT user_handle FROM webauthn_users WHERE user_id = ?1",
        [user_id],
        |row| row.get(0),
    )?)
}

pub fn list(conn: &Connection, user_id: UserId) -> Result<Vec<Listed>, DbError> {
    Ok(conn.cached_rows(
        "SELECT id, name, created_at, last_used_at FROM passkeys WHERE user_id = ?1 ORDER BY id",
        [user_id],
        |row| {
            Ok(Listed {
                id: row.get(0)?,
                name: row.get(1)?,
                created_at: row.get(2)?,
                last_used_at: row.get(3)?,
            })
        },
    )?)
}

/// The account's credential ids and transports (excluded when registering another).
pub fn credential_ids(conn: &Connection, user_id: UserId) -> Result<Vec<(Vec<u8>, u8)>, DbError> {
    Ok(conn.cached_rows(
        "SELECT credential_id, transports FROM passkeys WHERE user_id = ?1",
        [user_id],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?)
}

pub fn has_any(conn: &Connection, user_id: UserId) -> Result<bool, DbError> {
    Ok(conn.cached_row(
        "SELECT EXISTS (SELECT 1 FROM passkeys WHERE user_id = ?1)",
        [user_id],
        |row| row.get(0),
    )?)
}

/// Stores a registered passkey; `false` when its credential id is stored already.
pub fn insert(
    conn: &Connection,
    user_id: UserId,
    passkey: &NewPasskey<'_>,
    now: i64,
) -> Result<bool, DbError> {
    Ok(conn.cached_execute(
        "INSERT OR IGNORE INTO passkeys
         (user_id, credential_id, transports, static_state, dynamic_state, name, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            user_id,
            passkey.credential_id,
            passkey.transports,
            passkey.static_state,
            passkey.dynamic_state,
            passkey.name,
            now
        ],
    )? == 1)
}

/// A passkey by its credential id, with its account's user handle.
pub fn find(conn: &Connection, credential_id: &[u8]) -> Result<Option<Stored>, DbError> {
    Ok(conn
        .cached_row(
            "SELECT p.id, p.user_id, w.user_handle, p.static_state, p.dynamic_state
             FROM passkeys p JOIN webauthn_users w ON w.user_id = p.user_id
             WHERE p.credential_id = ?1",
            [credential_id],
            |row| {
                Ok(Stored {
                    id: row.get(0)?,
                    user_id: row.get(1)?,
                    user_handle: row.get(2)?,
                    static_state: row.get(3)?,
                    dynamic_state: row.get(4)?,
                })
            },
        )
        .optional()?)
}

/// After a sign-in: the new counter and flags, and when it was used.
pub fn record_use(
    conn: &Connection,
    id: i64,
    dynamic_state: &[u8],
    now: i64,
) -> Result<(), DbError> {
    conn.cached_execute(
        "UPDATE passkeys SET dynamic_state = ?2, last_used_at = ?3 WHERE id = ?1",
        params![id, dynamic_state, now],
    )?;
    Ok(())
}

/// Renames one of the user's passkeys; whether there was one.
pub fn rename(conn: &Connection, user_id: UserId, id: i64, name: &str) -> Result<bool, DbError> {
    Ok(conn.cached_execute(
        "UPDATE passkeys SET name = ?3 WHERE id = ?1 AND user_id = ?2",
        params![id, user_id, name],
    )? == 1)
}

/// Removes one of the user's passkeys; whether there was one.
pub fn delete(conn: &Connection, user_id: UserId, id: i64) -> Result<bool, DbError> {
    Ok(conn.cached_execute(
        "DELETE FROM passkeys WHERE id = ?1 AND user_id = ?2",
        params![id, user_id],
    )? == 1)
}

/// Removes all of the user's passkeys (`admin two-factor-off`); how many.
pub fn delete_all(conn: &Connection, user_id: UserId) -> Result<usize, DbError> {
    Ok(conn.cached_execute("DELETE FROM passkeys WHERE user_id = ?1", [user_id])?)
}

/// Ceremonies under way at once, on the whole instance: anyone may begin a sign-in, so a
/// flood must not grow the database without bound within the five minutes they live.
pub const MAX_WAITING: i64 = 10_000;

/// Ceremonies under way at once from one client address. A person finishes theirs (a used one
/// is deleted), so only a flood keeps this many waiting; the instance's cap then stays free
/// for everyone else.
pub const MAX_WAITING_PER_ADDRESS: i64 = 30;

crate::closed_set! {
    /// What a ceremony is for; a state begun for one cannot finish another.
    pub enum Purpose { Register, SecondFactor = "second-factor", SignIn = "sign-in" }
}

/// A ceremony about to be kept.
pub struct NewCeremony<'a> {
    pub challenge: &'a [u8],
    pub purpose: Purpose,
    pub binding: &'a str,
    pub user_id: Option<UserId>,
    pub state: &'a [u8],
    pub client_addr: &'a str,
}

/// Whether a begun ceremony was kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    Yes,
    /// [`MAX_WAITING_PER_ADDRESS`] from this address are under way; the oldest ends in this
    /// many seconds.
    AddressFull {
        retry_after_secs: i64,
    },
    /// [`MAX_WAITING`] are under way on the instance.
    InstanceFull,
}

/// Keeps a begun ceremony's state until `now + CEREMONY_SECS`, unless its address or the
/// instance has as many under way as it may (checked and stored in one statement).
pub fn insert_ceremony(
    conn: &Connection,
    new: &NewCeremony<'_>,
    now: i64,
) -> Result<Kept, DbError> {
    let stored = conn.cached_execute(
        "INSERT INTO passkey_ceremonies
             (challenge, purpose, binding, user_id, state, client_addr, expires_at)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7
         WHERE (SELECT count(*) FROM passkey_ceremonies
                WHERE client_addr = ?6 AND expires_at > ?8) < ?9
           AND (SELECT count(*) FROM passkey_ceremonies WHERE expires_at > ?8) < ?10",
        params![
            new.challenge,
            new.purpose,
            new.binding,
            new.user_id,
            new.state,
            new.client_addr,
            now + CEREMONY_SECS,
            now,
            MAX_WAITING_PER_ADDRESS,
            MAX_WAITING
        ],
    )?;
    if stored == 1 {
        return Ok(Kept::Yes);
    }
    let (waiting, oldest_ends): (i64, Option<i64>) = conn.cached_row(
        "SELECT count(*), min(expires_at) FROM passkey_ceremonies
         WHERE client_addr = ?1 AND expires_at > ?2",
        params![new.client_addr, now],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    Ok(match oldest_ends {
        Some(ends) if waiting >= MAX_WAITING_PER_ADDRESS => Kept::AddressFull {
            retry_after_secs: (ends - now).max(1),
        },
        _ => Kept::InstanceFull,
    })
}

/// Takes (deletes and answers) the live ceremony with this challenge, purpose and binding: a
/// second answer to the same challenge finds nothing.
pub fn take_ceremony(
    conn: &Connection,
    challenge: &[u8],
    purpose: Purpose,
    binding: &str,
    now: i64,
) -> Result<Option<Ceremony>, DbError> {
    Ok(conn
        .cached_row(
            "DELETE FROM passkey_ceremonies
             WHERE challenge = ?1 AND purpose = ?2 AND binding = ?3 AND expires_at > ?4
             RETURNING user_id, state",
            params![challenge, purpose, binding, now],
            |row| {
                Ok(Ceremony {
                    user_id: row.get(0)?,
                    state: row.get(1)?,
                })
            },
        )
        .optional()?)
}

/// Housekeeping: ceremonies past their five minutes.
pub fn delete_expired_ceremonies(conn: &Connection, now: i64) -> Result<usize, DbError> {
    Ok(conn.cached_execute(
        "DELETE FROM passkey_ceremonies WHERE expires_at <= ?1",
        [now],
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ceremony<'a>(challenge: &'a [u8], client_addr: &'a str) -> NewCeremony<'a> {
        NewCeremony {
            challenge,
            purpose: Purpose::SignIn,
            binding: "anon:y",
            user_id: None,
            state: b"s",
            client_addr,
        }
    }

    fn kept(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM passkey_ceremonies", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn no_more_ceremonies_than_the_cap_are_kept_and_expired_ones_do_not_count() {
        let conn = super::super::test_support::database_with("");
        let now = 1_800_000_000;
        // The cap's worth of live ceremonies, less one, each from its own address.
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
             INSERT INTO passkey_ceremonies (challenge, purpose, binding, user_id, state,
                                             client_addr, expires_at)
             SELECT CAST(i AS BLOB), 'sign-in', 'anon:x', NULL, x'00', 'a' || i, ?2 FROM n",
            params![MAX_WAITING - 1, now + CEREMONY_SECS],
        )
        .unwrap();
        let insert = |challenge: &[u8], at: i64| {
            insert_ceremony(&conn, &ceremony(challenge, "203.0.113.9"), at).unwrap()
        };
        assert_eq!(insert(b"last", now), Kept::Yes, "the last place is taken");
        assert_eq!(
            insert(b"one too many", now),
            Kept::InstanceFull,
            "over the cap nothing is stored"
        );
        assert_eq!(kept(&conn), MAX_WAITING);
        // Once those have expired (housekeeping not run yet), there is room again.
        assert_eq!(insert(b"later", now + CEREMONY_SECS), Kept::Yes);
    }

    #[test]
    fn one_address_keeps_only_its_share_and_learns_when_its_oldest_ends() {
        let conn = super::super::test_support::database_with("");
        let now = 1_800_000_000;
        for i in 0..MAX_WAITING_PER_ADDRESS {
            let challenge = i.to_be_bytes();
            let at = now + i;
            let stored = insert_ceremony(&conn, &ceremony(&challenge, "203.0.113.9"), at);
            assert_eq!(stored.unwrap(), Kept::Yes);
        }
        let later = now + MAX_WAITING_PER_ADDRESS;
        let refused = insert_ceremony(&conn, &ceremony(b"flood", "203.0.113.9"), later).unwrap();
        assert_eq!(
            refused,
            Kept::AddressFull {
                retry_after_secs: now + CEREMONY_SECS - later
            }
        );
        assert_eq!(kept(&conn), MAX_WAITING_PER_ADDRESS, "nothing stored");
        // Another address is not held up, and a used ceremony frees its place.
        let other = insert_ceremony(&conn, &ceremony(b"other", "198.51.100.7"), later).unwrap();
        assert_eq!(other, Kept::Yes);
        let first = 0_i64.to_be_bytes();
        assert!(
            take_ceremony(&conn, &first, Purpose::SignIn, "anon:y", later)
                .unwrap()
                .is_some()
        );
        let again = insert_ceremony(&conn, &ceremony(b"again", "203.0.113.9"), later).unwrap();
        assert_eq!(again, Kept::Yes);
    }
}
