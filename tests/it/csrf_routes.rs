//! Every state-changing page route refuses cross-site requests and requests without the
//! session's CSRF token. The routes come from the app's own route table, so a new POST route
//! that this file does not know how to fill makes it fail instead of slipping through.

use futures::future::join_all;
use rocket::http::Method;
use rocket::local::asynchronous::Client;
use wiremock::ResponseTemplate;

use crate::harness::db::{count, user_id};
use crate::harness::html::{ids_in_actions, revocable_sessions};
use crate::harness::http::{
    assert_security_headers, csrf_token, get, post_form_with, submit, submit_with,
};
use crate::harness::two_factor as tf;
use crate::harness::upstream::{
    BALANCE_PATH, CHAT_PATH, MODEL_A, any_chat, balance_body, mount_balance_for_key, with_quota,
};
use crate::harness::users::{add_key, is_signed_in, keys, login_with, session_cookie, signed_up};
use crate::harness::{Answer, PASSWORD, TestApp};
use modelscope_balance::clock::Clock;

const KEY: &str = "ms-c5cf0000-1111-4222-8333-444455556666";
const KEY_2: &str = "ms-c5cf9999-8888-4777-8666-555544443333";
const KEY_3: &str = "ms-c5cf7777-aaaa-4bbb-8ccc-ddddeeeeffff";
const NEW_PASSWORD: &str = "a brand new password";
const FOREIGN: &str = "https://evil.example";

/// Which of the signed-in user's own things fills a route's `<id>`.
#[derive(Debug, Clone, Copy)]
enum Id {
    None,
    Key,
    OtherSession,
    Token,
    Preset,
    History,
    Monitor,
    /// `/monitors/<id>/rules/<rule_id>/…`.
    MonitorRule,
    Channel,
    /// Another account, for the admin's actions (the fixture's user is the first: the admin).
    OtherUser,
    /// `/reset/<code>`: a live password-reset link for the other account.
    ResetCode,
    /// An unused invitation.
    Invitation,
    /// No `<id>`: the route acts on two-factor sign-in turned on (the fixture has it pending;
    /// the control confirms it first).
    TwoFactorOn,
    /// The fixture's passkey.
    Passkey,
    /// No `<id>`: a passkey ceremony's JSON endpoint, its token in `X-CSRF-Token` (the control
    /// sends `{}`, which gets past the checks to a 4xx in words, or options).
    Json,
}

/// One state-changing page route: its path as Rocket lists it, what `<id>` is, and plausible
/// form fields (`{key}` stands for the saved key's id, `{channel}` for the channel's).
struct Case {
    path: &'static str,
    id: Id,
    /// Accepting it removes or replaces something the fixture set up (or signs out), so the
    /// control below gives it a fixture of its own.
    undoes_fixture: bool,
    fields: &'static [(&'static str, &'static str)],
}

