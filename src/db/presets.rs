//! The `presets` table: a user's named, ordered lists of model ids (stored as a JSON array).
//! Validation lives in `crate::presets`; these functions only read and write rows.

use rusqlite::{Connection, OptionalExtension, params};

use crate::ids::{PresetId, UserId};

use super::owned::{self, Owned};
use super::{Cached, DbError};
use crate::clock::now;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preset {
    pub id: PresetId,
    pub user_id: UserId,
    pub name: String,
    pub models: Vec<String>,
    pub is_default: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, user_id, name, models, is_default, created_at, updated_at";

impl Owned for Preset {
    type Id = PresetId;
    const TABLE: &'static str = "presets";
    const COLUMNS: &'static str = COLUMNS;
    /// The default first, then by name (case-insensitive).
    const ORDER: &'static str = "is_default DESC, name COLLATE NOCASE, id";

    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        let models: String = row.get(3)?;
        let models = serde_json::from_str(&models).map_err(|error| {
            rusqlite::Error::FromSqlConversionFailure(
                3,
                rusqlite::types::Type::Text,
                Box::new(error),
            )
        })?;
        Ok(Preset {
            id: row.get(0)?,
            user_id: row.get(1)?,
            name: row.get(2)?,
            models,
            is_default: row.get(4)?,
            created_at: row.get(5)?,
            updated_at: row.get(6)?,
        })
    }
}

fn models_json(models: &[String]) -> String {
    // A list of strings always serialises.
    serde_json::to_string(models).unwrap_or_else(|_| "[]".to_owned())
}

/// The user's presets: the default first, then by name (case-insensitive).
pub fn list_for_user(conn: &Connection, user_id: UserId) -> Result<Vec<Preset>, DbError> {
    owned::list(conn, user_id)
}

/// One of the user's presets; another user's id is simply not found.
pub fn get_for_user(
    conn: &Connection,
    user_id: UserId,
    id: PresetId,
) -> Result<Option<Preset>, DbError> {
    owned::get(conn, user_id, id)
}

/// The user's preset called `name`, compared case-insensitively (as the UNIQUE index does).
pub fn find_by_name(
    conn: &Connection,
    user_id: UserId,
    name: &str,
) -> Result<Option<Preset>, DbError> {
    Ok(conn
        .cached_row(
            &format!(
                "SELECT {COLUMNS} FROM presets WHERE user_id = ?1 AND name = ?2 COLLATE NOCASE"
            ),
            params![user_id, name],
            Preset::from_row,
        )
        .optional()?)
}

/// The user's default preset, if one is set.
pub fn default_for_user(conn: &Connection, user_id: UserId) -> Result<Option<Preset>, DbError> {
    Ok(conn
        .cached_row(
            &format!("SELECT {COLUMNS} FROM presets WHERE user_id = ?1 AND is_default = 1 LIMIT 1"),
            [user_id],
            Preset::from_row,
        )
        .optional()?)
}

pub fn count_for_user(conn: &Connection, user_id: UserId) -> Result<i64, DbError> {
    owned::count::<Preset>(conn, user_id)
}

/// Inserts a preset that is not the default (use `set_default` after, in the same
/// transaction). `None` when the user already has a preset of that name.
pub fn insert(
    conn: &Connection,
    user_id: UserId,
    name: &str,
    models: &[String],
) -> Result<Option<PresetId>, DbError> {
    let at = now();
    let inserted = conn.cached_execute(
        "INSERT INTO presets (user_id, name, models, is_default, created_at, updated_at)
         VALUES (?1, ?2, ?3, 0, ?4, ?4) ON CONFLICT DO NOTHING",
        params![user_id, name, models_json(models), at],
    )?;
    Ok((inserted == 1).then(|| PresetId(conn.last_insert_rowid())))
}

/// Renames and replaces the model list. `false` when the preset is not the user's. The caller
/// checks the name is free first (a clash is a UNIQUE constraint error here).
pub fn update(
    conn: &Connection,
    user_id: UserId,
    id: PresetId,
    name: &str,
    models: &[String],
) -> Result<bool, DbError> {
    Ok(conn.cached_execute(
        "UPDATE presets SET name = ?3, models = ?4, updated_at = ?5 WHERE id = ?1 AND user_id = ?2",
        params![id, user_id, name, models_json(models), now()],
    )? == 1)
}

/// Makes `id` the user's only default. One statement, so it is atomic by itself: the flag is
/// cleared on every other preset of the user at the same time. `false` (and nothing changed)
/// when the preset is not the user's.
pub fn set_default(conn: &Connection, user_id: UserId, id: PresetId) -> Result<bool, DbError> {
    Ok(conn.cached_execute(
        "UPDATE presets SET is_default = (id = ?2)
         WHERE user_id = ?1 AND EXISTS (SELECT 1 FROM presets WHERE id = ?2 AND user_id = ?1)",
        params![user_id, id],
    )? > 0)
}

