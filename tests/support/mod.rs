//! Helpers for the account, vault and CSRF tests: an app on a temporary data dir that can be
//! stopped and started again, a wiremock ModelScope, and the form round trips a browser makes
//! (GET the page for its `csrf_token`, then POST the form).

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use rocket::figment::Figment;
use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::{Client, LocalRequest, LocalResponse};
use serde_json::json;
use tempfile::TempDir;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const PASSWORD: &str = "correct horse battery";
pub const SESSION_COOKIE: &str = "msb_session";
pub const ANON_CSRF_COOKIE: &str = "msb_csrf";
pub const BALANCE_PATH: &str = "/openapi/v1/magicubes/balance";
pub const MODEL: &str = "Qwen/Qwen2.5-72B-Instruct";

/// The words the keys page uses for a key that no longer opens.
pub const CANNOT_OPEN: &str = "无法解密";
/// The words every "enter it again" message uses.
pub const REENTER: &str = "重新输入";

/// A data directory and an upstream double that outlive any one start of the app, so a test can
/// stop the app (drop its client), change the files, and start it again on the same data.
pub struct Env {
    dir: TempDir,
    pub upstream: MockServer,
}

impl Env {
    pub async fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
            upstream: MockServer::start().await,
        }
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir().join("modelscope-balance.db")
    }

    pub fn key_file(&self) -> PathBuf {
        self.data_dir().join("master.key")
    }

    /// The configuration the tests run with: the repository's `Rocket.toml` (so the real body
    /// limits apply), this data dir, the upstream double, no logging.
    pub fn figment(&self) -> Figment {
        rocket::Config::figment()
            .merge(("data_dir", self.data_dir()))
            .merge(("log_level", "off"))
            // As behind a reverse proxy that sets X-Real-IP, so tests can vary the client address.
            .merge(("ip_header", "X-Real-IP"))
            .merge(("modelscope_api_base", format!("{}/v1", self.upstream.uri())))
            .merge(("modelscope_hub_base", self.upstream.uri()))
    }

    /// Starts the app; panics if it does not ignite.
    pub async fn start(&self) -> Client {
        self.start_with(|figment| figment).await
    }

    pub async fn start_with(&self, tweak: impl FnOnce(Figment) -> Figment) -> Client {
        Client::tracked(modelscope_balance::rocket_from(tweak(self.figment())))
            .await
            .expect("the app ignites")
    }

    /// A direct connection to the database file (the app may be running: WAL allows it).
    pub fn db(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(self.database_path()).expect("open database");
        conn.busy_timeout(Duration::from_secs(5))
            .expect("busy timeout");
        conn
    }

    /// Every regular file under the data dir, with its bytes.
    pub fn all_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
            for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if let Ok(bytes) = std::fs::read(&path) {
                    out.push((path, bytes));
                }
            }
        }
        let mut out = Vec::new();
        walk(self.data_dir(), &mut out);
        out
    }

    /// `GET /openapi/v1/magicubes/balance` with this bearer token answers `status` and `body`.
    pub async fn mount_balance(&self, key: &str, status: u16, body: serde_json::Value) {
        Mock::given(method("GET"))
            .and(path(BALANCE_PATH))
            .and(header("Authorization", format!("Bearer {key}").as_str()))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .mount(&self.upstream)
            .await;
    }
}

/// A successful balance body: 250 total, 240.5 available, 9.5 frozen.
pub fn balance_body() -> serde_json::Value {
    json!({
        "success": true,
        "message": "ok",
        "data": {"total_balance": 250, "available_balance": 240.5, "frozen_amount": 9.5}
    })
}

// ---------------------------------------------------------------------------------------------
// Responses