/// Every state-changing page route, and how to fill it. Add a row when adding a route.
const TABLE: &[Case] = &[
    Case {
        path: "/quick",
        id: Id::None,
        undoes_fixture: false,
        fields: &[("key_id", "{key}"), ("models", MODEL_A)],
    },
    Case {
        path: "/quick/stream",
        id: Id::None,
        undoes_fixture: false,
        fields: &[("key_id", "{key}"), ("models", MODEL_A)],
    },
    Case {
        path: "/signup",
        id: Id::None,
        undoes_fixture: true,
        fields: &[
            ("username", "newcomer"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ],
    },
    Case {
        path: "/signup/keep",
        id: Id::None,
        undoes_fixture: false,
        fields: &[("api_key", "ms-12345678-1234-1234-1234-123456789abc")],
    },
    Case {
        path: "/login",
        id: Id::None,
        undoes_fixture: false,
        fields: &[("username", "alice"), ("password", PASSWORD)],
    },
    Case {
        path: "/logout",
        id: Id::None,
        undoes_fixture: true,
        fields: &[],
    },
    Case {
        path: "/account/password",
        id: Id::None,
        undoes_fixture: true,
        fields: &[
            ("current_password", PASSWORD),
            ("new_password", NEW_PASSWORD),
            ("new_password_confirm", NEW_PASSWORD),
        ],
    },
    Case {
        path: "/account/email",
        id: Id::None,
        undoes_fixture: false,
        fields: &[
            ("email", "fixture@example.test"),
            ("current_password", PASSWORD),
        ],
    },
    Case {
        path: "/account/delete",
        id: Id::None,
        undoes_fixture: true,
        fields: &[("password", PASSWORD)],
    },
    Case {
        path: "/account/tokens",
        id: Id::None,
        undoes_fixture: false,
        fields: &[("name", "another script")],
    },
    Case {
        path: "/account/sessions/<id>/revoke",
        id: Id::OtherSession,
        undoes_fixture: true,
        fields: &[],
    },
    Case {
        path: "/account/tokens/<id>/revoke",
        id: Id::Token,
        undoes_fixture: true,
        fields: &[],
    },
    Case {
        path: "/keys",
        id: Id::None,
        undoes_fixture: false,
        fields: &[("label", "second"), ("api_key", KEY_2)],
    },
    Case {
        path: "/keys/<id>",
        id: Id::Key,
        undoes_fixture: false,
        fields: &[("api_key", KEY_3)],
    },
    Case {
        path: "/keys/<id>/delete",
        id: Id::Key,
        undoes_fixture: true,
        fields: &[],
    },
    Case {
        path: "/keys/<id>/check",
        id: Id::Key,
        undoes_fixture: false,
        fields: &[],
    },
    Case {
        path: "/keys/<id>/refresh",
        id: Id::Key,
        undoes_fixture: false,
        fields: &[],
    },
    Case {
        path: "/prices",
        id: Id::None,
        undoes_fixture: false,
        fields: &[("model", MODEL_A), ("points", "1")],
    },
    Case {
        path: "/lang",
        id: Id::None,
        undoes_fixture: false,
        fields: &[("lang", "en"), ("next", "/")],
    },
    Case {
        path: "/presets",
        id: Id::None,
        undoes_fixture: false,
        fields: &[("name", "second preset"), ("models", MODEL_A)],
    },
    Case {
        path: "/presets/<id>",
        id: Id::Preset,
        undoes_fixture: false,
        fields: &[("name", "renamed preset"), ("models", MODEL_A)],
    },
    Case {
        path: "/presets/<id>/default",
        id: Id::Preset,
        undoes_fixture: false,
        fields: &[],
    },
    Case {
        path: "/presets/<id>/delete",
        id: Id::Preset,
        undoes_fixture: true,
        fields: &[],
    },
    Case {
        path: "/query",
        id: Id::None,
        undoes_fixture: false,
        fields: &[("key_id", "{key}"), ("models", MODEL_A)],
    },
    Case {
        path: "/query/stream",
        id: Id::None,
        undoes_fixture: false,
        fields: &[("key_id", "{key}"), ("models", MODEL_A)],
    },
    Case {
        path: "/history/<id>/delete",
        id: Id::History,
        undoes_fixture: true,
        fields: &[],
    },
    Case {
        path: "/monitors",
        id: Id::None,
        undoes_fixture: false,
        fields: &[
            ("key_id", "{key}"),
            ("check", "balance"),
            ("every_minutes", "5"),
        ],
    },
    Case {
        path: "/monitors/<id>/run",
        id: Id::Monitor,
        undoes_fixture: false,
        fields: &[],
    },
    Case {
        path: "/monitors/<id>/pause",
        id: Id::Monitor,
        undoes_fixture: false,
        fields: &[],
    },
    Case {
        path: "/monitors/<id>/resume",
        id: Id::Monitor,
        undoes_fixture: false,
        fields: &[],
    },
    Case {
        path: "/monitors/<id>/delete",
        id: Id::Monitor,
        undoes_fixture: true,
        fields: &[],
    },
    Case {
        path: "/monitors/<id>/rules",
        id: Id::Monitor,
        undoes_fixture: false,
        fields: &[("condition", "key_invalid"), ("channel_id", "{channel}")],
    },
    Case {
        path: "/monitors/<id>/rules/<rule_id>/delete",
        id: Id::MonitorRule,
        undoes_fixture: true,
        fields: &[],
    },
    Case {
        path: "/channels",
        id: Id::None,
        undoes_fixture: false,
        fields: &[
            ("kind", "webhook"),
            ("name", "second hook"),
            ("url", "http://127.0.0.1:9/x"),
        ],
    },
    Case {
        path: "/channels/<id>/test",
        id: Id::Channel,
        undoes_fixture: false,
        fields: &[],
    },
    Case {
        path: "/channels/<id>/delete",
        id: Id::Channel,
        undoes_fixture: true,
        fields: &[],
    },
];

/// The admin's actions and the reset link (see [`Id::OtherUser`]).
const ADMIN_TABLE: &[Case] = &[
    Case {
        path: "/account/sessions/others",
        id: Id::None,
        undoes_fixture: true,
        fields: &[],
    },
    Case {
        path: "/admin/users/<id>/disable",
        id: Id::OtherUser,
        undoes_fixture: false,
        fields: &[],
    },
    Case {
        path: "/admin/users/<id>/enable",
        id: Id::OtherUser,
        undoes_fixture: false,
        fields: &[],
    },
    Case {
        path: "/admin/users/<id>/sign-out",
        id: Id::OtherUser,
        undoes_fixture: false,
        fields: &[],
    },
    Case {
        path: "/admin/users/<id>/reset-link",
        id: Id::OtherUser,
        undoes_fixture: true,
        fields: &[],
    },
    Case {
        path: "/admin/users/<id>/delete",
        id: Id::OtherUser,
        undoes_fixture: true,
        fields: &[],
    },
    Case {
        path: "/admin/signup",
        id: Id::None,
        undoes_fixture: false,
        fields: &[("mode", "open")],
    },
    Case {
        path: "/admin/prices",
        id: Id::None,
        undoes_fixture: false,
        fields: &[("model", MODEL_A), ("points", "1")],
    },
    Case {
        path: "/admin/invitations",
        id: Id::None,
        undoes_fixture: false,
        fields: &[("days", "3")],
    },
    Case {
        path: "/admin/invitations/<id>/revoke",
        id: Id::Invitation,
        undoes_fixture: true,
        fields: &[],
    },
    Case {
        path: "/reset/<code>",
        id: Id::ResetCode,
        undoes_fixture: false,
        fields: &[
            ("password", NEW_PASSWORD),
            ("password_confirm", NEW_PASSWORD),
        ],
    },
];

/// Two-factor sign-in: `{totp}` is the code of the fixture's pending secret at the app's clock.
const TWO_FACTOR_TABLE: &[Case] = &[
    Case {
        path: "/account/two-factor/start",
        id: Id::None,
        undoes_fixture: false,
        fields: &[],
    },
    Case {
        path: "/account/two-factor/confirm",
        id: Id::None,
        undoes_fixture: true,
        fields: &[("code", "{totp}")],
    },
    Case {
        path: "/account/two-factor/cancel",
        id: Id::None,
        undoes_fixture: true,
        fields: &[],
    },
    Case {
        path: "/account/two-factor/off",
        id: Id::TwoFactorOn,
        undoes_fixture: true,
        fields: &[("current_password", PASSWORD), ("code", "{totp}")],
    },
    // Signed in already, with no half-signed-in state: sent back to `/login`.
    Case {
        path: "/login/two-factor",
        id: Id::None,
        undoes_fixture: false,
        fields: &[("code", "{totp}")],
    },
];

/// Passkeys (the JSON ceremonies) and new recovery codes.
const PASSKEY_TABLE: &[Case] = &[
    Case {
        path: "/account/two-factor/recovery-codes",
        id: Id::TwoFactorOn,
        undoes_fixture: true,
        fields: &[("current_password", PASSWORD), ("code", "{totp}")],
    },
    Case {
        path: "/account/passkeys/<id>/rename",
        id: Id::Passkey,
        undoes_fixture: false,
        fields: &[("name", "renamed")],
    },
    Case {
        path: "/account/passkeys/<id>/delete",
        id: Id::Passkey,
        undoes_fixture: true,
        fields: &[],
    },
    Case {
        path: "/account/passkeys/options",
        id: Id::Json,
        undoes_fixture: false,
        fields: &[],
    },
    Case {
        path: "/account/passkeys",
        id: Id::Json,
        undoes_fixture: false,
        fields: &[],
    },
    Case {
        path: "/login/passkey/options",
        id: Id::Json,
        undoes_fixture: false,
        fields: &[],
    },
    Case {
        path: "/login/passkey",
        id: Id::Json,
        undoes_fixture: false,
        fields: &[],
    },
    Case {
        path: "/login/two-factor/passkey/options",
        id: Id::Json,
        undoes_fixture: false,
        fields: &[],
    },
    Case {
        path: "/login/two-factor/passkey",
        id: Id::Json,
        undoes_fixture: false,
        fields: &[],
    },
];

/// Every row of the tables.
fn all_cases() -> impl Iterator<Item = &'static Case> {
    TABLE
        .iter()
        .chain(ADMIN_TABLE)
        .chain(TWO_FACTOR_TABLE)
        .chain(PASSKEY_TABLE)
}

