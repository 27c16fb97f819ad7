//! Signing in with a passkey: without a password (`/login/passkey`, from the sign-in page) or
//! as the second factor after it (`/login/two-factor/passkey`, bound to the half-signed-in
//! state). JSON endpoints for `assets/passkeys.js`; each pair is options, then the answer.

use rocket::{State, post};

use super::Door;
use crate::auth::passkeys::{PasskeyError, Passkeys, Purpose, binding};
use crate::web::kit::cookies::second_factor_cookie;
use crate::web::kit::passkey_json::{Answer, CsrfJson, JsonLang, Rp};
use crate::web::kit::session::safe_next;

/// The options for `navigator.credentials.get`, bound to this browser's CSRF cookie.
#[post("/login/passkey/options", data = "<body>")]
async fn options(
    door: Door<'_>,
    body: CsrfJson,
    rp: Rp,
    lang: JsonLang,
    passkeys: &State<Passkeys>,
) -> Answer {
    let _ = body;
    let started = match rp.0 {
        Ok(rp) => {
            let bound = binding("anon", &door.viewer.csrf_token);
            passkeys.start_sign_in(rp, Purpose::SignIn, bound).await
        }
        Err(error) => Err(error),
    };
    match started {
        Ok(options) => Answer::options(&options),
        Err(error) => Answer::error(&error, lang.0),
    }
}

/// Signs in with the passkey's answer; `next` (in the body) is where to go.
#[post("/login/passkey", data = "<body>")]
async fn sign_in(
    door: Door<'_>,
    body: CsrfJson,
    rp: Rp,
    lang: JsonLang,
    passkeys: &State<Passkeys>,
) -> Answer {
    let next = serde_json::from_slice::<serde_json::Value>(&body.0)
        .ok()
        .and_then(|v| v.get("next").and_then(|n| n.as_str()).map(str::to_owned));
    let signed_in = match (rp.0, body.finish()) {
        (Err(error), _) | (_, Err(error)) => Err(error),
        (Ok(rp), Ok(finish)) => {
            let bound = binding("anon", &door.viewer.csrf_token);
            passkeys
                .sign_in(
                    rp,
                    bound,
                    finish.credential,
                    &door.client.addr,
                    &door.client.user_agent,
                )
                .await
        }
    };
    match signed_in {
        Ok(session) => {
            door.enter(session).await;
            Answer::redirect(&safe_next(next.as_deref()))
        }
        Err(error) => Answer::error(&error, lang.0),
    }
}

/// The options for the second factor, bound to the half-signed-in state.
#[post("/login/two-factor/passkey/options", data = "<body>")]
async fn second_factor_options(
    door: Door<'_>,
    body: CsrfJson,
    rp: Rp,
    lang: JsonLang,
    passkeys: &State<Passkeys>,
) -> Answer {
    let _ = body;
    let Some(cookie) = second_factor_cookie(door.cookies) else {
        return Answer::error(&PasskeyError::SecondFactorExpired, lang.0);
    };
    let started = match rp.0 {
        Ok(rp) => {
            let bound = binding("pending", &cookie);
            passkeys
                .start_sign_in(rp, Purpose::SecondFactor, bound)
                .await
        }
        Err(error) => Err(error),
    };
    match started {
        Ok(options) => Answer::options(&options),
        Err(error) => Answer::error(&error, lang.0),
    }
}

/// Finishes signing in with a passkey of the half-signed-in account.
#[post("/login/two-factor/passkey", data = "<body>")]
async fn second_factor(
    door: Door<'_>,
    body: CsrfJson,
    rp: Rp,
    lang: JsonLang,
    passkeys: &State<Passkeys>,
) -> Answer {
    let Some(cookie) = second_factor_cookie(door.cookies) else {
        return Answer::error(&PasskeyError::SecondFactorExpired, lang.0);
    };
    let finished = match (rp.0, body.finish()) {
        (Err(error), _) | (_, Err(error)) => Err(error),
        (Ok(rp), Ok(finish)) => {
            passkeys
                .second_factor(
                    rp,
                    &cookie,
                    finish.credential,
                    &door.client.addr,
                    &door.client.user_agent,
                )
                .await
        }
    };
    match finished {
        Ok((session, next)) => {
            door.enter(session).await;
            Answer::redirect(&next)
        }
        Err(error) => Answer::error(&error, lang.0),
    }
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![options, sign_in, second_factor_options, second_factor]
}
