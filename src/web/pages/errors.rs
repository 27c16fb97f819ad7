//! HTML error pages for the site (the JSON API has its own catchers).

use askama::Template;
use askama_web::WebTemplate;
use rocket::http::Status;
use rocket::{Catcher, Request, catch};

use crate::web::kit::cookies::InsecureCookies;
use crate::web::kit::session::chrome_for;
use crate::web::kit::view::Layout;

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub code: u16,
    /// The form was refused because the browser, on plain HTTP, dropped our `Secure` cookie.
    pub insecure_cookies: bool,
}

impl ErrorPage {
    /// `error-<status>` for the statuses that have their own words, else a general one.
    pub fn message_id(&self) -> String {
        match self.code {
            400 | 403 | 404 | 408 | 413 | 422 | 429 | 503 => format!("error-{}", self.code),
            500.. => "error-500".to_owned(),
            _ => "error-other".to_owned(),
        }
    }
}

#[catch(default)]
async fn any_error(status: Status, request: &Request<'_>) -> (Status, ErrorPage) {
    let insecure_cookies = request.local_cache(|| InsecureCookies(false)).0;
    (
        status,
        ErrorPage {
            layout: chrome_for(request).await,
            code: status.code,
            insecure_cookies,
        },
    )
}

pub fn catchers() -> Vec<Catcher> {
    rocket::catchers![any_error]
}
