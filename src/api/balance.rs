//! `POST /api/balance`: the original tool's contract, plus `error_code`, `status`,
//! `latency_ms` on each row and an optional `account` balance.

use rocket::State;
use rocket::data::{Data, Limits, ToByteUnit};
use rocket::http::{ContentType, Status};
use rocket::post;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::serde::json::Json;
use serde_json::{Map, Value, json};

use super::auth::ApiCaller;
use super::envelope::ApiError;
use crate::crypto::secret::ApiSecret;
use crate::db::{Db, presets};
use crate::keyring::{KeyError, Keyring};
use crate::modelscope::{AccountBalance, BalanceError, ErrorCode};
use crate::modelscope::{BatchError, split_model_text};
use crate::runs::engine::{ModelResult, QueryEngine};
use crate::runs::executor::{self, RunRequest};
use crate::runs::history::{RunOrigin, Source};

/// Longer than any real token (39 characters) by a wide margin.
const MAX_KEY_CHARS: usize = 256;

/// The `X-API-Key` header, if sent.
pub struct ApiKeyHeader(Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ApiKeyHeader {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        Outcome::Success(Self(
            request.headers().get_one("X-API-Key").map(str::to_owned),
        ))
    }
}

/// A saved key or preset named by id or by name (token holders only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    Id(i64),
    Name(String),
}

/// The models to query: listed in the request, or a saved preset's (token holders only).
#[derive(Debug)]
pub enum ModelSource {
    Listed(Vec<String>),
    Preset(Reference),
}

/// The key to query with: given in the request, or a saved one (token holders only).
#[derive(Debug)]
pub enum KeySource {
    Raw(ApiSecret),
    Saved(Reference),
}

/// A well-formed request, nothing resolved or validated upstream yet.
#[derive(Debug)]
pub struct BalanceRequest {
    pub models: ModelSource,
    pub key: KeySource,
    pub include_account: bool,
}

#[post("/api/balance", data = "<body>")]
#[allow(clippy::too_many_arguments)] // Rocket guards: each argument is one thing the route needs.
pub async fn balance(
    body: Data<'_>,
    content_type: Option<&ContentType>,
    header_key: ApiKeyHeader,
    caller: ApiCaller,
    limits: &Limits,
    engine: &State<QueryEngine>,
    keyring: &State<Keyring>,
    db: &State<Db>,
) -> Result<Json<Value>, ApiError> {
    if let Some(content_type) = content_type.filter(|ct| !ct.is_json()) {
        return Err(ApiError::new(
            Status::UnsupportedMediaType,
            format!("Content-Type 必须是 application/json（收到的是 {content_type}）"),
        ));
    }
    let limit = limits.get("json").unwrap_or(64.kibibytes());
    let bytes = body
        .open(limit)
        .into_bytes()
        .await
        .map_err(|_| ApiError::bad_request("请求体读取失败"))?;
    if !bytes.is_complete() {
        return Err(ApiError::new(
            Status::PayloadTooLarge,
            format!("请求体超过 {limit} 上限：请减少模型数量"),
        ));
    }
    let request = parse_request(&bytes, header_key.0)?;
    let include_account = request.include_account;
    let Some(user_id) = caller.0 else {
        // Anonymous: the original tool's call, nothing stored.
        let (ModelSource::Listed(models), KeySource::Raw(key)) = (request.models, request.key)
        else {
            return Err(ApiError::new(
                Status::Unauthorized,
                "key_id 和 preset 需要访问令牌：请在 Authorization: Bearer 请求头中提供账号页面创建的令牌，或改用 api_key 和 models",
            ));
        };
        let entries = prepare(engine, &models)?;
        let (report, account) = if include_account {
            let (report, balance) = engine.run_with_balance(key, entries).await;
            (report, Some(balance))
        } else {
            (engine.run(key, entries).await, None)
        };
        log_query(&report);
        return Ok(Json(envelope(&report, account.as_ref(), None)));
    };
    let run = resolve_for_holder(user_id, request, engine, keyring, db).await?;
    let finished = executor::run_and_store(engine, db, run)
        .await
        .map_err(|_| {
            ApiError::new(
                Status::InternalServerError,
                "查询已完成，但保存历史记录失败",
            )
        })?;
    let account = include_account.then_some(&finished.balance);
    Ok(Json(envelope(&finished.report, account, Some(finished.id))))
}

fn prepare(
    engine: &QueryEngine,
    models: &[String],
) -> Result<Vec<crate::modelscope::ModelEntry>, ApiError> {
    let entries = engine
        .prepare(models.iter().map(String::as_str))
        .map_err(|error| ApiError::bad_request(batch_error_message(&error)))?;
    if let Some(message) = nothing_to_query(&entries) {
        return Err(ApiError::bad_request(message));
    }
    Ok(entries)
}