/// A JSON POST as `assets/passkeys.js` makes it, with `token` (if any) in `X-CSRF-Token`.
async fn post_json_with(
    client: &Client,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> Answer {
    let mut request = client
        .post(path.to_owned())
        .header(rocket::http::ContentType::JSON)
        .header(rocket::http::Header::new(
            "Host",
            crate::harness::passkeys::HOST,
        ))
        .body("{}");
    if let Some(token) = token {
        request = request.header(rocket::http::Header::new("X-CSRF-Token", token.to_owned()));
    }
    for (name, value) in headers {
        request = request.header(rocket::http::Header::new(
            name.to_string(),
            value.to_string(),
        ));
    }
    Answer::from(request.dispatch().await).await
}

/// The app's state-changing page routes: every method but GET/HEAD/OPTIONS, minus the JSON API
/// (cookie-free and CORS-open by design) and the refusal target itself.
fn state_changing_routes(client: &Client) -> Vec<(Method, String)> {
    let mut routes: Vec<(Method, String)> = client
        .rocket()
        .routes()
        .filter(|r| !matches!(r.method, Method::Get | Method::Head | Method::Options))
        .map(|r| (r.method, r.uri.path().to_string()))
        .filter(|(_, path)| !path.starts_with("/api/") && path != "/__cross-site-refused")
        .collect();
    routes.sort_by(|a, b| a.1.cmp(&b.1));
    routes
}

/// A signed-in user with one of everything a route can act on, and a second browser signed in
/// as the same user (the session to revoke).
struct Fixture {
    app: TestApp,
    client: Client,
    other: Client,
    key: i64,
    other_session: i64,
    token: i64,
    preset: i64,
    history: i64,
    monitor: i64,
    rule: i64,
    channel: i64,
    other_user: i64,
    reset_code: String,
    invitation: i64,
    /// The `otpauth://` link of alice's pending two-factor secret.
    totp_uri: String,
}

impl Fixture {
    async fn new() -> Self {
        // The fixture's webhook is on loopback: refused when saved unless allowed.
        let app = TestApp::configured(|c| c.merge(("allow_private_webhooks", true))).await;
        any_chat()
            .respond_with(with_quota(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"id": "x", "choices": []})),
                ["2000", "1999", "500", "499"],
            ))
            .mount(&app.upstream)
            .await;
        mount_balance_for_key(&app.upstream, KEY, 200, balance_body()).await;
        let client = app.start().await;
        let other = app.start().await;
        signed_up(&client, "alice").await;
        login_with(
            &other,
            "alice",
            PASSWORD,
            &[("User-Agent", "other browser")],
        )
        .await
        .assert_redirect_to("/");

        let key = add_key(&client, "main", KEY).await;
        submit(&client, "/account/tokens", &[("name", "script")])
            .await
            .assert_status(rocket::http::Status::SeeOther);
        let account = get(&client, "/account").await;
        let other_session = single(revocable_sessions(&account.body), "other session");
        let token = single(
            ids_in_actions(&account.body, "/account/tokens/", "/revoke"),
            "token",
        );
        submit(
            &client,
            "/presets",
            &[("name", "first preset"), ("models", MODEL_A)],
        )
        .await
        .assert_redirect_to("/presets");
        let presets = get(&client, "/presets").await;
        let preset = single(
            ids_in_actions(&presets.body, "/presets/", "/delete"),
            "preset",
        );
        let run = submit(
            &client,
            "/query",
            &[("key_id", &key.to_string()), ("models", MODEL_A)],
        )
        .await;
        let history = run
            .location()
            .and_then(|l| l.strip_prefix("/history/"))
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("POST /query did not store a run: {run:?}"));
        submit(
            &client,
            "/channels",
            &[
                ("kind", "webhook"),
                ("name", "fixture hook"),
                ("url", "http://127.0.0.1:9/hook"),
            ],
        )
        .await
        .assert_redirect_to("/channels");
        let channels = get(&client, "/channels").await;
        let channel = single(
            ids_in_actions(&channels.body, "/channels/", "/delete"),
            "channel",
        );
        submit(
            &client,
            "/monitors",
            &[("key_id", &key.to_string()), ("every_minutes", "60")],
        )
        .await
        .assert_redirect_to("/monitors");
        let monitors = get(&client, "/monitors").await;
        let monitor = single(
            ids_in_actions(&monitors.body, "/monitors/", "/delete"),
            "monitor",
        );
        submit(
            &client,
            &format!("/monitors/{monitor}/rules"),
            &[
                ("condition", "points_below"),
                ("threshold", "5"),
                ("channel_id", &channel.to_string()),
            ],
        )
        .await
        .assert_redirect_to("/monitors");
        let rule: i64 = app
            .db()
            .query_row("SELECT id FROM alert_rules", [], |r| r.get(0))
            .expect("the fixture's rule");
        signed_up(&app.start().await, "bob").await;
        let other_user = user_id(&app.db(), "bob").expect("bob's row");
        // A second admin, so alice (the first) is not the last and may delete her account.
        let (granted, _, err) = app.cli(&["admin", "grant", "bob"]);
        assert!(granted.success(), "{err}");
        let made = submit(
            &client,
            &format!("/admin/users/{other_user}/reset-link"),
            &[],
        )
        .await;
        let shown = get(&client, made.location().expect("to the link")).await;
        let reset_code = shown
            .body
            .split("/reset/")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .expect("the reset link")
            .to_owned();
        submit(&client, "/admin/invitations", &[("days", "7")])
            .await
            .assert_status(rocket::http::Status::SeeOther);
        let invitation: i64 = app
            .db()
            .query_row("SELECT id FROM invitations", [], |r| r.get(0))
            .expect("the fixture's invitation");
        submit(&client, "/account/two-factor/start", &[])
            .await
            .assert_status(rocket::http::Status::SeeOther);
        let totp_uri = tf::shown_uri(&get(&client, tf::PAGE).await.body).expect("a pending secret");
        Self {
            app,
            client,
            other,
            key,
            other_session,
            token,
            preset,
            history,
            monitor,
            rule,
            channel,
            other_user,
            reset_code,
            invitation,
            totp_uri,
        }
    }

    /// Alice's passkey (for [`Id::Passkey`]), registered on first need: with it, her password
    /// alone no longer signs her in, which the `/login` rows before it do not expect.
    async fn passkey(&self) -> i64 {
        let existing = self
            .app
            .db()
            .query_row("SELECT id FROM passkeys", [], |r| r.get(0));
        if let Ok(id) = existing {
            return id;
        }
        let token = csrf_token(&self.client, "/account").await;
        let mut soft_key = crate::harness::passkeys::SoftKey::new("csrf fixture");
        crate::harness::passkeys::register(&self.client, &token, &mut soft_key, "fixture")
            .await
            .assert_status(rocket::http::Status::Ok);
        self.app
            .db()
            .query_row("SELECT id FROM passkeys", [], |r| r.get(0))
            .expect("the fixture's passkey")
    }

    /// Turns the pending two-factor secret on (for [`Id::TwoFactorOn`]), then moves to the next
    /// time step so `{totp}` is a code not used yet.
    async fn turn_two_factor_on(&self) {
        let code = tf::code_at(&self.totp_uri, self.app.clock.now());
        submit(
            &self.client,
            "/account/two-factor/confirm",
            &[("code", &code)],
        )
        .await
        .assert_status(rocket::http::Status::Ok);
        self.app.clock.advance(std::time::Duration::from_secs(30));
    }

    async fn path_for(&self, case: &Case) -> String {
        let id = match case.id {
            Id::None => return case.path.to_owned(),
            Id::Key => self.key,
            Id::OtherSession => self.other_session,
            Id::Token => self.token,
            Id::Preset => self.preset,
            Id::History => self.history,
            Id::Monitor => self.monitor,
            Id::MonitorRule => {
                return case
                    .path
                    .replace("<id>", &self.monitor.to_string())
                    .replace("<rule_id>", &self.rule.to_string());
            }
            Id::Channel => self.channel,
            Id::OtherUser => self.other_user,
            Id::Invitation => self.invitation,
            Id::ResetCode => return case.path.replace("<code>", &self.reset_code),
            Id::TwoFactorOn | Id::Json => return case.path.to_owned(),
            Id::Passkey => self.passkey().await,
        };
        case.path.replace("<id>", &id.to_string())
    }

    fn fields_for(&self, case: &Case) -> Vec<(String, String)> {
        case.fields
            .iter()
            .map(|(k, v)| {
                let v = v
                    .replace("{key}", &self.key.to_string())
                    .replace("{channel}", &self.channel.to_string())
                    .replace("{totp}", &tf::code_at(&self.totp_uri, self.app.clock.now()));
                (k.to_string(), v)
            })
            .collect()
    }

    /// Everything a request could change: every table (minus the last-seen and last-used
    /// timestamps) and the number of calls that used a key upstream.
    async fn state(&self) -> (Vec<String>, usize) {
        let db = self.app.db();
        let tables: Vec<String> = db
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut dump = Vec::new();
        for table in tables {
            let mut statement = db.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
            let columns: Vec<String> = statement
                .column_names()
                .into_iter()
                .map(str::to_owned)
                .collect();
            let mut rows = statement.query([]).unwrap();
            while let Some(row) = rows.next().unwrap() {
                let mut line = format!("{table}:");
                for (i, column) in columns.iter().enumerate() {
                    if matches!(column.as_str(), "last_seen_at" | "last_used_at") {
                        continue;
                    }
                    let value: rusqlite::types::Value = row.get(i).unwrap();
                    line.push_str(&format!(" {column}={value:?}"));
                }
                dump.push(line);
            }
        }
        dump.sort();
        let calls = self
            .app
            .upstream
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| matches!(r.url.path(), CHAT_PATH | BALANCE_PATH))
            .count();
        (dump, calls)
    }
}

