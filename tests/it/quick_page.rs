//! `GET /` and `POST /quick`: the anonymous quick query page, without JavaScript.

use rocket::http::Status;
use serde_json::json;
use wiremock::ResponseTemplate;

use crate::harness::html::{form_error, html_unescape, visible_text};
use crate::harness::http::{assert_security_headers, get, post_form, post_quick};
use crate::harness::secrets::KEY;
use crate::harness::upstream::{balance, chat, error_body, forbid_any_call, mount_ok, with_quota};
use crate::harness::{Answer, TestApp};

const QUOTA: [i64; 4] = [2000, 1987, 500, 488];

/// The text between `<textarea …name="models"…>` and `</textarea>`, unescaped.
fn models_textarea(html: &str) -> String {
    let start = html
        .find("<textarea")
        .unwrap_or_else(|| panic!("no textarea: {html}"));
    let open_end = start + html[start..].find('>').unwrap() + 1;
    assert!(
        html[start..open_end].contains(r#"name="models""#),
        "the textarea is not the models field"
    );
    let close = open_end + html[open_end..].find("</textarea>").unwrap();
    html_unescape(&html[open_end..close])
}

/// Every `<script` element loads a file: no inline script anywhere.
fn assert_no_inline_script(html: &str) {
    for (at, _) in html.match_indices("<script") {
        let tag_end = at + html[at..].find('>').unwrap();
        assert!(
            html[at..tag_end].contains("src="),
            "inline script at {at}: {}",
            &html[at..tag_end + 1]
        );
    }
}

fn assert_html(answer: &Answer) {
    assert!(
        answer.content_type.as_ref().is_some_and(|ct| ct.is_html()),
        "not HTML: {:?}",
        answer.content_type
    );
}

// ---------------------------------------------------------------------------------------------
// GET /

#[tokio::test]
async fn the_home_page_has_the_quick_form() {
    let app = TestApp::new().await;
    forbid_any_call(&app.upstream).await;
    let client = app.start().await;

    let answer = get(&client, "/").await;

    assert_eq!(answer.status, Status::Ok);
    assert_html(&answer);
    let html = &answer.body;
    assert!(
        html.contains(r#"action="/quick""#),
        "no form posting to /quick"
    );
    assert!(html.contains(r#"method="post""#), "the form is not a POST");
    assert!(
        html.contains(r#"name="api_key" type="password""#)
            || html.contains(r#"type="password" name="api_key""#)
            || html
                .match_indices("<input")
                .map(|(at, _)| &html[at..at + html[at..].find('>').unwrap()])
                .any(|tag| tag.contains(r#"name="api_key""#) && tag.contains(r#"type="password""#)),
        "no password field named api_key"
    );
    assert_eq!(models_textarea(html), "");
    assert_no_inline_script(html);
}

#[tokio::test]
async fn the_home_page_sends_security_headers() {
    let app = TestApp::new().await;
    let client = app.start().await;

    let answer = get(&client, "/").await;

    assert_eq!(answer.status, Status::Ok);
    assert_security_headers(&answer);
}

#[tokio::test]
async fn a_missing_page_is_html_with_security_headers() {
    let app = TestApp::new().await;
    let client = app.start().await;

    let answer = get(&client, "/no/such/page").await;

    assert_eq!(answer.status, Status::NotFound);
    assert_html(&answer);
    assert_security_headers(&answer);
    assert_no_inline_script(&answer.body);
}

// ---------------------------------------------------------------------------------------------
// POST /quick: results

#[tokio::test]
async fn a_quick_query_shows_rows_labels_points_and_time() {
    let app = TestApp::new().await;
    mount_ok(&app.upstream, "Qwen/Qwen2.5-72B-Instruct", QUOTA, 1).await;
    chat("a/gone")
        .respond_with(ResponseTemplate::new(401).set_body_json(error_body(
            "Authentication failed, please make sure that a valid ModelScope token is supplied.",
        )))
        .expect(1)
        .mount(&app.upstream)
        .await;
    chat("a/used-up")
        .respond_with(
            with_quota(ResponseTemplate::new(429), ["2000", "10", "500", "0"]).set_body_json(
                json!({"errors": {"message": "Request limit exceeded.", "request_id": "r"}}),
            ),
        )
        .expect(1)
        .mount(&app.upstream)
        .await;
    balance()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "success": true,
            "request_id": "r",
            "data": {"total_balance": 250, "available_balance": 240.5, "frozen_amount": 9.5}
        })))
        // Read before the first probe and again after the last one settled.
        .expect(2)
        .mount(&app.upstream)
        .await;
    let client = app.start().await;

    let typed = "Qwen/Qwen2.5-72B-Instruct, a/gone\na/used-up";
    let answer = post_quick(&client, &[("api_key", KEY), ("models", typed)]).await;

    assert_eq!(answer.status, Status::Ok);
    assert_html(&answer);
    let html = &answer.body;
    for model in ["Qwen/Qwen2.5-72B-Instruct", "a/gone", "a/used-up"] {
        assert!(html.contains(model), "no row for {model}");
    }
    for label in ["正常", "Key 无效", "额度已用完"] {
        assert!(html.contains(label), "no {label} label");
    }
    let text = visible_text(html);
    // The numbers of the successful row.
    for number in ["1987", "2000", "488", "500"] {
        assert!(
            text.contains(number),
            "quota number {number} missing: {text}"
        );
    }
    // The points balance (total, available, frozen).
    for points in ["250", "240.5", "9.5"] {
        assert!(text.contains(points), "points {points} missing: {text}");
    }
    assert!(text.contains("积分"), "the points are not labelled: {text}");
    assert!(
        text.contains("用时") && text.contains(" ms"),
        "no elapsed time: {text}"
    );
    assert_eq!(models_textarea(html), typed);
    assert_no_inline_script(html);
}

#[tokio::test]
async fn the_results_page_sends_security_headers() {
    let app = TestApp::new().await;
    mount_ok(&app.upstream, "a/b", QUOTA, 1).await;
    let client = app.start().await;

    let answer = post_quick(&client, &[("api_key", KEY), ("models", "a/b")]).await;

    assert_eq!(answer.status, Status::Ok);
    assert_security_headers(&answer);
}

#[tokio::test]
async fn html_in_an_upstream_message_is_escaped_on_the_page() {
    let app = TestApp::new().await;
    chat("a/b")
        .respond_with(
            ResponseTemplate::new(500).set_body_json(error_body("<script>alert(1)</script> oops")),
        )
        .expect(1)
        .mount(&app.upstream)
        .await;
    let client = app.start().await;

    let answer = post_quick(&client, &[("api_key", KEY), ("models", "a/b")]).await;

    assert_eq!(answer.status, Status::Ok);
    let html = &answer.body;
    assert!(
        !html.contains("<script>alert(1)"),
        "upstream HTML reached the page raw"
    );
    assert!(
        html.contains("&lt;script&gt;alert(1)") || html.contains("&#60;script&#62;alert(1)"),
        "the message is not shown escaped"
    );
    assert!(visible_text(html).contains("<script>alert(1)</script> oops"));
    assert!(html.contains("上游错误"), "no upstream-error label");
}

#[tokio::test]
async fn a_failed_points_balance_is_said_on_the_page() {
    let app = TestApp::new().await;
    mount_ok(&app.upstream, "a/b", QUOTA, 1).await;
    balance()
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "success": false, "code": "401", "message": "Unauthorized", "request_id": "r"
        })))
        // Read before the first probe and again after the last one settled.
        .expect(2)
        .mount(&app.upstream)
        .await;
    let client = app.start().await;

    let answer = post_quick(&client, &[("api_key", KEY), ("models", "a/b")]).await;

    assert_eq!(answer.status, Status::Ok);
    assert!(
        answer.body.contains("积分余额查询失败"),
        "no balance error shown"
    );
    assert!(answer.body.contains("正常"), "the model row is still shown");
}

