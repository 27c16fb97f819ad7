//! HTML error pages for the site (the JSON API has its own catchers).

use askama::Template;
use askama_web::WebTemplate;
use rocket::http::Status;
use rocket::{Catcher, Request, catch};

use super::session::InsecureCookies;
use super::view::Layout;

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub code: u16,
    /// The form was refused because the browser, on plain HTTP, dropped our `Secure` cookie.
    pub insecure_cookies: bool,
}

#[catch(default)]
fn any_error(status: Status, request: &Request<'_>) -> (Status, ErrorPage) {
    let insecure_cookies = request.local_cache(|| InsecureCookies(false)).0;
    (
        status,
        ErrorPage {
            layout: Layout::new(None, String::new()),
            code: status.code,
            insecure_cookies,
        },
    )
}

pub fn catchers() -> Vec<Catcher> {
    rocket::catchers![any_error]
}