#[track_caller]
fn single(ids: Vec<i64>, what: &str) -> i64 {
    assert_eq!(ids.len(), 1, "expected one {what}: {ids:?}");
    ids[0]
}

/// How a refused request differs from a good one.
#[derive(Debug, Clone, Copy)]
enum Attack {
    ForeignOrigin,
    NullOrigin,
    CrossSiteFetch,
    NoToken,
    WrongToken,
}

/// Sends `case` with `attack` and checks it is refused with 403 and changes nothing.
async fn assert_refused(fx: &Fixture, case: &Case, attack: Attack) {
    let token = csrf_token(&fx.client, "/login").await;
    let path = fx.path_for(case).await;
    let mut fields = fx.fields_for(case);
    let mut headers: Vec<(&str, &str)> = Vec::new();
    match attack {
        Attack::ForeignOrigin => headers.push(("Origin", FOREIGN)),
        Attack::NullOrigin => headers.push(("Origin", "null")),
        Attack::CrossSiteFetch => headers.push(("Sec-Fetch-Site", "cross-site")),
        Attack::NoToken | Attack::WrongToken => {}
    }
    match attack {
        Attack::NoToken => {}
        // Right length and alphabet, wrong value.
        Attack::WrongToken => fields.push(("csrf_token".into(), "0".repeat(token.len()))),
        _ => fields.push(("csrf_token".into(), token.clone())),
    }
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let cookie_before = session_cookie(&fx.client);
    let before = fx.state().await;

    let answer = if matches!(case.id, Id::Json) {
        // The token goes in the header; a session's page token (signed in) is what it needs.
        let session_token = csrf_token(&fx.client, "/account").await;
        let wrong = "0".repeat(session_token.len());
        let sent = match attack {
            Attack::NoToken => None,
            Attack::WrongToken => Some(wrong.as_str()),
            _ => Some(session_token.as_str()),
        };
        post_json_with(&fx.client, &path, sent, &headers).await
    } else {
        post_form_with(&fx.client, &path, &fields, &headers).await
    };

    assert_eq!(
        answer.status,
        rocket::http::Status::Forbidden,
        "{attack:?} on POST {path} was not refused: {}",
        answer.body
    );
    assert_security_headers(&answer);
    let after = fx.state().await;
    assert_eq!(
        before.0, after.0,
        "{attack:?} on POST {path} changed the database"
    );
    assert_eq!(
        before.1, after.1,
        "{attack:?} on POST {path} used a key upstream"
    );
    assert_eq!(
        session_cookie(&fx.client),
        cookie_before,
        "{attack:?} on POST {path} changed the session cookie"
    );
}

