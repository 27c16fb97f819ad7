//! Accounts and sessions through the pages: sign-up, sign-in, throttling, the session cookie,
//! `/account`, safe redirects and the security headers, black-box through Rocket's local client.

use rocket::http::{Cookie, Status};

use crate::harness::db::{count, user_id};
use crate::harness::html::{extract_csrf, revocable_sessions};
use crate::harness::http::{
    assert_security_headers, csrf_token, form_encode, get, post_form, submit, url_decode,
};
use crate::harness::users::{
    SESSION_COOKIE, add_key, is_signed_in, keys, login, login_with, logout, session_cookie,
    signed_up, signup,
};
use crate::harness::{Answer, PASSWORD, TestApp};

const OTHER_PASSWORD: &str = "another long password";
const KEY: &str = "ms-acc0acc0-1111-2222-3333-444455556666";

fn throttle_minutes(text: &str) -> i64 {
    // "登录失败次数过多，请在 15 分钟后再试。"
    let at = text
        .find("分钟后再试")
        .unwrap_or_else(|| panic!("the answer does not say when to retry: {text}"));
    let before = text[..at].trim_end();
    let digits: String = before
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number of minutes in: {text}"))
}

// ---------------------------------------------------------------------------------------------
// Sign-up

#[tokio::test]
async fn signing_up_signs_in_and_the_header_shows_who() {
    let app = TestApp::new().await;
    let client = app.start().await;

    signup(&client, "alice", PASSWORD)
        .await
        .assert_redirect_to("/");

    let home = get(&client, "/").await;
    home.assert_status(Status::Ok);
    assert!(
        home.body.contains(r#"class="who">alice</a>"#),
        "{}",
        home.body
    );
    assert!(home.body.contains(r#"action="/logout""#));
    assert!(!home.body.contains(r#"href="/signup""#));
    let signed_out = app.start().await;
    let page = get(&signed_out, "/").await;
    assert!(page.body.contains(r#"href="/login""#));
    assert!(page.body.contains(r#"href="/signup""#));
}

#[tokio::test]
async fn usernames_are_unique_whatever_their_case() {
    let app = TestApp::new().await;
    let first = app.start().await;
    let second = app.start().await;

    signup(&first, "Alice", PASSWORD)
        .await
        .assert_redirect_to("/");
    let taken = signup(&second, "alice", OTHER_PASSWORD).await;

    taken.assert_status(Status::Conflict);
    assert!(
        taken.text().contains("该用户名已被使用"),
        "{}",
        taken.text()
    );
    assert!(session_cookie(&second).is_none());
    let db = app.db();
    assert_eq!(count(&db, "SELECT count(*) FROM users WHERE ?1", 1), 1);
    // Stored lower-case: the name signs in in any case.
    login(&second, "ALICE", PASSWORD)
        .await
        .assert_redirect_to("/");
}

#[tokio::test]
async fn usernames_must_be_3_to_32_of_lowercase_digits_underscore_dash() {
    let app = TestApp::new().await;
    let client = app.start().await;
    let long = "a".repeat(33);
    for bad in ["ab", long.as_str(), "al.ce", "a b", "al@ce", "", "   "] {
        let answer = signup(&client, bad, PASSWORD).await;
        answer.assert_status(Status::UnprocessableEntity);
        assert!(
            answer.text().contains("用户名需为 3–32 个字符"),
            "{bad:?}: {}",
            answer.text()
        );
    }
    assert_eq!(
        count(&app.db(), "SELECT count(*) FROM users WHERE ?1", 1),
        0
    );

    let edge = format!("a-_{}", "9".repeat(29));
    assert_eq!(edge.len(), 32);
    signup(&client, &edge, PASSWORD)
        .await
        .assert_redirect_to("/");
    let other = app.start().await;
    signup(&other, "a_b", PASSWORD)
        .await
        .assert_redirect_to("/");
}

#[tokio::test]
async fn signing_up_in_a_signed_in_browser_ends_the_session_it_replaces() {
    let app = TestApp::new().await;
    let client = app.start().await;
    signed_up(&client, "victor").await;
    let old_cookie = session_cookie(&client).expect("cookie");

    signup(&client, "victor_two", PASSWORD)
        .await
        .assert_redirect_to("/");

    let home = get(&client, "/").await;
    assert!(home.body.contains(r#"class="who">victor_two</a>"#));
    let db = app.db();
    let victor = user_id(&db, "victor").unwrap();
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM sessions WHERE user_id = ?1",
            victor
        ),
        0,
        "the replaced session is still live in the database"
    );
    let replay = client
        .get("/account")
        .cookie(Cookie::new(SESSION_COOKIE, old_cookie))
        .dispatch()
        .await;
    assert_eq!(replay.status(), Status::SeeOther);
}

#[tokio::test]
async fn a_short_password_is_refused_with_a_message() {
    let app = TestApp::new().await;
    let client = app.start().await;

    let answer = signup(&client, "alice", "1234567").await;

    answer.assert_status(Status::UnprocessableEntity);
    assert!(
        answer.text().contains("密码至少需要 8 个字符"),
        "{}",
        answer.text()
    );
    assert_eq!(
        count(&app.db(), "SELECT count(*) FROM users WHERE ?1", 1),
        0
    );
}

#[tokio::test]
async fn a_confirmation_mismatch_keeps_the_username_but_never_the_password() {
    let app = TestApp::new().await;
    let client = app.start().await;

    let answer = submit(
        &client,
        "/signup",
        &[
            ("username", "bob_the_builder"),
            ("password", "first-secret-pw"),
            ("password_confirm", "second-secret-pw"),
        ],
    )
    .await;

    answer.assert_status(Status::UnprocessableEntity);
    assert!(
        answer.text().contains("两次输入的密码不一致"),
        "{}",
        answer.text()
    );
    assert!(
        answer.body.contains(r#"value="bob_the_builder""#),
        "the typed username is not kept: {}",
        answer.body
    );
    assert!(!answer.body.contains("first-secret-pw"));
    assert!(!answer.body.contains("second-secret-pw"));
    assert_eq!(
        count(&app.db(), "SELECT count(*) FROM users WHERE ?1", 1),
        0
    );
}

#[tokio::test]
async fn with_signup_closed_the_page_says_so_and_the_post_is_refused() {
    let app = TestApp::new().await;
    let client = app
        .start_with(|figment| figment.merge(("allow_signup", false)))
        .await;

    let page = get(&client, "/signup").await;
    page.assert_status(Status::Ok);
    assert!(page.text().contains("本站已关闭注册"), "{}", page.text());
    assert!(!page.body.contains(r#"action="/signup""#), "still a form");

    let refused = signup(&client, "alice", PASSWORD).await;
    refused.assert_client_error();
    assert!(refused.text().contains("已关闭注册"), "{}", refused.text());
    assert!(session_cookie(&client).is_none());
    assert_eq!(
        count(&app.db(), "SELECT count(*) FROM users WHERE ?1", 1),
        0
    );
}

// ---------------------------------------------------------------------------------------------
// Sign-in

#[tokio::test]
async fn a_failed_login_reads_the_same_for_an_unknown_user_and_a_wrong_password() {
    let app = TestApp::new().await;
    let client = app.start().await;
    let admin = app.start().await;

    // The same name both times, so the echoed username cannot differ: first nobody has it…
    let unknown = login(&client, "carol", "not-her-password").await;
    // …then carol exists and the password is wrong.
    signed_up(&admin, "carol").await;
    let wrong = login(&client, "carol", "not-her-password").await;

    assert_eq!(unknown.status, Status::Unauthorized);
    assert_eq!(unknown.status, wrong.status);
    let token = csrf_token(&client, "/login").await;
    let normalize = |body: &str| body.replace(&token, "TOKEN");
    assert_eq!(normalize(&unknown.body), normalize(&wrong.body));
    assert_eq!(unknown.header("Content-Type"), wrong.header("Content-Type"));
    assert_eq!(
        unknown.headers_named("Set-Cookie"),
        wrong.headers_named("Set-Cookie")
    );
    assert!(
        unknown.text().contains("用户名或密码错误"),
        "{}",
        unknown.text()
    );
    assert!(!unknown.body.contains("not-her-password"));
    assert!(session_cookie(&client).is_none());
}

/// Issue 9, item 5: failures for one account from many addresses no longer lock its owner out
/// (that was a targeted lockout); the (account, address) pair that failed is throttled, with
/// the same page, `Retry-After` and security headers as before.
#[tokio::test]
async fn failures_from_other_addresses_never_lock_the_owner_out_but_the_failing_pair_waits() {
    let app = TestApp::new().await;
    let client = app.start().await;
    signed_up(&app.start().await, "dave").await;

    // Each failure from another address; the name's case does not matter.
    for attempt in 1..=10 {
        let ip = format!("203.0.113.{attempt}");
        let name = if attempt % 2 == 0 { "DAVE" } else { "dave" };
        login_with(&client, name, "wrong password!", &[("X-Real-IP", &ip)])
            .await
            .assert_status(Status::Unauthorized);
    }
    // The owner, from an address with no recent failure, signs in.
    login_with(&client, "dave", PASSWORD, &[("X-Real-IP", "198.51.100.7")])
        .await
        .assert_redirect_to("/");
    logout(&client).await;

    // Five failures for dave from one address: that pair waits, even with the right password.
    let from = [("X-Real-IP", "203.0.113.200")];
    for _ in 1..=5 {
        login_with(&client, "dave", "wrong password!", &from)
            .await
            .assert_status(Status::Unauthorized);
    }
    let throttled = login_with(&client, "dave", PASSWORD, &from).await;
    throttled.assert_status(Status::TooManyRequests);
    let minutes = throttle_minutes(&throttled.text());
    assert!((1..=15).contains(&minutes), "{minutes}");
    let retry_after: i64 = throttled
        .header("Retry-After")
        .expect("a Retry-After header")
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=15 * 60).contains(&retry_after), "{retry_after}");
    assert!(
        session_cookie(&client).is_none(),
        "signed in despite the throttle"
    );
    assert_security_headers(&throttled);
}

#[tokio::test]
async fn without_a_proxy_a_spoofed_address_header_does_not_escape_throttling() {
    let app = TestApp::new().await;
    // Rocket.toml's own setting: the address comes from the connection, never a header.
    let client = app
        .start_with(|figment| figment.merge(("ip_header", false)))
        .await;
    signed_up(&app.start().await, "frank").await;
    for attempt in 1..=10 {
        let spoofed = format!("203.0.113.{attempt}");
        login_with(
            &client,
            &format!("nobody{attempt}"),
            "whatever1",
            &[("X-Real-IP", &spoofed)],
        )
        .await
        .assert_status(Status::Unauthorized);
    }
    login_with(&client, "frank", PASSWORD, &[("X-Real-IP", "203.0.113.99")])
        .await
        .assert_status(Status::TooManyRequests);
}

#[tokio::test]
async fn ten_failures_from_one_address_throttle_that_address() {
    let app = TestApp::new().await;
    let client = app.start().await;
    signed_up(&app.start().await, "erin").await;
    let from = [("X-Real-IP", "192.0.2.10")];

    for attempt in 1..=10 {
        login_with(&client, &format!("nobody{attempt}"), "whatever1", &from)
            .await
            .assert_status(Status::Unauthorized);
    }
    let throttled = login_with(&client, "erin", PASSWORD, &from).await;
    throttled.assert_status(Status::TooManyRequests);
    throttle_minutes(&throttled.text());

    // The account itself is not locked for everyone else.
    login_with(&client, "erin", PASSWORD, &[("X-Real-IP", "192.0.2.11")])
        .await
        .assert_redirect_to("/");
}

#[tokio::test]
async fn the_session_token_changes_at_every_login() {
    let app = TestApp::new().await;
    let client = app.start().await;
    signed_up(&client, "frank").await;
    let at_signup = session_cookie(&client).expect("a session cookie after sign-up");

    login(&client, "frank", PASSWORD)
        .await
        .assert_redirect_to("/");
    let first = session_cookie(&client).expect("cookie");
    login(&client, "frank", PASSWORD)
        .await
        .assert_redirect_to("/");
    let second = session_cookie(&client).expect("cookie");

    assert_ne!(at_signup, first);
    assert_ne!(first, second);
    assert_eq!(first.len(), 64, "256 bits as hex");
    // The database holds hashes only.
    let db = app.db();
    let stored: Vec<String> = db
        .prepare("SELECT token_hash FROM sessions")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!stored.contains(&second));
    // A login in the same browser ends the session it replaces.
    assert_eq!(stored.len(), 1, "{stored:?}");
}

#[tokio::test]
async fn the_session_cookie_is_httponly_lax_and_site_wide() {
    let app = TestApp::new().await;
    let client = app.start().await;
    signed_up(&client, "grace").await;
    logout(&client).await;

    let answer = login(&client, "grace", PASSWORD).await;

    answer.assert_redirect_to("/");
    let line = answer
        .set_cookie(SESSION_COOKIE)
        .expect("login sets the session cookie");
    let attributes: Vec<String> = line
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    assert!(attributes.contains(&"httponly".to_owned()), "{line}");
    assert!(attributes.contains(&"samesite=lax".to_owned()), "{line}");
    assert!(attributes.contains(&"path=/".to_owned()), "{line}");
    // Debug builds default to secure_cookies = false.
    assert!(!attributes.contains(&"secure".to_owned()), "{line}");
}

#[tokio::test]
async fn secure_cookies_marks_the_session_cookie_secure() {
    let app = TestApp::new().await;
    let client = app
        .start_with(|figment| figment.merge(("secure_cookies", true)))
        .await;

    let answer = signup(&client, "heidi", PASSWORD).await;

    let line = answer.set_cookie(SESSION_COOKIE).expect("session cookie");
    assert!(
        line.split(';')
            .any(|a| a.trim().eq_ignore_ascii_case("secure")),
        "{line}"
    );
}

#[tokio::test]
async fn a_cookie_replayed_after_logout_is_refused() {
    let app = TestApp::new().await;
    let client = app.start().await;
    signed_up(&client, "ivan").await;
    let old_cookie = session_cookie(&client).expect("cookie");
    let old_token = csrf_token(&client, "/keys").await;

    logout(&client).await.assert_redirect_to("/login");
    assert!(session_cookie(&client).is_none(), "logout keeps the cookie");

    for path in ["/account", "/keys"] {
        let replay = client
            .get(path)
            .cookie(Cookie::new(SESSION_COOKIE, old_cookie.clone()))
            .dispatch()
            .await;
        let replay = Answer::from(replay).await;
        replay.assert_status(Status::SeeOther);
        assert!(
            replay.location().is_some_and(|l| l.starts_with("/login")),
            "{path}: {:?}",
            replay.location()
        );
    }
    let post = client
        .post("/keys")
        .header(rocket::http::ContentType::Form)
        .cookie(Cookie::new(SESSION_COOKIE, old_cookie.clone()))
        .body(form_encode(&[
            ("label", "replayed"),
            ("api_key", KEY),
            ("csrf_token", &old_token),
        ]))
        .dispatch()
        .await;
    let post = Answer::from(post).await;
    assert_ne!(
        post.location(),
        Some("/keys"),
        "the replayed cookie saved a key"
    );
    assert_eq!(
        count(&app.db(), "SELECT count(*) FROM api_keys WHERE ?1", 1),
        0
    );
    assert_eq!(
        count(&app.db(), "SELECT count(*) FROM sessions WHERE ?1", 1),
        0
    );
}

#[tokio::test]
async fn an_idle_or_too_old_session_is_refused_and_cleaned_up() {
    let app = TestApp::new().await;
    let idle = app.start().await;
    let old = app.start().await;
    let fresh = app.start().await;
    signed_up(&idle, "uma").await;
    login(&old, "uma", PASSWORD).await.assert_redirect_to("/");
    login(&fresh, "uma", PASSWORD).await.assert_redirect_to("/");
    let line = login(&fresh, "uma", PASSWORD).await;
    let max_age = line
        .set_cookie(SESSION_COOKIE)
        .and_then(|l| {
            l.split(';')
                .find_map(|a| a.trim().strip_prefix("Max-Age="))
                .map(str::to_owned)
        })
        .expect("a Max-Age");
    assert_eq!(max_age, (30 * 24 * 3600).to_string(), "30 days at most");
    let db = app.db();
    let uma = user_id(&db, "uma").unwrap();
    let ids: Vec<i64> = db
        .prepare("SELECT id FROM sessions WHERE user_id = ?1 ORDER BY id")
        .unwrap()
        .query_map([uma], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(ids.len(), 3, "{ids:?}");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // Untouched for a little over 7 days.
    db.execute(
        "UPDATE sessions SET last_seen_at = ?2 WHERE id = ?1",
        [ids[0], now - 7 * 24 * 3600 - 60],
    )
    .unwrap();
    // Used a minute ago, but signed in 30 days ago.
    db.execute(
        "UPDATE sessions SET created_at = ?2, last_seen_at = ?3, expires_at = ?4 WHERE id = ?1",
        [ids[1], now - 30 * 24 * 3600, now - 60, now - 1],
    )
    .unwrap();

    assert!(!is_signed_in(&idle).await, "an idle session still works");
    assert!(
        !is_signed_in(&old).await,
        "a 30-day-old session still works"
    );
    assert!(is_signed_in(&fresh).await);
    let page = get(&fresh, "/account").await;
    assert!(
        revocable_sessions(&page.body).is_empty(),
        "expired sessions are listed"
    );
    // Housekeeping removes the rows.
    modelscope_balance::auth::accounts::clean_up(
        &modelscope_balance::db::Db::open(&app.database_path()).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        count(&db, "SELECT count(*) FROM sessions WHERE user_id = ?1", uma),
        1
    );
}

// ---------------------------------------------------------------------------------------------
// /account

#[tokio::test]
async fn a_password_change_ends_the_other_sessions_and_keeps_this_one() {
    let app = TestApp::new().await;
    let laptop = app.start().await;
    let phone = app.start().await;
    signed_up(&laptop, "judy").await;
    login(&phone, "judy", PASSWORD)
        .await
        .assert_redirect_to("/");
    assert!(is_signed_in(&phone).await);

    submit(
        &laptop,
        "/account/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", OTHER_PASSWORD),
            ("new_password_confirm", OTHER_PASSWORD),
        ],
    )
    .await
    .assert_redirect_to("/account");

    assert!(is_signed_in(&laptop).await, "the current session ended");
    assert!(!is_signed_in(&phone).await, "the other session survived");
    login(&phone, "judy", PASSWORD)
        .await
        .assert_status(Status::Unauthorized);
    login(&phone, "judy", OTHER_PASSWORD)
        .await
        .assert_redirect_to("/");
}

#[tokio::test]
async fn a_password_change_needs_the_current_password() {
    let app = TestApp::new().await;
    let laptop = app.start().await;
    let phone = app.start().await;
    signed_up(&laptop, "kate").await;
    login(&phone, "kate", PASSWORD)
        .await
        .assert_redirect_to("/");

    let refused = submit(
        &laptop,
        "/account/password",
        &[
            ("current_password", "not the password"),
            ("new_password", OTHER_PASSWORD),
            ("new_password_confirm", OTHER_PASSWORD),
        ],
    )
    .await;

    refused.assert_client_error();
    assert!(
        refused.text().contains("当前密码不正确"),
        "{}",
        refused.text()
    );
    assert!(!refused.body.contains(OTHER_PASSWORD));
    assert!(is_signed_in(&phone).await);
    login(&phone, "kate", PASSWORD)
        .await
        .assert_redirect_to("/");
}

#[tokio::test]
async fn the_account_page_lists_sessions_with_their_browser_and_revokes_another() {
    let app = TestApp::new().await;
    let laptop = app.start().await;
    let phone = app.start().await;
    signed_up(&laptop, "liam").await;
    let agent = "PhoneBrowser/2.0 <b>bold</b>";
    login_with(&phone, "liam", PASSWORD, &[("User-Agent", agent)])
        .await
        .assert_redirect_to("/");

    let page = get(&laptop, "/account").await;
    page.assert_status(Status::Ok);
    assert!(page.text().contains(agent), "{}", page.text());
    assert!(
        !page.body.contains("<b>bold</b>"),
        "the user agent is not escaped"
    );
    let others = revocable_sessions(&page.body);
    assert_eq!(others.len(), 1, "only the phone can be revoked: {others:?}");

    submit(
        &laptop,
        &format!("/account/sessions/{}/revoke", others[0]),
        &[],
    )
    .await
    .assert_redirect_to("/account");

    assert!(!is_signed_in(&phone).await);
    assert!(is_signed_in(&laptop).await);
    let page = get(&laptop, "/account").await;
    assert!(revocable_sessions(&page.body).is_empty());
    assert!(!page.text().contains("PhoneBrowser"));
}

#[tokio::test]
async fn revoking_someone_elses_session_is_not_found() {
    let app = TestApp::new().await;
    let victim = app.start().await;
    let attacker = app.start().await;
    signed_up(&victim, "mallory_victim").await;
    signed_up(&attacker, "mallory").await;
    let db = app.db();
    let victim_id = user_id(&db, "mallory_victim").expect("victim");
    let session: i64 = db
        .query_row(
            "SELECT id FROM sessions WHERE user_id = ?1",
            [victim_id],
            |r| r.get(0),
        )
        .expect("victim session");

    let answer = submit(
        &attacker,
        &format!("/account/sessions/{session}/revoke"),
        &[],
    )
    .await;

    answer.assert_status(Status::NotFound);
    assert!(is_signed_in(&victim).await);
    assert!(is_signed_in(&attacker).await);
}

#[tokio::test]
async fn deleting_the_account_needs_the_password() {
    let app = TestApp::new().await;
    let client = app.start().await;
    signed_up(&client, "nina").await;

    let refused = submit(
        &client,
        "/account/delete",
        &[("password", "not the password")],
    )
    .await;

    refused.assert_client_error();
    assert!(
        refused.text().contains("当前密码不正确"),
        "{}",
        refused.text()
    );
    assert!(is_signed_in(&client).await);
    assert!(user_id(&app.db(), "nina").is_some());
}

#[tokio::test]
async fn deleting_the_account_removes_the_user_their_keys_and_sessions() {
    let app = TestApp::new().await;
    let client = app.start().await;
    let phone = app.start().await;
    let bystander = app.start().await;
    // peggy signs up first: the first account is the admin, and the last admin may not leave.
    signed_up(&bystander, "peggy").await;
    signed_up(&client, "oscar").await;
    login(&phone, "oscar", PASSWORD)
        .await
        .assert_redirect_to("/");
    add_key(&client, "main", KEY).await;
    add_key(&bystander, "hers", KEY).await;
    submit(&client, "/account/tokens", &[("name", "script")])
        .await
        .assert_status(Status::SeeOther);
    let db = app.db();
    let oscar = user_id(&db, "oscar").expect("oscar");

    submit(&client, "/account/delete", &[("password", PASSWORD)])
        .await
        .assert_redirect_to("/login");

    assert!(!is_signed_in(&client).await);
    assert!(!is_signed_in(&phone).await);
    login(&client, "oscar", PASSWORD)
        .await
        .assert_status(Status::Unauthorized);
    for table in [
        "users WHERE id",
        "api_keys WHERE user_id",
        "sessions WHERE user_id",
    ] {
        let sql = format!("SELECT count(*) FROM {table} = ?1");
        assert_eq!(count(&db, &sql, oscar), 0, "{table}");
    }
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM access_tokens WHERE user_id = ?1",
            oscar
        ),
        0
    );
    // Nobody else's data went with it.
    assert!(is_signed_in(&bystander).await);
    assert_eq!(keys(&bystander).await.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Redirects

#[tokio::test]
async fn login_follows_only_a_same_site_relative_next() {
    let app = TestApp::new().await;
    let client = app.start().await;
    signed_up(&app.start().await, "quinn").await;

    for (next, expected) in [
        ("/keys", "/keys"),
        ("/keys?x=1", "/keys?x=1"),
        ("//evil.com", "/"),
        ("https://evil.com", "/"),
        ("/\\evil.com", "/"),
        ("javascript:alert(1)", "/"),
    ] {
        let token = csrf_token(&client, "/login").await;
        let answer = post_form(
            &client,
            "/login",
            &[
                ("username", "quinn"),
                ("password", PASSWORD),
                ("next", next),
                ("csrf_token", &token),
            ],
        )
        .await;
        assert_eq!(answer.status, Status::SeeOther, "{next}: {}", answer.body);
        assert_eq!(answer.location(), Some(expected), "next = {next:?}");
    }

    // The login page does not even carry a foreign `next` into its form.
    logout(&client).await;
    let page = get(&client, "/login?next=%2F%2Fevil.com").await;
    assert!(
        page.body.contains(r#"name="next" value="/""#),
        "{}",
        page.body
    );
    assert!(!page.body.contains("evil.com"));
}

#[tokio::test]
async fn protected_pages_send_a_signed_out_visitor_to_login_and_back() {
    let app = TestApp::new().await;
    let client = app.start().await;

    for path in ["/account", "/keys", "/keys?sort=label"] {
        let answer = get(&client, path).await;
        answer.assert_status(Status::SeeOther);
        let location = answer.location().expect("Location");
        let next = location
            .strip_prefix("/login?next=")
            .unwrap_or_else(|| panic!("{path} → {location}"));
        assert_eq!(url_decode(next), path);
    }

    // …and after signing in from there, back to the page.
    signed_up(&app.start().await, "rita").await;
    let answer = get(&client, "/keys").await;
    let location = answer.location().expect("Location").to_owned();
    let page = get(&client, &location).await;
    assert!(
        page.body.contains(r#"name="next" value="/keys""#),
        "{}",
        page.body
    );
    let token = extract_csrf(&page.body).expect("token");
    post_form(
        &client,
        "/login",
        &[
            ("username", "rita"),
            ("password", PASSWORD),
            ("next", "/keys"),
            ("csrf_token", &token),
        ],
    )
    .await
    .assert_redirect_to("/keys");
}

// ---------------------------------------------------------------------------------------------
// Security headers on every kind of answer

#[tokio::test]
async fn security_headers_on_a_200() {
    let app = TestApp::new().await;
    let client = app.start().await;
    for path in ["/", "/login", "/signup"] {
        let answer = get(&client, path).await;
        answer.assert_status(Status::Ok);
        assert_security_headers(&answer);
    }
}

#[tokio::test]
async fn security_headers_on_a_303() {
    let app = TestApp::new().await;
    let client = app.start().await;
    let redirect = get(&client, "/keys").await;
    redirect.assert_status(Status::SeeOther);
    assert_security_headers(&redirect);
    let signed_up = signup(&client, "sam", PASSWORD).await;
    signed_up.assert_status(Status::SeeOther);
    assert_security_headers(&signed_up);
}

#[tokio::test]
async fn security_headers_on_a_403() {
    let app = TestApp::new().await;
    let client = app.start().await;
    let answer = post_form(&client, "/login", &[("username", "x"), ("password", "y")]).await;
    answer.assert_status(Status::Forbidden);
    assert_security_headers(&answer);
}

#[tokio::test]
async fn security_headers_on_a_404() {
    let app = TestApp::new().await;
    let client = app.start().await;
    let answer = get(&client, "/no/such/page").await;
    answer.assert_status(Status::NotFound);
    assert_security_headers(&answer);
}

#[tokio::test]
async fn security_headers_on_a_413() {
    let app = TestApp::new().await;
    let client = app.start().await;
    let token = csrf_token(&client, "/login").await;
    let huge = "x".repeat(70 * 1024);

    let answer = post_form(
        &client,
        "/signup",
        &[
            ("username", &huge),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
            ("csrf_token", &token),
        ],
    )
    .await;

    answer.assert_status(Status::PayloadTooLarge);
    assert_security_headers(&answer);
    assert!(!answer.body.contains(&huge[..100]));
}

#[tokio::test]
async fn security_headers_on_a_422() {
    let app = TestApp::new().await;
    let client = app.start().await;
    let answer = signup(&client, "x", PASSWORD).await;
    answer.assert_status(Status::UnprocessableEntity);
    assert_security_headers(&answer);
}

/// A 5xx without touching the code: the database loses a table under the running app (as a
/// broken migration or a damaged file would do), and the keys page cannot be read: 503, the
/// database is unavailable (said once, by the page error mapping).
#[tokio::test]
async fn security_headers_on_a_500() {
    let app = TestApp::new().await;
    let client = app.start().await;
    signed_up(&client, "trent").await;
    app.db()
        .execute_batch("ALTER TABLE api_keys RENAME TO api_keys_gone")
        .expect("rename");

    let answer = get(&client, "/keys").await;

    answer.assert_status(Status::ServiceUnavailable);
    assert_security_headers(&answer);
    assert!(
        !answer.body.contains("api_keys"),
        "internal detail shown: {}",
        answer.body
    );
}

// ---------------------------------------------------------------------------------------------
// Hostile usernames

#[tokio::test]
async fn hostile_usernames_are_refused_escaped_and_never_a_5xx() {
    let app = TestApp::new().await;
    let client = app.start().await;
    let long = "a".repeat(10_000);
    let hostile = [
        r#"<script>alert(1)</script>"#,
        r#""><img src=x onerror=alert(1)>"#,
        long.as_str(),
        "名字名字",
        "ａｌｉｃｅ",
        "alice\u{202e}",
        "ali\0ce",
        "\0\0\0",
    ];
    for name in hostile {
        for answer in [
            signup(&client, name, PASSWORD).await,
            login(&client, name, PASSWORD).await,
        ] {
            answer.assert_client_error();
            assert!(
                !answer.body.contains("<script>alert"),
                "{name:?} not escaped"
            );
            assert!(!answer.body.contains("<img src=x"), "{name:?} not escaped");
            assert!(!answer.body.contains('\0'), "{name:?}: NUL echoed");
            assert!(
                !answer.body.contains(&"a".repeat(100)),
                "a 10,000-character name is echoed whole"
            );
            assert_security_headers(&answer);
        }
    }
    let page = signup(&client, hostile[0], PASSWORD).await;
    assert!(
        page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
            || page
                .body
                .contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "the typed name is escaped where echoed: {}",
        page.body
    );
    assert_eq!(
        count(&app.db(), "SELECT count(*) FROM users WHERE ?1", 1),
        0
    );
}
