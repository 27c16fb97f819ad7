//! Single sign-on with OpenID Connect (issue 21 item 5), against a REAL OpenID provider: the npm
//! package `oidc-provider` (tests/oidc-provider/provider.mjs) run with node, started once per
//! test process on a free port, with one confidential client and made-up accounts (`<name>` has
//! a verified email `<name>@example.test`, `unverified-<name>` an unverified one). Its login and
//! consent pages (the development interactions) are driven with plain HTTP ([`Flow`]); the app
//! runs in Rocket's local client, its `public_url` a name nothing resolves (the provider's last
//! redirect is read, not followed, and handed to the app's callback).
//!
//! Where they run ([`SWITCH`]): with `MSB_OIDC_TESTS=1` they must, and FAIL when node or the
//! installed package is missing (`.ci/run` sets it after `npm ci`); with `0` they are skipped;
//! unset, they run where `node` and tests/oidc-provider/node_modules are present and are skipped
//! elsewhere. A skip prints one line saying how to run them. The provider-down test needs no
//! provider and always runs.
//!
//! - [`sign_in`]: the round trip makes the account (the first is the admin) and signs in; the
//!   second finds it; the account page shows the link; two-factor sign-in is still asked for.
//! - [`refusals`]: state and nonce mismatches, a replayed or unstarted return, the provider's
//!   error, an unverified email, a disabled user, closed and invite-only sign-up, linking by
//!   email on and off; none creates anything.
//! - [`operations`]: a provider that is down, the configuration refused at start, and the
//!   secret, codes and tokens kept out of logs (the real binary at debug level), pages and the
//!   database.

mod operations;
mod refusals;
mod sign_in;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use rocket::figment::Figment;
use rocket::http::Status;
use rocket::local::asynchronous::Client;

use crate::harness::TestApp;
use crate::harness::gate::Gate;
use crate::harness::http::{Answer, get};

const SWITCH: &str = "MSB_OIDC_TESTS";
/// The app's address as the provider knows it (nothing answers there).
pub const PUBLIC_URL: &str = "http://msb.test";
pub const CLIENT_ID: &str = "msb-test-client";
/// A canary: it must never appear in a log line, page or the database.
pub const CLIENT_SECRET: &str = "oidc-canary-secret-7f3a9c2e5b1d";

fn provider_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc-provider")
}

/// What is missing to run the provider here, if anything.
fn missing() -> Vec<String> {
    let mut missing = Vec::new();
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !node {
        missing.push("node".to_owned());
    }
    if !provider_dir()
        .join("node_modules/oidc-provider/package.json")
        .exists()
    {
        missing.push("tests/oidc-provider/node_modules (npm ci)".to_owned());
    }
    missing
}

/// Whether the tests against the real provider run here. Panics when they must and cannot.
fn provider_tests_run() -> bool {
    static SAID: std::sync::Once = std::sync::Once::new();
    Gate {
        switch: SWITCH,
        name: "OpenID provider tests",
        install: "`apt-get install -y nodejs npm` and `npm ci --prefix tests/oidc-provider`",
        run: "cargo test --test it oidc::",
        said: &SAID,
    }
    .runs(&missing())
}

/// The provider process, shared by every test of this process; it exits when its standard
/// input closes, that is when this process ends.
pub struct Provider {
    pub issuer: String,
    _child: Child,
}

/// The running provider, or `None` where these tests are skipped.
pub fn provider() -> Option<&'static Provider> {
    static PROVIDER: OnceLock<Option<Provider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| provider_tests_run().then(start_provider))
        .as_ref()
}

fn start_provider() -> Provider {
    let mut child = Command::new("node")
        .arg("provider.mjs")
        .current_dir(provider_dir())
        .env("MSB_OIDC_CLIENT_ID", CLIENT_ID)
        .env("MSB_OIDC_CLIENT_SECRET", CLIENT_SECRET)
        .env(
            "MSB_OIDC_REDIRECT_URI",
            format!("{PUBLIC_URL}/login/oidc/callback"),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start node tests/oidc-provider/provider.mjs");
    let stdout = child.stdout.take().expect("the provider's stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("the provider's first line");
    let said: serde_json::Value = serde_json::from_str(&first)
        .unwrap_or_else(|_| panic!("the provider did not start: {first:?}"));
    let issuer = said["issuer"].as_str().expect("an issuer").to_owned();
    Provider {
        issuer,
        _child: child,
    }
}

/// The app's configuration for single sign-on against `issuer`.
pub fn with_sso(config: Figment, issuer: &str) -> Figment {
    config
        .merge(("public_url", PUBLIC_URL))
        .merge(("oidc_issuer", issuer))
        .merge(("oidc_client_id", CLIENT_ID))
        .merge(("oidc_client_secret", CLIENT_SECRET))
        .merge(("oidc_button_label", "Test IdP"))
}

/// A site whose app signs in through the provider, tweaked further by `tweak`; `None` where
/// these tests are skipped.
pub async fn site(tweak: impl FnOnce(Figment) -> Figment) -> Option<(TestApp, &'static Provider)> {
    let provider = provider()?;
    let app = TestApp::configured(|config| tweak(with_sso(config, &provider.issuer))).await;
    Some((app, provider))
}

// ---------------------------------------------------------------------------------------------
// A browser at the provider

/// One browser's trip through the provider: its cookies there, the pages it was shown.
pub struct Flow {
    http: reqwest::Client,
    cookies: Vec<(String, String)>,
    /// Every page the provider showed, for the canary checks.
    pub seen: Vec<String>,
}

/// Where the provider sent the browser back: the app's callback, as a path with its query.
pub struct Returned {
    pub path: String,
}

impl Returned {
    /// The value of `name` in the query.
    pub fn param(&self, name: &str) -> Option<String> {
        let query = self.path.split_once('?')?.1;
        form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    /// The same return with `name` set to `value`.
    pub fn with_param(&self, name: &str, value: &str) -> String {
        let (path, query) = self.path.split_once('?').unwrap_or((&self.path, ""));
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (key, old) in form_urlencoded::parse(query.as_bytes()) {
            out.append_pair(&key, if key == name { value } else { &old });
        }
        format!("{path}?{}", out.finish())
    }
}

impl Default for Flow {
    fn default() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(20))
                .build()
                .expect("an HTTP client"),
            cookies: Vec::new(),
            seen: Vec::new(),
        }
    }
}