#[tokio::test]
async fn an_upstream_message_echoing_the_key_never_reaches_the_page() {
    let app = TestApp::new().await;
    chat("a/b")
        .respond_with(
            ResponseTemplate::new(401).set_body_json(error_body(&format!(
                "Authentication failed for token {KEY}"
            ))),
        )
        .expect(1)
        .mount(&app.upstream)
        .await;
    let client = app.start().await;

    // `post_quick` fails the test if the key is anywhere in the page.
    let answer = post_quick(&client, &[("api_key", KEY), ("models", "a/b")]).await;

    assert_eq!(answer.status, Status::Ok);
    assert!(answer.body.contains("Key 无效"));
}

// ---------------------------------------------------------------------------------------------
// POST /quick: mistakes

/// Posts the form to an app whose upstream must not be called; expects a 422 page that says
/// something and keeps the typed models.
async fn refused_quick(fields: &[(&str, &str)], typed_models: &str) -> Answer {
    let app = TestApp::new().await;
    forbid_any_call(&app.upstream).await;
    let client = app.start().await;

    let answer = post_quick(&client, fields).await;

    assert_eq!(
        answer.status,
        Status::UnprocessableEntity,
        "{}",
        answer.body
    );
    assert_html(&answer);
    assert!(
        answer.body.contains(r#"class="error""#),
        "no error message on the page"
    );
    assert_eq!(models_textarea(&answer.body), typed_models);
    assert!(
        !answer.body.contains(r#"id="results""#),
        "results shown for a refused query"
    );
    answer
}

#[tokio::test]
async fn a_missing_key_is_refused_and_the_models_kept() {
    let answer = refused_quick(&[("models", "a/b c/d")], "a/b c/d").await;
    assert!(answer.body.contains("API Key"));
}

#[tokio::test]
async fn a_blank_key_is_refused_and_the_models_kept() {
    refused_quick(&[("api_key", "   "), ("models", "a/b")], "a/b").await;
}

#[tokio::test]
async fn a_key_no_upstream_could_accept_is_refused_before_any_call() {
    for bad in ["sk-123", "ms-123", "ms-c5cf0000 1111-4222"] {
        let answer = refused_quick(&[("api_key", bad), ("models", "a/b")], "a/b").await;
        let error = form_error(&answer.body).unwrap_or_default();
        assert!(
            error.contains("8 到 200 个可打印 ASCII 字符"),
            "{bad}: {error}"
        );
        assert!(!answer.body.contains(bad), "{bad} echoed");
    }
}

#[tokio::test]
async fn no_models_is_refused() {
    refused_quick(&[("api_key", KEY), ("models", " \n ")], " \n ").await;
}

#[tokio::test]
async fn a_missing_models_field_is_refused() {
    refused_quick(&[("api_key", KEY)], "").await;
}

#[tokio::test]
async fn only_invalid_ids_are_refused_and_kept() {
    let typed = "not-a-model a/b?x=1 <b>bold</b>";
    let answer = refused_quick(&[("api_key", KEY), ("models", typed)], typed).await;
    assert!(
        answer.body.contains("owner/name"),
        "the message should show the expected shape"
    );
    assert!(
        !answer.body.contains("<b>bold</b>"),
        "typed text reached the page unescaped"
    );
}

#[tokio::test]
async fn too_many_models_are_refused_naming_the_limit() {
    let typed = (0..51)
        .map(|i| format!("owner/model-{i}"))
        .collect::<Vec<_>>()
        .join("\n");
    let answer = refused_quick(&[("api_key", KEY), ("models", &typed)], &typed).await;
    assert!(answer.body.contains("50"), "the limit is not named");
}

/// A refused form keeps the pasted key in its field, in that answer only: the page is not to be
/// stored, the key is nowhere else in it, and the answer to a run never holds it.
#[tokio::test]
async fn a_refused_form_keeps_the_pasted_key_in_that_answer_only() {
    let app = TestApp::new().await;
    mount_ok(&app.upstream, "a/b", QUOTA, 1).await;
    let client = app.start().await;

    let refused = post_quick(&client, &[("api_key", KEY), ("models", "nope")]).await;
    assert_eq!(refused.status, Status::UnprocessableEntity);
    assert_eq!(refused.header("cache-control"), Some("no-store"));
    assert_eq!(refused.body.matches(KEY).count(), 1, "{}", refused.body);
    assert!(
        refused
            .body
            .contains(r#"type="password" autocomplete="off""#)
            && refused.body.contains(&format!(r#"value="{KEY}""#)),
        "the key is not kept in its field: {}",
        refused.body
    );
    assert!(form_error(&refused.body).is_some());

    // The run the kept form then makes: its page never holds the key (the harness checks
    // every answer that is not a no-store form for it), and neither does the next page.
    let ran = post_quick(&client, &[("api_key", KEY), ("models", "a/b")]).await;
    assert_eq!(ran.status, Status::Ok);
    assert!(!ran.body.contains(KEY) && ran.header("cache-control").is_none());
    let home = get(&client, "/").await;
    assert!(!home.body.contains(KEY));
}

#[tokio::test]
async fn a_quick_query_without_the_csrf_token_is_forbidden_and_makes_no_call() {
    let app = TestApp::new().await;
    forbid_any_call(&app.upstream).await;
    let client = app.start().await;
    // The CSRF cookie is set, but the form does not carry its token.
    get(&client, "/").await;

    let answer = post_form(&client, "/quick", &[("api_key", KEY), ("models", "a/b")]).await;

    assert_eq!(answer.status, Status::Forbidden);
}
