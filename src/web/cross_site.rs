//! Cross-site form posts never reach a page handler: a request fairing reroutes every
//! state-changing request another site made to a route that answers 403. The JSON API is
//! exempt: it uses no cookies and allows any origin.

use rocket::data::Data;
use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::uri::Origin;
use rocket::http::{Method, Status};
use rocket::request::Request;
use rocket::{Route, post};

const REFUSED_PATH: &str = "/__cross-site-refused";

/// True when the browser says the request comes from another site.
fn is_cross_site(request: &Request<'_>) -> bool {
    let headers = request.headers();
    if let Some(site) = headers.get_one("Sec-Fetch-Site")
        && matches!(site, "cross-site" | "same-site")
    {
        return true;
    }
    let Some(origin) = headers.get_one("Origin") else {
        return false;
    };
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    match (authority, headers.get_one("Host")) {
        (Some(authority), Some(host)) => !authority.eq_ignore_ascii_case(host),
        _ => true,
    }
}

/// Refuses every cross-site state-changing request to the pages (login and sign-up included)
/// before any handler runs, by rerouting it to a route that answers 403. The JSON API is
/// exempt: it uses no cookies and allows any origin.
pub struct CrossSiteRefusal;

#[rocket::async_trait]
impl Fairing for CrossSiteRefusal {
    fn info(&self) -> Info {
        Info {
            name: "refuse cross-site form posts",
            kind: Kind::Request,
        }
    }

    async fn on_request(&self, request: &mut Request<'_>, _data: &mut Data<'_>) {
        if matches!(
            request.method(),
            Method::Get | Method::Head | Method::Options
        ) {
            return;
        }
        if request.uri().path().starts_with("/api/") {
            return;
        }
        if is_cross_site(request) {
            request.set_method(Method::Post);
            request.set_uri(Origin::path_only(REFUSED_PATH));
        }
    }
}

#[post("/__cross-site-refused")]
fn cross_site_refused() -> Status {
    Status::Forbidden
}

pub fn routes() -> Vec<Route> {
    rocket::routes![cross_site_refused]
}
