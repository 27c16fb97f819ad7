//! `Authorization: Bearer <personal access token>` for the JSON API. Without the header a
//! caller is anonymous (the original tool's behaviour); a bad or revoked token is 401.

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};

use crate::auth::access_tokens;
use crate::db::Db;
use crate::ids::UserId;

/// The token holder's user id, or `None` for an anonymous call.
pub struct ApiCaller(pub Option<UserId>);

/// A route that needs a token holder.
pub struct TokenHolder(pub UserId);

async fn caller(request: &Request<'_>) -> Result<Option<UserId>, Status> {
    let Some(header) = request.headers().get_one("Authorization") else {
        return Ok(None);
    };
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .ok_or(Status::Unauthorized)?;
    let db = request
        .rocket()
        .state::<Db>()
        .ok_or(Status::InternalServerError)?;
    match access_tokens::holder(db, token).await {
        Ok(Some(user_id)) => Ok(Some(user_id)),
        Ok(None) => Err(Status::Unauthorized),
        Err(error) => {
            tracing::error!(%error, "token lookup failed");
            crate::telemetry::record_db_error(crate::telemetry::DbOp::Request);
            Err(Status::ServiceUnavailable)
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ApiCaller {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        match caller(request).await {
            Ok(user) => Outcome::Success(Self(user)),
            Err(status) => Outcome::Error((status, ())),
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for TokenHolder {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        match caller(request).await {
            Ok(Some(user_id)) => Outcome::Success(Self(user_id)),
            Ok(None) => Outcome::Error((Status::Unauthorized, ())),
            Err(status) => Outcome::Error((status, ())),
        }
    }
}
