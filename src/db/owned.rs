//! The one way to list, get, count and delete a user's own rows (keys, presets, tokens,
//! channels, monitors), and to insert and re-seal the ones with a sealed secret (keys,
//! channels). A table says once where its rows are, which columns a row reads and how a list
//! is ordered; every read here takes the `UserId`, so another user's id is simply not found.

use rusqlite::types::{FromSql, ToSql};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{Cached, DbError};
use crate::crypto::vault::Sealed;
use crate::ids::UserId;

/// A row a user owns: its table has `id` and `user_id` columns.
pub(crate) trait Owned: Sized {
    /// The row's typed id.
    type Id: ToSql;
    /// The table the rows are stored in.
    const TABLE: &'static str;
    /// What a row is read from: the table, or a join in which the table is named `ALIAS`.
    const FROM: &'static str = Self::TABLE;
    /// The table's name in `FROM`.
    const ALIAS: &'static str = Self::TABLE;
    /// The columns `from_row` reads, in its order.
    const COLUMNS: &'static str;
    /// How a user's rows are listed (an `ORDER BY` clause).
    const ORDER: &'static str;

    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self>;
}

/// The user's rows, in the table's order.
pub(crate) fn list<T: Owned>(conn: &Connection, user_id: UserId) -> Result<Vec<T>, DbError> {
    let sql = format!(
        "SELECT {} FROM {} WHERE {}.user_id = ?1 ORDER BY {}",
        T::COLUMNS,
        T::FROM,
        T::ALIAS,
        T::ORDER
    );
    Ok(conn.cached_rows(&sql, [user_id], T::from_row)?)
}

/// One of the user's rows; another user's id is simply not found.
pub(crate) fn get<T: Owned>(
    conn: &Connection,
    user_id: UserId,
    id: T::Id,
) -> Result<Option<T>, DbError> {
    let sql = format!(
        "SELECT {} FROM {} WHERE {alias}.id = ?1 AND {alias}.user_id = ?2",
        T::COLUMNS,
        T::FROM,
        alias = T::ALIAS
    );
    Ok(conn
        .cached_row(&sql, params![id, user_id], T::from_row)
        .optional()?)
}

/// How many rows the user has.
pub(crate) fn count<T: Owned>(conn: &Connection, user_id: UserId) -> Result<i64, DbError> {
    let sql = format!("SELECT count(*) FROM {} WHERE user_id = ?1", T::TABLE);
    Ok(conn.cached_row(&sql, [user_id], |row| row.get(0))?)
}

/// Deletes one of the user's rows; whether it was theirs.
pub(crate) fn delete<T: Owned>(
    conn: &Connection,
    user_id: UserId,
    id: T::Id,
) -> Result<bool, DbError> {
    Ok(delete_returning::<T, i64>(conn, user_id, id, "1")?.is_some())
}

/// Deletes one of the user's rows and reads `column` from it (its name, to say what went);
/// `None` when it was not theirs.
pub(crate) fn delete_returning<T: Owned, V: FromSql>(
    conn: &Connection,
    user_id: UserId,
    id: T::Id,
    column: &str,
) -> Result<Option<V>, DbError> {
    let sql = format!(
        "DELETE FROM {} WHERE id = ?1 AND user_id = ?2 RETURNING {column}",
        T::TABLE
    );
    Ok(conn
        .cached_row(&sql, params![id, user_id], |row| row.get(0))
        .optional()?)
}

/// Every user's rows, by id (master-key rotation, which reseals them all).
pub(crate) fn all<T: Owned>(conn: &Connection) -> Result<Vec<T>, DbError> {
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {}.id",
        T::COLUMNS,
        T::FROM,
        T::ALIAS
    );
    Ok(conn.cached_rows(&sql, [], T::from_row)?)
}

/// Inserts one of the user's rows with `insert` (its sealed columns empty) and seals its secret
/// for the new id, in one transaction: the associated data binds a ciphertext to its row id,
/// which exists only after the insert. `None` when `insert` inserted nothing (a name taken).
pub(crate) fn insert_sealed<T: Owned, E>(
    conn: &mut Connection,
    id: fn(i64) -> T::Id,
    insert: impl FnOnce(&Connection) -> rusqlite::Result<usize>,
    seal: impl FnOnce(T::Id) -> Result<Sealed, E>,
) -> Result<Result<Option<T::Id>, E>, DbError>
where
    T::Id: Copy,
{
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    if insert(&tx)? == 0 {
        return Ok(Ok(None));
    }
    let new = id(tx.last_insert_rowid());
    let sealed = match seal(new) {
        Ok(sealed) => sealed,
        Err(error) => return Ok(Err(error)),
    };
    store_sealed::<T>(&tx, new, &sealed)?;
    tx.commit()?;
    Ok(Ok(Some(new)))
}

/// The sealed secret in a row's `nonce, ciphertext, master_key_id` columns, the first at
/// `first` (the order every sealed table lists them in).
pub(crate) fn read_sealed(row: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Sealed> {
    Ok(Sealed {
        nonce: row.get(first)?,
        ciphertext: row.get(first + 1)?,
        master_key_id: row.get(first + 2)?,
    })
}

/// Replaces a row's sealed secret (a re-entered secret, or rotation).
pub(crate) fn store_sealed<T: Owned>(
    conn: &Connection,
    id: T::Id,
    sealed: &Sealed,
) -> Result<(), DbError> {
    let sql = format!(
        "UPDATE {} SET nonce = ?2, ciphertext = ?3, master_key_id = ?4 WHERE id = ?1",
        T::TABLE
    );
    conn.cached_execute(
        &sql,
        params![id, sealed.nonce, sealed.ciphertext, sealed.master_key_id],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;
    use crate::db::access_tokens::{self, AccessToken};

    /// Two users with a token each: every read and delete sees only the asker's own row.
    #[test]
    fn another_users_rows_are_simply_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("app.db")).unwrap();
        let conn = db.connection().unwrap();
        let alice = crate::db::users::create(&conn, "alice", "x")
            .unwrap()
            .unwrap();
        let bob = crate::db::users::create(&conn, "bob", "x")
            .unwrap()
            .unwrap();
        let mine = access_tokens::insert(&conn, alice, "mine", "h1")
            .unwrap()
            .unwrap();
        let theirs = access_tokens::insert(&conn, bob, "theirs", "h2")
            .unwrap()
            .unwrap();
        access_tokens::insert(&conn, alice, "newer", "h3")
            .unwrap()
            .unwrap();

        let names = |user| -> Vec<String> {
            list::<AccessToken>(&conn, user)
                .unwrap()
                .into_iter()
                .map(|t| t.name)
                .collect()
        };
        assert_eq!(names(alice), ["newer", "mine"], "the table's order");
        assert_eq!(count::<AccessToken>(&conn, alice).unwrap(), 2);
        assert!(get::<AccessToken>(&conn, alice, theirs).unwrap().is_none());
        assert_eq!(
            get::<AccessToken>(&conn, alice, mine)
                .unwrap()
                .unwrap()
                .name,
            "mine"
        );
        assert!(!delete::<AccessToken>(&conn, alice, theirs).unwrap());
        assert_eq!(
            delete_returning::<AccessToken, String>(&conn, alice, mine, "name").unwrap(),
            Some("mine".to_owned())
        );
        assert_eq!(names(bob), ["theirs"]);
        assert_eq!(all::<AccessToken>(&conn).unwrap().len(), 2);
    }
}
