//! Two-factor sign-in as a person with an authenticator app does it: read the secret off the
//! enrolment page, compute codes the way an app would (`totp-rs` reading the `otpauth://` link,
//! not the app's own code), keep the recovery codes shown once, and answer `/login/two-factor`.

use rocket::http::Status;
use rocket::local::asynchronous::Client;
use totp_rs::{Secret, Totp};

use super::html::html_unescape;
use super::http::{self, Answer};
use super::{PASSWORD, User};

pub const PAGE: &str = "/account/two-factor";
pub const SECOND_STEP: &str = "/login/two-factor";
pub const COOKIE: &str = "msb_2fa";

/// What an enrolment showed.
pub struct Enrolled {
    /// The `otpauth://` link (HTML-unescaped).
    pub uri: String,
    /// The secret as text, spaces removed (base32).
    pub secret: String,
    /// The ten recovery codes, as shown.
    pub recovery_codes: Vec<String>,
}

impl Enrolled {
    /// The seed's bytes (for looking for them where they must not be).
    pub fn seed_bytes(&self) -> Vec<u8> {
        Secret::try_from_base32(&self.secret)
            .expect("base32")
            .as_bytes()
            .to_vec()
    }

    /// The code an authenticator app shows at `unix_secs`.
    pub fn code_at(&self, unix_secs: i64) -> String {
        code_at(&self.uri, unix_secs)
    }
}

/// The code the app reading `uri` shows at `unix_secs`.
pub fn code_at(uri: &str, unix_secs: i64) -> String {
    let totp = Totp::from_url(uri).unwrap_or_else(|e| panic!("{uri} is no otpauth link: {e:?}"));
    totp.generate(u64::try_from(unix_secs).expect("after 1970"))
        .to_string()
}

/// The text of the element with `id` (up to its first tag end), unescaped.
fn text_of(html: &str, id: &str) -> Option<String> {
    let rest = html.split(&format!(r#"id="{id}">"#)).nth(1)?;
    Some(html_unescape(rest.split('<').next()?))
}

/// The `otpauth://` link on an enrolment page.
pub fn shown_uri(html: &str) -> Option<String> {
    let rest = html.split(r#"id="totp-uri" href=""#).nth(1)?;
    Some(html_unescape(rest.split('"').next()?))
}

/// The secret as text on an enrolment page, spaces removed.
pub fn shown_secret(html: &str) -> Option<String> {
    text_of(html, "totp-secret").map(|s| s.split_whitespace().collect())
}

/// The recovery codes on the page that turned it on.
pub fn shown_recovery_codes(html: &str) -> Vec<String> {
    text_of(html, "recovery-codes")
        .map(|text| text.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Starts an enrolment and answers the page showing the pending secret.
pub async fn start(user: &User) -> Answer {
    user.submit("/account/two-factor/start", &[])
        .await
        .assert_redirect_to(PAGE);
    let page = user.get(PAGE).await;
    page.assert_status(Status::Ok);
    page
}

/// Turns two-factor sign-in on for `user` with the code at `now` (the app's clock).
pub async fn enrol(user: &User, now: i64) -> Enrolled {
    let page = start(user).await;
    let uri = shown_uri(&page.body).expect("the otpauth link is shown");
    let secret = shown_secret(&page.body).expect("the secret is shown");
    let code = code_at(&uri, now);
    let confirmed = user
        .submit("/account/two-factor/confirm", &[("code", &code)])
        .await;
    confirmed.assert_status(Status::Ok);
    let recovery_codes = shown_recovery_codes(&confirmed.body);
    assert_eq!(recovery_codes.len(), 10, "{}", confirmed.body);
    Enrolled {
        uri,
        secret,
        recovery_codes,
    }
}

/// Gives the password on `/login` (it must be right and ask for the second factor).
pub async fn password_step(client: &Client, name: &str) {
    super::users::login(client, name, PASSWORD)
        .await
        .assert_redirect_to(SECOND_STEP);
}

/// Answers the second step with `code`.
pub async fn second_step(client: &Client, code: &str) -> Answer {
    http::submit(client, SECOND_STEP, &[("code", code)]).await
}
