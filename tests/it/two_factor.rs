//! Two-factor sign-in (issue 21 item 4): TOTP enrolled at `/account/two-factor`, asked for at
//! `/login/two-factor` after the password, recovery codes, throttling, the five-minute
//! half-signed-in state, turning it off, and the seed and codes kept out of everything.
//!
//! Codes are computed the way an authenticator app computes them, from the `otpauth://` link
//! the page shows, at the app's (manual) clock; time moves with `TestApp::clock`, never a sleep.

use std::time::Duration;

use modelscope_balance::clock::Clock;
use rocket::http::Status;

use crate::harness::html::{error_tied_to, form_error, visible_text};
use crate::harness::http::{self, follow, get};
use crate::harness::secrets::{assert_no_trace, contains_bytes};
use crate::harness::two_factor::{
    self as tf, COOKIE, Enrolled, PAGE, SECOND_STEP, enrol, password_step, second_step,
};
use crate::harness::users::{is_signed_in, session_cookie};
use crate::harness::{PASSWORD, TestApp, User};

const STEP: Duration = Duration::from_secs(30);

fn now(app: &TestApp) -> i64 {
    app.clock.now()
}

/// `user`'s form post with `Accept-Language: en`.
async fn submit_en(user: &User, uri: &str, fields: &[(&str, &str)]) -> http::Answer {
    let mut all = fields.to_vec();
    all.push(("csrf_token", &user.csrf));
    http::post_form_with(&user.client, uri, &all, &[("Accept-Language", "en")]).await
}

