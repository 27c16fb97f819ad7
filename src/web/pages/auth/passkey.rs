//! Signing in with a passkey: without a password (`/login/passkey`, from the sign-in page) or
//! as the second factor after it (`/login/two-factor/passkey`, bound to the half-signed-in
//! state). JSON endpoints for `assets/passkeys.js`; each pair is options, then the answer.

use rocket::post;

use super::Door;
use crate::auth::passkeys::{PasskeyError, Purpose, binding};
use crate::web::kit::cookies::second_factor_cookie;
use crate::web::kit::passkey_json::{Answer, Ceremony, CsrfJson};
use crate::web::kit::session::safe_next;

/// The options for a sign-in ceremony of `purpose`, bound to `bound`, or why not.
async fn sign_in_options(ceremony: Ceremony<'_>, purpose: Purpose, bound: String) -> Answer {
    let browser = ceremony.browser(bound);
    let started = match ceremony.rp.0 {
        Ok(rp) => ceremony.passkeys.start_sign_in(rp, purpose, browser).await,
        Err(error) => Err(error),
    };
    Answer::started(started, ceremony.lang)
}

/// The options for `navigator.credentials.get`, bound to this browser's CSRF cookie.
#[post("/login/passkey/options", data = "<_body>")]
async fn options(door: Door<'_>, _body: CsrfJson, ceremony: Ceremony<'_>) -> Answer {
    let bound = binding("anon", &door.viewer.csrf_token);
    sign_in_options(ceremony, Purpose::SignIn, bound).await
}

/// Signs in with the passkey's answer; `next` (in the body) is where to go.
#[post("/login/passkey", data = "<body>")]
async fn sign_in(door: Door<'_>, body: CsrfJson, ceremony: Ceremony<'_>) -> Answer {
    let next = serde_json::from_slice::<serde_json::Value>(&body.0)
        .ok()
        .and_then(|v| v.get("next").and_then(|n| n.as_str()).map(str::to_owned));
    let (addr, agent) = (&door.client.addr, &door.client.user_agent);
    let signed_in = match ceremony.rp.with_answer(&body) {
        Ok((rp, finish)) => {
            let bound = binding("anon", &door.viewer.csrf_token);
            ceremony
                .passkeys
                .sign_in(rp, bound, finish.credential, addr, agent)
                .await
        }
        Err(error) => Err(error),
    };
    match signed_in {
        Ok(session) => {
            door.enter(session).await;
            Answer::redirect(&safe_next(next.as_deref()))
        }
        Err(error) => Answer::error(&error, ceremony.lang),
    }
}

/// The options for the second factor, bound to the half-signed-in state.
#[post("/login/two-factor/passkey/options", data = "<_body>")]
async fn second_factor_options(door: Door<'_>, _body: CsrfJson, ceremony: Ceremony<'_>) -> Answer {
    let Some(cookie) = second_factor_cookie(door.cookies) else {
        return ceremony.refuse(&PasskeyError::SecondFactorExpired);
    };
    let bound = binding("pending", &cookie);
    sign_in_options(ceremony, Purpose::SecondFactor, bound).await
}

/// Finishes signing in with a passkey of the half-signed-in account.
#[post("/login/two-factor/passkey", data = "<body>")]
async fn second_factor(door: Door<'_>, body: CsrfJson, ceremony: Ceremony<'_>) -> Answer {
    let Some(cookie) = second_factor_cookie(door.cookies) else {
        return ceremony.refuse(&PasskeyError::SecondFactorExpired);
    };
    let (addr, agent) = (&door.client.addr, &door.client.user_agent);
    let finished = match ceremony.rp.with_answer(&body) {
        Ok((rp, finish)) => {
            (ceremony
                .passkeys
                .second_factor(rp, &cookie, finish.credential, addr, agent))
            .await
        }
        Err(error) => Err(error),
    };
    match finished {
        Ok((session, next)) => {
            door.enter(session).await;
            Answer::redirect(&next)
        }
        Err(error) => Answer::error(&error, ceremony.lang),
    }
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![options, sign_in, second_factor_options, second_factor]
}
