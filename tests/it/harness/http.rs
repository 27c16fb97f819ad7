//! Talking to the app through Rocket's local client: the one finished-response type every
//! test reads, and the requests a browser makes (GET a page, post its form with the page's
//! `csrf_token`).

use std::ops::Deref;

use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::{Client, LocalRequest, LocalResponse};
use serde_json::Value;

use super::{html, secrets};

/// A finished response: status, content type, every header and the body text.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: Status,
    pub content_type: Option<ContentType>,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    /// Reads a response to the end; fails the test if it holds a canary key
    /// ([`secrets::assert_no_key`]) anywhere but in an `api_key` field of a `no-store` page
    /// (a form shown again with the key it posted; [`secrets::without_key_fields`]).
    pub async fn from(response: LocalResponse<'_>) -> Self {
        let status = response.status();
        let content_type = response.content_type();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|h| (h.name().as_str().to_owned(), h.value().to_owned()))
            .collect();
        let body = response.into_string().await.unwrap_or_default();
        let no_store = headers
            .iter()
            .any(|(name, value)| name.eq_ignore_ascii_case("cache-control") && value == "no-store");
        if no_store {
            secrets::assert_no_key(&secrets::without_key_fields(&body));
        } else {
            secrets::assert_no_key(&body);
        }
        Self {
            status,
            content_type,
            headers,
            body,
        }
    }

    /// The first value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header, in order.
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
        html::visible_text(&self.body)
    }

    /// The body as JSON; fails unless the content type says JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        assert!(
            self.content_type.as_ref().is_some_and(|ct| ct.is_json()),
            "expected a JSON answer, got {:?}: {}",
            self.content_type,
            self.body
        );
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("answer is not JSON ({e}): {}", self.body))
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
            self.status.code < 500,
            "{what}: got {}: {}",
            self.status,
            self.body
        );
        self
    }
}

/// The security headers every response must carry.
#[track_caller]
pub fn assert_security_headers(answer: &Answer) {
    let csp = answer
        .header("Content-Security-Policy")
        .unwrap_or_else(|| panic!("no CSP on a {} answer", answer.status));
    assert!(csp.contains("script-src 'self'"), "CSP: {csp}");
    assert!(!csp.contains("unsafe-inline"), "CSP: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "CSP: {csp}");
    assert_eq!(
        answer.header("X-Content-Type-Options"),
        Some("nosniff"),
        "on a {} answer",
        answer.status
    );
    assert_eq!(
        answer.header("Referrer-Policy"),
        Some("same-origin"),
        "on a {} answer",
        answer.status
    );
}

// ---------------------------------------------------------------------------------------------
// Requests

pub async fn get(client: &Client, uri: &str) -> Answer {
    get_with(client, uri, &[]).await
}

/// A GET with extra headers (e.g. a `User-Agent`).
pub async fn get_with(client: &Client, uri: &str, headers: &[(&str, &str)]) -> Answer {
    let request = with_headers(client.get(uri.to_owned()), headers);
    Answer::from(request.dispatch().await).await
}

fn with_headers<'c>(mut request: LocalRequest<'c>, headers: &[(&str, &str)]) -> LocalRequest<'c> {
    for (name, value) in headers {
        request = request.header(Header::new(name.to_string(), value.to_string()));
    }
    request
}

/// A form POST exactly as given (no token added).
pub async fn post_form(client: &Client, uri: &str, fields: &[(&str, &str)]) -> Answer {
    post_form_with(client, uri, fields, &[]).await
}

