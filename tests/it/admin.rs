//! Admins: the first account is the admin, the command line grants and revokes (while the
//! server runs), `/admin` is 404 for everyone else, and what an admin does to an account takes
//! effect at once: disabling stops sessions, tokens and monitors (and enabling brings them
//! back), signing out everywhere, deleting after a confirmation, a one-time reset link. The last
//! admin is never removed.

use std::time::Duration;

use rocket::http::Status;

use crate::harness::api::api_get;
use crate::harness::html::{form_error, revocable_sessions};
use crate::harness::http::{follow, get};
use crate::harness::monitoring::{
    mount_points, newest_monitor, schedule_runs, stays, wait_for_count,
};
use crate::harness::secrets::assert_no_trace;
use crate::harness::users::{is_signed_in, login, signed_up};
use crate::harness::{PASSWORD, TestApp, User};

const KEY: &str = "ms-ad1ad1ad-1111-4222-8333-44445555abcd";
const MINUTE: Duration = Duration::from_secs(60);

/// Whether the account named `name` is an admin, as stored.
fn is_admin(app: &TestApp, name: &str) -> bool {
    app.db()
        .query_row(
            "SELECT is_admin FROM users WHERE username = ?1",
            [name],
            |r| r.get(0),
        )
        .expect("the user's row")
}

/// The id in `/admin`'s row for the user `name`.
async fn listed(admin: &User, name: &str) -> bool {
    let page = admin.get("/admin").await;
    page.assert_status(Status::Ok);
    page.text().contains(name)
}

