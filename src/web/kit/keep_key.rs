//! First steps: the key used on the quick page, carried to sign-up and offered for saving.
//!
//! The key travels only in the forms the browser posts: the quick form's "sign up to keep
//! this key" button posts it to `/signup/keep`, whose sign-up form carries it in hidden fields
//! (`api_key`, `site`), and the answer to a successful sign-up is a page that asks before
//! posting it to `/keys`. Never a cookie, never the server's memory, never stored before the
//! user says so; every page that holds it is `no-store` ([`super::no_store`]).

use askama::Template;
use askama_web::WebTemplate;

use super::params::choice;
use super::view::Layout;
use crate::keyring::check_key_shape;
use crate::modelscope::Site;

/// A key a form carried, with its site: only a well-formed one is carried on.
pub struct CarriedKey {
    pub api_key: String,
    pub site: Site,
    /// `ms-…abcd`, to name it without showing it.
    pub masked: String,
}

impl CarriedKey {
    /// The key of a form's `api_key` and `site` fields, if it has a key's shape.
    pub fn from_form(api_key: Option<&str>, site: Option<&str>) -> Option<Self> {
        let secret = check_key_shape(api_key?).ok()?;
        Some(Self {
            masked: secret.masked(),
            api_key: secret.expose().to_owned(),
            site: choice::<Site>(site).unwrap_or_default(),
        })
    }
}

/// After sign-up: "save the key you just used?", posting to `/keys`.
#[derive(Template, WebTemplate)]
#[template(path = "keep_key.html")]
pub struct KeepKeyPage {
    pub layout: Layout,
    pub key: CarriedKey,
}