async fn refused_everywhere(attack: Attack) {
    let fx = Fixture::new().await;
    for case in all_cases() {
        assert_refused(&fx, case, attack).await;
    }
    assert!(
        is_signed_in(&fx.client).await,
        "signed out by a refused request"
    );
    assert!(is_signed_in(&fx.other).await, "the other session ended");
    assert_eq!(keys(&fx.client).await.len(), 1);
}

#[tokio::test]
async fn every_state_changing_page_route_is_in_the_table() {
    let app = TestApp::new().await;
    let client = app.start().await;

    let listed = state_changing_routes(&client);

    for (method, path) in &listed {
        assert_eq!(
            *method,
            Method::Post,
            "{method} {path}: only POST is expected"
        );
        assert!(
            all_cases().any(|case| case.path == path),
            "{method} {path} is a state-changing route this test does not know: add it to \
             TABLE with plausible fields so its CSRF and cross-site refusals are tested"
        );
    }
    for case in all_cases() {
        assert!(
            listed.iter().any(|(_, path)| path == case.path),
            "{} is in TABLE but not a route any more: remove it",
            case.path
        );
    }
    assert!(listed.len() >= 15, "suspiciously few routes: {listed:?}");
}

#[tokio::test]
async fn a_foreign_origin_with_a_valid_token_is_refused_on_every_route() {
    refused_everywhere(Attack::ForeignOrigin).await;
}