/// Leaves the user without a default if `id` was it. `false` when the preset is not the user's.
pub fn clear_default(conn: &Connection, user_id: UserId, id: PresetId) -> Result<bool, DbError> {
    Ok(conn.cached_execute(
        "UPDATE presets SET is_default = 0 WHERE id = ?1 AND user_id = ?2",
        params![id, user_id],
    )? == 1)
}

pub fn delete_for_user(conn: &Connection, user_id: UserId, id: PresetId) -> Result<bool, DbError> {
    owned::delete::<Preset>(conn, user_id, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const U1: UserId = UserId(1);
    const U2: UserId = UserId(2);
    use crate::db::Db;

    fn setup() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("app.db")).unwrap();
        let conn = db.connection().unwrap();
        for (id, name) in [(1, "a"), (2, "b")] {
            conn.cached_execute(
                "INSERT INTO users (id, username, password_hash, created_at) VALUES (?1, ?2, 'x', 0)",
                params![id, name],
            )
            .unwrap();
        }
        (dir, db)
    }

    fn models(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn round_trip_order_and_case_insensitive_names() {
        let (_dir, db) = setup();
        let conn = db.connection().unwrap();
        let zeta = insert(&conn, U1, "zeta", &models(&["B/b", "A/a"]))
            .unwrap()
            .unwrap();
        let alpha = insert(&conn, U1, "Alpha", &models(&["A/a"]))
            .unwrap()
            .unwrap();
        assert_eq!(insert(&conn, U1, "ALPHA", &models(&["A/a"])).unwrap(), None);
        // Another user may use the same name.
        assert!(
            insert(&conn, U2, "alpha", &models(&["A/a"]))
                .unwrap()
                .is_some()
        );

        let names = |conn: &Connection| -> Vec<String> {
            list_for_user(conn, U1)
                .unwrap()
                .into_iter()
                .map(|p| p.name)
                .collect()
        };
        assert_eq!(names(&conn), ["Alpha", "zeta"]);
        assert!(set_default(&conn, U1, zeta).unwrap());
        assert_eq!(names(&conn), ["zeta", "Alpha"]);

        let found = find_by_name(&conn, U1, "ZETA").unwrap().unwrap();
        assert_eq!(found.id, zeta);
        assert_eq!(found.models, models(&["B/b", "A/a"]));
        assert!(found.is_default);
        assert_eq!(count_for_user(&conn, U1).unwrap(), 2);

        assert!(get_for_user(&conn, U2, alpha).unwrap().is_none());
        assert!(get_for_user(&conn, U1, alpha).unwrap().is_some());
    }

    #[test]
    fn only_one_default_and_never_across_users() {
        let (_dir, db) = setup();
        let conn = db.connection().unwrap();
        let a = insert(&conn, U1, "a", &models(&["A/a"])).unwrap().unwrap();
        let b = insert(&conn, U1, "b", &models(&["A/a"])).unwrap().unwrap();
        let other = insert(&conn, U2, "c", &models(&["A/a"])).unwrap().unwrap();
        assert!(set_default(&conn, U2, other).unwrap());

        assert!(set_default(&conn, U1, a).unwrap());
        assert!(set_default(&conn, U1, b).unwrap());
        let defaults: Vec<PresetId> = list_for_user(&conn, U1)
            .unwrap()
            .into_iter()
            .filter(|p| p.is_default)
            .map(|p| p.id)
            .collect();
        assert_eq!(defaults, [b]);
        assert_eq!(default_for_user(&conn, U1).unwrap().unwrap().id, b);

        // Someone else's id changes nothing, for either user.
        assert!(!set_default(&conn, U1, other).unwrap());
        assert!(!set_default(&conn, U2, a).unwrap());
        assert_eq!(default_for_user(&conn, U1).unwrap().unwrap().id, b);
        assert_eq!(default_for_user(&conn, U2).unwrap().unwrap().id, other);

        assert!(!clear_default(&conn, U2, b).unwrap());
        assert!(clear_default(&conn, U1, b).unwrap());
        assert!(default_for_user(&conn, U1).unwrap().is_none());

        assert!(!delete_for_user(&conn, U2, a).unwrap());
        assert!(!update(&conn, U2, a, "x", &models(&["X/x"])).unwrap());
        assert!(delete_for_user(&conn, U1, a).unwrap());
        assert!(get_for_user(&conn, U1, a).unwrap().is_none());
    }
}
