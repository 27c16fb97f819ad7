//! Sessions you can manage on `/account`: each one's device, address and last activity, "sign
//! out all other sessions", and a new API token shown at the top of the page, once, with a copy
//! button and a ready `curl` example that works.

use rocket::http::Status;

use crate::harness::api::api_get;
use crate::harness::html::{html_unescape, revocable_sessions};
use crate::harness::http::{follow, get, submit_with};
use crate::harness::users::{is_signed_in, login_with};
use crate::harness::{PASSWORD, TestApp, User};

const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

#[tokio::test]
async fn sessions_show_device_address_and_all_others_can_be_signed_out() {
    let app = TestApp::new().await;
    let laptop = app.start().await;
    submit_with(
        &laptop,
        "/signup",
        &[
            ("username", "alice"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ],
        &[("X-Real-IP", "10.1.1.1"), ("User-Agent", CHROME)],
    )
    .await
    .assert_redirect_to("/");
    let phone = app.start().await;
    let tablet = app.start().await;
    for (client, addr) in [(&phone, "10.2.2.2"), (&tablet, "10.3.3.3")] {
        login_with(
            client,
            "alice",
            PASSWORD,
            &[("X-Real-IP", addr), ("User-Agent", FIREFOX)],
        )
        .await
        .assert_redirect_to("/");
    }

    let page = get(&laptop, "/account").await;
    page.assert_status(Status::Ok);
    let text = page.text();
    for expected in [
        "Chrome · Windows",
        "Firefox · Linux",
        "10.1.1.1",
        "10.2.2.2",
        "10.3.3.3",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
    assert_eq!(revocable_sessions(&page.body).len(), 2);
    assert!(page.body.contains(r#"action="/account/sessions/others""#));

    let csrf = crate::harness::http::csrf_token(&laptop, "/account").await;
    let ended = crate::harness::http::post_form(
        &laptop,
        "/account/sessions/others",
        &[("csrf_token", csrf.as_str())],
    )
    .await;
    ended.assert_redirect_to("/account");
    let after = follow(&laptop, &ended).await;
    assert!(
        after.text().contains("已退出其他会话：2 个"),
        "{}",
        after.text()
    );
    assert!(revocable_sessions(&after.body).is_empty());
    assert!(!after.body.contains(r#"action="/account/sessions/others""#));
    assert!(is_signed_in(&laptop).await);
    assert!(!is_signed_in(&phone).await);
    assert!(!is_signed_in(&tablet).await);
}

/// The text of `<… id="{id}">…</…>` (the first tag with that id), unescaped.
fn shown(body: &str, id: &str) -> Option<String> {
    let marker = format!(r#"id="{id}">"#);
    let start = body.find(&marker)? + marker.len();
    let end = start + body[start..].find('<')?;
    Some(html_unescape(body[start..end].trim()))
}

#[tokio::test]
async fn a_new_token_comes_first_on_the_page_with_a_copy_button_and_a_curl_example_that_works() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let made = alice
        .submit("/account/tokens", &[("name", "nightly")])
        .await;
    let page = follow(&alice.client, &made).await;
    page.assert_status(Status::Ok);
    let token = shown(&page.body, "new-token").expect("the token is shown");
    let curl = shown(&page.body, "new-token-curl").expect("the curl example");
    // At the top: before the password form.
    let card = page.body.find(r#"id="new-token-card""#).unwrap();
    assert!(card < page.body.find(r#"action="/account/password""#).unwrap());
    assert!(page.body.contains(r#"data-copy="new-token""#));
    assert!(page.body.contains(r#"data-copy="new-token-curl""#));
    // The example names this site (the local client sends no Host: then just the path) and
    // carries the token in the header the API reads.
    assert!(
        curl.starts_with(&format!("curl -H \"Authorization: Bearer {token}\" ")),
        "{curl}"
    );
    assert!(curl.ends_with("/api/history"), "{curl}");
    api_get(&alice.client, Some(&token), "/api/history")
        .await
        .assert_status(Status::Ok);

    // Once: the same address again shows neither.
    let again = alice.get(made.location().unwrap()).await;
    assert!(shown(&again.body, "new-token").is_none());
    assert!(shown(&again.body, "new-token-curl").is_none());
    let _: &User = &alice;
}

#[tokio::test]
async fn the_curl_example_names_the_public_url_when_set() {
    let app = TestApp::configured(|c| c.merge(("public_url", "https://msb.example/"))).await;
    let alice = app.user("alice").await;
    let made = alice.submit("/account/tokens", &[("name", "cron")]).await;
    let page = follow(&alice.client, &made).await;
    let curl = shown(&page.body, "new-token-curl").expect("the curl example");
    assert!(curl.ends_with(" https://msb.example/api/history"), "{curl}");
}