/// A finished response.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: Status,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub async fn from(response: LocalResponse<'_>) -> Self {
        let status = response.status();
        let headers = response
            .headers()
            .iter()
            .map(|h| (h.name().as_str().to_owned(), h.value().to_owned()))
            .collect();
        let body = response.into_string().await.unwrap_or_default();
        Self {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn location(&self) -> Option<&str> {
        self.header("Location")
    }

    /// The `Set-Cookie` line for `name`, if the response sets it.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.headers_named("Set-Cookie")
            .into_iter()
            .find(|line| line.starts_with(&format!("{name}=")))
    }

    /// The page text without tags, entities undone, whitespace collapsed.
    pub fn text(&self) -> String {
        visible_text(&self.body)
    }

    #[track_caller]
    pub fn assert_status(&self, expected: Status) -> &Self {
        assert_eq!(
            self.status, expected,
            "unexpected status; body:\n{}",
            self.body
        );
        self
    }

    #[track_caller]
    pub fn assert_redirect_to(&self, expected: &str) -> &Self {
        assert_eq!(
            self.status,
            Status::SeeOther,
            "not a redirect: {}",
            self.body
        );
        assert_eq!(self.location(), Some(expected));
        self
    }

    /// A client mistake: 4xx, never 5xx.
    #[track_caller]
    pub fn assert_client_error(&self) -> &Self {
        assert!(
            self.status.class().is_client_error(),
            "expected a 4xx, got {}: {}",
            self.status,
            self.body
        );
        self
    }

    #[track_caller]
    pub fn assert_not_5xx(&self, what: &str) -> &Self {
        assert!(
            !self.status.class().is_server_error(),
            "{what}: got {}: {}",
            self.status,
            self.body
        );
        self
    }
}

/// The security headers every response must carry.
#[track_caller]
pub fn assert_security_headers(resp: &Resp) {
    let csp = resp
        .header("Content-Security-Policy")
        .unwrap_or_else(|| panic!("no CSP on a {} answer", resp.status));
    assert!(csp.contains("script-src 'self'"), "CSP: {csp}");
    assert!(!csp.contains("unsafe-inline"), "CSP: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "CSP: {csp}");
    assert_eq!(
        resp.header("X-Content-Type-Options"),
        Some("nosniff"),
        "on a {} answer",
        resp.status
    );
    assert_eq!(
        resp.header("Referrer-Policy"),
        Some("same-origin"),
        "on a {} answer",
        resp.status
    );
}

// ---------------------------------------------------------------------------------------------
// Requests

pub async fn get(client: &Client, uri: &str) -> Resp {
    Resp::from(client.get(uri.to_owned()).dispatch().await).await
}

/// A GET with extra headers (e.g. a `User-Agent`).
pub async fn get_with(client: &Client, uri: &str, headers: &[(&str, &str)]) -> Resp {
    let request = with_headers(client.get(uri.to_owned()), headers);
    Resp::from(request.dispatch().await).await
}

fn with_headers<'c>(mut request: LocalRequest<'c>, headers: &[(&str, &str)]) -> LocalRequest<'c> {
    for (name, value) in headers {
        request = request.header(Header::new(name.to_string(), value.to_string()));
    }
    request
}

/// The `csrf_token` the page at `path` puts in its forms (signed out, this also sets the
/// `msb_csrf` cookie the tracked client then keeps).
pub async fn csrf(client: &Client, path: &str) -> String {
    let page = get(client, path).await;
    extract_csrf(&page.body)
        .unwrap_or_else(|| panic!("no csrf_token on {path} ({}): {}", page.status, page.body))
}

/// The first `name="csrf_token" value="…"` in a page.
pub fn extract_csrf(html: &str) -> Option<String> {
    let marker = r#"name="csrf_token" value=""#;
    let start = html.find(marker)? + marker.len();
    let end = start + html[start..].find('"')?;
    Some(html[start..end].to_owned())
}

/// A form POST exactly as given (no token added).
pub async fn post_form(client: &Client, path: &str, fields: &[(&str, &str)]) -> Resp {
    post_form_with(client, path, fields, &[]).await
}

