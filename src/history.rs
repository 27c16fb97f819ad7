//! Stored runs: what was seen, when, with which key and preset.

use crate::db::{Db, DbError, history};

/// Removes runs older than the retention setting (0 keeps everything).
pub async fn delete_older_than_days(db: &Db, days: u32) -> Result<usize, DbError> {
    if days == 0 {
        return Ok(0);
    }
    let cutoff = crate::db::now() - i64::from(days) * 86_400;
    db.run(move |conn| history::delete_before(conn, cutoff))
        .await
}
