//! `GET /monitors/deliveries`: the user's delivery log, newest first. Nothing secret is in it:
//! messages are built from labels, masked keys and numbers, errors are our own words plus the
//! receiver's short answer with every secret cut out.

use askama::Template;
use askama_web::WebTemplate;
use rocket::http::Status;
use rocket::{State, get};

use crate::clock;
use crate::db::deliveries::{Event, Status as DeliveryStatus};
use crate::ids::DeliveryId;
use crate::notify::{Kind, Outbox};
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
    pub kind: Kind,
    pub event: Event,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub max_attempts: i64,
    pub error: Option<String>,
    pub message: String,
    pub next_attempt: Option<String>,
}

impl DeliveryRow {
    /// The status badge's colour.
    pub fn badge(&self) -> &'static str {
        match self.status {
            DeliveryStatus::Sent => "ok",
            DeliveryStatus::Failed => "bad",
            DeliveryStatus::Held => "muted",
            DeliveryStatus::Pending => "warn",
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "deliveries.html")]
pub struct DeliveriesPage {
    pub layout: Layout,
    pub rows: Vec<DeliveryRow>,
}

#[get("/monitors/deliveries")]
pub async fn list(user: CurrentUser, outbox: &State<Outbox>) -> Result<DeliveriesPage, Status> {
    let lang = user.0.lang;
    let rows = outbox
        .list(user.0.user_id, SHOWN)
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
                next_attempt: (d.status == DeliveryStatus::Pending)
                    .then_some(d.next_attempt_at)
                    .flatten()
                    .map(clock::seconds),
                status: d.status,
                attempts: d.attempts,
                max_attempts: d.max_attempts,
                error: d.last_error.as_ref().map(|e| delivery_error_text(lang, e)),
                message: d.message,
            })
            .collect(),
    })
}
