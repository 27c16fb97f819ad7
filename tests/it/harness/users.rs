//! Accounts: signing up, in and out through the pages, and [`User`], a signed-in browser with
//! the session's CSRF token at hand.

use std::path::PathBuf;

use rocket::http::{ContentType, Status};
use rocket::local::asynchronous::Client;

use super::PASSWORD;
use super::db;
use super::html::{self, KeyRow};
use super::http::{self, Answer, Streamed};

pub const SESSION_COOKIE: &str = "msb_session";

pub async fn signup(client: &Client, name: &str, password: &str) -> Answer {
    http::submit(
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

/// Signs up with [`PASSWORD`] and checks it worked (the client is then signed in).
pub async fn signed_up(client: &Client, name: &str) {
    signup(client, name, PASSWORD).await.assert_redirect_to("/");
}

pub async fn login(client: &Client, name: &str, password: &str) -> Answer {
    login_with(client, name, password, &[]).await
}

pub async fn login_with(
    client: &Client,
    name: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> Answer {
    http::submit_with(
        client,
        "/login",
        &[("username", name), ("password", password)],
        headers,
    )
    .await
}

pub async fn logout(client: &Client) -> Answer {
    http::submit(client, "/logout", &[]).await
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
    let page = http::get(client, "/account").await;
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

/// The rows of the signed-in user's keys table.
pub async fn keys(client: &Client) -> Vec<KeyRow> {
    let page = http::get(client, "/keys").await;
    page.assert_status(Status::Ok);
    html::key_rows(&page.body)
}

/// Saves a key through the page and returns its id (as the keys table lists it).
pub async fn add_key(client: &Client, label: &str, key: &str) -> i64 {
    http::submit(client, "/keys", &[("label", label), ("api_key", key)])
        .await
        .assert_redirect_to("/keys");
    keys(client)
        .await
        .into_iter()
        .find(|row| row.label == label)
        .unwrap_or_else(|| panic!("{label} is not listed after saving"))
        .id
}

// ---------------------------------------------------------------------------------------------
// A signed-in user

/// A browser (its own app instance and cookie jar) signed in to an account of its own.
pub struct User {
    pub client: Client,
    pub id: i64,
    pub name: String,
    /// The session's CSRF token, as the pages put it in every form.
    pub csrf: String,
    db_path: PathBuf,
}

impl User {
    /// Signs `client` up as `name` with [`PASSWORD`]; `db_path` is the app's database.
    pub async fn sign_up(client: Client, name: &str, db_path: PathBuf) -> Self {
        let answer = signup(&client, name, PASSWORD).await;
        assert_eq!(answer.status, Status::SeeOther, "sign-up: {}", answer.body);
        let csrf = http::csrf_token(&client, "/account").await;
        let id = db::user_id(&db::open(&db_path), name).expect("the new user's row");
        Self {
            client,
            id,
            name: name.to_owned(),
            csrf,
            db_path,
        }
    }

    /// Signs `client` in as `name`, an account made before (e.g. on another instance).
    pub async fn sign_in(client: Client, name: &str, db_path: PathBuf) -> Self {
        let answer = login(&client, name, PASSWORD).await;
        assert_eq!(answer.status, Status::SeeOther, "sign-in: {}", answer.body);
        let csrf = http::csrf_token(&client, "/account").await;
        let id = db::user_id(&db::open(&db_path), name).expect("the user's row");
        Self {
            client,
            id,
            name: name.to_owned(),
            csrf,
            db_path,
        }
    }

    pub async fn get(&self, uri: &str) -> Answer {
        http::get(&self.client, uri).await
    }

    /// A form post the way the app's own pages make it: with the session's `csrf_token`.
    pub async fn submit(&self, uri: &str, fields: &[(&str, &str)]) -> Answer {
        let mut all = fields.to_vec();
        all.push(("csrf_token", &self.csrf));
        http::post_form(&self.client, uri, &all).await
    }

    /// A form post exactly as given (no token added).
    pub async fn post_form(&self, uri: &str, fields: &[(&str, &str)]) -> Answer {
        http::post_form(&self.client, uri, fields).await
    }

    /// Saves a key on `/keys` and returns its id.
    pub async fn add_key(&self, label: &str, key: &str) -> i64 {
        let answer = self
            .submit("/keys", &[("label", label), ("api_key", key)])
            .await;
        assert_eq!(
            answer.status,
            Status::SeeOther,
            "saving a key: {}",
            answer.body
        );
        self.saved_key_id(label)
    }

    /// Makes a preset on `/presets` and returns its id.
    pub async fn add_preset(&self, name: &str, models: &[&str]) -> i64 {
        let models = models.join("\n");
        let answer = self
            .submit("/presets", &[("name", name), ("models", &models)])
            .await;
        assert_eq!(
            answer.status,
            Status::SeeOther,
            "saving a preset: {}",
            answer.body
        );
        self.preset_id(name)
    }

    /// Creates a personal access token on `/account` and returns its plaintext (shown once).
    pub async fn create_token(&self, name: &str) -> String {
        let answer = self.submit("/account/tokens", &[("name", name)]).await;
        let answer = http::follow(&self.client, &answer).await;
        assert_eq!(
            answer.status,
            Status::Ok,
            "creating a token: {}",
            answer.body
        );
        html::shown_token(&answer.body).unwrap_or_else(|| panic!("no token shown: {}", answer.body))
    }

    /// The id of the user's saved key labelled `label`.
    pub fn saved_key_id(&self, label: &str) -> i64 {
        self.owned_id(
            "SELECT id FROM api_keys WHERE user_id = ?1 AND label = ?2",
            label,
        )
    }

    /// The id of the user's preset named `name`.
    pub fn preset_id(&self, name: &str) -> i64 {
        self.owned_id(
            "SELECT id FROM presets WHERE user_id = ?1 AND name = ?2",
            name,
        )
    }

    /// The id of the user's token named `name`.
    pub fn token_id(&self, name: &str) -> i64 {
        self.owned_id(
            "SELECT id FROM access_tokens WHERE user_id = ?1 AND name = ?2",
            name,
        )
    }

    /// `POST /query` with the session's CSRF token.
    pub async fn run_query(&self, fields: &[(&str, &str)]) -> Answer {
        self.submit("/query", fields).await
    }

    /// `POST /query` that must succeed: the stored run's id from the 303.
    pub async fn run_query_ok(&self, fields: &[(&str, &str)]) -> i64 {
        let answer = self.run_query(fields).await;
        history_id_of_redirect(&answer)
    }

    /// `POST /query/stream` with the session's CSRF token, read to the end.
    pub async fn stream(&self, fields: &[(&str, &str)]) -> Streamed {
        let mut all = fields.to_vec();
        all.push(("csrf_token", &self.csrf));
        self.stream_raw(&all).await
    }

    /// `POST /query/stream` exactly as given, read to the end.
    pub async fn stream_raw(&self, fields: &[(&str, &str)]) -> Streamed {
        let response = self
            .client
            .post("/query/stream")
            .header(ContentType::Form)
            .body(http::form_encode(fields))
            .dispatch()
            .await;
        Streamed::from_answer(Answer::from(response).await)
    }

    fn owned_id(&self, sql: &str, name: &str) -> i64 {
        db::open(&self.db_path)
            .query_row(sql, rusqlite::params![self.id, name], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{name:?} is not stored for user {}: {e}", self.name))
    }
}

/// The stored run's id from a `303 See Other` to `/history/<id>`.
#[track_caller]
pub fn history_id_of_redirect(answer: &Answer) -> i64 {
    assert_eq!(
        answer.status,
        Status::SeeOther,
        "expected a redirect to the stored run: {}",
        answer.body
    );
    let location = answer.location().expect("a Location header");
    location
        .strip_prefix("/history/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not a stored run's address: {location}"))
}

/// `msb_` followed by 64 lowercase hex characters.
pub fn is_token_shape(token: &str) -> bool {
    token.strip_prefix("msb_").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}
