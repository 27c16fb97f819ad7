//! Sending one message to one channel: the HTTP receivers (each in its own format, signed
//! where the receiver signs) and SMTP. Every request goes through the address guard, follows
//! no redirect, uses no proxy, has a short timeout and reads at most a small answer. Errors
//! are our own words plus the receiver's short answer with every secret cut out; never a URL.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use sha2::Sha256;

use super::channel_check::check_not_a_relay;
use super::channel_store::OpenedChannel;
use super::channels::{Kind, SmtpTls};
use super::guard;
use super::redact::redact;
use crate::db::deliveries::{DeliveryError, DeliveryFailure};

/// The most of a receiver's answer that is read.
const ANSWER_CAP: usize = 16 * 1024;
const TELEGRAM_API: &str = "https://api.telegram.org";
const SERVERCHAN_API: &str = "https://sctapi.ftqq.com";

/// What goes out: a title (Bark, ServerChan, email), the text, and the webhook's JSON body.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    pub title: &'a str,
    pub text: &'a str,
    pub webhook_body: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("the address is not a public internet address")]
    Refused,
    #[error("the receiver's name does not resolve")]
    NotFound,
    #[error("the channel's address is not usable")]
    BadUrl,
    #[error("the receiver did not answer in time")]
    Timeout,
    #[error("could not connect to the receiver")]
    Connect,
    #[error("the receiver answered HTTP {0}")]
    Http(u16),
    #[error("the receiver refused the message")]
    Rejected(String),
    #[error("TLS failed")]
    Tls,
    #[error("the mail server refused")]
    Smtp(Option<u16>),
    #[error("the request failed")]
    Request,
    #[error("the message could not be built")]
    BadMessage,
    #[error("a public mail server needs a login and TLS")]
    SmtpNeedsAuth,
}

impl SendError {
    /// How the delivery log keeps it: our code, and the receiver's detail where there is one.
    pub fn failure(&self) -> DeliveryFailure {
        let error = match self {
            Self::Refused => DeliveryError::RefusedAddress,
            Self::NotFound => DeliveryError::NotFound,
            Self::BadUrl => DeliveryError::BadUrl,
            Self::Timeout => DeliveryError::Timeout,
            Self::Connect => DeliveryError::Connect,
            Self::Http(_) => DeliveryError::Http,
            Self::Rejected(_) => DeliveryError::Rejected,
            Self::Tls => DeliveryError::Tls,
            Self::Smtp(_) => DeliveryError::Smtp,
            Self::Request => DeliveryError::Request,
            Self::BadMessage => DeliveryError::BadMessage,
            Self::SmtpNeedsAuth => DeliveryError::SmtpNeedsAuth,
        };
        match self {
            Self::Http(status) => DeliveryFailure::with_detail(error, status.to_string()),
            Self::Rejected(words) if !words.is_empty() => {
                DeliveryFailure::with_detail(error, words.clone())
            }
            Self::Smtp(Some(code)) => DeliveryFailure::with_detail(error, code.to_string()),
            _ => DeliveryFailure::new(error),
        }
    }

    /// Trying again cannot help: the address is refused or unusable.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Self::Refused | Self::BadUrl | Self::BadMessage | Self::SmtpNeedsAuth
        )
    }
}

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC accepts any key");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// The generic webhook's `X-Signature` value: `sha256=<hex HMAC of the body>`.
pub fn webhook_signature(secret: &str, body: &str) -> String {
    format!(
        "sha256={}",
        hex::encode(hmac_sha256(secret.as_bytes(), body.as_bytes()))
    )
}

/// DingTalk's sign: base64 of HMAC-SHA256(secret, "<timestamp ms>\n<secret>").
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let to_sign = format!("{timestamp_ms}\n{secret}");
    BASE64.encode(hmac_sha256(secret.as_bytes(), to_sign.as_bytes()))
}

