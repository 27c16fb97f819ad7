//! `GET /metrics`: Prometheus text format, off unless `metrics_token` is configured; then only
//! for `Authorization: Bearer <metrics_token>` (compared in constant time, `ops::metrics`).
//! Plain-text answers, never a catcher's page: a scraper reads the status.

use rocket::State;
use rocket::get;
use rocket::http::{ContentType, Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder, Response};

use crate::ops::metrics::{Answer, CONTENT_TYPE, MetricsAccess};

/// The raw `Authorization` header, if any.
pub struct Authorization(Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Authorization {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        Outcome::Success(Self(
            request
                .headers()
                .get_one("Authorization")
                .map(str::to_owned),
        ))
    }
}

#[get("/metrics")]
pub fn metrics(access: &State<MetricsAccess>, authorization: Authorization) -> Answer {
    access.answer(authorization.0.as_deref())
}

impl<'r> Responder<'r, 'static> for Answer {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let (status, body) = match self {
            Answer::Disabled => (Status::NotFound, "Not found\n".to_owned()),
            Answer::Unauthorized => (Status::Unauthorized, "Unauthorized\n".to_owned()),
            Answer::Metrics(text) => (Status::Ok, text),
        };
        let mut response = Response::build();
        response
            .status(status)
            .header(Header::new("Cache-Control", "no-store"))
            .sized_body(body.len(), std::io::Cursor::new(body));
        if status == Status::Ok {
            response.raw_header("Content-Type", CONTENT_TYPE);
        } else {
            response.header(ContentType::Plain);
        }
        if status == Status::Unauthorized {
            response.raw_header("WWW-Authenticate", "Bearer");
        }
        response.ok()
    }
}
