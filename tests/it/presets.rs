//! `/presets`, black-box through Rocket's local client with a wiremock ModelScope: create,
//! list, rename, edit, delete, the single default, every refusal with its message, two users
//! who never see each other's presets, and the catalogue suggestions (cached, optional).

use modelscope_balance::db::presets::{self, Preset};
use rocket::http::Status;
use rocket::local::asynchronous::Client;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::harness::html::html_unescape;
use crate::harness::http::{csrf_token, get, post_form, submit_from};
use crate::harness::upstream::CATALOGUE_PATH;
use crate::harness::users::signed_up;
use crate::harness::{Answer, TestApp, db};

const CATALOGUE_ID: &str = "Qwen/Qwen2.5-72B-Instruct";

fn catalogue_mock() -> wiremock::MockBuilder {
    Mock::given(method("GET")).and(path(CATALOGUE_PATH))
}

fn catalogue_listing() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "object": "list",
        "data": [{"id": CATALOGUE_ID, "object": "model"}]
    }))
}

/// The app (its upstream serving the catalogue) and a browser signed in as `username`.
async fn signed_in(username: &str) -> (TestApp, Client) {
    let app = TestApp::new().await;
    catalogue_mock()
        .respond_with(catalogue_listing())
        .mount(&app.upstream)
        .await;
    let client = app.start().await;
    signed_up(&client, username).await;
    (app, client)
}

async fn log_out(client: &Client) {
    let answer = submit_from(client, "/presets", "/logout", &[]).await;
    assert_eq!(answer.status, Status::SeeOther, "log-out: {}", answer.body);
}

/// `POST uri` with the fields and the page's CSRF token.
async fn post(client: &Client, uri: &str, fields: &[(&str, &str)]) -> Answer {
    submit_from(client, "/presets", uri, fields).await
}

async fn create(client: &Client, fields: &[(&str, &str)]) -> Answer {
    post(client, "/presets", fields).await
}

/// Creates a preset that must be accepted; returns its id.
async fn created(app: &TestApp, client: &Client, user: &str, name: &str, models: &str) -> i64 {
    let answer = create(client, &[("name", name), ("models", models)]).await;
    assert_saved(&answer);
    stored(app, user)
        .into_iter()
        .find(|p| p.name == name)
        .expect("the new preset is stored")
        .id
        .get()
}

fn assert_saved(answer: &Answer) {
    assert_eq!(answer.status, Status::SeeOther, "{}", answer.body);
    assert_eq!(answer.header("Location"), Some("/presets"));
}

/// The user's presets as stored, through the public database API.
fn stored(app: &TestApp, username: &str) -> Vec<Preset> {
    let conn = app.db();
    let user = db::user_id(&conn, username).expect("the user's row");
    presets::list_for_user(&conn, modelscope_balance::ids::UserId(user)).unwrap()
}

/// The body with askama's numeric entities written as the named ones, so escaped text can be
/// looked for as `&lt;script&gt;` whichever form the escaper chose.
fn named_entities(body: &str) -> String {
    body.replace("&#60;", "&lt;")
        .replace("&#62;", "&gt;")
        .replace("&#34;", "&quot;")
        .replace("&#39;", "&#x27;")
        .replace("&#38;", "&amp;")
}

fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