/// Feishu's sign: base64 of HMAC-SHA256 keyed with "<timestamp s>\n<secret>" over nothing.
pub fn feishu_sign(secret: &str, timestamp_secs: i64) -> String {
    let key = format!("{timestamp_secs}\n{secret}");
    BASE64.encode(hmac_sha256(key.as_bytes(), b""))
}

/// How notifications may be sent (from the configuration).
#[derive(Debug, Clone, Copy)]
pub struct SendRules {
    /// `allow_private_webhooks`.
    pub allow_private: bool,
    /// `allow_unauthenticated_smtp`.
    pub allow_unauthenticated_smtp: bool,
    /// One attempt, connect included.
    pub timeout: Duration,
    /// Connecting only: a receiver that does not accept soon is not waited for long.
    pub connect_timeout: Duration,
}

/// Sends notifications; one shared client with the address guard as its resolver.
#[derive(Clone)]
pub struct Notifier {
    http: reqwest::Client,
    rules: SendRules,
}

enum Body {
    Json(String),
    Form(Vec<(&'static str, String)>),
}

impl Notifier {
    pub fn new(rules: SendRules) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(rules.timeout)
            .connect_timeout(rules.connect_timeout.min(rules.timeout))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(guard::GuardedResolver {
                allow_private: rules.allow_private,
            })
            .pool_idle_timeout(Duration::from_secs(30))
            .user_agent(concat!("modelscope-balance/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { http, rules })
    }

    pub async fn send(&self, channel: &OpenedChannel, out: &Outgoing<'_>) -> Result<(), SendError> {
        let texts = channel.secrets.texts();
        let secrets: Vec<&str> = texts.iter().map(String::as_str).collect();
        let secret = channel.secrets.secret.as_deref();
        let url = channel.secrets.url.as_deref();
        let answer = match channel.kind {
            Kind::Webhook => {
                let mut headers = Vec::new();
                if let Some(secret) = secret {
                    headers.push(("X-Signature", webhook_signature(secret, out.webhook_body)));
                }
                self.post(
                    url.ok_or(SendError::BadUrl)?,
                    Body::Json(out.webhook_body.to_owned()),
                    &headers,
                )
                .await?;
                return Ok(());
            }
            Kind::DingTalk => {
                let mut target = reqwest::Url::parse(url.ok_or(SendError::BadUrl)?)
                    .map_err(|_| SendError::BadUrl)?;
                if let Some(secret) = secret {
                    let timestamp = crate::clock::Clock::now_ms(&crate::clock::SystemClock);
                    target
                        .query_pairs_mut()
                        .append_pair("timestamp", &timestamp.to_string())
                        .append_pair("sign", &dingtalk_sign(secret, timestamp));
                }
                let body = json!({"msgtype": "text", "text": {"content": out.text}});
                self.post(target.as_str(), Body::Json(body.to_string()), &[])
                    .await?
            }
            Kind::Feishu => {
                let mut body = json!({"msg_type": "text", "content": {"text": out.text}});
                if let Some(secret) = secret {
                    let timestamp = crate::clock::now();
                    body["timestamp"] = json!(timestamp.to_string());
                    body["sign"] = json!(feishu_sign(secret, timestamp));
                }
                self.post(
                    url.ok_or(SendError::BadUrl)?,
                    Body::Json(body.to_string()),
                    &[],
                )
                .await?
            }
            Kind::WeCom => {
                let body = json!({"msgtype": "text", "text": {"content": out.text}});
                self.post(
                    url.ok_or(SendError::BadUrl)?,
                    Body::Json(body.to_string()),
                    &[],
                )
                .await?
            }
            Kind::Telegram => {
                let token = secret.ok_or(SendError::BadUrl)?;
                let base = url.unwrap_or(TELEGRAM_API).trim_end_matches('/');
                let body = json!({
                    "chat_id": channel.settings.chat_id,
                    "text": out.text,
                    "disable_web_page_preview": true,
                });
                self.post(
                    &format!("{base}/bot{token}/sendMessage"),
                    Body::Json(body.to_string()),
                    &[],
                )
                .await?
            }
            Kind::Bark => {
                let body = json!({"title": out.title, "body": out.text, "group": "ModelScope"});
                self.post(
                    url.ok_or(SendError::BadUrl)?,
                    Body::Json(body.to_string()),
                    &[],
                )
                .await?
            }
            Kind::ServerChan => {
                let target = match (url, secret) {
                    (Some(url), _) => url.to_owned(),
                    (None, Some(key)) => format!("{SERVERCHAN_API}/{key}.send"),
                    (None, None) => return Err(SendError::BadUrl),
                };
                let form = vec![
                    ("title", out.title.to_owned()),
                    ("desp", out.text.to_owned()),
                ];
                self.post(&target, Body::Form(form), &[]).await?
            }
            Kind::Email => return self.send_mail(channel, out).await,
        };
        check_answer(channel.kind, &answer, &secrets)
    }

    async fn post(
        &self,
        url: &str,
        body: Body,
        headers: &[(&'static str, String)],
    ) -> Result<String, SendError> {
        let target = reqwest::Url::parse(url).map_err(|_| SendError::BadUrl)?;
        if !matches!(target.scheme(), "http" | "https") {
            return Err(SendError::BadUrl);
        }
        guard::check_literal_host(&target, self.rules.allow_private)
            .map_err(|_| SendError::Refused)?;
        let mut request = self.http.post(target);
        request = match body {
            Body::Json(json) => request
                .header(CONTENT_TYPE, "application/json; charset=utf-8")
                .body(json),
            Body::Form(fields) => request
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form_encode(&fields)),
        };
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let mut response = request.send().await.map_err(|e| transport_error(&e))?;
        let status = response.status();
        let mut answer = Vec::new();
        // A small answer is all a receiver sends; the rest is not read.
        while answer.len() < ANSWER_CAP {
            match response.chunk().await {
                Ok(Some(chunk)) => answer.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(_) if status.is_success() => break,
                Err(error) => return Err(transport_error(&error)),
            }
        }
        answer.truncate(ANSWER_CAP);
        if !status.is_success() {
            return Err(SendError::Http(status.as_u16()));
        }
        Ok(String::from_utf8_lossy(&answer).into_owned())
    }

    async fn send_mail(
        &self,
        channel: &OpenedChannel,
        out: &Outgoing<'_>,
    ) -> Result<(), SendError> {
        use lettre::message::header::ContentType;
        use lettre::transport::smtp::authentication::Credentials;
        use lettre::transport::smtp::client::{Tls, TlsParameters};
        use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

        let settings = &channel.settings;
        let host = settings.smtp_host.as_deref().ok_or(SendError::BadUrl)?;
        let port = settings.smtp_port.unwrap_or(587);
        let security = settings.smtp_tls.unwrap_or_default();
        let login = match (&settings.smtp_user, channel.secrets.password.as_deref()) {
            (Some(user), Some(password)) => {
                Some(Credentials::new(user.clone(), password.to_owned()))
            }
            _ => None,
        };
        // A channel stored before the rule, or under a switch since turned off: no relay.
        let open = self.rules.allow_unauthenticated_smtp;
        check_not_a_relay(host, login.is_some(), security, open)
            .map_err(|_| SendError::SmtpNeedsAuth)?;
        let addrs = guard::resolve(host, port, self.rules.allow_private)
            .await
            .map_err(|error| match error {
                guard::ResolveError::Refused(_) => SendError::Refused,
                guard::ResolveError::NotFound => SendError::NotFound,
            })?;
        let address = addrs.first().ok_or(SendError::NotFound)?.ip();
        let tls_params = || TlsParameters::new(host.to_owned()).map_err(|_| SendError::Tls);
        let tls = match security {
            SmtpTls::Starttls => Tls::Required(tls_params()?),
            SmtpTls::Tls => Tls::Wrapper(tls_params()?),
            SmtpTls::None => Tls::None,
        };
        // Connect to the address just checked; TLS still verifies the certificate for `host`.
        let mut transport =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(address.to_string())
                .port(port)
                .tls(tls)
                .timeout(Some(self.rules.timeout));
        if let Some(login) = login {
            transport = transport.credentials(login);
        }
        let transport = transport.build();
        let from = settings
            .smtp_from
            .as_deref()
            .and_then(|f| f.parse().ok())
            .ok_or(SendError::BadMessage)?;
        let mut message = Message::builder().from(from).subject(out.title);
        for to in &settings.smtp_to {
            message = message.to(to.parse().map_err(|_| SendError::BadMessage)?);
        }
        let message = message
            .header(ContentType::TEXT_PLAIN)
            .body(out.text.to_owned())
            .map_err(|_| SendError::BadMessage)?;
        // The whole conversation within one attempt's time, like an HTTP receiver.
        let sent = tokio::time::timeout(self.rules.timeout, transport.send(message)).await;
        match sent {
            Err(_) => Err(SendError::Timeout),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(if error.is_timeout() {
                SendError::Timeout
            } else if error.is_tls() {
                SendError::Tls
            } else if let Some(code) = error.status() {
                SendError::Smtp(code.to_string().parse().ok())
            } else if error.is_client() || error.is_response() {
                SendError::Smtp(None)
            } else {
                SendError::Connect
            }),
        }
    }
}

/// `application/x-www-form-urlencoded`, with the URL parser's own encoder.
fn form_encode(fields: &[(&'static str, String)]) -> String {
    let mut url = reqwest::Url::parse("http://form.invalid/").expect("a constant URL");
    url.query_pairs_mut()
        .extend_pairs(fields.iter().map(|(k, v)| (*k, v.as_str())));
    url.query().unwrap_or("").to_owned()
}

fn transport_error(error: &reqwest::Error) -> SendError {
    if guard::refused_in(error) {
        SendError::Refused
    } else if error.is_timeout() {
        SendError::Timeout
    } else if error.is_connect() {
        SendError::Connect
    } else {
        SendError::Request
    }
}

/// The receivers that answer 200 to a refused message say so in their body.
fn check_answer(kind: Kind, answer: &str, secrets: &[&str]) -> Result<(), SendError> {
    let Ok(json) = serde_json::from_str::<Value>(answer) else {
        return Ok(());
    };
    let words = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| json.get(*k).and_then(Value::as_str))
            .map(|w| redact(w, secrets))
            .unwrap_or_default()
    };
    let code = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| json.get(*k).and_then(Value::as_i64))
    };
    let refused = match kind {
        Kind::DingTalk | Kind::WeCom => code(&["errcode"]).is_some_and(|c| c != 0),
        Kind::Feishu => code(&["code", "StatusCode"]).is_some_and(|c| c != 0),
        Kind::Telegram => json.get("ok").and_then(Value::as_bool) == Some(false),
        Kind::Bark => code(&["code"]).is_some_and(|c| c != 200),
        Kind::ServerChan => code(&["code"]).is_some_and(|c| c != 0),
        Kind::Webhook | Kind::Email => false,
    };
    if refused {
        Err(SendError::Rejected(words(&[
            "errmsg",
            "msg",
            "description",
            "message",
        ])))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_receivers_documents() {
        // RFC 4231 test case 2.
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            webhook_signature("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let ding = dingtalk_sign("SECxyz", 1_700_000_000_000);
        assert_eq!(BASE64.decode(&ding).unwrap().len(), 32);
        assert_ne!(feishu_sign("s", 1), feishu_sign("s", 2));
    }

    #[test]
    fn receivers_refusals_are_read() {
        assert_eq!(
            check_answer(
                Kind::DingTalk,
                r#"{"errcode":310000,"errmsg":"sign not match"}"#,
                &[]
            ),
            Err(SendError::Rejected("sign not match".into()))
        );
        assert_eq!(
            check_answer(Kind::DingTalk, r#"{"errcode":0,"errmsg":"ok"}"#, &[]),
            Ok(())
        );
        assert_eq!(
            SendError::Http(404).failure(),
            DeliveryFailure::with_detail(DeliveryError::Http, "404")
        );
    }
}
