//! What single sign-on refuses, each with words on the login page and nothing created: a state
//! or nonce that does not match, a return that was not started here or comes twice, the
//! provider's error, an unverified email, a disabled account, closed sign-up and invite-only
//! sign-up without the invitation; and linking by email only when the admin allows it.

use rocket::http::Status;

use super::{Flow, links, round_trip, site, start, user_id, users};
use crate::harness::html::visible_text;
use crate::harness::http::{Answer, follow, get};
use crate::harness::users::is_signed_in;
use crate::harness::{PASSWORD, TestApp};

/// The refusal's words (`#sso-error`), in English.
fn said(answer: &Answer) -> String {
    let marker = r#"id="sso-error">"#;
    let start = answer
        .body
        .find(marker)
        .unwrap_or_else(|| panic!("no refusal on the page: {}", answer.body))
        + marker.len();
    let end = start + answer.body[start..].find("</p>").expect("its end");
    visible_text(&answer.body[start..end])
}

/// Asserts a refusal with `status` whose words hold `words`, and nothing made.
#[track_caller]
fn refused(app: &TestApp, answer: &Answer, status: Status, words: &str) {
    answer.assert_status(status);
    let text = said(answer);
    assert!(text.contains(words), "{words:?} not in {text:?}");
    assert!(answer.body.contains(r#"action="/login""#), "the login page");
    assert_eq!(links(app), 0, "nothing linked");
}

async fn english(app: &TestApp) -> rocket::local::asynchronous::Client {
    let client = app.start().await;
    super::english(&client).await;
    client
}

#[tokio::test]
async fn a_state_or_nonce_that_does_not_match_and_a_replayed_return_are_refused() {
    let Some((app, _)) = site(|config| config).await else {
        return;
    };
    let browser = english(&app).await;
    // The state: the return names another sign-in.
    let authorize = start(&browser, "").await;
    let returned = Flow::default()
        .sign_in_at_provider(&authorize, "mallory")
        .await;
    let forged = returned.with_param("state", "0123456789abcdef0123456789abcdef");
    refused(
        &app,
        &get(&browser, &forged).await,
        Status::BadRequest,
        "state does not match",
    );
    // The sign-in was used up by that attempt: the genuine return no longer works either.
    let late = get(&browser, &returned.path).await;
    refused(
        &app,
        &late,
        Status::BadRequest,
        "was not started in this browser",
    );
    assert!(!is_signed_in(&browser).await);

    // The nonce: the browser sent the provider another one than the app chose.
    let authorize = start(&browser, "").await;
    let mut url = reqwest::Url::parse(&authorize).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == "nonce" {
                (k, "forged-nonce-value".into())
            } else {
                (k, v)
            }
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    let returned = Flow::default()
        .sign_in_at_provider(url.as_str(), "mallory")
        .await;
    refused(
        &app,
        &get(&browser, &returned.path).await,
        Status::BadRequest,
        "nonce does not match",
    );

    // A return in a browser that started nothing.
    let stranger = english(&app).await;
    let authorize = start(&browser, "").await;
    let returned = Flow::default()
        .sign_in_at_provider(&authorize, "mallory")
        .await;
    refused(
        &app,
        &get(&stranger, &returned.path).await,
        Status::BadRequest,
        "not started",
    );
    assert_eq!(users(&app), 0);
}

#[tokio::test]
async fn the_providers_error_is_said_and_creates_nothing() {
    let Some((app, _)) = site(|config| config).await else {
        return;
    };
    let browser = english(&app).await;
    let authorize = start(&browser, "").await;
    let state = reqwest::Url::parse(&authorize)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let answer = get(
        &browser,
        &format!("/login/oidc/callback?error=access_denied&error_description=no&state={state}"),
    )
    .await;
    refused(&app, &answer, Status::BadRequest, "did not sign you in");
    // A return without a code is refused too.
    let authorize = start(&browser, "").await;
    let returned = Flow::default()
        .sign_in_at_provider(&authorize, "nick")
        .await;
    let without_code = returned.path.replace("code=", "not_code=");
    refused(
        &app,
        &get(&browser, &without_code).await,
        Status::BadRequest,
        "incomplete",
    );
    assert_eq!(users(&app), 0);
}

#[tokio::test]
async fn an_unverified_email_is_refused_for_a_new_account_and_for_linking() {
    let Some((app, _)) = site(|config| config.merge(("oidc_link_by_email", true))).await else {
        return;
    };
    let browser = english(&app).await;
    refused(
        &app,
        &round_trip(&browser, "unverified-erin").await,
        Status::Forbidden,
        "verified email",
    );
    assert_eq!(users(&app), 0);
    // An account holding that email is not linked on the provider's unverified word.
    let erin = app.user("erin").await;
    erin.submit(
        "/account/email",
        &[
            ("email", "unverified-erin@example.test"),
            ("current_password", PASSWORD),
        ],
    )
    .await
    .assert_redirect_to("/account");
    refused(
        &app,
        &round_trip(&browser, "unverified-erin").await,
        Status::Forbidden,
        "verified email",
    );
    assert_eq!(users(&app), 1);
    assert!(!is_signed_in(&browser).await);
}

#[tokio::test]
async fn a_disabled_account_stays_out() {
    let Some((app, _)) = site(|config| config).await else {
        return;
    };
    let root = app.user("root").await;
    let frank = app.start().await;
    round_trip(&frank, "frank").await.assert_redirect_to("/");
    let id = user_id(&app, "frank").expect("frank's account");
    root.submit(&format!("/admin/users/{id}/disable"), &[])
        .await
        .assert_status(Status::SeeOther);
    let again = english(&app).await;
    let answer = round_trip(&again, "frank").await;
    answer.assert_status(Status::Forbidden);
    assert!(said(&answer).contains("disabled"), "{}", said(&answer));
    assert!(!is_signed_in(&again).await);
    assert_eq!(users(&app), 2);
}

#[tokio::test]
async fn closed_and_invite_only_sign_up_make_no_account_without_an_invitation() {
    let Some((app, _)) = site(|config| config.merge(("signup_mode", "closed"))).await else {
        return;
    };
    let browser = english(&app).await;
    refused(
        &app,
        &round_trip(&browser, "gina").await,
        Status::Forbidden,
        "sign-up is closed",
    );
    assert_eq!(users(&app), 0);
    // No button where the sign-up page offers no form.
    assert!(!get(&browser, "/signup").await.body.contains("/login/oidc"));

    let invite_only = app
        .start_with(|config| config.merge(("signup_mode", "invite")))
        .await;
    super::english(&invite_only).await;
    refused(
        &app,
        &round_trip(&invite_only, "gina").await,
        Status::Forbidden,
        "needs an invitation",
    );
    assert_eq!(users(&app), 0);
    // The invitation's page carries it to the provider and back: one account, the code used.
    let (status, printed, _) = app.cli(&["admin", "invite"]);
    assert!(status.success(), "{printed}");
    let code = printed
        .split("invite=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the invitation's code")
        .to_owned();
    let page = get(&invite_only, &format!("/signup?invite={code}")).await;
    let href = format!("/login/oidc?invite={code}");
    assert!(page.body.contains(&href), "{}", page.body);
    let authorize = start(&invite_only, &format!("?invite={code}")).await;
    let returned = Flow::default()
        .sign_in_at_provider(&authorize, "gina")
        .await;
    get(&invite_only, &returned.path)
        .await
        .assert_redirect_to("/");
    assert!(user_id(&app, "gina").is_some());
    let used: i64 = app
        .db()
        .query_row(
            "SELECT count(*) FROM invitations WHERE used_by IS NOT NULL",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(used, 1);
    // Used up: the next person with the same link is refused.
    let late = app
        .start_with(|config| config.merge(("signup_mode", "invite")))
        .await;
    super::english(&late).await;
    let authorize = start(&late, &format!("?invite={code}")).await;
    let returned = Flow::default()
        .sign_in_at_provider(&authorize, "hank")
        .await;
    let answer = get(&late, &returned.path).await;
    answer.assert_status(Status::NotFound);
    assert!(user_id(&app, "hank").is_none());
}

/// Off (the default), a first sign-in whose email an account holds makes a new account beside
/// it; on, it lands in that account.
#[tokio::test]
async fn linking_by_email_happens_only_when_the_admin_allows_it() {
    for allowed in [false, true] {
        let Some((app, _)) = site(|config| config.merge(("oidc_link_by_email", allowed))).await
        else {
            return;
        };
        let ivy = app.user("ivy").await;
        let saved = ivy
            .submit(
                "/account/email",
                &[
                    ("email", "ivy@example.test"),
                    ("current_password", PASSWORD),
                ],
            )
            .await;
        let shown = follow(&ivy.client, &saved).await;
        assert!(shown.body.contains("ivy@example.test"));
        let browser = app.start().await;
        round_trip(&browser, "ivy").await.assert_redirect_to("/");
        let landed_in: i64 = app
            .db()
            .query_row("SELECT user_id FROM sso_identities", [], |row| row.get(0))
            .unwrap();
        if allowed {
            assert_eq!(landed_in, ivy.id, "linked to the account holding the email");
            assert_eq!(users(&app), 1);
        } else {
            assert_ne!(landed_in, ivy.id);
            assert_eq!(
                user_id(&app, "ivy-2"),
                Some(landed_in),
                "a new account beside it"
            );
            // The email stays ivy's alone.
            let email: Option<String> = app
                .db()
                .query_row("SELECT email FROM users WHERE id = ?1", [landed_in], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(email, None);
        }
    }
}

#[tokio::test]
async fn the_account_email_form_checks_its_input() {
    let Some((app, _)) = site(|config| config).await else {
        return;
    };
    let kim = app.user("kim").await;
    let page = kim.get("/account").await;
    assert!(page.body.contains(r#"action="/account/email""#));
    let bad = kim
        .submit(
            "/account/email",
            &[("email", "not an email"), ("current_password", PASSWORD)],
        )
        .await;
    bad.assert_status(Status::UnprocessableEntity);
    assert!(
        bad.body.contains(r#"aria-describedby="email-error""#),
        "{}",
        bad.body
    );
    let wrong = kim
        .submit(
            "/account/email",
            &[("email", "kim@example.test"), ("current_password", "nope")],
        )
        .await;
    wrong.assert_status(Status::UnprocessableEntity);
    let lee = app.user("lee").await;
    kim.submit(
        "/account/email",
        &[
            ("email", "kim@example.test"),
            ("current_password", PASSWORD),
        ],
    )
    .await
    .assert_redirect_to("/account");
    let taken = lee
        .submit(
            "/account/email",
            &[
                ("email", "KIM@example.test"),
                ("current_password", PASSWORD),
            ],
        )
        .await;
    taken.assert_status(Status::Conflict);
    kim.submit(
        "/account/email",
        &[("email", ""), ("current_password", PASSWORD)],
    )
    .await
    .assert_redirect_to("/account");
}