impl Flow {
    fn keep_cookies(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all("set-cookie") {
            let Ok(text) = value.to_str() else { continue };
            let pair = text.split(';').next().unwrap_or("");
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            self.cookies.retain(|(kept, _)| kept != name);
            if !value.is_empty() {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// A GET with this browser's cookies, keeping the ones it is given: the status, where a
    /// redirect points and the body.
    pub async fn fetch(&mut self, url: &str) -> (u16, Option<String>, String) {
        let response = self
            .http
            .get(url)
            .header("Cookie", self.cookie_header())
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        self.keep_cookies(&response);
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        (status, location, response.text().await.unwrap_or_default())
    }

    /// Signs in at the provider as `login` (any password), consents, and answers where the
    /// provider sends the browser back. `authorize` is the app's redirect to the provider.
    pub async fn sign_in_at_provider(&mut self, authorize: &str, login: &str) -> Returned {
        let base = reqwest::Url::parse(authorize).expect("an absolute authorization URL");
        let mut next = Request::Get(base.clone());
        for _ in 0..12 {
            let request = match &next {
                Request::Get(url) => self.http.get(url.clone()),
                Request::Post(url, fields) => {
                    let mut body = form_urlencoded::Serializer::new(String::new());
                    for (name, value) in fields {
                        body.append_pair(name, value);
                    }
                    self.http
                        .post(url.clone())
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .body(body.finish())
                }
            };
            let response = request
                .header("Cookie", self.cookie_header())
                .send()
                .await
                .expect("the provider answers");
            self.keep_cookies(&response);
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get("location")
                    .and_then(|l| l.to_str().ok())
                    .expect("a redirect names where")
                    .to_owned();
                if let Some(path) = location.strip_prefix(PUBLIC_URL) {
                    return Returned {
                        path: path.to_owned(),
                    };
                }
                next = Request::Get(base.join(&location).expect("a URL"));
                continue;
            }
            let body = response.text().await.unwrap_or_default();
            assert!(
                status.is_success(),
                "the provider answered {status}: {body}"
            );
            let form = Form::first_in(&body)
                .unwrap_or_else(|| panic!("no form on the provider's page: {body}"));
            let mut fields = form.hidden;
            if body.contains(r#"name="login""#) {
                fields.push(("login".into(), login.into()));
                fields.push(("password".into(), "any password".into()));
            }
            self.seen.push(body);
            next = Request::Post(base.join(&form.action).expect("a URL"), fields);
        }
        panic!("the provider did not send the browser back within 12 steps");
    }
}

enum Request {
    Get(reqwest::Url),
    Post(reqwest::Url, Vec<(String, String)>),
}

/// The first form of a page: where it posts and its hidden fields.
struct Form {
    action: String,
    hidden: Vec<(String, String)>,
}

impl Form {
    fn first_in(html: &str) -> Option<Self> {
        let start = html.find("<form")?;
        let end = start + html[start..].find("</form>")?;
        let form = &html[start..end];
        let action = attribute(form, "action")?;
        let hidden = form
            .split("<input")
            .skip(1)
            .filter(|tag| tag.contains(r#"type="hidden""#))
            .filter_map(|tag| Some((attribute(tag, "name")?, attribute(tag, "value")?)))
            .collect();
        Some(Self { action, hidden })
    }
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let marker = format!(r#"{name}=""#);
    let start = tag.find(&marker)? + marker.len();
    let end = start + tag[start..].find('"')?;
    Some(tag[start..end].replace("&amp;", "&"))
}

// ---------------------------------------------------------------------------------------------
// The app's side

/// `GET /login/oidc` (with `query`): the app's redirect to the provider.
pub async fn start(client: &Client, query: &str) -> String {
    let answer = get(client, &format!("/login/oidc{query}")).await;
    answer.assert_status(Status::SeeOther);
    answer.location().expect("a redirect").to_owned()
}

/// A whole single sign-on in `client` as `login`: answers the app's answer to the return.
pub async fn round_trip(client: &Client, login: &str) -> Answer {
    let authorize = start(client, "").await;
    let returned = Flow::default().sign_in_at_provider(&authorize, login).await;
    get(client, &returned.path).await
}

/// Switches `client` to English (the footer's language form).
pub async fn english(client: &Client) {
    crate::harness::http::submit(client, "/lang", &[("lang", "en")])
        .await
        .assert_status(Status::SeeOther);
}

/// The user id named `username`, if the account exists.
pub fn user_id(app: &TestApp, username: &str) -> Option<i64> {
    app.db()
        .query_row(
            "SELECT id FROM users WHERE username = ?1",
            [username],
            |row| row.get(0),
        )
        .ok()
}

pub fn users(app: &TestApp) -> i64 {
    app.db()
        .query_row("SELECT count(*) FROM users", [], |row| row.get(0))
        .expect("count users")
}

pub fn links(app: &TestApp) -> i64 {
    app.db()
        .query_row("SELECT count(*) FROM sso_identities", [], |row| row.get(0))
        .expect("count links")
}