#[tokio::test]
async fn enrolment_keeps_one_secret_until_a_computed_code_turns_it_on() {
    let app = TestApp::new().await;
    let alice = app.user("alice").await;
    let off = alice.get(PAGE).await;
    off.assert_status(Status::Ok);
    assert!(off.body.contains(r#"action="/account/two-factor/start""#));
    assert!(tf::shown_secret(&off.body).is_none());

    let page = tf::start(&alice).await;
    assert_eq!(page.header("Cache-Control"), Some("no-store"));
    assert!(page.body.contains("<svg"), "a QR code drawn on the page");
    let uri = tf::shown_uri(&page.body).expect("an otpauth link");
    let secret = tf::shown_secret(&page.body).expect("the secret as text");
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(uri.contains("alice"), "{uri}");
    // A reload and a second click show the same secret.
    let reloaded = alice.get(PAGE).await;
    assert_eq!(tf::shown_secret(&reloaded.body), Some(secret.clone()));
    let again = tf::start(&alice).await;
    assert_eq!(tf::shown_secret(&again.body), Some(secret.clone()));
    // Not on until confirmed: signing in still needs only the password.
    let other = app.start().await;
    crate::harness::users::login(&other, "alice", PASSWORD)
        .await
        .assert_redirect_to("/");

    // Bad input: said in words, on the field, in both languages; nothing turned on.
    let empty = alice
        .submit("/account/two-factor/confirm", &[("code", " ")])
        .await;
    empty.assert_status(Status::UnprocessableEntity);
    assert!(error_tied_to(&empty.body, "code"), "{}", empty.body);
    let right = tf::code_at(&uri, now(&app));
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let refused = alice
        .submit("/account/two-factor/confirm", &[("code", wrong)])
        .await;
    refused.assert_status(Status::UnprocessableEntity);
    assert!(
        form_error(&refused.body).is_some_and(|e| e.contains("验证码不正确")),
        "{}",
        refused.body
    );
    let refused_en = submit_en(&alice, "/account/two-factor/confirm", &[("code", "12ab")]).await;
    refused_en.assert_status(Status::UnprocessableEntity);
    assert!(
        form_error(&refused_en.body).is_some_and(|e| e.contains("That code is wrong")),
        "{}",
        refused_en.body
    );
    assert_eq!(tf::shown_secret(&refused.body), Some(secret.clone()));

    // The computed code (typed with a space, as apps show it) turns it on.
    let spaced = format!("{} {}", &right[..3], &right[3..]);
    let on = alice
        .submit("/account/two-factor/confirm", &[("code", &spaced)])
        .await;
    on.assert_status(Status::Ok);
    assert_eq!(on.header("Cache-Control"), Some("no-store"));
    let codes = tf::shown_recovery_codes(&on.body);
    assert_eq!(codes.len(), 10, "{}", on.body);
    assert!(
        tf::shown_secret(&on.body).is_none(),
        "the secret is not shown again"
    );
    // Shown once: the page now says it is on, with no secret and no recovery codes.
    let after = alice.get(PAGE).await;
    let text = visible_text(&after.body);
    assert!(text.contains("还剩 10 个未用的恢复码"), "{text}");
    for shown in codes.iter().map(String::as_str).chain([secret.as_str()]) {
        assert!(!after.body.contains(shown), "{shown} shown again");
    }
    assert!(!after.body.contains("<svg"));
    assert!(tf::shown_uri(&after.body).is_none());
    let account = alice.get("/account").await;
    assert!(visible_text(&account.body).contains("已开启"));
    // Confirming again (a reload of the answer) is refused and shows no new codes.
    let twice = alice
        .submit("/account/two-factor/confirm", &[("code", &right)])
        .await;
    twice.assert_status(Status::Conflict);
    assert!(tf::shown_recovery_codes(&twice.body).is_empty());
}

#[tokio::test]
async fn cancelling_forgets_the_pending_secret() {
    let app = TestApp::new().await;
    let bob = app.user("bob").await;
    let first = tf::shown_secret(&tf::start(&bob).await.body).unwrap();
    let cancelled = bob.submit("/account/two-factor/cancel", &[]).await;
    cancelled.assert_redirect_to(PAGE);
    let page = follow(&bob.client, &cancelled).await;
    assert!(tf::shown_secret(&page.body).is_none());
    assert_eq!(
        crate::harness::db::count(
            &app.db(),
            "SELECT count(*) FROM totp_secrets WHERE user_id = ?1",
            bob.id
        ),
        0
    );
    let second = tf::shown_secret(&tf::start(&bob).await.body).unwrap();
    assert_ne!(first, second, "a new setup gets a new secret");
}

#[tokio::test]
async fn a_computed_code_signs_in_once_and_a_wrong_one_is_refused() {
    let app = TestApp::new().await;
    let carol = app.user("carol").await;
    let enrolled = enrol(&carol, now(&app)).await;

    let phone = app.start().await;
    password_step(&phone, "carol").await;
    assert!(
        session_cookie(&phone).is_none(),
        "no session after the password alone"
    );
    assert!(!is_signed_in(&phone).await);
    let asked = get(&phone, SECOND_STEP).await;
    asked.assert_status(Status::Ok);
    assert!(visible_text(&asked.body).contains("carol"));

    // The code that confirmed the enrolment is used: the same time step is refused.
    let reused = second_step(&phone, &enrolled.code_at(now(&app))).await;
    reused.assert_status(Status::UnprocessableEntity);
    assert!(error_tied_to(&reused.body, "code"), "{}", reused.body);
    assert!(!is_signed_in(&phone).await);
    let right = enrolled.code_at(now(&app) + 30);
    let wrong = if right == "123456" {
        "654321"
    } else {
        "123456"
    };
    second_step(&phone, wrong)
        .await
        .assert_status(Status::UnprocessableEntity);
    let empty = second_step(&phone, "").await;
    empty.assert_status(Status::UnprocessableEntity);
    // A code from long ago is no code now.
    let old = enrolled.code_at(now(&app) - 600);
    if old != right {
        second_step(&phone, &old)
            .await
            .assert_status(Status::UnprocessableEntity);
    }

    app.clock.advance(STEP);
    second_step(&phone, &enrolled.code_at(now(&app)))
        .await
        .assert_redirect_to("/");
    assert!(is_signed_in(&phone).await);
    assert!(
        phone.cookies().get(COOKIE).is_none(),
        "the half-signed-in cookie is gone"
    );

    // The same code again, from another browser with the right password: refused.
    let tablet = app.start().await;
    password_step(&tablet, "carol").await;
    second_step(&tablet, &enrolled.code_at(now(&app)))
        .await
        .assert_status(Status::UnprocessableEntity);
    app.clock.advance(STEP);
    second_step(&tablet, &enrolled.code_at(now(&app)))
        .await
        .assert_redirect_to("/");
}

#[tokio::test]
async fn sign_in_goes_on_to_where_it_was_going() {
    let app = TestApp::new().await;
    let dave = app.user("dave").await;
    let enrolled = enrol(&dave, now(&app)).await;
    let browser = app.start().await;
    http::submit(
        &browser,
        "/login",
        &[
            ("username", "dave"),
            ("password", PASSWORD),
            ("next", "/keys"),
        ],
    )
    .await
    .assert_redirect_to(SECOND_STEP);
    second_step(&browser, &enrolled.recovery_codes[0])
        .await
        .assert_redirect_to("/keys");
}

#[tokio::test]
async fn a_recovery_code_works_once() {
    let app = TestApp::new().await;
    let erin = app.user("erin").await;
    let enrolled = enrol(&erin, now(&app)).await;
    let code = &enrolled.recovery_codes[3];

    let laptop = app.start().await;
    password_step(&laptop, "erin").await;
    // Read leniently: any case, without the dashes.
    let typed = code.to_uppercase().replace('-', "");
    second_step(&laptop, &typed).await.assert_redirect_to("/");
    assert!(is_signed_in(&laptop).await);
    let page = erin.get(PAGE).await;
    assert!(visible_text(&page.body).contains("还剩 9 个未用的恢复码"));

    let again = app.start().await;
    password_step(&again, "erin").await;
    let reused = second_step(&again, code).await;
    reused.assert_status(Status::UnprocessableEntity);
    assert!(!is_signed_in(&again).await);
    // Another unused one still works.
    second_step(&again, &enrolled.recovery_codes[4])
        .await
        .assert_redirect_to("/");
    // Stored as hashes only.
    let db = app.db_bytes();
    for code in &enrolled.recovery_codes {
        assert_no_trace(&db, code, "the database");
        assert_no_trace(&db, &code.replace('-', ""), "the database");
    }
}

#[tokio::test]
async fn the_half_signed_in_state_expires_after_five_minutes() {
    let app = TestApp::new().await;
    let frank = app.user("frank").await;
    let enrolled = enrol(&frank, now(&app)).await;

    let in_time = app.start().await;
    let late = app.start().await;
    password_step(&in_time, "frank").await;
    password_step(&late, "frank").await;
    app.clock.advance(Duration::from_secs(4 * 60 + 50));
    second_step(&in_time, &enrolled.code_at(now(&app)))
        .await
        .assert_redirect_to("/");
    app.clock.advance(Duration::from_secs(20));
    // Past five minutes: back to the password, saying why, with a fresh code too.
    let expired = second_step(&late, &enrolled.recovery_codes[0]).await;
    expired.assert_redirect_to("/login");
    let login = follow(&late, &expired).await;
    assert!(
        visible_text(&login.body).contains("登录的第二步已过期"),
        "{}",
        login.body
    );
    assert!(!is_signed_in(&late).await);
    get(&late, SECOND_STEP).await.assert_redirect_to("/login");
    // The recovery code offered too late was not used up.
    password_step(&late, "frank").await;
    second_step(&late, &enrolled.recovery_codes[0])
        .await
        .assert_redirect_to("/");
}

#[tokio::test]
async fn the_second_step_needs_the_first() {
    let app = TestApp::new().await;
    let stranger = app.start().await;
    get(&stranger, SECOND_STEP)
        .await
        .assert_redirect_to("/login");
    second_step(&stranger, "123456")
        .await
        .assert_redirect_to("/login");
    // A made-up cookie is no state either.
    let forged = rocket::http::Cookie::new(COOKIE, "a".repeat(64));
    let asked = stranger
        .get(SECOND_STEP)
        .cookie(forged.clone())
        .dispatch()
        .await;
    http::Answer::from(asked).await.assert_redirect_to("/login");
    let token = http::csrf_token(&stranger, "/login").await;
    let posted = stranger
        .post(SECOND_STEP)
        .cookie(forged)
        .header(rocket::http::ContentType::Form)
        .body(http::form_encode(&[
            ("code", "123456"),
            ("csrf_token", &token),
        ]))
        .dispatch()
        .await;
    http::Answer::from(posted)
        .await
        .assert_redirect_to("/login");
    // Without the CSRF token the form is refused before anything is checked.
    http::post_form(&stranger, SECOND_STEP, &[("code", "123456")])
        .await
        .assert_status(Status::Forbidden);
}

#[tokio::test]
async fn wrong_codes_are_throttled_and_a_right_password_does_not_reset_them() {
    let app = TestApp::new().await;
    let gina = app.user("gina").await;
    let enrolled = enrol(&gina, now(&app)).await;
    app.clock.advance(STEP);

    let thief = app.start().await;
    password_step(&thief, "gina").await;
    let right = enrolled.code_at(now(&app));
    let wrong = if right == "999999" {
        "888888"
    } else {
        "999999"
    };
    for _ in 0..5 {
        second_step(&thief, wrong)
            .await
            .assert_status(Status::UnprocessableEntity);
    }
    let throttled = second_step(&thief, &right).await;
    throttled.assert_status(Status::TooManyRequests);
    assert!(throttled.header("Retry-After").is_some());
    assert!(form_error(&throttled.body).is_some(), "{}", throttled.body);
    // The password again does not clear the count of wrong codes.
    password_step(&thief, "gina").await;
    second_step(&thief, &enrolled.recovery_codes[0])
        .await
        .assert_status(Status::TooManyRequests);
    assert!(!is_signed_in(&thief).await);
    // The owner elsewhere, from another address, is not locked out.
    let owner = app.start().await;
    http::submit_with(
        &owner,
        "/login",
        &[("username", "gina"), ("password", PASSWORD)],
        &[("X-Real-IP", "10.9.9.9")],
    )
    .await
    .assert_redirect_to(SECOND_STEP);
    http::submit_with(
        &owner,
        SECOND_STEP,
        &[("code", &right)],
        &[("X-Real-IP", "10.9.9.9")],
    )
    .await
    .assert_redirect_to("/");
}

#[tokio::test]
async fn turning_it_off_needs_the_password_and_a_code() {
    let app = TestApp::new().await;
    let hal = app.user("hal").await;
    let enrolled = enrol(&hal, now(&app)).await;
    app.clock.advance(STEP);
    let code = enrolled.code_at(now(&app));

    let no_password = hal
        .submit(
            "/account/two-factor/off",
            &[("current_password", "wrong password"), ("code", &code)],
        )
        .await;
    no_password.assert_status(Status::UnprocessableEntity);
    assert!(error_tied_to(&no_password.body, "current_password"));
    let no_code = hal
        .submit(
            "/account/two-factor/off",
            &[("current_password", PASSWORD), ("code", "")],
        )
        .await;
    no_code.assert_status(Status::UnprocessableEntity);
    assert!(error_tied_to(&no_code.body, "code"));
    let wrong_en = submit_en(
        &hal,
        "/account/two-factor/off",
        &[("current_password", PASSWORD), ("code", "000-000")],
    )
    .await;
    wrong_en.assert_status(Status::UnprocessableEntity);
    assert!(
        form_error(&wrong_en.body).is_some_and(|e| e.contains("That code is wrong")),
        "{}",
        wrong_en.body
    );
    // Still on.
    let browser = app.start().await;
    password_step(&browser, "hal").await;

    let off = hal
        .submit(
            "/account/two-factor/off",
            &[("current_password", PASSWORD), ("code", &code)],
        )
        .await;
    off.assert_redirect_to("/account");
    let account = follow(&hal.client, &off).await;
    assert!(visible_text(&account.body).contains("两步验证已关闭"));
    assert_eq!(
        crate::harness::db::count(
            &app.db(),
            "SELECT count(*) FROM recovery_codes WHERE user_id = ?1",
            hal.id
        ),
        0
    );
    // Only the password now; a half-signed-in state from before cannot finish.
    let later = app.start().await;
    crate::harness::users::login(&later, "hal", PASSWORD)
        .await
        .assert_redirect_to("/");
    second_step(&browser, &enrolled.recovery_codes[0])
        .await
        .assert_status(Status::Conflict);
    // Turning off what is off is said plainly.
    let again = hal
        .submit(
            "/account/two-factor/off",
            &[("current_password", PASSWORD), ("code", &code)],
        )
        .await;
    again.assert_status(Status::Conflict);
}

/// The seed and the recovery codes: sealed or hashed in the database and its WAL, never in a
/// page after they were shown, sealed under the vault's key for this user.
#[tokio::test]
async fn the_seed_and_codes_never_rest_in_plaintext() {
    let app = TestApp::new().await;
    let ivy = app.user("ivy").await;
    let pending = tf::start(&ivy).await;
    let pending_secret = tf::shown_secret(&pending.body).unwrap();
    let pending_seed = Enrolled {
        uri: String::new(),
        secret: pending_secret.clone(),
        recovery_codes: Vec::new(),
    }
    .seed_bytes();
    let check_files = |what: &str, secrets: &[&str], seed: &[u8]| {
        for (path, bytes) in app.all_files() {
            let place = format!("{what}: {}", path.display());
            for secret in secrets {
                assert_no_trace(&bytes, secret, &place);
            }
            assert!(
                !contains_bytes(&bytes, seed),
                "{place} holds the seed's bytes"
            );
            assert!(
                !contains_bytes(&bytes, hex::encode(seed).as_bytes()),
                "{place} holds the seed in hex"
            );
        }
    };
    check_files("pending", &[&pending_secret], &pending_seed);
    ivy.submit("/account/two-factor/cancel", &[])
        .await
        .assert_redirect_to(PAGE);

    let enrolled = enrol(&ivy, now(&app)).await;
    let mut secrets: Vec<&str> = enrolled.recovery_codes.iter().map(String::as_str).collect();
    secrets.push(&enrolled.secret);
    check_files("on", &secrets, &enrolled.seed_bytes());
    // The stored row is a sealed box of the vault's size, not the seed.
    let (nonce, ciphertext): (Vec<u8>, Vec<u8>) = app
        .db()
        .query_row(
            "SELECT nonce, ciphertext FROM totp_secrets WHERE user_id = ?1",
            [ivy.id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert!(!nonce.is_empty());
    assert_eq!(ciphertext.len(), 20 + 16, "a 160-bit seed and its tag");
    // No page the user can open shows them again.
    for path in ["/account", PAGE, "/", "/history", "/keys"] {
        let page = ivy.get(path).await;
        for secret in &secrets {
            assert_no_trace(page.body.as_bytes(), secret, path);
        }
    }
    // Nor does the history export.
    for path in ["/history/export?format=csv", "/history/export?format=json"] {
        let export = ivy.get(path).await;
        for secret in &secrets {
            assert_no_trace(export.body.as_bytes(), secret, path);
        }
    }
}

#[tokio::test]
async fn a_rotated_master_key_still_opens_the_seed() {
    let app = TestApp::new().await;
    let jody = app.user("jody").await;
    let enrolled = enrol(&jody, now(&app)).await;
    let jody_id = jody.id;
    // The rotation needs the server stopped.
    app.stop(jody.client).await;
    let sealed = |app: &TestApp| -> (Vec<u8>, String) {
        app.db()
            .query_row(
                "SELECT ciphertext, master_key_id FROM totp_secrets WHERE user_id = ?1",
                [jody_id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap()
    };
    let before = sealed(&app);

    modelscope_balance::cli::rotate_master_key(&app.config()).expect("rotation");

    let after = sealed(&app);
    assert_ne!(before.0, after.0, "re-sealed");
    assert_ne!(before.1, after.1, "under the new master key");
    app.clock.advance(STEP);
    let phone = app.start().await;
    password_step(&phone, "jody").await;
    second_step(&phone, &enrolled.code_at(now(&app)))
        .await
        .assert_redirect_to("/");
}

/// The way back in for someone who lost the phone and the recovery codes: the server's shell.
#[tokio::test]
async fn the_command_line_turns_it_off_for_a_locked_out_account() {
    let app = TestApp::new().await;
    let kim = app.user("kim").await;
    enrol(&kim, now(&app)).await;
    let (status, out, err) = app.cli(&["admin", "two-factor-off", "KIM"]);
    assert!(status.success(), "{out}{err}");
    assert!(out.contains("off for kim"), "{out}");
    let browser = app.start().await;
    crate::harness::users::login(&browser, "kim", PASSWORD)
        .await
        .assert_redirect_to("/");
    let (status, out, _) = app.cli(&["admin", "two-factor-off", "kim"]);
    assert!(status.success());
    assert!(out.contains("had no two-factor sign-in"), "{out}");
    let (status, _, err) = app.cli(&["admin", "two-factor-off", "nobody"]);
    assert!(!status.success());
    assert!(err.contains("nobody"), "{err}");
    let (status, _, err) = app.cli(&["admin", "two-factor-off"]);
    assert!(!status.success());
    assert!(err.contains("two-factor-off"), "{err}");
}

/// New recovery codes: the password and a current code; all ten replaced, shown once, the old
/// ones dead at once, the new ones good once.
#[tokio::test]
async fn new_recovery_codes_replace_all_ten() {
    let app = TestApp::new().await;
    let lou = app.user("lou").await;
    let enrolled = enrol(&lou, now(&app)).await;
    app.clock.advance(STEP);
    let code = enrolled.code_at(now(&app));
    const NEW: &str = "/account/two-factor/recovery-codes";
    assert!(lou.get(PAGE).await.body.contains(NEW));

    let no_password = lou
        .submit(NEW, &[("current_password", "wrong"), ("code", &code)])
        .await;
    no_password.assert_status(Status::UnprocessableEntity);
    assert!(error_tied_to(&no_password.body, "current_password"));
    assert!(tf::shown_recovery_codes(&no_password.body).is_empty());
    let no_code = lou
        .submit(NEW, &[("current_password", PASSWORD), ("code", "")])
        .await;
    no_code.assert_status(Status::UnprocessableEntity);
    assert!(error_tied_to(&no_code.body, "code"));
    let wrong = lou
        .submit(NEW, &[("current_password", PASSWORD), ("code", "000-000")])
        .await;
    wrong.assert_status(Status::UnprocessableEntity);

    let made = lou
        .submit(NEW, &[("current_password", PASSWORD), ("code", &code)])
        .await;
    made.assert_status(Status::Ok);
    assert_eq!(made.header("Cache-Control"), Some("no-store"));
    let fresh = tf::shown_recovery_codes(&made.body);
    assert_eq!(fresh.len(), 10, "{}", made.body);
    for old in &enrolled.recovery_codes {
        assert!(!fresh.contains(old));
    }
    // Shown once: not on the page afterwards.
    let after = lou.get(PAGE).await;
    assert!(visible_text(&after.body).contains("还剩 10 个未用的恢复码"));
    for shown in &fresh {
        assert!(!after.body.contains(shown.as_str()));
    }
    // The old ones stop working; a new one works, once.
    let browser = app.start().await;
    password_step(&browser, "lou").await;
    second_step(&browser, &enrolled.recovery_codes[1])
        .await
        .assert_status(Status::UnprocessableEntity);
    second_step(&browser, &fresh[0])
        .await
        .assert_redirect_to("/");
    let again = app.start().await;
    password_step(&again, "lou").await;
    second_step(&again, &fresh[0])
        .await
        .assert_status(Status::UnprocessableEntity);
    // Only hashes are stored.
    let db = app.db_bytes();
    for code in &fresh {
        assert_no_trace(&db, code, "the database");
    }
    // Without TOTP there is nothing to regenerate.
    let max = app.user("max").await;
    max.submit(NEW, &[("current_password", PASSWORD), ("code", "123456")])
        .await
        .assert_status(Status::Conflict);
}
