//! The round trip: the first single sign-on makes the account (the instance's first is its
//! admin) and signs in where the visitor was going; the second finds the same account; the
//! account page shows the link; an account with two-factor sign-in still asks for its code.

use modelscope_balance::clock::Clock;
use rocket::http::Status;

use super::{Flow, PUBLIC_URL, links, round_trip, site, start, user_id, users};
use crate::harness::http::get;
use crate::harness::two_factor::{SECOND_STEP, enrol, second_step};
use crate::harness::users::{is_signed_in, login};

#[tokio::test]
async fn the_first_sign_in_makes_the_admin_and_the_second_finds_the_same_account() {
    let Some((app, provider)) = site(|config| config).await else {
        return;
    };
    let browser = app.start().await;
    let page = get(&browser, "/login").await;
    page.assert_status(Status::Ok);
    assert!(page.body.contains("使用 Test IdP 登录"), "{}", page.body);
    assert!(page.body.contains(r#"href="/login/oidc""#), "{}", page.body);
    let signup = get(&browser, "/signup").await;
    assert!(
        signup.body.contains("使用 Test IdP 登录"),
        "sign-up is open"
    );

    let authorize = start(&browser, "?next=/keys").await;
    let url = reqwest::Url::parse(&authorize).unwrap();
    assert_eq!(
        format!("{}{}", url.origin().ascii_serialization(), url.path()),
        format!("{}/auth", provider.issuer)
    );
    let asked: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(asked["response_type"], "code");
    assert_eq!(asked["client_id"], super::CLIENT_ID);
    assert_eq!(
        asked["redirect_uri"],
        format!("{PUBLIC_URL}/login/oidc/callback")
    );
    assert_eq!(asked["code_challenge_method"], "S256");
    assert_eq!(asked["scope"], "openid email profile");
    for part in ["state", "nonce", "code_challenge"] {
        assert!(asked[part].len() >= 22, "{part}: {authorize}");
    }
    let cookie = browser
        .cookies()
        .get("msb_sso")
        .map(|c| c.value().to_owned());
    assert!(cookie.is_some(), "the return is bound to this browser");

    let returned = Flow::default()
        .sign_in_at_provider(&authorize, "alice")
        .await;
    assert!(returned.param("code").is_some());
    let landed = get(&browser, &returned.path).await;
    landed.assert_redirect_to("/keys");
    assert!(is_signed_in(&browser).await);
    assert!(browser.cookies().get("msb_sso").is_none(), "used up");
    let (admin, hash, email): (bool, String, Option<String>) = app
        .db()
        .query_row(
            "SELECT is_admin, password_hash, email FROM users WHERE username = 'alice'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .expect("the account alice");
    assert!(admin, "the first account of an instance is its admin");
    assert_eq!(
        hash, "",
        "an account made by single sign-on has no password"
    );
    assert_eq!(email.as_deref(), Some("alice@example.test"));
    let (issuer, subject): (String, String) = app
        .db()
        .query_row("SELECT issuer, subject FROM sso_identities", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .unwrap();
    assert_eq!(
        (issuer.as_str(), subject.as_str()),
        (provider.issuer.as_str(), "alice")
    );
    let account = get(&browser, "/account").await;
    account.assert_status(Status::Ok);
    assert!(account.body.contains(&provider.issuer), "the link is shown");
    assert!(account.body.contains("alice@example.test"));

    // Again, in another browser: the same account, nothing new.
    let other = app.start().await;
    round_trip(&other, "alice").await.assert_redirect_to("/");
    assert!(is_signed_in(&other).await);
    assert_eq!((users(&app), links(&app)), (1, 1));
    let heading = get(&other, "/account").await;
    assert!(heading.body.contains("alice"), "{}", heading.body);
    // No password signs in to it: it has none.
    let third = app.start().await;
    login(&third, "alice", "").await.assert_client_error();
    login(&third, "alice", "any password at all")
        .await
        .assert_status(Status::Unauthorized);
    // A second person gets an account of their own, not an admin.
    let bob = app.start().await;
    round_trip(&bob, "bob").await.assert_redirect_to("/");
    let bob_admin: bool = app
        .db()
        .query_row(
            "SELECT is_admin FROM users WHERE username = 'bob'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!bob_admin);
    assert!(user_id(&app, "bob").is_some());
}

/// A password account with two-factor sign-in, reached by single sign-on (linked by its
/// email): the provider's word replaces the password, not the second factor.
#[tokio::test]
async fn two_factor_sign_in_is_still_asked_for() {
    let Some((app, _)) = site(|config| config.merge(("oidc_link_by_email", true))).await else {
        return;
    };
    let dave = app.user("dave").await;
    dave.submit(
        "/account/email",
        &[
            ("email", "Dave@Example.test"),
            ("current_password", crate::harness::PASSWORD),
        ],
    )
    .await
    .assert_redirect_to("/account");
    let enrolled = enrol(&dave, app.clock.now()).await;

    let browser = app.start().await;
    round_trip(&browser, "dave")
        .await
        .assert_redirect_to(SECOND_STEP);
    assert!(!is_signed_in(&browser).await, "not before the code");
    // The enrolment used this time step's code: the next step's, as the app's clock moves on.
    app.clock.advance(std::time::Duration::from_secs(30));
    let code = enrolled.code_at(app.clock.now());
    second_step(&browser, &code).await.assert_redirect_to("/");
    assert!(is_signed_in(&browser).await);
    assert_eq!(users(&app), 1, "linked, not a new account");
    assert_eq!(links(&app), 1);
}
