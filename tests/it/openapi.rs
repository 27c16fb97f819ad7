//! `GET /api/openapi.json` is kept true: every mounted JSON route is documented and every
//! documented operation is mounted, and the documented shapes match real answers.

use std::collections::BTreeSet;

use modelscope_balance::db::history::{RunKind, Source, Unclean};
use modelscope_balance::modelscope::{ErrorCode, PriceSource, Site};
use modelscope_balance::pace::Basis;
use modelscope_balance::runs::calls_left::QuotaSource;
use modelscope_balance::runs::grants::GrantSource;
use rocket::http::Status;
use rocket::local::asynchronous::Client;
use serde_json::{Value, json};

use crate::harness::api::{api_balance, api_get};
use crate::harness::http::get;
use crate::harness::secrets::KEY;
use crate::harness::upstream::{MODEL_A, MODEL_B, QUOTA_A, QUOTA_B, mount_balance, mount_ok};
use crate::harness::{TestApp, User};

async fn document(client: &Client) -> Value {
    let answer = get(client, "/api/openapi.json").await;
    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    answer.json()
}

/// `(path, method)` of every mounted route that belongs to the JSON API, in OpenAPI spelling:
/// `<id>` becomes `{id}`, methods are lower case.
fn mounted_operations(client: &Client) -> BTreeSet<(String, String)> {
    client
        .rocket()
        .routes()
        .filter_map(|route| {
            let path = route.uri.path().to_string();
            let api = path.starts_with("/api/") || path == "/health";
            let method = route.method.as_str().to_ascii_lowercase();
            api.then(|| (openapi_path(&path), method))
        })
        .collect()
}

fn openapi_path(rocket_path: &str) -> String {
    rocket_path
        .split('/')
        .map(|segment| match segment.strip_prefix('<') {
            Some(name) => format!("{{{}}}", name.trim_end_matches('>').trim_end_matches("..")),
            None => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("a path item")
                .keys()
                .filter(|key| HTTP_METHODS.contains(&key.as_str()))
                .map(move |method| (path.clone(), method.clone()))
        })
        .collect()
}

/// A named schema of the document.
fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
    let found = &doc["components"]["schemas"][name];
    assert!(found.is_object(), "no {name} schema");
    found
}

fn keys(object: &Value) -> BTreeSet<String> {
    object
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {object}"))
        .keys()
        .cloned()
        .collect()
}

fn strings(array: &Value) -> BTreeSet<String> {
    array
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {array}"))
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

/// A token holder's real `/api/balance` answer with the account balance and a history id.
async fn real_answer() -> (TestApp, User, String, Value) {
    let site = TestApp::new().await;
    mount_balance(&site.upstream).await;
    mount_ok(&site.upstream, MODEL_A, QUOTA_A, 1).await;
    mount_ok(&site.upstream, MODEL_B, QUOTA_B, 1).await;
    let user = site.user("alice").await;
    user.add_key("main", KEY).await;
    user.add_preset("daily", &[MODEL_A, MODEL_B]).await;
    let token = user.create_token("script").await;
    let answer = api_balance(
        &user.client,
        Some(&token),
        &json!({"key_id": "main", "preset": "daily", "include_account": true}),
    )
    .await;
    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    let json = answer.json();
    (site, user, token, json)
}

#[tokio::test]
async fn the_document_is_openapi_3_json() {
    let site = TestApp::new().await;
    let client = site.start().await;

    let doc = document(&client).await;

    let version = doc["openapi"].as_str().expect("an openapi version");
    assert!(version.starts_with("3."), "{version}");
    assert!(doc["info"]["title"].is_string());
    assert!(doc["paths"].is_object());
}

#[tokio::test]
async fn every_mounted_json_route_is_documented() {
    let site = TestApp::new().await;
    let client = site.start().await;
    let documented = documented_operations(&document(&client).await);

    let mounted = mounted_operations(&client);

    assert!(mounted.contains(&("/api/balance".into(), "post".into())));
    let missing: Vec<_> = mounted.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "mounted but not documented: {missing:?}"
    );
}

#[tokio::test]
async fn every_documented_operation_is_mounted() {
    let site = TestApp::new().await;
    let client = site.start().await;
    let documented = documented_operations(&document(&client).await);

    let mounted = mounted_operations(&client);

    let phantom: Vec<_> = documented.difference(&mounted).collect();
    assert!(
        phantom.is_empty(),
        "documented but not mounted: {phantom:?}"
    );
}

#[tokio::test]
async fn model_row_requires_exactly_the_fields_of_a_real_row() {
    let (site, _user, _token, answer) = real_answer().await;
    let doc = document(&site.start().await).await;
    let model_row = schema(&doc, "ModelRow");

    for row in answer["data"].as_array().expect("rows") {
        assert_eq!(strings(&model_row["required"]), keys(row), "{row}");
        assert_eq!(keys(&model_row["properties"]), keys(row), "{row}");
    }
}