pub async fn post_form_with(
    client: &Client,
    path: &str,
    fields: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Resp {
    let request = client
        .post(path.to_owned())
        .header(ContentType::Form)
        .body(form_encode(fields));
    Resp::from(with_headers(request, headers).dispatch().await).await
}

/// A form POST the way a browser makes it from one of the app's pages: with the current
/// `csrf_token` (taken from `/login`, which every visitor can open).
pub async fn submit(client: &Client, path: &str, fields: &[(&str, &str)]) -> Resp {
    submit_with(client, path, fields, &[]).await
}

pub async fn submit_with(
    client: &Client,
    path: &str,
    fields: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Resp {
    let token = csrf(client, "/login").await;
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    all.push(("csrf_token", &token));
    post_form_with(client, path, &all, headers).await
}

pub async fn signup(client: &Client, name: &str, password: &str) -> Resp {
    submit(
        client,
        "/signup",
        &[
            ("username", name),
            ("password", password),
            ("password_confirm", password),
        ],
    )
    .await
}

/// Signs up and checks it worked (the client is then signed in).
pub async fn signed_up(client: &Client, name: &str) {
    signup(client, name, PASSWORD).await.assert_redirect_to("/");
}

pub async fn login(client: &Client, name: &str, password: &str) -> Resp {
    login_with(client, name, password, &[]).await
}

pub async fn login_with(
    client: &Client,
    name: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> Resp {
    submit_with(
        client,
        "/login",
        &[("username", name), ("password", password)],
        headers,
    )
    .await
}

pub async fn logout(client: &Client) -> Resp {
    submit(client, "/logout", &[]).await
}

/// The session cookie the (tracked) client currently holds.
pub fn session_cookie(client: &Client) -> Option<String> {
    client
        .cookies()
        .get(SESSION_COOKIE)
        .map(|c| c.value().to_owned())
}

/// Whether the client is signed in: `/account` answers 200 rather than a sign-in redirect.
pub async fn is_signed_in(client: &Client) -> bool {
    let page = get(client, "/account").await;
    match page.status {
        Status::Ok => true,
        Status::SeeOther => {
            assert!(
                page.location().is_some_and(|l| l.starts_with("/login")),
                "unexpected redirect {:?}",
                page.location()
            );
            false
        }
        other => panic!("/account answered {other}: {}", page.body),
    }
}

// ---------------------------------------------------------------------------------------------
// The keys page

/// One row of the keys table, as a user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRow {
    pub id: i64,
    pub label: String,
    pub masked: String,
    pub cannot_open: bool,
}

/// The rows of the keys table (`<tr id="key-N">`).
pub fn key_rows(html: &str) -> Vec<KeyRow> {
    let mut rows = Vec::new();
    for (at, _) in html.match_indices(r#"<tr id="key-"#) {
        let rest = &html[at + r#"<tr id="key-"#.len()..];
        let id: i64 = rest[..rest.find('"').expect("id end")]
            .parse()
            .expect("numeric key id");
        let row = &rest[..rest.find("</tr>").expect("row end")];
        let cell = |n: usize| -> String {
            let mut cells = row.split("<td>").skip(1);
            let cell = cells.nth(n).unwrap_or_default();
            html_unescape(&cell[..cell.find("</td>").unwrap_or(cell.len())])
        };
        let masked_cell = cell(1);
        let masked = masked_cell
            .split("<code>")
            .nth(1)
            .and_then(|c| c.split("</code>").next())
            .unwrap_or_default()
            .to_owned();
        rows.push(KeyRow {
            id,
            label: cell(0),
            masked,
            cannot_open: masked_cell.contains(CANNOT_OPEN),
        });
    }
    rows
}

pub async fn keys(client: &Client) -> Vec<KeyRow> {
    let page = get(client, "/keys").await;
    page.assert_status(Status::Ok);
    key_rows(&page.body)
}

/// Saves a key through the page and returns its id.
pub async fn add_key(client: &Client, label: &str, key: &str) -> i64 {
    submit(client, "/keys", &[("label", label), ("api_key", key)])
        .await
        .assert_redirect_to("/keys");
    keys(client)
        .await
        .into_iter()
        .find(|row| row.label == label)
        .unwrap_or_else(|| panic!("{label} is not listed after saving"))
        .id
}

/// The ids of the revoke forms on `/account` (`/account/sessions/N/revoke`).
pub fn revocable_sessions(html: &str) -> Vec<i64> {
    ids_in_actions(html, "/account/sessions/", "/revoke")
}

/// `N` for every `action="{prefix}N{suffix}"`.
pub fn ids_in_actions(html: &str, prefix: &str, suffix: &str) -> Vec<i64> {
    let marker = format!(r#"action="{prefix}"#);
    html.match_indices(&marker)
        .filter_map(|(at, _)| {
            let rest = &html[at + marker.len()..];
            let end = rest.find('"')?;
            rest[..end].strip_suffix(suffix)?.parse().ok()
        })
        .collect()
}

pub fn user_id(conn: &rusqlite::Connection, name: &str) -> Option<i64> {
    conn.query_row("SELECT id FROM users WHERE username = ?1", [name], |r| {
        r.get(0)
    })
    .ok()
}

pub fn count(conn: &rusqlite::Connection, sql: &str, param: i64) -> i64 {
    conn.query_row(sql, [param], |r| r.get(0))
        .expect("count query")
}

/// (nonce, ciphertext, master_key_id, user_id) of a saved key row.
pub fn key_row_bytes(conn: &rusqlite::Connection, id: i64) -> (Vec<u8>, Vec<u8>, String, i64) {
    conn.query_row(
        "SELECT nonce, ciphertext, master_key_id, user_id FROM api_keys WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )
    .expect("key row")
}

// ---------------------------------------------------------------------------------------------
// Text

/// `application/x-www-form-urlencoded`.
pub fn form_encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(name, value)| format!("{}={}", url_encode(name), url_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Percent-decoding (for `Location: /login?next=%2Fkeys`).
pub fn url_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Undoes the HTML escaping askama writes (named and numeric entities).
pub fn html_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let entity = rest
            .find(';')
            .filter(|&end| end <= 10)
            .map(|end| (&rest[1..end], end));
        let decoded = entity.and_then(|(name, end)| {
            let c = match name {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "amp" => Some('&'),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .map(|hex| u32::from_str_radix(hex, 16))
                    .or_else(|| name.strip_prefix('#').map(str::parse::<u32>))
                    .and_then(Result::ok)
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The page's text without tags, whitespace collapsed, entities undone.
pub fn visible_text(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    html_unescape(&text.split_whitespace().collect::<Vec<_>>().join(" "))
}

pub fn hex(bytes: &[u8], upper: bool) -> String {
    bytes
        .iter()
        .map(|b| {
            if upper {
                format!("{b:02X}")
            } else {
                format!("{b:02x}")
            }
        })
        .collect()
}

/// Base64 with padding; `url_safe` swaps `+/` for `-_`.
pub fn base64(bytes: &[u8], url_safe: bool) -> String {
    let alphabet: &[u8; 64] = if url_safe {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(alphabet[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Every encoding of `secret` a leak could take: raw, hex (both cases), and base64 (standard and
/// url-safe) at each of the three alignments. For base64 only whole 3-byte groups are encoded,
/// so the pattern appears verbatim whatever bytes surround the secret.
pub fn leak_patterns(secret: &str) -> Vec<(String, Vec<u8>)> {
    let raw = secret.as_bytes();
    let mut patterns = vec![
        ("raw".to_owned(), raw.to_vec()),
        ("hex".to_owned(), hex(raw, false).into_bytes()),
        ("HEX".to_owned(), hex(raw, true).into_bytes()),
    ];
    for offset in 0..3 {
        let tail = &raw[offset..];
        let whole = &tail[..tail.len() / 3 * 3];
        for url_safe in [false, true] {
            patterns.push((
                format!("base64{} +{offset}", if url_safe { "url" } else { "" }),
                base64(whole, url_safe).into_bytes(),
            ));
        }
    }
    patterns
}

/// Panics if `haystack` holds `secret` in any form of [`leak_patterns`].
#[track_caller]
pub fn assert_no_trace(haystack: &[u8], secret: &str, what: &str) {
    for (name, pattern) in leak_patterns(secret) {
        assert!(
            !haystack
                .windows(pattern.len())
                .any(|window| window == pattern.as_slice()),
            "{what} holds {secret:?} ({name})"
        );
    }
}

#[cfg(test)]
mod self_tests {
    use super::*;

    #[test]
    fn base64_matches_known_values() {
        assert_eq!(base64(b"", false), "");
        assert_eq!(base64(b"f", false), "Zg==");
        assert_eq!(base64(b"fo", false), "Zm8=");
        assert_eq!(base64(b"foo", false), "Zm9v");
        assert_eq!(base64(b"foobar", false), "Zm9vYmFy");
        assert_eq!(base64(&[0xfb, 0xff], false), "+/8=");
        assert_eq!(base64(&[0xfb, 0xff], true), "-_8=");
    }

    #[test]
    fn patterns_find_a_secret_at_any_alignment() {
        let secret = "ca1a4e01-dead-beef";
        for prefix in ["", "x", "xy", "xyz"] {
            let data = format!("{prefix}{secret}!!");
            for url_safe in [false, true] {
                let encoded = base64(data.as_bytes(), url_safe);
                let found = leak_patterns(secret).iter().any(|(_, p)| {
                    encoded
                        .as_bytes()
                        .windows(p.len())
                        .any(|w| w == p.as_slice())
                });
                assert!(found, "{prefix:?} {url_safe}");
            }
        }
    }

    #[test]
    fn html_unescape_handles_named_and_numeric_entities() {
        assert_eq!(
            html_unescape("&#60;b&#62; &lt;i&gt; &#x27;&amp;amp; & x;"),
            "<b> <i> '&amp; & x;"
        );
    }

    #[test]
    fn url_decode_undoes_encode() {
        assert_eq!(url_decode(&url_encode("/keys?x=1&y=é")), "/keys?x=1&y=é");
        assert_eq!(url_decode("%2Fkeys"), "/keys");
    }
}