#[tokio::test]
async fn a_null_origin_is_refused_on_every_route() {
    refused_everywhere(Attack::NullOrigin).await;
}

#[tokio::test]
async fn sec_fetch_site_cross_site_is_refused_on_every_route() {
    refused_everywhere(Attack::CrossSiteFetch).await;
}

#[tokio::test]
async fn a_missing_csrf_token_is_refused_on_every_route() {
    refused_everywhere(Attack::NoToken).await;
}

#[tokio::test]
async fn a_wrong_csrf_token_is_refused_on_every_route() {
    refused_everywhere(Attack::WrongToken).await;
}

/// The control: with a valid token and no cross-site signal, every row of the table gets past
/// the checks (so the refusals above are the checks at work, not bad fields).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_requests_with_a_valid_token_are_accepted() {
    async fn accepted(fx: &Fixture, case: &Case) -> (String, Answer) {
        if matches!(case.id, Id::TwoFactorOn) {
            fx.turn_two_factor_on().await;
        }
        let path = fx.path_for(case).await;
        if matches!(case.id, Id::Json) {
            let token = csrf_token(&fx.client, "/account").await;
            let mut answer = post_json_with(&fx.client, &path, Some(&token), &[]).await;
            // Past the checks: options, or a 4xx in words about the empty answer.
            assert!(
                answer.status != rocket::http::Status::Forbidden
                    && answer.status.class() != rocket::http::StatusClass::ServerError
                    && answer.json().is_object(),
                "POST {path} with a valid token answered {}: {}",
                answer.status,
                answer.body
            );
            answer.status = rocket::http::Status::Ok;
            return (path, answer);
        }
        let fields = fx.fields_for(case);
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let answer = submit(&fx.client, &path, &fields).await;
        (path, answer)
    }
    // The harmless ones in turn on one fixture; each one that undoes the fixture on its own,
    // each in a task of its own as a server runs requests (polled together in one task, the
    // local clients could starve each other of tokio's cooperative budget and spin).
    let own: Vec<_> = all_cases()
        .filter(|case| case.undoes_fixture)
        .map(|case| tokio::spawn(async move { accepted(&Fixture::new().await, case).await }))
        .collect();
    let fx = Fixture::new().await;
    let mut outcomes = Vec::new();
    for case in all_cases().filter(|case| !case.undoes_fixture) {
        outcomes.push(accepted(&fx, case).await);
    }
    for task in join_all(own).await {
        outcomes.push(task.expect("a case's task panicked"));
    }
    for (path, answer) in outcomes {
        assert!(
            answer.status.class().is_success() || answer.status.class().is_redirection(),
            "POST {path} with a valid token answered {}: {}",
            answer.status,
            answer.body
        );
        // A redirect to the sign-in page would mean the fixture was not signed in.
        assert!(
            !answer.location().is_some_and(|l| l.starts_with("/login?")),
            "POST {path}: sent to sign in"
        );
    }
}

