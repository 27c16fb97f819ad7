//! Help with model ids, without JavaScript: the suggestions endpoint (the user's own ids first,
//! then the catalogue), "did you mean …?" with its one-click fix on the quick page, `/query`,
//! its stream and presets, several models and every price of the table in one save.

use rocket::http::Status;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::html::{html_unescape, visible_text};
use crate::harness::http::{get, get_with, post_quick};
use crate::harness::secrets::KEY;
use crate::harness::upstream::{
    CATALOGUE_PATH, CHAT_PATH, MODEL_A, MODEL_C, QUOTA_A, QUOTA_C, mount_balance, mount_ok,
};
use crate::harness::users::User;
use crate::harness::{Answer, TestApp};

/// The catalogue the double lists: `ZhipuAI/GLM-4.7` (MODEL_C) among others.
async fn mount_catalogue(server: &MockServer) {
    let data: Vec<_> = [MODEL_A, MODEL_C, "moonshotai/Kimi-K2-Instruct"]
        .iter()
        .map(|id| json!({"id": id, "object": "model"}))
        .collect();
    Mock::given(method("GET"))
        .and(path(CATALOGUE_PATH))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"object": "list", "data": data})),
        )
        .mount(server)
        .await;
}

async fn chat_calls(app: &TestApp) -> usize {
    app.upstream.received_requests().await.map_or(0, |r| {
        r.iter().filter(|r| r.url.path() == CHAT_PATH).count()
    })
}

