use rocket::State;
use rocket::get;
use rocket::http::Status;
use rocket::serde::json::Json;
use serde_json::{Value, json};

use crate::db::Db;

/// The original body plus `version` and a database check; 503 when the database is unusable.
#[get("/health")]
pub async fn health(db: &State<Db>) -> (Status, Json<Value>) {
    let (status, health, database) = match db.check().await {
        Ok(()) => (Status::Ok, "healthy", "ok"),
        Err(error) => {
            tracing::error!(%error, "health check: database unusable");
            (Status::ServiceUnavailable, "unhealthy", "unavailable")
        }
    };
    let body = json!({
        "status": health,
        "service": "ModelScope Balance Query",
        "version": env!("CARGO_PKG_VERSION"),
        "database": database,
    });
    (status, Json(body))
}
