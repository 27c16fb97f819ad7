//! `GET /monitors/deliveries`: the user's delivery log, newest first. Nothing secret is in it:
//! messages are built from labels, masked keys and numbers, errors are our own words plus the
//! receiver's short answer with every secret cut out.

use askama::Template;
use askama_web::WebTemplate;
use rocket::http::Status;
use rocket::{State, get};

use crate::clock;
use crate::db::Db;
use crate::ids::DeliveryId;
use crate::notify::deliveries;
use crate::web::kit::monitoring_view::delivery_error_text;
use crate::web::kit::problem::Problem;
use crate::web::kit::session::CurrentUser;
use crate::web::kit::view::Layout;

/// The log shows this many rows.
const SHOWN: i64 = 200;

pub struct DeliveryRow {
    pub id: DeliveryId,
    pub at: String,
    pub channel: String,
    pub kind: String,
    /// `alert`, `recovered`, `summary` or `test`.
    pub event: String,
    /// `pending`, `sent`, `failed` or `held`.
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub error: Option<String>,
    pub message: String,
    pub next_attempt: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "deliveries.html")]
pub struct DeliveriesPage {
    pub layout: Layout,
    pub rows: Vec<DeliveryRow>,
}

#[get("/monitors/deliveries")]
pub async fn list(user: CurrentUser, db: &State<Db>) -> Result<DeliveriesPage, Status> {
    let lang = user.0.lang;
    let rows = deliveries::list(db, user.0.user_id, SHOWN)
        .await
        .map_err(|e| Problem::db(&e).status)?;
    Ok(DeliveriesPage {
        layout: user.layout(),
        rows: rows
            .into_iter()
            .map(|d| DeliveryRow {
                id: d.id,
                at: clock::seconds(d.created_at),
                channel: d.channel_name,
                kind: d.channel_kind,
                event: d.event,
                next_attempt: (d.status == "pending")
                    .then_some(d.next_attempt_at)
                    .flatten()
                    .map(clock::seconds),
                status: d.status,
                attempts: d.attempts,
                max_attempts: d.max_attempts,
                error: d
                    .last_error
                    .as_deref()
                    .map(|e| delivery_error_text(lang, e)),
                message: d.message,
            })
            .collect(),
    })
}