#[tokio::test]
async fn a_same_origin_post_is_accepted() {
    let app = TestApp::new().await;
    let client = app.start().await;
    let same = [("Host", "msb.example"), ("Origin", "https://msb.example")];
    let token = csrf_token(&client, "/login").await;
    let fields = [
        ("username", "alice"),
        ("password", PASSWORD),
        ("password_confirm", PASSWORD),
        ("csrf_token", token.as_str()),
    ];
    post_form_with(&client, "/signup", &fields, &same)
        .await
        .assert_redirect_to("/");
    submit_with(
        &client,
        "/keys",
        &[("label", "main"), ("api_key", KEY)],
        &[("Sec-Fetch-Site", "same-origin")],
    )
    .await
    .assert_redirect_to("/keys");
}

#[tokio::test]
async fn signed_out_login_and_signup_from_a_foreign_origin_are_refused() {
    let app = TestApp::new().await;
    let client = app.start().await;
    signed_up(&app.start().await, "alice").await;
    let token = csrf_token(&client, "/login").await;
    let cross_site: [&[(&str, &str)]; 3] = [
        &[("Origin", FOREIGN)],
        &[("Origin", "null")],
        &[("Sec-Fetch-Site", "cross-site")],
    ];

    for headers in cross_site {
        let login = post_form_with(
            &client,
            "/login",
            &[
                ("username", "alice"),
                ("password", PASSWORD),
                ("csrf_token", &token),
            ],
            headers,
        )
        .await;
        login.assert_status(rocket::http::Status::Forbidden);
        let signup = post_form_with(
            &client,
            "/signup",
            &[
                ("username", "newcomer"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
                ("csrf_token", &token),
            ],
            headers,
        )
        .await;
        signup.assert_status(rocket::http::Status::Forbidden);
        assert!(session_cookie(&client).is_none(), "{headers:?} signed in");
    }
    let db = app.db();
    assert_eq!(user_id(&db, "newcomer"), None);
    assert_eq!(count(&db, "SELECT count(*) FROM sessions WHERE ?1", 1), 1);
    assert_eq!(
        count(&db, "SELECT count(*) FROM login_failures WHERE ?1", 1),
        0
    );
}
