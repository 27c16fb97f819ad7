//! `/login/oidc` and `/login/oidc/callback`: single sign-on with OpenID Connect (the flow and
//! its checks are `auth::sso`'s). The start sends the browser to the provider with a cookie
//! binding its return to this browser (`msb_sso`, ten minutes, only under `/login/oidc`,
//! `SameSite=Lax`: the return is a top-level navigation from the provider's site); the
//! callback signs in, or asks for the second factor, or shows the login page saying why not.
//! Without `oidc_issuer` both answer 404 and the pages show no button.

use rocket::http::{Cookie, SameSite, Status};
use rocket::response::Redirect;
use rocket::time::Duration as CookieDuration;
use rocket::{State, get};
use zeroize::Zeroizing;

use super::{Door, LoginPage, second_factor};
use crate::auth::signup::SignupMode;
use crate::auth::sso::{self, Callback, Landed, Rules, Sso, SsoError};
use crate::auth::two_factor::TwoFactor;
use crate::config::AppConfig;
use crate::web::kit::problem::Refused;
use crate::web::kit::session::safe_next;

const COOKIE: &str = "msb_sso";
const COOKIE_PATH: &str = "/login/oidc";

/// The button on /login and /signup: "Sign in with <label>", or, when the provider did not
/// answer, that single sign-on is unavailable right now.
pub struct SsoOffer {
    pub label: String,
    pub href: String,
    pub up: bool,
}

/// The offer for a page whose sign-in goes on to `next` (and, from an invitation link, carries
/// the invitation); `None` when single sign-on is off.
pub fn offer(
    config: &AppConfig,
    sso: &Option<Sso>,
    next: &str,
    invite: Option<&str>,
) -> Option<SsoOffer> {
    let (oidc, sso) = (config.oidc()?, sso.as_ref()?);
    let mut href = url::Url::parse("http://x/login/oidc").ok()?;
    if next != "/" {
        href.query_pairs_mut().append_pair("next", next);
    }
    if let Some(code) = invite.filter(|code| !code.is_empty()) {
        href.query_pairs_mut().append_pair("invite", code);
    }
    let href = match href.query() {
        Some(query) => format!("{COOKIE_PATH}?{query}"),
        None => COOKIE_PATH.to_owned(),
    };
    Some(SsoOffer {
        label: oidc.button_label.clone(),
        href,
        up: sso.seems_up(),
    })
}

/// The login page saying why single sign-on did not sign anyone in.
fn refused(door: &Door<'_>, sso: &Option<Sso>, error: SsoError) -> Refused<LoginPage> {
    let status = match error {
        SsoError::Unavailable | SsoError::Busy | SsoError::Storage => Status::ServiceUnavailable,
        SsoError::NotConfirmed => Status::BadGateway,
        SsoError::Disabled
        | SsoError::SignupClosed
        | SsoError::InvitationNeeded
        | SsoError::EmailUnverified => Status::Forbidden,
        SsoError::BadInvitation => Status::NotFound,
        SsoError::SignupThrottled => Status::TooManyRequests,
        SsoError::Expired
        | SsoError::StateMismatch
        | SsoError::ProviderRefused
        | SsoError::BadAnswer
        | SsoError::NonceMismatch => Status::BadRequest,
    };
    let mut page = LoginPage::new(
        door.viewer.layout().at("/login"),
        "/".to_owned(),
        door.passkeys,
    );
    page.sso = offer(door.config, sso, "/", None);
    page.sso_error = Some(error);
    Refused {
        status,
        retry_after_secs: (status == Status::TooManyRequests).then_some(3600),
        page,
    }
}

#[get("/login/oidc?<next>&<invite>")]
async fn start(
    door: Door<'_>,
    next: Option<&str>,
    invite: Option<&str>,
    sso: &State<Option<Sso>>,
) -> Result<Redirect, Option<Refused<LoginPage>>> {
    let Some(single) = sso.inner() else {
        return Err(None);
    };
    let invitation = invite
        .map(str::trim)
        .filter(|code| !code.is_empty())
        .map(str::to_owned);
    match single.start(safe_next(next), invitation).await {
        Ok((url, cookie)) => {
            let cookie = Cookie::build((COOKIE, cookie))
                .http_only(true)
                .same_site(SameSite::Lax)
                .path(COOKIE_PATH)
                .secure(door.config.secure_cookies())
                .max_age(CookieDuration::seconds(sso::LIFETIME_SECS));
            door.cookies.add(cookie);
            Ok(Redirect::to(url))
        }
        Err(error) => Err(Some(refused(&door, sso, error))),
    }
}

#[get("/login/oidc/callback?<state>&<code>&<error>&<iss>")]
async fn callback(
    door: Door<'_>,
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    iss: Option<String>,
    sso: &State<Option<Sso>>,
    two_factor: &State<TwoFactor>,
) -> Result<Redirect, Option<Refused<LoginPage>>> {
    let Some(single) = sso.inner() else {
        return Err(None);
    };
    let cookie = door.cookies.get(COOKIE).map(|c| c.value().to_owned());
    door.cookies.remove(Cookie::build(COOKIE).path(COOKIE_PATH));
    let Some(cookie) = cookie else {
        return Err(Some(refused(&door, sso, SsoError::Expired)));
    };
    let returned = Callback {
        state,
        code: code.map(Zeroizing::new),
        error,
        iss,
    };
    let verified = match single.finish(&cookie, returned).await {
        Ok(verified) => verified,
        Err(error) => return Err(Some(refused(&door, sso, error))),
    };
    let rules = Rules {
        default_mode: SignupMode::configured(door.config.default_signup_mode()),
        signups_per_hour: door.config.signups_per_address_per_hour,
    };
    let landed = single
        .land(&verified, rules, &door.client.addr, &door.client.user_agent)
        .await;
    match landed {
        Ok(Landed::Session { session, next }) => {
            door.enter(session).await;
            Ok(Redirect::to(next))
        }
        Ok(Landed::SecondFactor { user_id, next }) => {
            match two_factor.half_sign_in(user_id, &next).await {
                Ok(cookie_token) => {
                    door.half_enter(cookie_token);
                    Ok(Redirect::to(second_factor::PATH))
                }
                Err(error) => {
                    tracing::error!(%error, "single sign-on: the half-signed-in state failed");
                    Err(Some(refused(&door, sso, SsoError::Storage)))
                }
            }
        }
        Err(error) => Err(Some(refused(&door, sso, error))),
    }
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![start, callback]
}

#[cfg(test)]
mod tests {
    use crate::auth::sso::SsoError;
    use crate::i18n::{Lang, text};

    #[test]
    fn every_refusal_has_words_in_both_languages() {
        for lang in Lang::ALL {
            for error in SsoError::ALL {
                let id = format!("sso-refused-{}", error.as_str());
                assert_ne!(text(lang, &id), id, "{lang:?} {error:?}");
            }
            for id in ["sso-sign-in-with", "sso-unavailable", "sso-or"] {
                assert_ne!(text(lang, id), id, "{lang:?}");
            }
        }
    }
}