fn log_query(report: &crate::runs::engine::BatchReport) {
    tracing::info!(
        source = "api",
        models = report.results.len(),
        ok = report.ok_count(),
        failed = report.failed_count(),
        duration_ms = report.elapsed.as_millis() as u64,
        "balance query"
    );
}

/// A token holder's request: saved key and preset resolved within their own account only
/// (another user's id is simply not found).
async fn resolve_for_holder(
    user_id: i64,
    request: BalanceRequest,
    engine: &QueryEngine,
    keyring: &Keyring,
    db: &Db,
) -> Result<RunRequest, ApiError> {
    let (models, preset) = match request.models {
        ModelSource::Listed(models) => (models, None),
        ModelSource::Preset(reference) => {
            let found = db
                .run(move |conn| match reference {
                    Reference::Id(id) => presets::get_for_user(conn, user_id, id),
                    Reference::Name(name) => presets::find_by_name(conn, user_id, &name),
                })
                .await
                .map_err(|_| ApiError::new(Status::InternalServerError, "读取预设失败"))?;
            let preset = found.ok_or_else(|| {
                ApiError::new(Status::NotFound, "预设不存在：请检查 preset 的名称或 id")
            })?;
            (preset.models.clone(), Some(preset))
        }
    };
    if models.is_empty() {
        return Err(ApiError::bad_request(
            "预设中没有模型：请先在预设页面添加模型",
        ));
    }
    let entries = prepare(engine, &models)?;
    let (key, api_key_id, key_label) = match request.key {
        KeySource::Raw(key) => (key, None, None),
        KeySource::Saved(reference) => {
            let id = match reference {
                Reference::Id(id) => id,
                Reference::Name(label) => keyring
                    .find_id_by_label(user_id, &label)
                    .await
                    .map_err(|_| ApiError::new(Status::InternalServerError, "读取 Key 失败"))?
                    .ok_or_else(|| {
                        ApiError::new(Status::NotFound, "Key 不存在：请检查 key_id 的名称或 id")
                    })?,
            };
            match keyring.open(user_id, id).await {
                Ok((secret, label)) => (secret, Some(id), Some(label)),
                Err(KeyError::NeedsReentry) => {
                    return Err(ApiError::new(
                        Status::Conflict,
                        "这个 Key 无法解密（数据被改动或主密钥已更换）：请在网页上重新输入",
                    ));
                }
                Err(_) => {
                    return Err(ApiError::new(
                        Status::NotFound,
                        "Key 不存在：请检查 key_id 的名称或 id",
                    ));
                }
            }
        }
    };
    Ok(RunRequest {
        origin: RunOrigin {
            user_id,
            api_key_id,
            key_label,
            preset_id: preset.as_ref().map(|p| p.id),
            preset_name: preset.map(|p| p.name),
            source: Source::Api,
        },
        key,
        entries,
    })
}

/// The response envelope: original fields first, additions after.
fn envelope(
    report: &crate::runs::engine::BatchReport,
    account: Option<&Result<AccountBalance, BalanceError>>,
    history_id: Option<i64>,
) -> Value {
    let failed = report.failed_count();
    let mut message = format!("成功查询 {} 个模型的余额信息", report.ok_count());
    if failed > 0 {
        message.push_str(&format!("，失败 {failed} 个"));
    }
    let mut envelope = json!({
        "success": failed == 0,
        "data": report.results.iter().map(row_json).collect::<Vec<_>>(),
        "message": message,
        "elapsed_ms": report.elapsed.as_millis() as u64,
    });
    if let Some(account) = account {
        envelope["account"] = account_json(account);
    }
    if let Some(id) = history_id {
        envelope["history_id"] = json!(id);
    }
    envelope
}