#[tokio::test]
async fn balance_response_describes_every_field_of_a_real_answer() {
    let (site, _user, _token, answer) = real_answer().await;
    let doc = document(&site.start().await).await;

    let response = schema(&doc, "BalanceResponse");
    let documented = keys(&response["properties"]);
    let real = keys(&answer);
    assert!(
        real.contains("history_id") && real.contains("account"),
        "{answer}"
    );
    let undocumented: Vec<_> = real.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "not in BalanceResponse: {undocumented:?}"
    );
    assert!(strings(&response["required"]).is_subset(&real));

    let account = schema(&doc, "Account");
    let undocumented: BTreeSet<_> = keys(&answer["account"])
        .difference(&keys(&account["properties"]))
        .cloned()
        .collect();
    assert!(undocumented.is_empty(), "not in Account: {undocumented:?}");
}

#[tokio::test]
async fn run_summary_describes_every_field_of_real_history_answers() {
    let (site, user, token, answer) = real_answer().await;
    let doc = document(&site.start().await).await;
    let summary = schema(&doc, "RunSummary");
    let documented = keys(&summary["properties"]);
    let required = strings(&summary["required"]);
    let id = answer["history_id"].as_i64().unwrap();

    let list = api_get(&user.client, Some(&token), "/api/history")
        .await
        .json();
    let detail = api_get(&user.client, Some(&token), &format!("/api/history/{id}"))
        .await
        .json();

    for run in [&list["data"][0], &detail["data"]] {
        let real = keys(run);
        let undocumented: Vec<_> = real.difference(&documented).collect();
        assert!(
            undocumented.is_empty(),
            "not in RunSummary: {undocumented:?}"
        );
        assert!(required.is_subset(&real), "{run}");
    }
    let page = keys(&list);
    let page_doc = &doc["paths"]["/api/history"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"]["properties"];
    let page_documented = keys(page_doc);
    let undocumented: Vec<_> = page.difference(&page_documented).collect();
    assert!(
        undocumented.is_empty(),
        "not in the history page: {undocumented:?}"
    );
}

/// Every `price_source` the document describes (the rows of /api/balance and /api/quota)
/// allows every value the app sends, and only those, or null.
#[tokio::test]
async fn every_price_source_enum_lists_every_source() {
    let site = TestApp::new().await;
    let doc = document(&site.start().await).await;
    let mut sources = Vec::new();
    collect_property(&doc, "price_source", &mut sources);
    assert!(
        sources.len() >= 2,
        "ModelRow's and QuotaModel's: {sources:?}"
    );
    let mut expected: BTreeSet<String> = PriceSource::ALL
        .iter()
        .map(|s| format!("{:?}", s.as_str()))
        .collect();
    expected.insert("null".into());

    for schema in sources {
        let listed: BTreeSet<String> = schema["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("price_source without an enum: {schema}"))
            .iter()
            .map(Value::to_string)
            .collect();
        assert_eq!(listed, expected, "{schema}");
    }
}

/// The texts of a set's values, in order.
fn texts_of<T: Copy>(all: &[T], text: impl Fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|value| text(*value)).collect()
}

/// Every closed set the document lists is the app's, text for text and in order. A value's
/// text is its variant's name unless it gives one, so a rename that would change what the API
/// sends fails here (the variant keeps its old text with `= "old_text"`).
#[tokio::test]
async fn every_listed_set_is_the_apps_text_for_text() {
    let site = TestApp::new().await;
    let doc = document(&site.start().await).await;
    let sent_kinds: Vec<RunKind> = RunKind::ALL
        .iter()
        .copied()
        .filter(|kind| kind.stored() == *kind)
        .collect();
    let schemas = "/components/schemas";
    let sets = [
        ("ErrorCode", texts_of(ErrorCode::ALL, ErrorCode::as_str)),
        (
            "ModelRow/properties/quota_source",
            texts_of(QuotaSource::ALL, QuotaSource::as_str),
        ),
        (
            "QuotaModel/properties/quota_source",
            texts_of(QuotaSource::ALL, QuotaSource::as_str),
        ),
        (
            "BalanceRequest/properties/site",
            texts_of(Site::ALL, Site::as_str),
        ),
        (
            "QuotaKey/properties/site",
            texts_of(Site::ALL, Site::as_str),
        ),
        (
            "BalanceResponse/properties/points_note",
            texts_of(Unclean::ALL, Unclean::as_str),
        ),
        (
            "RunSummary/properties/source",
            texts_of(Source::ALL, Source::as_str),
        ),
        (
            "RunSummary/properties/kind",
            texts_of(&sent_kinds, RunKind::as_str),
        ),
        (
            "ForecastBasis/properties/code",
            texts_of(Basis::ALL, Basis::as_str),
        ),
        (
            "DailyGrant/properties/source",
            texts_of(GrantSource::ALL, GrantSource::as_str),
        ),
    ];
    for (path, expected) in sets {
        let listed: Vec<&str> = doc
            .pointer(&format!("{schemas}/{path}/enum"))
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("{path}: no enum in the document"))
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(listed, expected, "{path}");
    }
}

/// Every schema under a property called `name`, anywhere in `value`.
fn collect_property<'a>(value: &'a Value, name: &str, found: &mut Vec<&'a Value>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if key == name && inner.is_object() {
                    found.push(inner);
                }
                collect_property(inner, name, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_property(v, name, found)),
        _ => {}
    }
}
