//! Sign-up at run time: an admin switches between open, invitation only and closed (stored in
//! the database, over the configured default), `/signup` says plainly when it is closed or
//! needs an invitation, and an invitation works once, before it expires, unless revoked. Its
//! code is shown once and only its hash is kept.

use rocket::http::Status;
use rocket::local::asynchronous::Client;

use crate::harness::db::user_id;
use crate::harness::html::form_error;
use crate::harness::http::{follow, get, submit_from};
use crate::harness::secrets::assert_no_trace;
use crate::harness::users::{is_signed_in, signup};
use crate::harness::{Answer, PASSWORD, TestApp, User};

/// The link in `<p class="secret-once" id="new-invitation">`.
fn shown_invitation(body: &str) -> Option<String> {
    let marker = r#"id="new-invitation">"#;
    let start = body.find(marker)? + marker.len();
    let end = start + body[start..].find('<')?;
    Some(body[start..end].trim().to_owned())
}

/// Makes an invitation on `/admin`; answers its path (`/signup?invite=…`) and the page that
/// showed it.
async fn invite(admin: &User, days: &str) -> (String, Answer) {
    let made = admin.submit("/admin/invitations", &[("days", days)]).await;
    let shown = follow(&admin.client, &made).await;
    shown.assert_status(Status::Ok);
    let link = shown_invitation(&shown.body).expect("the invitation is shown");
    let path = link[link.find("/signup?invite=").expect("a sign-up link")..].to_owned();
    (path, shown)
}

async fn set_mode(admin: &User, mode: &str) {
    admin
        .submit("/admin/signup", &[("mode", mode)])
        .await
        .assert_redirect_to("/admin");
}

/// Signs up with the invitation's code, the way its page's form does (the form token comes
/// from `/login`, which opens whatever the invitation's state).
async fn sign_up_invited(client: &Client, path: &str, name: &str) -> Answer {
    let invite = path.trim_start_matches("/signup?invite=");
    submit_from(
        client,
        "/login",
        "/signup",
        &[
            ("username", name),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
            ("invite", invite),
        ],
    )
    .await
}

