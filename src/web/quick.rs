//! `GET /` and `POST /quick`: the anonymous quick query. Nothing of it is stored or logged
//! beyond counts.

use askama::Template;
use askama_web::WebTemplate;
use rocket::State;
use rocket::form::{Form, FromForm};
use rocket::http::Status;
use rocket::{get, post};

use super::view::{KeyOption, Layout, ReportView};
use crate::api::batch_error_message;
use crate::query::{ModelEntry, QueryEngine, split_model_text};
use crate::secret::ApiSecret;

#[derive(Template, WebTemplate)]
#[template(path = "quick.html")]
pub struct QuickPage {
    pub layout: Layout,
    pub models: String,
    pub max_models: usize,
    pub error: Option<String>,
    pub report: Option<ReportView>,
    pub saved_keys: Vec<KeyOption>,
    pub selected_key_id: Option<i64>,
}

#[derive(Debug, FromForm)]
pub struct QuickForm {
    api_key: Option<String>,
    models: Option<String>,
}

#[get("/")]
pub fn index(engine: &State<QueryEngine>) -> QuickPage {
    QuickPage {
        layout: Layout::new(None),
        models: String::new(),
        max_models: engine.limits().max_models,
        error: None,
        report: None,
        saved_keys: Vec::new(),
        selected_key_id: None,
    }
}

#[post("/quick", data = "<form>")]
pub async fn quick(form: Form<QuickForm>, engine: &State<QueryEngine>) -> (Status, QuickPage) {
    let form = form.into_inner();
    let models = form.models.unwrap_or_default();
    let mut page = QuickPage {
        layout: Layout::new(None),
        models: models.clone(),
        max_models: engine.limits().max_models,
        error: None,
        report: None,
        saved_keys: Vec::new(),
        selected_key_id: None,
    };
    let key = form.api_key.map(|k| k.trim().to_owned()).unwrap_or_default();
    let checked = check_quick_input(engine, &key, &models);
    let entries = match checked {
        Ok(entries) => entries,
        Err(message) => {
            page.error = Some(message);
            return (Status::UnprocessableEntity, page);
        }
    };
    let (report, balance) = engine.run_with_balance(ApiSecret::new(key), entries).await;
    tracing::info!(
        source = "quick",
        models = report.results.len(),
        ok = report.ok_count(),
        failed = report.failed_count(),
        duration_ms = report.elapsed.as_millis() as u64,
        "balance query"
    );
    page.report = Some(ReportView::new(&report, Some(&balance)));
    (Status::Ok, page)
}

/// The form's mistakes, in the order a user would fix them.
pub fn check_quick_input(
    engine: &QueryEngine,
    key: &str,
    models: &str,
) -> Result<Vec<ModelEntry>, String> {
    if key.is_empty() {
        return Err("请填写 API Key。".into());
    }
    if key.chars().any(char::is_control) || key.chars().count() > 256 {
        return Err("API Key 格式不正确：应为 ms- 开头的令牌。".into());
    }
    let entries = engine
        .prepare(split_model_text(models))
        .map_err(|error| batch_error_message(&error))?;
    if entries
        .iter()
        .all(|entry| matches!(entry, ModelEntry::Invalid { .. }))
    {
        return Err(
            "没有有效的模型 ID：应为 owner/name 形式，例如 Qwen/Qwen2.5-72B-Instruct。".into(),
        );
    }
    Ok(entries)
}
