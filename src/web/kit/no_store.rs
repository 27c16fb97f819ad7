//! A page that holds a pasted key (a refused form shown again, the sign-up that carries the
//! key from the quick page): the browser is told not to keep it (`Cache-Control: no-store`),
//! so the key lives in that one answer only.

use rocket::request::Request;
use rocket::response::{self, Responder};

pub struct NoStore<R>(pub R);

impl<'r, R: Responder<'r, 'static>> Responder<'r, 'static> for NoStore<R> {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let mut response = self.0.respond_to(request)?;
        response.set_raw_header("Cache-Control", "no-store");
        Ok(response)
    }
}
