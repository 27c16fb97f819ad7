//! The app's cookies: their names and flags, the session cookie set and cleared, and why a
//! browser on plain HTTP may be unable to keep them (said once at lift-off and on the 403 page).

use rocket::http::{Cookie, CookieJar, SameSite};
use rocket::request::Request;
use rocket::time::Duration as CookieDuration;
use rocket::{Orbit, Rocket, State};

use crate::config::AppConfig;
use crate::crypto::tokens;
use crate::db::sessions::ABSOLUTE_SECS;

pub const SESSION_COOKIE: &str = "msb_session";
/// Signed out, forms still carry a token: this cookie's (double-submit).
pub const ANON_CSRF_COOKIE: &str = "msb_csrf";
/// Remembers the language chosen with the switch in the footer.
pub const LANG_COOKIE: &str = "msb_lang";
/// The half-signed-in state between the password and the second factor (`/login` only).
pub const SECOND_FACTOR_COOKIE: &str = "msb_2fa";
const SECOND_FACTOR_PATH: &str = "/login";

/// Whether cookies are set `Secure` (the configuration says; built in: true in release).
pub fn secure_cookies(request: &Request<'_>) -> bool {
    request
        .rocket()
        .state::<AppConfig>()
        .is_none_or(AppConfig::secure_cookies)
}

/// The CSRF token of a signed-out browser: its cookie's, set on first sight.
pub fn anonymous_csrf(request: &Request<'_>) -> String {
    if let Some(cookie) = request.cookies().get(ANON_CSRF_COOKIE) {
        return cookie.value().to_owned();
    }
    let token = tokens::random_hex(32);
    let cookie = Cookie::build((ANON_CSRF_COOKIE, token.clone()))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .secure(secure_cookies(request));
    request.cookies().add(cookie);
    token
}

/// Set on a request refused because its browser could not keep a `Secure` cookie; the 403
/// page then says what to do instead of "submit the form again".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InsecureCookies(pub bool);

/// Whether a refused form came from a browser on plain HTTP to a host other than loopback
/// while cookies are `Secure`: the browser dropped the CSRF cookie we set, so no form can ever
/// pass. The browser says its scheme in `Origin` (or `Referer`) on every form post.
pub fn cookies_cannot_work(request: &Request<'_>) -> bool {
    if !secure_cookies(request) || request.cookies().get(ANON_CSRF_COOKIE).is_some() {
        return false;
    }
    let headers = request.headers();
    let Some(page) = headers
        .get_one("Origin")
        .or_else(|| headers.get_one("Referer"))
    else {
        return false;
    };
    page.strip_prefix("http://")
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""))
        .is_some_and(|authority| !is_loopback_authority(authority))
}

/// `localhost`, `127.x.y.z` or `[::1]`, with or without a port: browsers treat these as
/// secure contexts and keep `Secure` cookies on them even over plain HTTP.
fn is_loopback_authority(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host),
    };
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// At lift-off: a server reachable beyond loopback without TLS, with `Secure` cookies, cannot
/// sign anyone in unless a TLS proxy is in front; say so once, with the two ways out.
pub fn warn_if_cookies_cannot_work(rocket: &Rocket<Orbit>) {
    let config = rocket.config();
    let secure = rocket
        .state::<AppConfig>()
        .is_some_and(AppConfig::secure_cookies);
    if secure && !config.tls_enabled() && !config.address.is_loopback() {
        tracing::warn!(
            "listening on {}:{} over plain HTTP with secure_cookies = true: browsers keep the \
             sign-in and form cookies only over HTTPS, so put a TLS reverse proxy in front (and \
             reach the app through it), or, on a trusted LAN without TLS, set \
             secure_cookies = false (ROCKET_SECURE_COOKIES=false)",
            config.address,
            config.port
        );
    }
}

/// Sets the session cookie after sign-in.
pub fn set_session_cookie(cookies: &CookieJar<'_>, config: &State<AppConfig>, token: String) {
    let cookie = Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(config.secure_cookies())
        .max_age(CookieDuration::seconds(ABSOLUTE_SECS));
    cookies.add(cookie);
}

pub fn clear_session_cookie(cookies: &CookieJar<'_>) {
    cookies.remove(Cookie::build(SESSION_COOKIE).path("/"));
}

/// Sets the half-signed-in cookie after a right password, for as long as the state lasts.
pub fn set_second_factor_cookie(
    cookies: &CookieJar<'_>,
    config: &State<AppConfig>,
    token: String,
    lifetime_secs: i64,
) {
    let cookie = Cookie::build((SECOND_FACTOR_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path(SECOND_FACTOR_PATH)
        .secure(config.secure_cookies())
        .max_age(CookieDuration::seconds(lifetime_secs));
    cookies.add(cookie);
}

/// The half-signed-in cookie's value, if the browser sent one.
pub fn second_factor_cookie(cookies: &CookieJar<'_>) -> Option<String> {
    cookies
        .get(SECOND_FACTOR_COOKIE)
        .map(|cookie| cookie.value().to_owned())
}

pub fn clear_second_factor_cookie(cookies: &CookieJar<'_>) {
    cookies.remove(Cookie::build(SECOND_FACTOR_COOKIE).path(SECOND_FACTOR_PATH));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_authorities() {
        for host in [
            "localhost",
            "localhost:8000",
            "127.0.0.1:8000",
            "[::1]:8000",
            "127.1.2.3",
        ] {
            assert!(is_loopback_authority(host), "{host}");
        }
        for host in [
            "192.168.1.5:8000",
            "example.com",
            "10.0.0.1",
            "[fe80::1]:80",
        ] {
            assert!(!is_loopback_authority(host), "{host}");
        }
    }
}
