//! HTML error pages for the site (the JSON API has its own catchers).

use askama::Template;
use askama_web::WebTemplate;
use rocket::http::Status;
use rocket::{Catcher, Request, catch};

use super::session::chrome_for;
use super::view::Layout;

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub code: u16,
}

#[catch(default)]
async fn any_error(status: Status, request: &Request<'_>) -> (Status, ErrorPage) {
    (
        status,
        ErrorPage {
            layout: chrome_for(request).await,
            code: status.code,
        },
    )
}

pub fn catchers() -> Vec<Catcher> {
    rocket::catchers![any_error]
}