fn users(app: &TestApp) -> i64 {
    app.db()
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn the_mode_changes_at_run_time_and_the_page_says_so_plainly() {
    let app = TestApp::new().await;
    let root = app.user("root").await;
    let visitor = app.start().await;

    set_mode(&root, "closed").await;
    let page = get(&visitor, "/signup").await;
    page.assert_status(Status::Ok);
    assert!(page.text().contains("本站已关闭注册"), "{}", page.text());
    assert!(!page.body.contains(r#"action="/signup""#), "still a form");
    let refused = signup(&visitor, "mallory", PASSWORD).await;
    refused.assert_status(Status::Forbidden);
    assert_eq!(users(&app), 1);

    set_mode(&root, "invite").await;
    let page = get(&visitor, "/signup").await;
    assert!(page.text().contains("需要邀请"), "{}", page.text());
    assert!(!page.body.contains(r#"action="/signup""#));
    signup(&visitor, "mallory", PASSWORD)
        .await
        .assert_status(Status::Forbidden);
    assert_eq!(users(&app), 1);

    // Stored: a restart keeps the admin's choice over the configured default (open).
    let restarted = app.start().await;
    assert!(get(&restarted, "/signup").await.text().contains("需要邀请"));

    set_mode(&root, "open").await;
    signup(&visitor, "mallory", PASSWORD)
        .await
        .assert_redirect_to("/");
    assert_eq!(users(&app), 2);

    // A mode that is none of the three is refused with words, and changes nothing.
    let bad = root.submit("/admin/signup", &[("mode", "sometimes")]).await;
    bad.assert_status(Status::UnprocessableEntity);
    assert!(
        form_error(&bad.body).unwrap().contains("三种"),
        "{}",
        bad.body
    );
    let missing = root.submit("/admin/signup", &[]).await;
    missing.assert_status(Status::UnprocessableEntity);
    signup(&app.start().await, "trent", PASSWORD)
        .await
        .assert_redirect_to("/");
}

#[tokio::test]
async fn an_invitation_works_once_and_only_before_it_expires() {
    let app = TestApp::new().await;
    let root = app.user("root").await;
    set_mode(&root, "invite").await;
    let (path, _) = invite(&root, "7").await;

    let visitor = app.start().await;
    let page = get(&visitor, &path).await;
    page.assert_status(Status::Ok);
    assert!(page.body.contains(r#"action="/signup""#), "{}", page.body);
    // A name that is taken leaves the invitation unused.
    let taken = sign_up_invited(&visitor, &path, "root").await;
    taken.assert_status(Status::Conflict);
    sign_up_invited(&visitor, &path, "ivan")
        .await
        .assert_redirect_to("/");
    assert!(is_signed_in(&visitor).await);

    // Used: a second account is refused, with words, and nothing is made.
    let second = app.start().await;
    let page = get(&second, &path).await;
    page.assert_status(Status::NotFound);
    assert!(page.text().contains("链接无效"), "{}", page.text());
    sign_up_invited(&second, &path, "judy")
        .await
        .assert_status(Status::NotFound);
    assert!(user_id(&app.db(), "judy").is_none());
    let admin_page = root.get("/admin").await;
    assert!(
        admin_page.text().contains("ivan"),
        "the list names who used it"
    );

    // Expired.
    let (expired, _) = invite(&root, "1").await;
    app.db()
        .execute(
            "UPDATE invitations SET expires_at = expires_at - 86401 WHERE used_at IS NULL",
            [],
        )
        .unwrap();
    get(&second, &expired).await.assert_status(Status::NotFound);
    sign_up_invited(&second, &expired, "judy")
        .await
        .assert_status(Status::NotFound);

    // Revoked.
    let (revoked, _) = invite(&root, "7").await;
    let id: i64 = app
        .db()
        .query_row(
            "SELECT id FROM invitations WHERE used_at IS NULL ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    root.submit(&format!("/admin/invitations/{id}/revoke"), &[])
        .await
        .assert_redirect_to("/admin");
    sign_up_invited(&second, &revoked, "judy")
        .await
        .assert_status(Status::NotFound);
    root.submit(&format!("/admin/invitations/{id}/revoke"), &[])
        .await
        .assert_status(Status::NotFound);
    assert!(user_id(&app.db(), "judy").is_none());
}

#[tokio::test]
async fn an_invitation_is_shown_once_and_kept_only_as_a_hash() {
    let app = TestApp::new().await;
    let root = app.user("root").await;
    let (path, _) = invite(&root, "").await;
    let code = path.trim_start_matches("/signup?invite=").to_owned();
    assert_eq!(code.len(), 64);
    // The configured default (7 days) when the form leaves it empty.
    let expires: i64 = app
        .db()
        .query_row("SELECT expires_at - created_at FROM invitations", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(expires, 7 * 86_400);
    let again = root.get(shown_address(&root, &app).await.as_str()).await;
    assert!(shown_invitation(&again.body).is_none());
    assert_no_trace(root.get("/admin").await.body.as_bytes(), &code, "/admin");
    assert_no_trace(&app.db_bytes(), &code, "the database");

    for days in ["0", "366", "seven", "-1", "1.5"] {
        let bad = root.submit("/admin/invitations", &[("days", days)]).await;
        bad.assert_status(Status::UnprocessableEntity);
        assert!(form_error(&bad.body).unwrap().contains("365"), "{days}");
    }
}

/// The one-read address of a fresh invitation page (made and read once here).
async fn shown_address(admin: &User, _app: &TestApp) -> String {
    let made = admin.submit("/admin/invitations", &[("days", "2")]).await;
    let location = made.location().expect("to the link").to_owned();
    admin.get(&location).await.assert_status(Status::Ok);
    location
}

#[tokio::test]
async fn a_new_instance_configured_for_invitations_starts_with_one_from_the_shell() {
    let app = TestApp::configured(|c| c.merge(("signup_mode", "invite"))).await;
    let visitor = app.start().await;
    assert!(get(&visitor, "/signup").await.text().contains("需要邀请"));
    signup(&visitor, "root", PASSWORD)
        .await
        .assert_status(Status::Forbidden);
    let (status, out, err) = app.cli(&["admin", "invite", "2"]);
    assert!(status.success(), "{err}");
    let link = out
        .split_whitespace()
        .find(|w| w.contains("/signup?invite="))
        .unwrap_or_else(|| panic!("{out}"));
    let path = link[link.find("/signup?invite=").unwrap()..].to_owned();
    sign_up_invited(&visitor, &path, "root")
        .await
        .assert_redirect_to("/");
    // The first account is the admin.
    get(&visitor, "/admin").await.assert_status(Status::Ok);
    let (status, _, err) = app.cli(&["admin", "invite", "400"]);
    assert_eq!(status.code(), Some(2), "{err}");
}

#[tokio::test]
async fn guessed_invitations_are_throttled_per_address() {
    let app = TestApp::configured(|c| c.merge(("signup_mode", "invite"))).await;
    let visitor = app.start().await;
    let at = [("X-Real-IP", "10.7.7.7")];
    for n in 0..5 {
        crate::harness::http::get_with(&visitor, &format!("/signup?invite={n:064x}"), &at)
            .await
            .assert_status(Status::NotFound);
    }
    let throttled =
        crate::harness::http::get_with(&visitor, &format!("/signup?invite={:064x}", 9), &at).await;
    throttled.assert_status(Status::TooManyRequests);
    assert!(throttled.header("Retry-After").is_some());
}
