//! The `{success, data, message}` envelope of every JSON answer, errors included.

use rocket::http::Status;
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::{Catcher, Request, catch};
use serde_json::{Value, json};

/// A client or server problem answered as `{"success": false, "data": null, "message": …}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: Status,
    pub message: String,
}

impl ApiError {
    pub fn new(status: Status, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(Status::BadRequest, message)
    }
}

impl<'r> Responder<'r, 'static> for ApiError {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let body = json!({"success": false, "data": null, "message": self.message});
        (self.status, Json(body)).respond_to(request)
    }
}

fn envelope(status: Status, message: &str) -> (Status, Json<Value>) {
    (
        status,
        Json(json!({"success": false, "data": null, "message": message})),
    )
}

#[catch(400)]
fn bad_request() -> (Status, Json<Value>) {
    envelope(Status::BadRequest, "请求格式错误：请发送 JSON 请求体")
}

#[catch(401)]
fn unauthorized() -> (Status, Json<Value>) {
    envelope(
        Status::Unauthorized,
        "访问令牌缺失、无效或已撤销：请在 Authorization: Bearer 请求头中提供账号页面创建的令牌",
    )
}

#[catch(404)]
fn not_found() -> (Status, Json<Value>) {
    envelope(
        Status::NotFound,
        "接口或记录不存在：接口列表见 GET /api/openapi.json",
    )
}

#[catch(405)]
fn method_not_allowed() -> (Status, Json<Value>) {
    envelope(
        Status::MethodNotAllowed,
        "请求方法不支持：/api/balance 只接受 POST",
    )
}

#[catch(413)]
fn too_large() -> (Status, Json<Value>) {
    envelope(Status::PayloadTooLarge, "请求体过大：请减少模型数量")
}

#[catch(415)]
fn unsupported_media() -> (Status, Json<Value>) {
    envelope(
        Status::UnsupportedMediaType,
        "Content-Type 必须是 application/json",
    )
}

#[catch(422)]
fn unprocessable() -> (Status, Json<Value>) {
    envelope(
        Status::UnprocessableEntity,
        "请求内容无法解析：请检查 JSON 字段",
    )
}

#[catch(default)]
fn other(status: Status, _request: &Request<'_>) -> (Status, Json<Value>) {
    let message = if status.code >= 500 {
        "服务器内部错误，请稍后重试"
    } else {
        "请求无法处理"
    };
    envelope(status, message)
}

/// Registered under `/api` and `/health`.
pub fn json_catchers() -> Vec<Catcher> {
    rocket::catchers![
        bad_request,
        unauthorized,
        not_found,
        method_not_allowed,
        too_large,
        unsupported_media,
        unprocessable,
        other
    ]
}
