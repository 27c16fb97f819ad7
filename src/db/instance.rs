//! `instance_settings`: what an admin set for the whole instance, one row per name.

use rusqlite::{Connection, OptionalExtension, params};

use super::Cached;
use super::DbError;

pub fn get(conn: &Connection, name: &str) -> Result<Option<String>, DbError> {
    Ok(conn
        .cached_row(
            "SELECT value FROM instance_settings WHERE name = ?1",
            [name],
            |row| row.get(0),
        )
        .optional()?)
}

pub fn set(conn: &Connection, name: &str, value: &str) -> Result<(), DbError> {
    conn.cached_execute(
        "INSERT INTO instance_settings (name, value) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        params![name, value],
    )?;
    Ok(())
}
