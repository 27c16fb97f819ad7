//! Server-rendered pages. Thin: parse the request, call the domain, render a template.
//! `pages/` holds one module (or folder) per page, each listing its own routes; pages never
//! import each other. `kit/` holds what pages share: the guards (`session`, `csrf`,
//! `cookies`, `client`), display values (`view`, `result_view`, `status`,
//! `monitoring_view`), the error mapping (`problem`), forms and events of a run (`run_form`,
//! `live`), typed values from requests (`params`) and the confirmation step (`confirm`).

mod kit;
mod pages;

use rocket::{Catcher, Route};

pub use kit::cookies::warn_if_cookies_cannot_work;
pub use kit::csrf::CrossSiteRefusal;
pub use kit::reveal::Reveals;
pub use kit::security::security_headers;

/// Every page's routes; each page lists its own.
pub fn routes() -> Vec<Route> {
    [pages::routes(), kit::csrf::routes()].concat()
}

pub fn catchers() -> Vec<Catcher> {
    let mut catchers = pages::errors::catchers();
    catchers.extend(kit::session::catchers());
    catchers
}
