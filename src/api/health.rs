use rocket::State;
use rocket::get;
use rocket::http::Status;
use rocket::serde::json::Json;
use serde_json::{Value, json};

use crate::db::Db;
use crate::telemetry::{self, DbOp};

/// The original body plus `version` and a database check.
///
/// - 200 `healthy`: the database reads and takes a write.
/// - 503 `degraded`, `"database": "read_only"`: reads work (quick queries, history pages), but
///   writes fail (disk full, read-only file, a lock held too long): sign-ups, saved keys and
///   stored runs fail until the operator acts.
/// - 503 `unhealthy`, `"database": "unavailable"`: the database cannot be read.
#[get("/health")]
pub async fn health(db: &State<Db>) -> (Status, Json<Value>) {
    let (status, health, database) = match db.check().await {
        Err(error) => {
            tracing::error!(%error, "health check: database unusable");
            telemetry::record_db_error(DbOp::Health);
            (Status::ServiceUnavailable, "unhealthy", "unavailable")
        }
        Ok(()) => match db.check_write().await {
            Ok(()) => (Status::Ok, "healthy", "ok"),
            Err(error) => {
                tracing::error!(%error, "health check: database takes no writes");
                telemetry::record_db_error(DbOp::Health);
                (Status::ServiceUnavailable, "degraded", "read_only")
            }
        },
    };
    let body = json!({
        "status": health,
        "service": "ModelScope Balance Query",
        "version": env!("CARGO_PKG_VERSION"),
        "database": database,
    });
    (status, Json(body))
}
