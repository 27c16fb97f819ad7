//! First steps (issue 20, item 6): the key used on the quick page is carried through sign-up in
//! the forms the browser posts and offered for saving, never stored before the user says so;
//! a refused key form keeps what was typed; every list page says what to do when it is empty.

use rocket::http::Status;

use crate::harness::db::count;
use crate::harness::http::{get, submit_from};
use crate::harness::secrets::KEY;
use crate::harness::users::add_key;
use crate::harness::{Answer, PASSWORD, TestApp};

/// `ms-…5555`, how the pages name the canary key without showing it.
const MASKED: &str = "ms-…5555";

fn no_store(answer: &Answer) {
    assert_eq!(
        answer.header("Cache-Control"),
        Some("no-store"),
        "a page holding a pasted key is never cached"
    );
}

/// The `value` of the hidden `api_key` field, if the page has one.
fn carried_key(body: &str) -> Option<String> {
    let at = body.find(r#"<input type="hidden" name="api_key" value=""#)?;
    let rest = &body[at + r#"<input type="hidden" name="api_key" value=""#.len()..];
    Some(rest[..rest.find('"')?].to_owned())
}

fn keys_of(app: &TestApp) -> i64 {
    count(&app.db(), "SELECT count(*) FROM api_keys WHERE ?1 = ?1", 0)
}

#[tokio::test]
async fn the_quick_pages_key_is_offered_after_sign_up_and_saved_only_when_asked() {
    let app = TestApp::new().await;
    let client = app.start().await;

    // The quick form's button posts the form (key included) to the sign-up.
    let home = get(&client, "/").await;
    assert!(
        home.body.contains(r#"formaction="/signup/keep""#),
        "{}",
        home.body
    );
    let signup = submit_from(
        &client,
        "/",
        "/signup/keep",
        &[("api_key", KEY), ("site", "ai"), ("models", "a/b")],
    )
    .await;
    assert_eq!(signup.status, Status::Ok, "{}", signup.body);
    no_store(&signup);
    assert_eq!(carried_key(&signup.body).as_deref(), Some(KEY));
    assert!(signup.body.contains(r#"name="site" value="ai""#));
    assert!(signup.text().contains(MASKED), "{}", signup.text());
    assert_eq!(keys_of(&app), 0);

    // Signed up: a page (not a redirect) asks before saving it.
    let offer = submit_from(
        &client,
        "/signup",
        "/signup",
        &[
            ("username", "newbie"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
            ("api_key", KEY),
            ("site", "ai"),
        ],
    )
    .await;
    assert_eq!(offer.status, Status::Ok, "{}", offer.body);
    no_store(&offer);
    assert!(offer.body.contains(r#"action="/keys""#), "{}", offer.body);
    assert_eq!(carried_key(&offer.body).as_deref(), Some(KEY));
    assert!(offer.text().contains(MASKED));
    assert!(
        offer.body.contains(r#"class="who">newbie</a>"#),
        "signed in"
    );
    assert_eq!(keys_of(&app), 0, "nothing is saved before the user says so");
    assert!(
        !String::from_utf8_lossy(&app.db_bytes()).contains(KEY),
        "the key is nowhere in the database"
    );

    // "Save this key": it is saved, for the site it was used with.
    let saved = submit_from(
        &client,
        "/keys",
        "/keys",
        &[("label", "我的 Key"), ("api_key", KEY), ("site", "ai")],
    )
    .await;
    saved.assert_redirect_to("/keys");
    assert_eq!(keys_of(&app), 1);
    let site: String = app
        .db()
        .query_row("SELECT site FROM api_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(site, "ai");
}

#[tokio::test]
async fn the_offer_speaks_english_and_not_now_leaves_nothing() {
    let app = TestApp::new().await;
    let client = app.start().await;
    let headers = [("Accept-Language", "en")];
    let offer = crate::harness::http::submit_from_with(
        &client,
        "/signup",
        "/signup",
        &[
            ("username", "later"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
            ("api_key", KEY),
        ],
        &headers,
    )
    .await;
    assert_eq!(offer.status, Status::Ok, "{}", offer.body);
    let text = offer.text();
    assert!(text.contains("Save this key"), "{text}");
    assert!(text.contains("Not now"), "{text}");
    assert!(
        offer.body.contains(r#"name="site" value="cn""#),
        "the default site"
    );
    // Going on to the dashboard instead: no key, and no page holds it.
    let dashboard = get(&client, "/").await;
    assert_eq!(dashboard.status, Status::Ok);
    assert_eq!(keys_of(&app), 0);
}

#[tokio::test]
async fn a_refused_sign_up_still_carries_the_key_and_a_malformed_one_is_never_carried() {
    let app = TestApp::new().await;
    let client = app.start().await;
    let refused = submit_from(
        &client,
        "/signup",
        "/signup",
        &[
            ("username", "typo"),
            ("password", PASSWORD),
            ("password_confirm", "something else entirely"),
            ("api_key", KEY),
        ],
    )
    .await;
    assert!(refused.status.code >= 400 && refused.status.code < 500);
    no_store(&refused);
    assert_eq!(carried_key(&refused.body).as_deref(), Some(KEY));
    assert!(
        refused.body.contains(r#"value="typo""#),
        "the username stays"
    );
    assert_eq!(
        count(&app.db(), "SELECT count(*) FROM users WHERE ?1 = ?1", 0),
        0
    );

    // Too short, a space inside, nothing: not a key's shape.
    for bad in ["ms-1234", "ms-1234 <script>", ""] {
        let page = submit_from(
            &client,
            "/",
            "/signup/keep",
            &[("api_key", bad), ("models", "")],
        )
        .await;
        assert_eq!(page.status, Status::Ok, "{bad:?}: {}", page.body);
        assert_eq!(carried_key(&page.body), None, "{bad:?}");
        assert!(!page.body.contains("<script>"), "{bad:?}");
    }
    // Without a key, signing up goes to the dashboard as ever.
    let plain = submit_from(
        &client,
        "/signup",
        "/signup",
        &[
            ("username", "plain"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ],
    )
    .await;
    plain.assert_redirect_to("/");
}

#[tokio::test]
async fn a_signed_in_user_keeps_keys_on_the_keys_page() {
    let app = TestApp::new().await;
    let user = app.user("alice").await;
    let answer = user.submit("/signup/keep", &[("api_key", KEY)]).await;
    answer.assert_redirect_to("/keys");
    assert!(
        !user.get("/").await.body.contains("/signup/keep"),
        "a signed-in quick page offers no sign-up"
    );
}

#[tokio::test]
async fn a_refused_key_form_keeps_the_label_key_and_site_in_that_answer_only() {
    let app = TestApp::new().await;
    let user = app.user("alice").await;
    add_key(&user.client, "main", crate::harness::secrets::OTHER_KEY).await;
    // The label is taken: the key and the site stay in the form.
    let refused = user
        .submit(
            "/keys",
            &[("label", "main"), ("api_key", KEY), ("site", "ai")],
        )
        .await;
    assert!(refused.status.code >= 400 && refused.status.code < 500);
    no_store(&refused);
    assert!(
        refused.body.contains(&format!(r#"value="{KEY}""#)),
        "{}",
        refused.body
    );
    assert!(refused.body.contains(r#"<option value="ai" selected>"#));
    assert!(refused.body.contains(r#"value="main""#), "the label stays");
    // A malformed key is what was refused: it is not shown again.
    let bad = user
        .submit("/keys", &[("label", "second"), ("api_key", "ms-<b> oops")])
        .await;
    assert!(bad.status.code >= 400 && bad.status.code < 500);
    assert!(!bad.body.contains("oops"), "{}", bad.body);
    // The next page (not an answer to the form) holds no key.
    let page = user.get("/keys").await;
    assert_eq!(page.status, Status::Ok);
    assert!(!page.body.contains(KEY));
}

#[tokio::test]
async fn every_empty_list_page_says_what_to_do_next() {
    let app = TestApp::new().await;
    let user = app.user("alice").await;
    for (page, next) in [
        ("/keys", r##"href="#label""##),
        ("/presets", r##"href="#name""##),
        // No key yet: a monitor needs one first.
        ("/monitors", r#"href="/keys""#),
        ("/channels", r##"href="#channel-form""##),
        ("/monitors/deliveries", r#"href="/channels""#),
        ("/history", r#"href="/query""#),
        ("/account", "empty"),
        ("/", r#"href="/keys""#),
    ] {
        let answer = user.get(page).await;
        assert_eq!(answer.status, Status::Ok, "{page}");
        let empty = answer
            .body
            .split(r#"class="card empty""#)
            .nth(1)
            .or_else(|| answer.body.split(r#"class="muted empty""#).nth(1))
            .unwrap_or_else(|| panic!("{page} has no empty state: {}", answer.body));
        let empty = &empty[..empty.find("</p>").unwrap_or(empty.len())];
        assert!(
            next == "empty" || empty.contains(next),
            "{page}'s empty state leads on with {next}: {empty}"
        );
        // The anchor it points at is on the page.
        if let Some(id) = next.strip_prefix(r##"href="#"##) {
            let id = id.trim_end_matches('"');
            assert!(
                answer.body.contains(&format!(r#"id="{id}""#)),
                "{page} has no #{id}"
            );
        }
    }
    // With a key but no preset, the dashboard says how presets help; with a key, the empty
    // monitors page leads to the form.
    add_key(&user.client, "main", KEY).await;
    let monitors = user.get("/monitors").await;
    assert!(monitors.body.contains(r##"<a href="#monitor-form">"##));
    assert!(monitors.body.contains(r#"id="monitor-form""#));
    let dashboard = user.get("/").await;
    assert!(
        dashboard.body.contains(r#"class="card empty""#)
            && dashboard.body.contains(r#"href="/presets""#),
        "{}",
        dashboard.body
    );
}