/// Where preset `id`'s row starts on the page.
fn row_position(body: &str, id: i64) -> usize {
    body.find(&format!(r#"id="preset-{id}""#))
        .unwrap_or_else(|| panic!("no row for preset {id}"))
}

#[tokio::test]
async fn create_then_list_default_first_then_by_name() {
    let (app, client) = signed_in("alice").await;
    let empty = get(&client, "/presets").await;
    assert_eq!(empty.status, Status::Ok);
    assert!(empty.body.contains("还没有预设"), "{}", empty.body);

    let zeta = created(&app, &client, "alice", "zeta", "Z/z").await;
    let alpha = created(&app, &client, "alice", "Alpha", "A/a").await;
    let answer = create(
        &client,
        &[("name", "  beta  "), ("models", "B/b"), ("is_default", "1")],
    )
    .await;
    assert_saved(&answer);

    let page = get(&client, "/presets").await;
    assert_eq!(page.status, Status::Ok);
    assert!(
        page.body.contains("预设「beta」已保存"),
        "flash: {}",
        page.body
    );
    let list = stored(&app, "alice");
    let names: Vec<&str> = list.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["beta", "Alpha", "zeta"], "trimmed, default first");
    let beta = list[0].id;
    assert!(list[0].is_default);
    assert!(row_position(&page.body, beta.get()) < row_position(&page.body, alpha));
    assert!(row_position(&page.body, alpha) < row_position(&page.body, zeta));
    assert_eq!(
        page.body
            .matches(r#"<span class="badge ok">默认</span>"#)
            .count(),
        1
    );
    assert!(page.body.contains("<code>Z/z</code>"));

    // Only the flash of the redirect; a reload says nothing.
    let again = get(&client, "/presets").await;
    assert!(!again.body.contains("预设已保存"));
}

#[tokio::test]
async fn models_are_deduplicated_in_order_and_can_be_added_from_the_catalogue_box() {
    let (app, client) = signed_in("alice").await;
    let answer = create(
        &client,
        &[
            ("name", "daily"),
            ("models", "B/b, A/a\nB/b  C/c，A/a\r\n"),
            ("add_model", CATALOGUE_ID),
        ],
    )
    .await;
    assert_saved(&answer);
    let preset = &stored(&app, "alice")[0];
    assert_eq!(preset.models, strings(&["B/b", "A/a", "C/c", CATALOGUE_ID]));
    assert!(!preset.is_default);

    // The catalogue box alone is enough.
    let answer = create(
        &client,
        &[("name", "one"), ("models", ""), ("add_model", "X/x")],
    )
    .await;
    assert_saved(&answer);

    // The edit form shows one model a line, in order.
    let page = get(&client, "/presets").await;
    assert!(
        page.body
            .contains(&format!("B/b\nA/a\nC/c\n{CATALOGUE_ID}</textarea>")),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn rename_and_edit_models() {
    let (app, client) = signed_in("alice").await;
    let id = created(&app, &client, "alice", "old", "A/a").await;
    let before = stored(&app, "alice")[0].clone();

    let answer = post(
        &client,
        &format!("/presets/{id}"),
        &[("name", "New name"), ("models", "C/c B/b C/c A/a")],
    )
    .await;
    assert_saved(&answer);
    let after = stored(&app, "alice")[0].clone();
    assert_eq!(after.id.get(), id);
    assert_eq!(after.name, "New name");
    assert_eq!(after.models, strings(&["C/c", "B/b", "A/a"]));
    assert_eq!(after.created_at, before.created_at);
    assert!(after.updated_at >= before.updated_at);

    // A change of case only is a rename of itself, not a clash.
    let answer = post(
        &client,
        &format!("/presets/{id}"),
        &[("name", "NEW NAME"), ("models", "A/a")],
    )
    .await;
    assert_saved(&answer);
    assert_eq!(stored(&app, "alice")[0].name, "NEW NAME");
}

#[tokio::test]
async fn a_failed_edit_keeps_what_was_typed_on_its_own_row() {
    let (app, client) = signed_in("alice").await;
    let first = created(&app, &client, "alice", "first", "A/a").await;
    let second = created(&app, &client, "alice", "second", "B/b").await;

    let answer = post(
        &client,
        &format!("/presets/{second}"),
        &[("name", "second renamed"), ("models", "B/b not-a-model")],
    )
    .await;
    assert_eq!(answer.status, Status::UnprocessableEntity);
    let row = &answer.body[row_position(&answer.body, second)..];
    assert!(row.contains("以下模型 ID 无效：not-a-model"), "{row}");
    assert!(row.contains(r#"value="second renamed""#), "{row}");
    assert!(row.contains("B/b not-a-model</textarea>"), "{row}");
    assert!(row.contains("<details open>"), "{row}");
    // The other row and the create form are as they were.
    let other = &answer.body[row_position(&answer.body, first)..row_position(&answer.body, second)];
    assert!(!other.contains("无效"));
    assert_eq!(stored(&app, "alice")[1].name, "second");
    assert_eq!(stored(&app, "alice")[1].models, strings(&["B/b"]));
}

#[tokio::test]
async fn delete() {
    let (app, client) = signed_in("alice").await;
    let keep = created(&app, &client, "alice", "keep", "A/a").await;
    let gone = created(&app, &client, "alice", "gone", "A/a").await;
    let answer = post(&client, &format!("/presets/{gone}/delete"), &[]).await;
    assert_saved(&answer);
    let list = stored(&app, "alice");
    assert_eq!(list.iter().map(|p| p.id.get()).collect::<Vec<_>>(), [keep]);
    let page = get(&client, "/presets").await;
    assert!(page.body.contains("预设「gone」已删除"), "{}", page.body);
    assert!(!page.body.contains(&format!(r#"id="preset-{gone}""#)));

    // Twice is a 404 with the page and a message, not an error page.
    let answer = post(&client, &format!("/presets/{gone}/delete"), &[]).await;
    assert_eq!(answer.status, Status::NotFound);
    assert!(answer.body.contains("找不到这个预设"), "{}", answer.body);
    assert!(answer.body.contains(&format!(r#"id="preset-{keep}""#)));
}

#[tokio::test]
async fn there_is_only_ever_one_default() {
    let (app, client) = signed_in("alice").await;
    let defaults = |app: &TestApp| -> Vec<String> {
        stored(app, "alice")
            .into_iter()
            .filter(|p| p.is_default)
            .map(|p| p.name)
            .collect()
    };
    let a = created(&app, &client, "alice", "a", "A/a").await;
    assert!(defaults(&app).is_empty());
    let answer = create(
        &client,
        &[("name", "b"), ("models", "B/b"), ("is_default", "on")],
    )
    .await;
    assert_saved(&answer);
    let b = stored(&app, "alice")[0].id;
    assert_eq!(defaults(&app), ["b"]);

    // The button.
    let answer = post(&client, &format!("/presets/{a}/default"), &[]).await;
    assert_saved(&answer);
    assert_eq!(defaults(&app), ["a"]);
    let page = get(&client, "/presets").await;
    assert!(page.body.contains("设为默认预设"), "{}", page.body);
    assert!(row_position(&page.body, a) < row_position(&page.body, b.get()));
    // The default has no "make default" button; the other one has.
    assert!(!page.body.contains(&format!("/presets/{a}/default")));
    assert!(page.body.contains(&format!("/presets/{b}/default")));

    // The edit form's checkbox, ticked and then not.
    let answer = post(
        &client,
        &format!("/presets/{b}"),
        &[("name", "b"), ("models", "B/b"), ("is_default", "1")],
    )
    .await;
    assert_saved(&answer);
    assert_eq!(defaults(&app), ["b"]);
    let answer = post(
        &client,
        &format!("/presets/{b}"),
        &[("name", "b"), ("models", "B/b")],
    )
    .await;
    assert_saved(&answer);
    assert!(defaults(&app).is_empty());

    // A third created as default takes over from the current one.
    let answer = post(&client, &format!("/presets/{a}/default"), &[]).await;
    assert_saved(&answer);
    let answer = create(
        &client,
        &[("name", "c"), ("models", "C/c"), ("is_default", "1")],
    )
    .await;
    assert_saved(&answer);
    assert_eq!(defaults(&app), ["c"]);
}

#[tokio::test]
async fn invalid_ids_are_refused_named_and_escaped() {
    let (app, client) = signed_in("alice").await;
    let typed = "Qwen/ok\n<script>alert(1)</script>, owner/na..me\nnoslash";
    let answer = create(&client, &[("name", "mine"), ("models", typed)]).await;
    assert_eq!(answer.status, Status::UnprocessableEntity);
    let body = &named_entities(&answer.body);
    assert!(body.contains("以下模型 ID 无效："), "{body}");
    assert!(body.contains("&lt;script&gt;alert(1)&lt;"), "{body}");
    assert!(body.contains("owner/na..me"), "{body}");
    assert!(body.contains("noslash"), "{body}");
    assert!(!body.contains("<script>"), "unescaped: {body}");
    // The valid id is not named as invalid.
    let message = &body[body.find("以下模型 ID 无效：").unwrap()..];
    let message = &message[..message.find("</p>").unwrap()];
    assert!(!message.contains("Qwen/ok"), "{message}");
    // What was typed is kept (escaped) in the form.
    assert!(body.contains(r#"value="mine""#));
    assert!(
        body.contains("Qwen/ok\n&lt;script&gt;alert(1)&lt;"),
        "{body}"
    );
    assert!(stored(&app, "alice").is_empty());

    // A name with markup is stored as typed and always shown escaped.
    let answer = create(
        &client,
        &[("name", "<img src=x onerror=alert(1)>"), ("models", "A/a")],
    )
    .await;
    assert_saved(&answer);
    let page = get(&client, "/presets").await;
    assert!(named_entities(&page.body).contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!page.body.contains("<img"));
}

#[tokio::test]
async fn an_empty_list_is_refused() {
    let (app, client) = signed_in("alice").await;
    for models in ["", " , \n ,"] {
        let answer = create(&client, &[("name", "empty"), ("models", models)]).await;
        assert_eq!(answer.status, Status::UnprocessableEntity);
        assert!(
            answer.body.contains("请至少填写一个模型 ID"),
            "{}",
            answer.body
        );
    }
    // Also when an edit empties a preset.
    let id = created(&app, &client, "alice", "full", "A/a").await;
    let answer = post(
        &client,
        &format!("/presets/{id}"),
        &[("name", "full"), ("models", " ")],
    )
    .await;
    assert_eq!(answer.status, Status::UnprocessableEntity);
    assert!(answer.body.contains("请至少填写一个模型 ID"));
    assert_eq!(stored(&app, "alice")[0].models, strings(&["A/a"]));
}

#[tokio::test]
async fn at_most_max_models_per_query_models() {
    let (app, client) = signed_in("alice").await;
    let models: Vec<String> = (0..51).map(|i| format!("owner/model-{i}")).collect();
    let answer = create(&client, &[("name", "big"), ("models", &models.join("\n"))]).await;
    assert_eq!(answer.status, Status::UnprocessableEntity);
    assert!(
        answer.body.contains("一个预设最多 50 个模型"),
        "{}",
        answer.body
    );
    assert!(
        answer.body.contains("owner/model-50</textarea>"),
        "typed list kept"
    );
    assert!(stored(&app, "alice").is_empty());

    // 50 distinct (51 with a duplicate) is fine.
    let mut fifty = models[..50].to_vec();
    fifty.push(models[0].clone());
    let answer = create(&client, &[("name", "big"), ("models", &fifty.join(","))]).await;
    assert_saved(&answer);
    assert_eq!(stored(&app, "alice")[0].models.len(), 50);
}

#[tokio::test]
async fn the_model_limit_follows_the_configuration() {
    let app = TestApp::new().await;
    let client = app
        .start_with(|c| c.merge(("max_models_per_query", 3)))
        .await;
    signed_up(&client, "alice").await;
    let answer = create(&client, &[("name", "four"), ("models", "A/a B/b C/c D/d")]).await;
    assert_eq!(answer.status, Status::UnprocessableEntity);
    assert!(
        answer.body.contains("一个预设最多 3 个模型"),
        "{}",
        answer.body
    );
    assert_saved(&create(&client, &[("name", "three"), ("models", "A/a B/b C/c")]).await);
}

#[tokio::test]
async fn names_are_unique_per_user_whatever_the_case() {
    let (app, client) = signed_in("alice").await;
    created(&app, &client, "alice", "Daily", "A/a").await;
    let other = created(&app, &client, "alice", "Weekly", "A/a").await;

    let answer = create(&client, &[("name", " dAILY "), ("models", "B/b")]).await;
    assert_eq!(answer.status, Status::Conflict);
    assert!(answer.body.contains("已有同名的预设"), "{}", answer.body);
    assert!(answer.body.contains(r#"value="dAILY""#));

    let answer = post(
        &client,
        &format!("/presets/{other}"),
        &[("name", "DAILY"), ("models", "A/a")],
    )
    .await;
    assert_eq!(answer.status, Status::Conflict);
    assert!(answer.body.contains("已有同名的预设"));
    let names: Vec<String> = stored(&app, "alice").into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["Daily", "Weekly"]);
}

#[tokio::test]
async fn names_are_checked() {
    let (app, client) = signed_in("alice").await;
    let huge = "x".repeat(10_000);
    let answer = create(&client, &[("name", &huge), ("models", "A/a")]).await;
    assert_eq!(answer.status, Status::UnprocessableEntity);
    assert!(
        answer.body.contains("名称最多 64 个字符"),
        "{}",
        answer.body
    );
    assert!(!answer.body.contains(&"x".repeat(65)), "echoed back whole");

    for (name, message) in [
        ("   ", "请填写预设名称"),
        ("tab\tinside", "名称最多 64 个字符"),
        (&"名".repeat(65), "名称最多 64 个字符"),
    ] {
        let answer = create(&client, &[("name", name), ("models", "A/a")]).await;
        assert_eq!(answer.status, Status::UnprocessableEntity, "{name:?}");
        assert!(answer.body.contains(message), "{name:?}: {}", answer.body);
    }
    assert!(stored(&app, "alice").is_empty());
    assert_saved(&create(&client, &[("name", &"名".repeat(64)), ("models", "A/a")]).await);
}

#[tokio::test]
async fn at_most_fifty_presets() {
    let (app, client) = signed_in("alice").await;
    let token = csrf_token(&client, "/presets").await;
    for i in 0..50 {
        let name = format!("preset {i}");
        let answer = post_form(
            &client,
            "/presets",
            &[("name", &name), ("models", "A/a"), ("csrf_token", &token)],
        )
        .await;
        assert_saved(&answer);
    }
    let answer = create(&client, &[("name", "one too many"), ("models", "A/a")]).await;
    assert_eq!(answer.status, Status::Conflict);
    assert!(
        answer.body.contains("预设数量已达上限（50 个）"),
        "{}",
        answer.body
    );
    assert!(answer.body.contains(r#"value="one too many""#));
    assert_eq!(stored(&app, "alice").len(), 50);

    // Deleting one makes room again.
    let first = stored(&app, "alice")[0].id;
    assert_saved(&post(&client, &format!("/presets/{first}/delete"), &[]).await);
    assert_saved(&create(&client, &[("name", "one too many"), ("models", "A/a")]).await);
}

#[tokio::test]
async fn another_users_preset_is_a_404_and_stays_unchanged() {
    let (app, client) = signed_in("alice").await;
    let answer = create(
        &client,
        &[
            ("name", "alice only"),
            ("models", "A/a B/b"),
            ("is_default", "1"),
        ],
    )
    .await;
    assert_saved(&answer);
    let alices = stored(&app, "alice")[0].clone();
    let id = alices.id;
    log_out(&client).await;

    signed_up(&client, "bob").await;
    let bobs_page = get(&client, "/presets").await;
    assert!(!bobs_page.body.contains("alice only"));
    let bobs = created(&app, &client, "bob", "bob's", "C/c").await;

    for (uri, fields) in [
        (
            format!("/presets/{id}"),
            vec![
                ("name", "taken over"),
                ("models", "X/x"),
                ("is_default", "1"),
            ],
        ),
        // Invalid input says nothing either: still just "not found".
        (
            format!("/presets/{id}"),
            vec![("name", ""), ("models", "<x>")],
        ),
        (format!("/presets/{id}/default"), vec![]),
        (format!("/presets/{id}/delete"), vec![]),
    ] {
        let answer = post(&client, &uri, &fields).await;
        assert_eq!(answer.status, Status::NotFound, "{uri}: {}", answer.body);
        assert!(answer.body.contains("找不到这个预设"), "{uri}");
        assert!(!answer.body.contains("alice only"), "{uri}");
        assert!(!answer.body.contains("taken over"), "{uri}");
    }
    assert_eq!(stored(&app, "alice"), [alices]);
    // Bob's own default did not move either.
    assert!(!stored(&app, "bob")[0].is_default);
    // A name Alice uses is free for Bob.
    assert_saved(&create(&client, &[("name", "Alice Only"), ("models", "A/a")]).await);
    assert_saved(&post(&client, &format!("/presets/{bobs}/default"), &[]).await);
    assert!(stored(&app, "alice")[0].is_default);
}

#[tokio::test]
async fn every_change_needs_the_csrf_token_and_a_session() {
    let (app, client) = signed_in("alice").await;
    let id = created(&app, &client, "alice", "mine", "A/a").await;
    for uri in [
        "/presets".to_owned(),
        format!("/presets/{id}"),
        format!("/presets/{id}/default"),
        format!("/presets/{id}/delete"),
    ] {
        let answer = post_form(&client, &uri, &[("name", "x"), ("models", "B/b")]).await;
        assert_eq!(answer.status, Status::Forbidden, "{uri}");
        let answer = post_form(
            &client,
            &uri,
            &[("name", "x"), ("models", "B/b"), ("csrf_token", "wrong")],
        )
        .await;
        assert_eq!(answer.status, Status::Forbidden, "{uri}");
    }
    assert_eq!(stored(&app, "alice").len(), 1);
    assert!(!stored(&app, "alice")[0].is_default);

    // An id that is not a number is refused, not a server error.
    let answer = post(&client, "/presets/abc/delete", &[]).await;
    assert!(answer.status.class().is_client_error(), "{}", answer.status);

    log_out(&client).await;
    let answer = get(&client, "/presets").await;
    assert_eq!(answer.status, Status::SeeOther);
    assert!(answer.header("Location").unwrap().starts_with("/login"));
    let token = csrf_token(&client, "/login").await;
    let answer = post_form(
        &client,
        "/presets",
        &[("name", "x"), ("models", "A/a"), ("csrf_token", &token)],
    )
    .await;
    assert_eq!(answer.status, Status::SeeOther);
    assert!(answer.header("Location").unwrap().starts_with("/login"));
    assert_eq!(stored(&app, "alice").len(), 1);
}

#[tokio::test]
async fn the_catalogue_is_offered_and_fetched_once() {
    let app = TestApp::new().await;
    catalogue_mock()
        .respond_with(catalogue_listing())
        .expect(1)
        .named("the catalogue, once")
        .mount(&app.upstream)
        .await;
    let client = app.start().await;
    signed_up(&client, "alice").await;
    for _ in 0..2 {
        let page = get(&client, "/presets").await;
        assert_eq!(page.status, Status::Ok);
        let datalist = &page.body[page
            .body
            .find(r#"<datalist id="model-catalogue">"#)
            .unwrap()..];
        let datalist = &datalist[..datalist.find("</datalist>").unwrap()];
        assert!(
            html_unescape(datalist).contains(&format!(r#"<option value="{CATALOGUE_ID}">"#)),
            "{datalist}"
        );
        assert!(page.body.contains(r#"list="model-catalogue""#));
    }
    // A failed form renders the suggestions too, from the cache.
    let answer = create(&client, &[("name", ""), ("models", "A/a")]).await;
    assert!(html_unescape(&answer.body).contains(&format!(r#"<option value="{CATALOGUE_ID}">"#)));
    app.verify().await;
}

#[tokio::test]
async fn the_page_works_without_the_catalogue() {
    let app = TestApp::new().await;
    catalogue_mock()
        .respond_with(ResponseTemplate::new(500).set_body_string("<b>down</b>"))
        .expect(1)
        .named("a broken catalogue, tried once")
        .mount(&app.upstream)
        .await;
    let client = app.start().await;
    signed_up(&client, "alice").await;
    for _ in 0..2 {
        let page = get(&client, "/presets").await;
        assert_eq!(page.status, Status::Ok);
        assert!(
            page.body
                .contains(r#"<datalist id="model-catalogue"></datalist>"#),
            "{}",
            page.body
        );
        assert!(page.body.contains("模型目录暂时无法获取"));
        assert!(!page.body.contains("<b>down") && !page.body.contains(";down"));
    }
    assert_saved(&create(&client, &[("name", "still works"), ("models", "A/a")]).await);
    app.verify().await;
}