pub async fn post_form_with(
    client: &Client,
    uri: &str,
    fields: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Answer {
    let request = client
        .post(uri.to_owned())
        .header(ContentType::Form)
        .body(form_encode(fields));
    Answer::from(with_headers(request, headers).dispatch().await).await
}

/// The `csrf_token` the page at `page` puts in its forms (signed out, this also sets the
/// `msb_csrf` cookie the tracked client then keeps). The page must answer 200.
pub async fn csrf_token(client: &Client, page: &str) -> String {
    let answer = get(client, page).await;
    assert_eq!(answer.status, Status::Ok, "GET {page}: {}", answer.body);
    html::extract_csrf(&answer.body)
        .unwrap_or_else(|| panic!("no csrf_token on {page}: {}", answer.body))
}

/// A form POST the way a browser makes it from `page`: with that page's `csrf_token`.
pub async fn submit_from(
    client: &Client,
    page: &str,
    uri: &str,
    fields: &[(&str, &str)],
) -> Answer {
    submit_from_with(client, page, uri, fields, &[]).await
}

pub async fn submit_from_with(
    client: &Client,
    page: &str,
    uri: &str,
    fields: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Answer {
    let token = csrf_token(client, page).await;
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    all.push(("csrf_token", &token));
    post_form_with(client, uri, &all, headers).await
}

/// A form POST with the current `csrf_token`, taken from `/login` (which every visitor can
/// open).
pub async fn submit(client: &Client, uri: &str, fields: &[(&str, &str)]) -> Answer {
    submit_with(client, uri, fields, &[]).await
}

pub async fn submit_with(
    client: &Client,
    uri: &str,
    fields: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Answer {
    submit_from_with(client, "/login", uri, fields, headers).await
}

/// What a browser shows after `answer`: the page its `303 See Other` points to.
pub async fn follow(client: &Client, answer: &Answer) -> Answer {
    answer.assert_status(Status::SeeOther);
    let location = answer.location().expect("a 303 names where to go");
    get(client, location).await
}

/// `POST /quick` from the home page, the way a browser does: load `/` first (which sets the
/// CSRF cookie in the tracked client) and send the form's `csrf_token` along.
pub async fn post_quick(client: &Client, fields: &[(&str, &str)]) -> Answer {
    submit_from(client, "/", "/quick", fields).await
}

// ---------------------------------------------------------------------------------------------
// The NDJSON stream

/// A `/query/stream` answer read to the end, with its NDJSON events.
pub struct Streamed {
    answer: Answer,
    /// Each non-empty line parsed as JSON (`Value::Null` for a line that is not JSON).
    pub events: Vec<Value>,
}

impl Streamed {
    /// Splits a finished answer into its events.
    pub fn from_answer(answer: Answer) -> Self {
        let events = answer
            .body
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| serde_json::from_str(line).unwrap_or(Value::Null))
            .collect();
        Self { answer, events }
    }

    /// The events of one `type`.
    pub fn of_type(&self, kind: &str) -> Vec<&Value> {
        self.events.iter().filter(|e| e["type"] == kind).collect()
    }

    /// The `index` of each `row` event, in arrival order.
    pub fn row_order(&self) -> Vec<u64> {
        self.of_type("row")
            .iter()
            .map(|e| e["index"].as_u64().expect("a row index"))
            .collect()
    }

    /// NDJSON, marked for proxies not to buffer.
    pub fn is_ndjson(&self) -> bool {
        self.content_type
            .as_ref()
            .is_some_and(|ct| ct.top() == "application" && ct.sub() == "x-ndjson")
            && self.header("X-Accel-Buffering") == Some("no")
    }
}

impl Deref for Streamed {
    type Target = Answer;

    fn deref(&self) -> &Answer {
        &self.answer
    }
}

// ---------------------------------------------------------------------------------------------
// Encodings

/// `application/x-www-form-urlencoded`.
pub fn form_encode(fields: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

/// Percent-encodes everything but the unreserved characters (RFC 3986).
pub fn url_encode(text: &str) -> String {
    const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(text, UNRESERVED).to_string()
}

/// Percent-decoding of a query value (for `Location: /login?next=%2Fkeys`); `+` is a space.
pub fn url_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod self_tests {
    use super::*;

    #[test]
    fn url_decode_undoes_encode() {
        assert_eq!(url_decode(&url_encode("/keys?x=1&y=é")), "/keys?x=1&y=é");
        assert_eq!(url_decode("%2Fkeys"), "/keys");
    }
}
