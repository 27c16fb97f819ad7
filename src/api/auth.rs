//! `Authorization: Bearer <personal access token>` for the JSON API. Without the header a
//! caller is anonymous (the original tool's behaviour); a bad or revoked token is 401.

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};

use crate::crypto::tokens;
use crate::db::{Db, access_tokens};

/// Personal access tokens are `msb_` + 64 hex characters.
const TOKEN_CHARS: usize = 4 + 64;

/// The token holder's user id, or `None` for an anonymous call.
pub struct ApiCaller(pub Option<i64>);

/// A route that needs a token holder.
pub struct TokenHolder(pub i64);

async fn caller(request: &Request<'_>) -> Result<Option<i64>, Status> {
    let Some(header) = request.headers().get_one("Authorization") else {
        return Ok(None);
    };
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| t.len() == TOKEN_CHARS && t.starts_with("msb_"))
        .ok_or(Status::Unauthorized)?;
    let hash = tokens::hash_token(token);
    let db = request
        .rocket()
        .state::<Db>()
        .ok_or(Status::InternalServerError)?;
    match db
        .run(move |conn| access_tokens::user_for_hash(conn, &hash))
        .await
    {
        Ok(Some(user_id)) => Ok(Some(user_id)),
        Ok(None) => Err(Status::Unauthorized),
        Err(error) => {
            tracing::error!(%error, "token lookup failed");
            Err(Status::InternalServerError)
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