/// The `value` of the submit button named `name`, unescaped.
fn button_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!(r#"name="{name}" value=""#))?;
    let start = at + format!(r#"name="{name}" value=""#).len();
    let end = start + html[start..].find('"')?;
    Some(html_unescape(&html[start..end]))
}

fn assert_did_you_mean(answer: &Answer, meant: &str) {
    assert_eq!(
        answer.status,
        Status::UnprocessableEntity,
        "{}",
        answer.body
    );
    let text = visible_text(&answer.body);
    assert!(
        text.contains(&format!("你是不是要找 {meant}？")),
        "no \"did you mean {meant}\": {text}"
    );
    assert!(
        answer
            .body
            .contains(r#"aria-invalid="true" aria-describedby="models-error""#),
        "the models field is not tied to the suggestion"
    );
}

#[tokio::test]
async fn suggestions_are_the_users_own_ids_first_then_the_catalogue() {
    let app = TestApp::new().await;
    mount_catalogue(&app.upstream).await;
    mount_ok(&app.upstream, "my-org/private-model", QUOTA_A, 1).await;
    mount_balance(&app.upstream).await;

    // Signed out: the catalogue only, kept privately for a few minutes.
    let anonymous = get(&app.start().await, "/models/suggestions").await;
    assert_eq!(anonymous.status, Status::Ok);
    assert_eq!(
        anonymous.header("cache-control"),
        Some("private, max-age=300")
    );
    assert_eq!(
        anonymous.json(),
        json!({"models": ["moonshotai/Kimi-K2-Instruct", MODEL_A, MODEL_C], "own": 0})
    );

    // Signed in: what the user ran and what their presets hold come first, each once.
    let user = app.user("suggested").await;
    let key = user.add_key("main", KEY).await.to_string();
    user.add_preset("mine", &["other-org/in-a-preset", MODEL_C])
        .await;
    user.run_query_ok(&[("key_id", &key), ("models", "my-org/private-model")])
        .await;
    let answer = user.get("/models/suggestions").await;
    let body = answer.json();
    let models: Vec<&str> = body["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(body["own"], 3, "{body}");
    let mut own = models[..3].to_vec();
    own.sort_unstable();
    assert_eq!(
        own,
        [MODEL_C, "my-org/private-model", "other-org/in-a-preset"]
    );
    assert_eq!(&models[3..], ["moonshotai/Kimi-K2-Instruct", MODEL_A]);
}

#[tokio::test]
async fn pages_link_the_suggestions_and_carry_no_list() {
    let app = TestApp::new().await;
    mount_catalogue(&app.upstream).await;
    let client = app.start().await;
    let quick = get(&client, "/").await;
    assert!(quick.body.contains(r#"/assets/models.js?v="#));
    assert!(quick.body.contains(r#"/assets/model-box.js?v="#));
    assert!(quick.body.contains(" data-models"));
    assert!(
        !quick.body.contains("moonshotai/Kimi-K2-Instruct"),
        "the list is inline"
    );
    let user = app.user("linker").await;
    for page in ["/query", "/history", "/presets"] {
        let answer = user.get(page).await;
        assert!(
            answer.body.contains("/assets/models.js?v=") && answer.body.contains(" data-models"),
            "{page} has no model suggestions"
        );
    }
    for script in ["/assets/models.js", "/assets/model-box.js"] {
        let answer = get(&client, script).await;
        assert_eq!(answer.status, Status::Ok, "{script}");
        assert!(answer.body.contains("data-models"), "{script}");
    }
}

/// No JavaScript: "glm-4.7" is refused with "did you mean ZhipuAI/GLM-4.7?"; the fix button
/// posts the same form with the id fixed (the pasted key kept), and that runs.
#[tokio::test]
async fn the_quick_page_offers_the_fix_and_the_fix_runs() {
    let app = TestApp::new().await;
    mount_catalogue(&app.upstream).await;
    mount_ok(&app.upstream, MODEL_C, QUOTA_C, 1).await;
    mount_balance(&app.upstream).await;
    let client = app.start().await;

    let refused = post_quick(&client, &[("api_key", KEY), ("models", "glm-4.7")]).await;
    assert_did_you_mean(&refused, MODEL_C);
    assert_eq!(chat_calls(&app).await, 0, "a near miss made a call");
    assert_eq!(
        button_value(&refused.body, "use_models").as_deref(),
        Some(MODEL_C)
    );
    assert!(
        !refused.body.contains(r#"name="as_typed""#),
        "glm-4.7 has no owner: it cannot be run as typed"
    );
    assert!(
        refused.body.contains(&format!(r#"value="{KEY}""#)),
        "the key is not kept"
    );
    assert_eq!(refused.header("cache-control"), Some("no-store"));

    // The fix button: the same fields, plus its own name and value.
    let fixed = post_quick(
        &client,
        &[
            ("api_key", KEY),
            ("models", "glm-4.7"),
            ("use_models", MODEL_C),
        ],
    )
    .await;
    assert_eq!(fixed.status, Status::Ok, "{}", fixed.body);
    assert!(fixed.body.contains(r#"id="results""#));
    assert_eq!(chat_calls(&app).await, 1);
    assert!(!fixed.body.contains(KEY));
}

#[tokio::test]
async fn a_wrong_case_may_also_run_as_typed_and_english_says_it_in_english() {
    let app = TestApp::new().await;
    mount_catalogue(&app.upstream).await;
    mount_ok(&app.upstream, "zhipuai/glm-4.7", QUOTA_C, 1).await;
    mount_balance(&app.upstream).await;
    let client = app.start().await;
    get_with(&client, "/", &[("Accept-Language", "en")]).await;
    let refused = crate::harness::http::submit_from_with(
        &client,
        "/",
        "/quick",
        &[("api_key", KEY), ("models", "zhipuai/glm-4.7")],
        &[("Accept-Language", "en")],
    )
    .await;
    assert_eq!(refused.status, Status::UnprocessableEntity);
    let text = visible_text(&refused.body);
    assert!(text.contains("Did you mean ZhipuAI/GLM-4.7?"), "{text}");
    assert!(text.contains("Use ZhipuAI/GLM-4.7"), "{text}");
    assert!(text.contains("Use them as typed"), "{text}");

    let as_typed = post_quick(
        &client,
        &[
            ("api_key", KEY),
            ("models", "zhipuai/glm-4.7"),
            ("as_typed", "1"),
        ],
    )
    .await;
    assert_eq!(as_typed.status, Status::Ok, "{}", as_typed.body);
    assert_eq!(chat_calls(&app).await, 1, "the id was not run as typed");
}

#[tokio::test]
async fn query_and_its_stream_offer_the_fix_and_the_fix_is_stored() {
    let app = TestApp::new().await;
    mount_catalogue(&app.upstream).await;
    mount_ok(&app.upstream, MODEL_C, QUOTA_C, 1).await;
    mount_balance(&app.upstream).await;
    let user = app.user("fixer").await;
    let key = user.add_key("main", KEY).await.to_string();

    // The stream refuses, so the script falls back to the plain post, which explains.
    let streamed = user
        .stream(&[("key_id", &key), ("models", "ZhipuAI/GLM-4.6x")])
        .await;
    assert_eq!(streamed.of_type("error").len(), 1, "{:?}", streamed.events);
    let refused = user
        .run_query(&[("key_id", &key), ("models", "ZhipuAI/GLM-4.6x")])
        .await;
    assert_did_you_mean(&refused, MODEL_C);
    assert!(
        refused
            .body
            .contains(&format!(r#"<option value="{key}" selected>"#)),
        "the key choice is not kept"
    );
    assert_eq!(chat_calls(&app).await, 0);

    let fix = button_value(&refused.body, "use_models").expect("a fix button");
    let ran = user
        .run_query(&[
            ("key_id", &key),
            ("models", "ZhipuAI/GLM-4.6x"),
            ("use_models", &fix),
        ])
        .await;
    assert_eq!(ran.status, Status::SeeOther, "{}", ran.body);
    assert_eq!(chat_calls(&app).await, 1);
}

#[tokio::test]
async fn a_preset_gets_the_fix_and_several_models_at_once() {
    let app = TestApp::new().await;
    mount_catalogue(&app.upstream).await;
    let user = app.user("collector").await;

    let refused = user
        .submit(
            "/presets",
            &[
                ("name", "daily"),
                ("models", MODEL_A),
                ("add_model", "glm-4.7 moonshotai/kimi-k2-instruct"),
            ],
        )
        .await;
    assert_eq!(
        refused.status,
        Status::UnprocessableEntity,
        "{}",
        refused.body
    );
    let text = visible_text(&refused.body);
    assert!(text.contains("你是不是要找 ZhipuAI/GLM-4.7？"), "{text}");
    assert!(
        text.contains("你是不是要找 moonshotai/Kimi-K2-Instruct？"),
        "{text}"
    );
    assert!(text.contains("改用这 2 个模型 ID"), "{text}");
    let fix = button_value(&refused.body, "use_models").expect("a fix button");
    assert_eq!(
        fix,
        format!("{MODEL_A}\n{MODEL_C}\nmoonshotai/Kimi-K2-Instruct")
    );

    let saved = user
        .submit(
            "/presets",
            &[
                ("name", "daily"),
                ("models", MODEL_A),
                ("add_model", "glm-4.7 moonshotai/kimi-k2-instruct"),
                ("use_models", &fix),
            ],
        )
        .await;
    assert_eq!(saved.status, Status::SeeOther, "{}", saved.body);
    let page = user.get("/presets").await;
    for model in [MODEL_A, MODEL_C, "moonshotai/Kimi-K2-Instruct"] {
        assert!(
            page.body.contains(&format!("<code>{model}</code>")),
            "{model}"
        );
    }
    // The list of ids the "add models" boxes suggest holds the user's own ids too.
    assert!(
        page.body
            .contains(&format!(r#"<option value="{MODEL_C}">"#))
    );
}

#[tokio::test]
async fn the_price_table_saves_every_changed_row_at_once_or_none() {
    let app = TestApp::new().await;
    let user = app.user("pricer").await;
    user.add_preset("p", &[MODEL_A, MODEL_C, "a/c"]).await;
    let page = user.get("/presets").await;
    assert_eq!(page.body.matches(r#"<select name="points""#).count(), 3);
    assert_eq!(
        page.body.matches(r#"action="/prices""#).count(),
        1,
        "one form"
    );

    let saved = user
        .submit(
            "/prices",
            &[
                ("model", MODEL_A),
                ("was", ""),
                ("points", "2"),
                ("model", MODEL_C),
                ("was", ""),
                ("points", "0.5"),
                ("model", "a/c"),
                ("was", ""),
                ("points", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, Status::SeeOther, "{}", saved.body);
    let settings = |app: &TestApp| -> Vec<(String, f64)> {
        let conn = app.db();
        let mut statement = conn
            .prepare("SELECT model, points FROM price_settings ORDER BY model")
            .unwrap();
        statement
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(
        settings(&app),
        [(MODEL_A.to_owned(), 2.0), (MODEL_C.to_owned(), 0.5)]
    );
    let flash = visible_text(&user.get("/presets").await.body);
    assert!(flash.contains("已保存 2 个模型的单价"), "{flash}");

    // One bad row: nothing is written, the table says why.
    let refused = user
        .submit(
            "/prices",
            &[
                ("model", MODEL_A),
                ("was", "2"),
                ("points", "1"),
                ("model", MODEL_C),
                ("was", "0.5"),
                ("points", "3"),
            ],
        )
        .await;
    assert_eq!(refused.status, Status::UnprocessableEntity);
    assert_eq!(settings(&app)[0], (MODEL_A.to_owned(), 2.0));

    // Unchanged rows are not written; one changed row is named.
    let one = user
        .submit(
            "/prices",
            &[
                ("model", MODEL_A),
                ("was", "2"),
                ("points", ""),
                ("model", MODEL_C),
                ("was", "0.5"),
                ("points", "0.5"),
            ],
        )
        .await;
    assert_eq!(one.status, Status::SeeOther);
    assert_eq!(settings(&app), [(MODEL_C.to_owned(), 0.5)]);
}

#[tokio::test]
async fn without_a_catalogue_the_users_own_ids_still_help() {
    let app = TestApp::new().await;
    let user: User = app.user("offline").await;
    user.add_preset("own", &["my-org/My-Model-7B"]).await;
    let refused = user
        .submit(
            "/presets",
            &[("name", "again"), ("models", "my-org/my-model-7b")],
        )
        .await;
    assert_did_you_mean(&refused, "my-org/My-Model-7B");
    let page = user.get("/presets").await;
    assert!(visible_text(&page.body).contains("模型目录暂时无法获取"));
}