#[tokio::test]
async fn the_first_account_is_the_admin_and_admin_is_404_for_everyone_else() {
    let app = TestApp::new().await;
    let root = app.user("root").await;
    let bob = app.user("bob").await;
    assert!(is_admin(&app, "root"));
    assert!(!is_admin(&app, "bob"));

    let page = root.get("/admin").await;
    page.assert_status(Status::Ok);
    let text = page.text();
    assert!(text.contains("root") && text.contains("bob"), "{text}");
    assert!(root.get("/").await.body.contains(r#"href="/admin""#));

    // Everyone else: the same 404 as any unknown page, signed in or not, for every route.
    let visitor = app.start().await;
    let bob_id = bob.id.to_string();
    for path in [
        "/admin".to_owned(),
        "/admin?page=2".to_owned(),
        format!("/admin/users/{bob_id}/delete"),
        "/admin/reset-links/0123".to_owned(),
    ] {
        bob.get(&path).await.assert_status(Status::NotFound);
        get(&visitor, &path).await.assert_status(Status::NotFound);
    }
    assert!(!bob.get("/").await.body.contains(r#"href="/admin""#));
    for action in ["disable", "enable", "sign-out", "reset-link", "delete"] {
        let path = format!("/admin/users/{}/{action}", root.id);
        bob.submit(&path, &[]).await.assert_status(Status::NotFound);
    }
    assert!(is_signed_in(&root.client).await, "bob changed nothing");
}

#[tokio::test]
async fn the_command_line_grants_and_revokes_while_the_server_runs() {
    let app = TestApp::new().await;
    let root = app.user("root").await;
    let bob = app.user("bob").await;
    bob.get("/admin").await.assert_status(Status::NotFound);

    let (status, out, err) = app.cli(&["admin", "grant", "Bob"]);
    assert!(status.success(), "{out}{err}");
    assert!(
        out.contains("bob is now an admin") || out.contains("Bob is now an admin"),
        "{out}"
    );
    // The running server sees it on the next request: no restart, no new sign-in.
    bob.get("/admin").await.assert_status(Status::Ok);

    let (status, out, _) = app.cli(&["admin", "list"]);
    assert!(status.success());
    assert!(out.contains("2 accounts"), "{out}");
    assert_eq!(out.matches("admin ").count(), 2, "{out}");

    let (status, out, _) = app.cli(&["admin", "revoke", "root"]);
    assert!(status.success(), "{out}");
    root.get("/admin").await.assert_status(Status::NotFound);

    // bob is the last admin now: the command line refuses, and says why.
    let (status, _, err) = app.cli(&["admin", "revoke", "bob"]);
    assert!(!status.success());
    assert!(err.contains("last admin"), "{err}");
    assert!(is_admin(&app, "bob"));

    let (status, _, err) = app.cli(&["admin", "grant", "nobody"]);
    assert!(!status.success());
    assert!(err.contains("no account named"), "{err}");
    let (status, _, err) = app.cli(&["admin", "promote", "bob"]);
    assert_eq!(status.code(), Some(2), "{err}");
}

#[tokio::test]
async fn the_last_admin_can_be_neither_disabled_nor_deleted() {
    let app = TestApp::new().await;
    let root = app.user("root").await;
    let _bob = app.user("bob").await;
    let me = format!("/admin/users/{}", root.id);

    let refused = root.submit(&format!("{me}/disable"), &[]).await;
    refused.assert_status(Status::Conflict);
    assert!(
        form_error(&refused.body)
            .unwrap()
            .contains("最后一个管理员"),
        "{}",
        refused.body
    );
    root.submit(&format!("{me}/delete"), &[])
        .await
        .assert_status(Status::Conflict);
    // Nor through the account page.
    let refused = root
        .submit("/account/delete", &[("password", PASSWORD)])
        .await;
    refused.assert_status(Status::Conflict);
    assert!(is_signed_in(&root.client).await);
    assert!(is_admin(&app, "root"));

    // With a second admin, the first may go.
    app.cli(&["admin", "grant", "bob"]);
    root.submit(&format!("{me}/disable"), &[])
        .await
        .assert_redirect_to("/admin");
    assert!(!is_signed_in(&root.client).await);
}

#[tokio::test]
async fn a_disabled_user_is_stopped_at_once_and_everything_resumes_on_enable() {
    let app = TestApp::new().await;
    let _points = mount_points(&app.upstream, 240.5).await;
    let root = app.user("root").await;
    let bob = app.user("bob").await;
    let token = bob.create_token("script").await;
    let key = bob.add_key("main", KEY).await;
    bob.submit(
        "/monitors",
        &[("key_id", &key.to_string()), ("every_minutes", "5")],
    )
    .await
    .assert_redirect_to("/monitors");
    newest_monitor(&app.db(), bob.id);
    let runs = || schedule_runs(&app.db(), bob.id);
    app.advance(MINUTE).await;
    wait_for_count(&app, "the first scheduled check", 1, runs).await;

    let answer = root
        .submit(&format!("/admin/users/{}/disable", bob.id), &[])
        .await;
    answer.assert_redirect_to("/admin");
    assert!(follow(&root.client, &answer).await.text().contains("bob"));
    // Pages send bob to sign in, the API says 401, the monitor skips its slots.
    let page = bob.get("/keys").await;
    page.assert_status(Status::SeeOther);
    assert!(page.location().unwrap().starts_with("/login"));
    api_get(&bob.client, Some(&token), "/api/history")
        .await
        .assert_status(Status::Unauthorized);
    app.advance(10 * MINUTE).await;
    stays(&app, "no run while disabled", 1, runs).await;
    // Signing in again says why it fails, after the right password only.
    let again = app.start().await;
    let refused = login(&again, "bob", PASSWORD).await;
    refused.assert_status(Status::Forbidden);
    assert!(form_error(&refused.body).unwrap().contains("停用"));
    let wrong = login(&again, "bob", "not the password").await;
    wrong.assert_status(Status::Unauthorized);
    assert!(!form_error(&wrong.body).unwrap().contains("停用"));

    root.submit(&format!("/admin/users/{}/enable", bob.id), &[])
        .await
        .assert_redirect_to("/admin");
    assert!(
        is_signed_in(&bob.client).await,
        "the same session works again"
    );
    api_get(&bob.client, Some(&token), "/api/history")
        .await
        .assert_status(Status::Ok);
    app.advance(5 * MINUTE).await;
    wait_for_count(&app, "checks resume", 2, runs).await;
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session_of_the_user() {
    let app = TestApp::new().await;
    let root = app.user("root").await;
    let bob = app.user("bob").await;
    let second = app.start().await;
    login(&second, "bob", PASSWORD)
        .await
        .assert_redirect_to("/");
    assert_eq!(revocable_sessions(&bob.get("/account").await.body).len(), 1);

    root.submit(&format!("/admin/users/{}/sign-out", bob.id), &[])
        .await
        .assert_redirect_to("/admin");
    assert!(!is_signed_in(&bob.client).await);
    assert!(!is_signed_in(&second).await);
    assert!(is_signed_in(&root.client).await);
    // Signing in again works: nothing else changed.
    login(&second, "bob", PASSWORD)
        .await
        .assert_redirect_to("/");
}

#[tokio::test]
async fn deleting_a_user_asks_first_and_removes_everything_of_theirs() {
    let app = TestApp::new().await;
    let root = app.user("root").await;
    let bob = app.user("bob").await;
    bob.add_key("main", KEY).await;
    let confirm = root.get(&format!("/admin/users/{}/delete", bob.id)).await;
    confirm.assert_status(Status::Ok);
    assert!(confirm.text().contains("bob"));
    assert!(
        confirm
            .body
            .contains(&format!(r#"action="/admin/users/{}/delete""#, bob.id))
    );
    assert!(listed(&root, "bob").await, "a GET changes nothing");

    let deleted = root
        .submit(&format!("/admin/users/{}/delete", bob.id), &[])
        .await;
    deleted.assert_redirect_to("/admin");
    assert!(
        follow(&root.client, &deleted).await.text().contains("bob"),
        "the flash names bob"
    );
    assert!(!listed(&root, "bob").await);
    assert!(!is_signed_in(&bob.client).await);
    let left: i64 = app
        .db()
        .query_row("SELECT count(*) FROM api_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0);
    root.submit(&format!("/admin/users/{}/delete", bob.id), &[])
        .await
        .assert_status(Status::NotFound);
    root.get("/admin/users/999/delete")
        .await
        .assert_status(Status::NotFound);
}

/// The link from the page that shows it once.
fn shown_link(body: &str) -> Option<String> {
    let marker = r#"id="new-reset-link">"#;
    let start = body.find(marker)? + marker.len();
    let end = start + body[start..].find('<')?;
    Some(body[start..end].trim().to_owned())
}

#[tokio::test]
async fn a_reset_link_is_shown_once_works_once_and_expires() {
    let app = TestApp::new().await;
    let root = app.user("root").await;
    let bob = app.user("bob").await;

    let made = root
        .submit(&format!("/admin/users/{}/reset-link", bob.id), &[])
        .await;
    let shown = follow(&root.client, &made).await;
    shown.assert_status(Status::Ok);
    let link = shown_link(&shown.body).expect("the link is shown");
    let path = link[link.find("/reset/").expect("a reset path")..].to_owned();
    let code = path.trim_start_matches("/reset/").to_owned();
    assert_eq!(code.len(), 64, "{link}");
    // Once: the same address again, and the admin page, no longer hold it.
    let again = root.get(made.location().unwrap()).await;
    assert!(shown_link(&again.body).is_none());
    assert!(form_error(&again.body).is_some());
    assert_no_trace(root.get("/admin").await.body.as_bytes(), &code, "/admin");
    // Hashed at rest.
    assert_no_trace(&app.db_bytes(), &code, "the database");

    let visitor = app.start().await;
    let form = get(&visitor, &path).await;
    form.assert_status(Status::Ok);
    assert!(form.text().contains("bob"));
    let short = crate::harness::http::submit_from(
        &visitor,
        &path,
        &path,
        &[("password", "short"), ("password_confirm", "short")],
    )
    .await;
    short.assert_status(Status::UnprocessableEntity);
    let done = crate::harness::http::submit_from(
        &visitor,
        &path,
        &path,
        &[
            ("password", "a brand new one"),
            ("password_confirm", "a brand new one"),
        ],
    )
    .await;
    done.assert_redirect_to("/login");
    assert!(!is_signed_in(&bob.client).await, "the old sessions end");
    login(&visitor, "bob", "a brand new one")
        .await
        .assert_redirect_to("/");
    // Once only.
    get(&app.start().await, &path)
        .await
        .assert_status(Status::NotFound);

    // A new link that outlives its hour does not work either.
    let made = root
        .submit(&format!("/admin/users/{}/reset-link", bob.id), &[])
        .await;
    let link = shown_link(&follow(&root.client, &made).await.body).unwrap();
    let path = link[link.find("/reset/").unwrap()..].to_owned();
    app.db()
        .execute(
            "UPDATE password_resets SET expires_at = expires_at - 3601",
            [],
        )
        .unwrap();
    get(&app.start().await, &path)
        .await
        .assert_status(Status::NotFound);
}

#[tokio::test]
async fn guessing_reset_codes_is_throttled_per_address() {
    let app = TestApp::new().await;
    let visitor = app.start().await;
    let guess = |n: usize| format!("/reset/{n:064x}");
    // Five misses per address in 15 minutes, as for one account's passwords.
    for n in 0..5 {
        crate::harness::http::get_with(&visitor, &guess(n), &[("X-Real-IP", "10.9.9.9")])
            .await
            .assert_status(Status::NotFound);
    }
    let throttled =
        crate::harness::http::get_with(&visitor, &guess(11), &[("X-Real-IP", "10.9.9.9")]).await;
    throttled.assert_status(Status::TooManyRequests);
    assert!(throttled.header("Retry-After").is_some());
    // Another address is not held back.
    crate::harness::http::get_with(&visitor, &guess(12), &[("X-Real-IP", "10.9.9.10")])
        .await
        .assert_status(Status::NotFound);
}

#[tokio::test]
async fn admin_reset_link_on_the_command_line_is_the_way_back_in() {
    let app = TestApp::new().await;
    let root = app.user("root").await;
    drop(root);
    let (status, out, err) = app.cli_with(
        &["admin", "reset-link", "root"],
        &[("ROCKET_PUBLIC_URL", "https://msb.example")],
    );
    assert!(status.success(), "{err}");
    let link = out
        .split_whitespace()
        .find(|w| w.starts_with("https://msb.example/reset/"))
        .unwrap_or_else(|| panic!("{out}"));
    let path = link.trim_start_matches("https://msb.example").to_owned();
    let browser = app.start().await;
    signed_up(&app.start().await, "carol").await;
    crate::harness::http::submit_from(
        &browser,
        &path,
        &path,
        &[
            ("password", "back in again"),
            ("password_confirm", "back in again"),
        ],
    )
    .await
    .assert_redirect_to("/login");
    login(&browser, "root", "back in again")
        .await
        .assert_redirect_to("/");
    get(&browser, "/admin").await.assert_status(Status::Ok);
}
