//! `POST /lang`: the language switch in the footer. Remembered in a cookie for a year; the
//! browser goes back to the page it came from.

use rocket::form::FromForm;
use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::response::Redirect;
use rocket::time::Duration;
use rocket::{State, post};

use crate::config::AppConfig;
use crate::i18n::Lang;
use crate::web::kit::cookies::LANG_COOKIE;
use crate::web::kit::csrf::{Csrf, csrf_form};
use crate::web::kit::session::safe_next;

#[derive(Debug, FromForm)]
pub struct LangForm {
    lang: Option<String>,
    next: Option<String>,
    csrf_token: Option<String>,
}

csrf_form!(LangForm);

#[post("/lang", data = "<form>")]
pub fn set_lang(
    form: Csrf<LangForm>,
    cookies: &CookieJar<'_>,
    config: &State<AppConfig>,
) -> Result<Redirect, Status> {
    let form = form.0;
    let lang = form
        .lang
        .as_deref()
        .and_then(Lang::parse)
        .ok_or(Status::UnprocessableEntity)?;
    cookies.add(
        Cookie::build((LANG_COOKIE, lang.tag()))
            .path("/")
            .same_site(SameSite::Lax)
            .secure(config.secure_cookies())
            .max_age(Duration::days(365)),
    );
    Ok(Redirect::to(safe_next(form.next.as_deref())))
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![set_lang]
}