/// Every way a body can be wrong gets its own message; nothing here calls upstream.
pub fn parse_request(bytes: &[u8], header_key: Option<String>) -> Result<BalanceRequest, ApiError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ApiError::bad_request("请求体不是有效的 UTF-8 文本"))?;
    if text.trim().is_empty() {
        return Err(ApiError::bad_request(
            r#"请求体为空：请发送 JSON，例如 {"models": ["Qwen/Qwen2.5-72B-Instruct"], "api_key": "ms-..."}"#,
        ));
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ApiError::bad_request(format!("JSON 格式错误：{e}")))?;
    let Value::Object(object) = value else {
        return Err(ApiError::bad_request(
            "请求体必须是 JSON 对象，包含 models 和 api_key 字段",
        ));
    };
    let preset_ref = parse_reference(&object, "preset")?;
    let key_ref = parse_reference(&object, "key_id")?;
    // Listed models win over a preset, and a given key over a saved one.
    let models = match (preset_ref, is_missing(&object)) {
        (Some(reference), true) => ModelSource::Preset(reference),
        _ => ModelSource::Listed(parse_models_field(&object)?),
    };
    let key = match (key_ref, no_key_given(&object) && header_key.is_none()) {
        (Some(reference), true) => KeySource::Saved(reference),
        _ => KeySource::Raw(parse_key(&object, header_key)?),
    };
    let include_account = match object.get("include_account") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(flag)) => *flag,
        Some(_) => {
            return Err(ApiError::bad_request(
                "include_account 必须是 true 或 false",
            ));
        }
    };
    Ok(BalanceRequest {
        models,
        key,
        include_account,
    })
}

fn is_missing(object: &Map<String, Value>) -> bool {
    ["models", "models_"]
        .iter()
        .all(|field| object.get(*field).is_none_or(Value::is_null))
}

fn no_key_given(object: &Map<String, Value>) -> bool {
    object.get("api_key").is_none_or(Value::is_null)
}

/// `key_id` / `preset`: a positive integer id, or a non-empty name.
fn parse_reference(
    object: &Map<String, Value>,
    field: &str,
) -> Result<Option<Reference>, ApiError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .filter(|id| *id > 0)
            .map(|id| Some(Reference::Id(id)))
            .ok_or_else(|| ApiError::bad_request(format!("{field} 必须是正整数 id 或名称字符串"))),
        Some(Value::String(name)) if !name.trim().is_empty() && name.chars().count() <= 64 => {
            Ok(Some(Reference::Name(name.trim().to_owned())))
        }
        Some(_) => Err(ApiError::bad_request(format!(
            "{field} 必须是正整数 id 或名称字符串（最多 64 个字符）"
        ))),
    }
}

fn parse_models_field(object: &Map<String, Value>) -> Result<Vec<String>, ApiError> {
    // `models_` is the name an old version of the original tool used.
    let field = object
        .get("models")
        .filter(|v| !v.is_null())
        .or_else(|| object.get("models_").filter(|v| !v.is_null()));
    let models: Vec<String> = match field {
        None => {
            return Err(ApiError::bad_request(
                "缺少 models 字段：请提供模型列表（数组，或逗号、空格分隔的字符串）",
            ));
        }
        Some(Value::String(text)) => split_model_text(text)
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(id) => Ok(id.clone()),
                _ => Err(ApiError::bad_request("models 数组中的每一项都必须是字符串")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(ApiError::bad_request(
                "models 必须是字符串数组，或逗号、空格分隔的字符串",
            ));
        }
    };
    if models.iter().all(|m| m.trim().is_empty()) {
        return Err(ApiError::bad_request("models 为空：请至少提供一个模型 ID"));
    }
    Ok(models)
}

fn parse_key(
    object: &Map<String, Value>,
    header_key: Option<String>,
) -> Result<ApiSecret, ApiError> {
    let body_key = match object.get("api_key") {
        None | Some(Value::Null) => None,
        Some(Value::String(key)) => Some(key.trim().to_owned()).filter(|k| !k.is_empty()),
        Some(_) => return Err(ApiError::bad_request("api_key 必须是字符串")),
    };
    let header_key = header_key
        .map(|key| key.trim().to_owned())
        .filter(|key| !key.is_empty());
    let key = match (body_key, header_key) {
        (Some(body), Some(header)) if body != header => {
            return Err(ApiError::bad_request(
                "请求体中的 api_key 与 X-API-Key 请求头不一致：请只提供一个",
            ));
        }
        (Some(key), _) | (None, Some(key)) => key,
        (None, None) => {
            return Err(ApiError::new(
                Status::BadRequest,
                "缺少 API Key：请在请求体 api_key 字段或 X-API-Key 请求头中提供",
            ));
        }
    };
    if key.chars().count() > MAX_KEY_CHARS || key.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "API Key 格式不正确：应为 ms- 开头的令牌，不含控制字符",
        ));
    }
    Ok(ApiSecret::new(key))
}

pub fn batch_error_message(error: &BatchError) -> String {
    match error {
        BatchError::Empty => "models 为空：请至少提供一个模型 ID".into(),
        BatchError::TooMany { count, max } => {
            format!("模型数量过多：一次最多查询 {max} 个模型，收到 {count} 个")
        }
    }
}

