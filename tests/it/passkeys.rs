//! Passkeys (issue 21 item 4): registered on `/account/passkeys`, used without a password or
//! as the second factor after it, through the JSON endpoints `assets/passkeys.js` calls. A
//! software authenticator (`harness::passkeys::SoftKey`) signs what the app verifies; bad
//! answers (malformed, another challenge, an unknown credential, a replay, a counter going
//! back, another origin) are refused in words, and sign-ins are throttled.

use std::time::Duration;

use rocket::http::Status;
use serde_json::json;

use crate::harness::html::visible_text;
use crate::harness::http::{self, get};
use crate::harness::passkeys::{self as pk, SoftKey, post_json};
use crate::harness::two_factor::{SECOND_STEP, password_step};
use crate::harness::users::{is_signed_in, login, session_cookie};
use crate::harness::{PASSWORD, TestApp, User};

/// `user` with one passkey called `name`.
async fn with_passkey(user: &User, seed: &str, name: &str) -> SoftKey {
    let mut key = SoftKey::new(seed);
    let answer = pk::register(&user.client, &user.csrf, &mut key, name).await;
    answer.assert_status(Status::Ok);
    assert_eq!(answer.json()["redirect"], pk::PAGE, "{}", answer.body);
    key
}

fn error_of(answer: &http::Answer) -> String {
    answer.json()["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_registered_passkey_signs_in_without_a_password() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let empty = alice.get(pk::PAGE).await;
    empty.assert_status(Status::Ok);
    assert!(visible_text(&empty.body).contains("还没有通行密钥"));
    let mut key = with_passkey(&alice, "alice-laptop", "Work laptop").await;

    let page = alice.get(pk::PAGE).await;
    let text = visible_text(&page.body);
    assert!(
        page.body.contains(r#"value="Work laptop""#),
        "{}",
        page.body
    );
    assert!(text.contains("从未"), "never used yet: {text}");
    assert!(visible_text(&alice.get("/account").await.body).contains("通行密钥"));

    let laptop = app.start().await;
    let signed_in = pk::sign_in(&laptop, &mut key).await;
    signed_in.assert_status(Status::Ok);
    assert_eq!(signed_in.json()["redirect"], "/");
    assert!(session_cookie(&laptop).is_some());
    assert!(is_signed_in(&laptop).await);
    let used = alice.get(pk::PAGE).await;
    assert!(
        !visible_text(&used.body).contains("从未"),
        "last used is shown"
    );
    // The counter the authenticator sent is stored: the same counter again is refused.
    let again = app.start().await;
    let csrf = http::csrf_token(&again, "/login").await;
    let options = pk::options(&again, "/login/passkey/options", &csrf).await;
    let replayed = key.assert_with_counter(&options, key.counter);
    let body = json!({ "credential": replayed }).to_string();
    let refused = post_json(&again, "/login/passkey", &csrf, &body).await;
    refused.assert_status(Status::Unauthorized);
    assert!(error_of(&refused).contains("被拒绝"), "{}", refused.body);
    assert!(!is_signed_in(&again).await);
}

#[tokio::test]
async fn an_account_with_only_passkeys_is_asked_for_one_after_the_password() {
    let app = TestApp::new().await;
    let bob = app.user("bob").await;
    let mut key = with_passkey(&bob, "bob-phone", "Phone").await;

    let browser = app.start().await;
    password_step(&browser, "bob").await;
    assert!(session_cookie(&browser).is_none(), "no session yet");
    let asked = get(&browser, SECOND_STEP).await;
    asked.assert_status(Status::Ok);
    assert!(asked.body.contains("/login/two-factor/passkey/options"));
    assert!(
        !asked.body.contains(r#"name="code""#),
        "no code form without TOTP"
    );
    // A code is no second factor for this account.
    http::submit(&browser, SECOND_STEP, &[("code", "123456")])
        .await
        .assert_status(Status::Conflict);
    // Another account's passkey is refused.
    let carol = app.user("carol").await;
    let mut other = with_passkey(&carol, "carol-key", "Key").await;
    other.user_handle = key.user_handle.clone();
    let wrong = pk::second_factor(&browser, &mut other).await;
    wrong.assert_client_error();
    assert!(!is_signed_in(&browser).await);

    let done = pk::second_factor(&browser, &mut key).await;
    done.assert_status(Status::Ok);
    assert_eq!(done.json()["redirect"], "/");
    assert!(is_signed_in(&browser).await);
    assert!(browser.cookies().get("msb_2fa").is_none());
}

#[tokio::test]
async fn the_second_factor_needs_the_half_signed_in_state() {
    let app = TestApp::new().await;
    let dora = app.user("dora").await;
    let mut key = with_passkey(&dora, "dora", "Key").await;
    let stranger = app.start().await;
    let csrf = http::csrf_token(&stranger, "/login").await;
    let refused = post_json(&stranger, "/login/two-factor/passkey/options", &csrf, "{}").await;
    refused.assert_status(Status::Unauthorized);
    assert_eq!(refused.json()["redirect"], "/login");
    // Options begun for a password-less sign-in cannot finish a second factor.
    password_step(&stranger, "dora").await;
    let options = pk::options(&stranger, "/login/passkey/options", &csrf).await;
    let body = json!({ "credential": key.assert(&options) }).to_string();
    let crossed = post_json(&stranger, "/login/two-factor/passkey", &csrf, &body).await;
    crossed.assert_status(Status::BadRequest);
    assert!(error_of(&crossed).contains("未知"), "{}", crossed.body);
    // Past five minutes the state is gone.
    app.clock.advance(Duration::from_secs(5 * 60 + 1));
    let late = pk::second_factor(&stranger, &mut key).await;
    late.assert_client_error();
}

#[tokio::test]
async fn bad_answers_are_refused_in_words() {
    let app = TestApp::new().await;
    let erin = app.user("erin").await;
    let csrf = &erin.csrf;
    let client = &erin.client;
    for (body, status) in [
        ("not json", Status::BadRequest),
        ("{}", Status::BadRequest),
        (r#"{"credential": 3}"#, Status::BadRequest),
        (r#"{"credential": {"id": "x"}}"#, Status::BadRequest),
    ] {
        let answer = post_json(client, "/account/passkeys", csrf, body).await;
        answer.assert_status(status);
        assert!(!error_of(&answer).is_empty(), "{body}: {}", answer.body);
    }
    // An answer to a challenge this app never sent.
    let mut key = SoftKey::new("erin");
    let mut options = pk::options(client, "/account/passkeys/options", csrf).await;
    options["challenge"] = json!("AAAAAAAAAAAAAAAAAAAAAA");
    let body = json!({ "credential": key.register(&options), "name": "x" }).to_string();
    let unknown = post_json(client, "/account/passkeys", csrf, &body).await;
    unknown.assert_status(Status::BadRequest);
    assert!(error_of(&unknown).contains("未知"), "{}", unknown.body);
    // Another origin (a phishing site) is refused, and uses the ceremony up.
    let options = pk::options(client, "/account/passkeys/options", csrf).await;
    key.origin = "http://evil.localhost:8000".to_owned();
    let body = json!({ "credential": key.register(&options), "name": "x" }).to_string();
    post_json(client, "/account/passkeys", csrf, &body)
        .await
        .assert_status(Status::Unauthorized);
    key.origin = pk::ORIGIN.to_owned();
    let body = json!({ "credential": key.register(&options), "name": "x" }).to_string();
    post_json(client, "/account/passkeys", csrf, &body)
        .await
        .assert_status(Status::BadRequest);
    // A bad name, in words, in English too.
    let options = pk::options(client, "/account/passkeys/options", csrf).await;
    let body = json!({ "credential": key.register(&options), "name": "  " }).to_string();
    let unnamed = post_json(client, "/account/passkeys", csrf, &body).await;
    unnamed.assert_status(Status::UnprocessableEntity);
    // Registered once; the same credential again is refused.
    let fine = pk::register(client, csrf, &mut key, "Desk").await;
    fine.assert_status(Status::Ok);
    let twice = pk::register(client, csrf, &mut key, "Desk again").await;
    twice.assert_status(Status::Conflict);
    // An unknown credential signing in; a replayed answer.
    let browser = app.start().await;
    let mut stranger = SoftKey::new("nobody");
    stranger.user_handle = vec![7; 64];
    let unknown = pk::sign_in(&browser, &mut stranger).await;
    unknown.assert_status(Status::Unauthorized);
    assert!(
        error_of(&unknown).contains("未在本站注册"),
        "{}",
        unknown.body
    );
    let login_csrf = http::csrf_token(&browser, "/login").await;
    let options = pk::options(&browser, "/login/passkey/options", &login_csrf).await;
    let body = json!({ "credential": key.assert(&options) }).to_string();
    post_json(&browser, "/login/passkey", &login_csrf, &body)
        .await
        .assert_status(Status::Ok);
    // The same answer again (now with the new session's token): its challenge is used up.
    let session_csrf = http::csrf_token(&browser, "/account").await;
    let replay = post_json(&browser, "/login/passkey", &session_csrf, &body).await;
    replay.assert_status(Status::BadRequest);
    let english = app.start().await;
    let en_csrf = http::csrf_token(&english, "/login").await;
    let answer = english
        .post("/login/passkey")
        .header(rocket::http::ContentType::JSON)
        .header(rocket::http::Header::new("Host", pk::HOST))
        .header(rocket::http::Header::new("X-CSRF-Token", en_csrf))
        .header(rocket::http::Header::new("Accept-Language", "en"))
        .body("{")
        .dispatch()
        .await;
    let answer = http::Answer::from(answer).await;
    answer.assert_status(Status::BadRequest);
    assert!(
        error_of(&answer).contains("could not be read"),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn the_json_endpoints_need_the_csrf_token_and_a_session() {
    let app = TestApp::new().await;
    let fay = app.user("fay").await;
    for uri in ["/account/passkeys/options", "/account/passkeys"] {
        post_json(&fay.client, uri, "", "{}")
            .await
            .assert_status(Status::Forbidden);
        post_json(&fay.client, uri, "wrong-token", "{}")
            .await
            .assert_status(Status::Forbidden);
    }
    for uri in ["/login/passkey/options", "/login/passkey"] {
        let stranger = app.start().await;
        http::csrf_token(&stranger, "/login").await;
        post_json(&stranger, uri, "", "{}")
            .await
            .assert_status(Status::Forbidden);
    }
    // Signed out, with a right (anonymous) token: nothing there.
    let visitor = app.start().await;
    let csrf = http::csrf_token(&visitor, "/login").await;
    for uri in ["/account/passkeys/options", "/account/passkeys"] {
        post_json(&visitor, uri, &csrf, "{}")
            .await
            .assert_status(Status::NotFound);
    }
    // A cross-site post never reaches the handler.
    let crossed = fay
        .client
        .post("/account/passkeys/options")
        .header(rocket::http::Header::new("X-CSRF-Token", fay.csrf.clone()))
        .header(rocket::http::Header::new("Sec-Fetch-Site", "cross-site"))
        .body("{}")
        .dispatch()
        .await;
    assert_eq!(crossed.status(), Status::Forbidden);
}

#[tokio::test]
async fn passkey_sign_ins_are_throttled_like_passwords() {
    let app = TestApp::new().await;
    let gus = app.user("gus").await;
    let mut key = with_passkey(&gus, "gus", "Key").await;
    let thief = app.start().await;
    for _ in 0..5 {
        let mut unknown = SoftKey::new("guess");
        unknown.user_handle = key.user_handle.clone();
        pk::sign_in(&thief, &mut unknown)
            .await
            .assert_status(Status::Unauthorized);
    }
    let throttled = pk::sign_in(&thief, &mut key).await;
    throttled.assert_status(Status::TooManyRequests);
    assert!(throttled.header("Retry-After").is_some());
    assert!(!error_of(&throttled).is_empty());
    assert!(!is_signed_in(&thief).await);
    // From another address the owner is not locked out.
    let owner = app.start().await;
    let csrf = http::csrf_token(&owner, "/login").await;
    let options = pk::options(&owner, "/login/passkey/options", &csrf).await;
    let body = json!({ "credential": key.assert(&options) }).to_string();
    let answer = owner
        .post("/login/passkey")
        .header(rocket::http::ContentType::JSON)
        .header(rocket::http::Header::new("Host", pk::HOST))
        .header(rocket::http::Header::new("X-CSRF-Token", csrf))
        .header(rocket::http::Header::new("X-Real-IP", "10.1.2.3"))
        .body(body)
        .dispatch()
        .await;
    assert_eq!(answer.status(), Status::Ok);
}

/// Asks `/login/passkey/options` as if from `addr` (the `X-Real-IP` a proxy sets).
async fn sign_in_options_from(
    client: &rocket::local::asynchronous::Client,
    csrf: &str,
    addr: &str,
) -> http::Answer {
    let request = client
        .post("/login/passkey/options")
        .header(rocket::http::ContentType::JSON)
        .header(rocket::http::Header::new("Host", pk::HOST))
        .header(rocket::http::Header::new("X-CSRF-Token", csrf.to_owned()))
        .header(rocket::http::Header::new("X-Real-IP", addr.to_owned()))
        .body("{}");
    http::Answer::from(request.dispatch().await).await
}

#[tokio::test]
async fn one_address_keeps_only_thirty_ceremonies_under_way() {
    let app = TestApp::new().await;
    let flood = app.start().await;
    let csrf = http::csrf_token(&flood, "/login").await;
    for _ in 0..30 {
        sign_in_options_from(&flood, &csrf, "203.0.113.9")
            .await
            .assert_status(Status::Ok);
    }
    let refused = sign_in_options_from(&flood, &csrf, "203.0.113.9").await;
    refused.assert_status(Status::TooManyRequests);
    let wait: i64 = refused.header("Retry-After").unwrap().parse().unwrap();
    assert!((1..=300).contains(&wait), "Retry-After {wait}");
    assert!(error_of(&refused).contains("未完成"), "{}", refused.body);
    // Everyone else still signs in: another address is not held up.
    let owner = app.start().await;
    let owner_csrf = http::csrf_token(&owner, "/login").await;
    sign_in_options_from(&owner, &owner_csrf, "198.51.100.7")
        .await
        .assert_status(Status::Ok);
    // The flood's ceremonies end after their five minutes.
    app.clock.advance(Duration::from_secs(5 * 60 + 1));
    sign_in_options_from(&flood, &csrf, "203.0.113.9")
        .await
        .assert_status(Status::Ok);
}

#[tokio::test]
async fn a_disabled_user_stays_out() {
    let app = TestApp::new().await;
    let root = app.user("root").await;
    let hank = app.user("hank").await;
    let mut key = with_passkey(&hank, "hank", "Key").await;
    root.submit(&format!("/admin/users/{}/disable", hank.id), &[])
        .await
        .assert_status(Status::SeeOther);
    let browser = app.start().await;
    let refused = pk::sign_in(&browser, &mut key).await;
    refused.assert_status(Status::Forbidden);
    assert!(error_of(&refused).contains("停用"), "{}", refused.body);
    assert!(!is_signed_in(&browser).await);
}

#[tokio::test]
async fn a_ceremony_lasts_five_minutes_and_belongs_to_its_browser() {
    let app = TestApp::new().await;
    let ivy = app.user("ivy").await;
    let mut key = SoftKey::new("ivy");
    let options = pk::options(&ivy.client, "/account/passkeys/options", &ivy.csrf).await;
    // Answered from another session of the same account: not its ceremony.
    let other = User::sign_in(app.start().await, "ivy", app.database_path()).await;
    let body = json!({ "credential": key.register(&options), "name": "x" }).to_string();
    post_json(&other.client, "/account/passkeys", &other.csrf, &body)
        .await
        .assert_status(Status::BadRequest);
    // Answered in time by its own browser: fine; too late: refused.
    let options = pk::options(&ivy.client, "/account/passkeys/options", &ivy.csrf).await;
    app.clock.advance(Duration::from_secs(5 * 60 + 1));
    let body = json!({ "credential": key.register(&options), "name": "x" }).to_string();
    post_json(&ivy.client, "/account/passkeys", &ivy.csrf, &body)
        .await
        .assert_status(Status::BadRequest);
    pk::register(&ivy.client, &ivy.csrf, &mut key, "x")
        .await
        .assert_status(Status::Ok);
}

#[tokio::test]
async fn passkeys_are_renamed_and_removed_after_a_confirmation() {
    let app = TestApp::new().await;
    let jay = app.user("jay").await;
    with_passkey(&jay, "jay", "Old name").await;
    let id: i64 = app
        .db()
        .query_row(
            "SELECT id FROM passkeys WHERE user_id = ?1",
            [jay.id],
            |r| r.get(0),
        )
        .unwrap();
    let rename = format!("/account/passkeys/{id}/rename");
    jay.submit(&rename, &[("name", "New name")])
        .await
        .assert_redirect_to(pk::PAGE);
    assert!(jay.get(pk::PAGE).await.body.contains(r#"value="New name""#));
    let bad = jay.submit(&rename, &[("name", "")]).await;
    bad.assert_status(Status::UnprocessableEntity);
    assert!(visible_text(&bad.body).contains("1-64"), "{}", bad.body);
    // Another account cannot touch it.
    let kim = app.user("kim").await;
    kim.submit(&rename, &[("name", "Mine")])
        .await
        .assert_status(Status::NotFound);
    let delete = format!("/account/passkeys/{id}/delete");
    kim.get(&delete).await.assert_status(Status::NotFound);
    kim.submit(&delete, &[])
        .await
        .assert_status(Status::NotFound);
    // The confirmation names it; the post removes it; the password alone signs in again.
    let confirm = jay.get(&delete).await;
    confirm.assert_status(Status::Ok);
    assert!(visible_text(&confirm.body).contains("New name"));
    jay.submit(&delete, &[]).await.assert_redirect_to(pk::PAGE);
    assert!(visible_text(&jay.get(pk::PAGE).await.body).contains("还没有通行密钥"));
    let browser = app.start().await;
    login(&browser, "jay", PASSWORD)
        .await
        .assert_redirect_to("/");
}

#[tokio::test]
async fn without_public_url_only_localhost_gets_passkeys() {
    let app = TestApp::new().await;
    let lee = app.user("lee").await;
    let answer = lee
        .client
        .post("/account/passkeys/options")
        .header(rocket::http::Header::new("Host", "msb.example"))
        .header(rocket::http::Header::new("X-CSRF-Token", lee.csrf.clone()))
        .body("{}")
        .dispatch()
        .await;
    let answer = http::Answer::from(answer).await;
    answer.assert_status(Status::Conflict);
    assert!(error_of(&answer).contains("public_url"), "{}", answer.body);
    let page = http::get_with(&lee.client, pk::PAGE, &[("Host", "msb.example")]).await;
    assert!(page.body.contains(r#"id="passkeys-unavailable""#));
    // The sign-in page offers no passkey button where it could not work, and does at
    // localhost.
    let stranger = app.start().await;
    let login = http::get_with(&stranger, "/login", &[("Host", "msb.example")]).await;
    assert!(
        !login.body.contains(r#"id="passkey-sign-in""#),
        "{}",
        login.body
    );
    assert!(!login.body.contains("passkeys.js"));
    let local = http::get_with(&stranger, "/login", &[("Host", pk::HOST)]).await;
    assert!(local.body.contains(r#"id="passkey-sign-in""#));

    let configured = TestApp::configured(|c| c.merge(("public_url", "https://msb.example/"))).await;
    let mia = configured.user("mia").await;
    let options = pk::options(&mia.client, "/account/passkeys/options", &mia.csrf).await;
    assert_eq!(options["rp"]["id"], "msb.example");
    // The browser must then report that origin.
    let mut key = SoftKey::new("mia");
    let body = json!({ "credential": key.register(&options), "name": "x" }).to_string();
    post_json(&mia.client, "/account/passkeys", &mia.csrf, &body)
        .await
        .assert_status(Status::Unauthorized);
    key.origin = "https://msb.example".to_owned();
    pk::register(&mia.client, &mia.csrf, &mut key, "x")
        .await
        .assert_status(Status::Ok);
}

#[tokio::test]
async fn the_command_line_way_back_in_removes_passkeys_too() {
    let app = TestApp::new().await;
    let ned = app.user("ned").await;
    with_passkey(&ned, "ned", "Key").await;
    let (status, out, err) = app.cli(&["admin", "two-factor-off", "ned"]);
    assert!(status.success(), "{out}{err}");
    let browser = app.start().await;
    login(&browser, "ned", PASSWORD)
        .await
        .assert_redirect_to("/");
}
