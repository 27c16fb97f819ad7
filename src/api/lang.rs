//! The language of an API answer: the caller's `Accept-Language`, else Chinese.

use rocket::Request;
use rocket::request::{FromRequest, Outcome};

use crate::i18n::Lang;

pub struct ApiLang(pub Lang);

pub fn of(request: &Request<'_>) -> Lang {
    request
        .headers()
        .get_one("Accept-Language")
        .and_then(Lang::from_accept_language)
        .unwrap_or_default()
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ApiLang {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        Outcome::Success(Self(of(request)))
    }
}