/// A batch of nothing but invalid ids is the client's mistake: say which and why.
fn nothing_to_query(entries: &[crate::modelscope::ModelEntry]) -> Option<String> {
    use crate::modelscope::ModelEntry;
    let invalid: Vec<String> = entries
        .iter()
        .filter_map(|entry| match entry {
            ModelEntry::Invalid { id, reason } => {
                Some(format!("{}（{}）", preview(id), reason.explain()))
            }
            ModelEntry::Valid(_) => None,
        })
        .collect();
    (invalid.len() == entries.len()).then(|| {
        format!(
            "没有有效的模型 ID：应为 owner/name 形式，例如 Qwen/Qwen2.5-72B-Instruct。无效的：{}",
            invalid.join("；")
        )
    })
}

/// A bad id quoted back safely: control characters escaped, cut to 60 characters.
fn preview(id: &str) -> String {
    let escaped: String = id.chars().flat_map(char::escape_debug).take(60).collect();
    if escaped.chars().count() == 60 {
        format!("\"{escaped}…\"")
    } else {
        format!("\"{escaped}\"")
    }
}

/// The original six fields, then the additions.
pub fn row_json(row: &ModelResult) -> Value {
    json!({
        "model": row.model,
        "request_limit": row.quota.request_limit,
        "request_remaining": row.quota.request_remaining,
        "model_request_limit": row.quota.model_request_limit,
        "model_request_remaining": row.quota.model_request_remaining,
        "error": row.failure.as_ref().map(|f| error_message(f.code, f.detail.as_deref(), row.status)),
        "error_code": row.error_code(),
        "status": row.status,
        "latency_ms": row.latency_ms,
    })
}

fn account_json(account: &Result<AccountBalance, BalanceError>) -> Value {
    match account {
        Ok(balance) => json!({
            "total_balance": points(balance.total_balance),
            "available_balance": points(balance.available_balance),
            "frozen_amount": points(balance.frozen_amount),
        }),
        Err(error) => json!({
            "error": error_message(error.code(), error.detail(), None),
            "error_code": error.code(),
        }),
    }
}

/// 250 rather than 250.0 when the number is whole.
fn points(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        json!(value as i64)
    } else {
        json!(value)
    }
}

/// A row's `error` text: what happened in words, then upstream's own (shortened) words.
pub fn error_message(code: ErrorCode, detail: Option<&str>, status: Option<u16>) -> String {
    let summary = match code {
        ErrorCode::InvalidKey => "API Key 无效或已被撤销",
        ErrorCode::AccountNotEligible => "账号不满足调用条件：请绑定阿里云账号并完成实名认证",
        ErrorCode::ModelNotFound => "模型不存在或不支持 API-Inference",
        ErrorCode::QuotaExhausted => "今日额度已用完",
        ErrorCode::RateLimited => "请求过于频繁，请稍后再试",
        ErrorCode::UpstreamError => "ModelScope 服务出错",
        ErrorCode::Timeout => "请求超时",
        ErrorCode::NetworkError => "无法连接到 ModelScope",
        ErrorCode::NoQuotaData => "ModelScope 未返回额度信息",
        ErrorCode::InvalidModel => "模型 ID 无效",
    };
    let mut message = summary.to_owned();
    if let Some(status) = status.filter(|s| *s != 200) {
        message.push_str(&format!("（HTTP {status}）"));
    }
    if let Some(detail) = detail {
        message.push('：');
        message.push_str(detail);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_body_key_must_agree() {
        let body = br#"{"models":"a/b","api_key":"ms-1"}"#;
        assert!(parse_request(body, Some("ms-1".into())).is_ok());
        let err = parse_request(body, Some("ms-2".into())).unwrap_err();
        assert_eq!(err.status, Status::BadRequest);
        assert!(parse_request(br#"{"models":"a/b"}"#, Some("ms-2".into())).is_ok());
    }

    #[test]
    fn models_string_is_split() {
        let request = parse_request(br#"{"models":"a/b, c/d e/f","api_key":"k"}"#, None).unwrap();
        assert!(matches!(request.models, ModelSource::Listed(m) if m == ["a/b", "c/d", "e/f"]));
        let request = parse_request(br#"{"models_":["a/b"],"api_key":"k"}"#, None).unwrap();
        assert!(matches!(request.models, ModelSource::Listed(m) if m == ["a/b"]));
    }

    #[test]
    fn points_are_whole_when_whole() {
        assert_eq!(points(250.0), json!(250));
        assert_eq!(points(12.5), json!(12.5));
    }

    #[test]
    fn previews_escape_and_cut() {
        assert_eq!(preview("a\r\nb"), "\"a\\r\\nb\"");
        assert!(preview(&"x".repeat(10_000)).chars().count() < 70);
    }
}
