//! Notification channels: a user's webhooks, chat bots and mail servers. What is secret (a
//! webhook URL with its token, a bot secret or token, an SMTP password) is sealed in the vault
//! like an API key and exists in plaintext only in memory while a message is sent; the page
//! shows a hint (the host and the last four characters).

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::crypto::{Vault, VaultError};
use crate::db::channels::{self as rows, NewChannelRow, StoredChannel};
use crate::db::{Db, DbError};
use crate::i18n::Lang;
use crate::ids::{ChannelId, UserId};
use crate::names::{self, NameError};

pub const MAX_CHANNELS_PER_USER: i64 = 20;
const MAX_URL_CHARS: usize = 2048;
const MAX_SECRET_CHARS: usize = 512;
const MAX_FIELD_CHARS: usize = 254;
const MAX_RECIPIENTS: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Webhook,
    DingTalk,
    Feishu,
    WeCom,
    Telegram,
    Bark,
    ServerChan,
    Email,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Self::Webhook,
        Self::DingTalk,
        Self::Feishu,
        Self::WeCom,
        Self::Telegram,
        Self::Bark,
        Self::ServerChan,
        Self::Email,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::DingTalk => "dingtalk",
            Self::Feishu => "feishu",
            Self::WeCom => "wecom",
            Self::Telegram => "telegram",
            Self::Bark => "bark",
            Self::ServerChan => "serverchan",
            Self::Email => "email",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text.trim())
    }
}

/// How to talk to an SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (required), usually port 587.
    #[default]
    Starttls,
    /// TLS from the first byte, usually port 465.
    Tls,
    /// No encryption (a relay on your own network only).
    None,
}

impl SmtpTls {
    fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "" | "starttls" => Some(Self::Starttls),
            "tls" => Some(Self::Tls),
            "none" => Some(Self::None),
            _ => None,
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Self::Starttls => 587,
            Self::Tls => 465,
            Self::None => 25,
        }
    }
}

/// What is not secret about a channel (stored as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Settings {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub chat_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub smtp_host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub smtp_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub smtp_user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub smtp_from: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub smtp_to: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub smtp_tls: Option<SmtpTls>,
    /// The language messages are written in (`zh-CN` or `en`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lang: Option<String>,
}

impl Settings {
    pub fn lang(&self) -> Lang {
        self.lang
            .as_deref()
            .and_then(Lang::parse)
            .unwrap_or_default()
    }
}

/// A channel's secrets, in memory only for one call: never printed, wiped on drop.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Secrets {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub password: Option<String>,
}

impl Secrets {
    /// Every secret text, for redacting a receiver's answer: each secret whole, and the parts
    /// of a URL that may be its token (path segments, query values, user info), longest first.
    pub fn texts(&self) -> Vec<String> {
        let mut texts: Vec<String> = [&self.url, &self.secret, &self.password]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        if let Some(url) = self
            .url
            .as_deref()
            .and_then(|u| reqwest::Url::parse(u).ok())
        {
            texts.extend(url.path_segments().into_iter().flatten().map(str::to_owned));
            texts.extend(url.query_pairs().map(|(_, v)| v.into_owned()));
            texts.push(url.username().to_owned());
            texts.extend(url.password().map(str::to_owned));
        }
        texts.retain(|t| t.chars().count() >= 6);
        texts.sort_by_key(|t| std::cmp::Reverse(t.len()));
        texts.dedup();
        texts
    }
}

impl Drop for Secrets {
    fn drop(&mut self) {
        for text in [&mut self.url, &mut self.secret, &mut self.password]
            .into_iter()
            .flatten()
        {
            text.zeroize();
        }
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secrets(<redacted>)")
    }
}

/// A channel's fields as the form sent them.
#[derive(Default, Clone)]
pub struct ChannelAsk {
    pub kind: Option<String>,
    pub name: Option<String>,
    pub url: Option<String>,
    pub secret: Option<String>,
    pub chat_id: Option<String>,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<String>,
    pub smtp_user: Option<String>,
    pub smtp_password: Option<String>,
    pub smtp_from: Option<String>,
    pub smtp_to: Option<String>,
    pub smtp_tls: Option<String>,
    pub lang: Option<String>,
}

impl fmt::Debug for ChannelAsk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelAsk")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A checked channel, ready to seal and store.
#[derive(Debug)]
pub struct NewChannel {
    pub kind: Kind,
    pub name: String,
    pub settings: Settings,
    pub secrets: Secrets,
    pub hint: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error(
        "kind must be one of webhook, dingtalk, feishu, wecom, telegram, bark, serverchan, email"
    )]
    BadKind,
    #[error("the name is empty")]
    EmptyName,
    #[error("the name is too long or has control characters")]
    BadName,
    #[error("a channel of that name exists")]
    DuplicateName,
    #[error("at most {max} channels per user")]
    TooMany { max: i64 },
    #[error("this kind needs an http(s) URL")]
    NeedsUrl,
    #[error("the URL is not a valid http(s) URL")]
    BadUrl,
    #[error("this kind needs a secret")]
    NeedsSecret,
    #[error("the secret is too long or has spaces or control characters")]
    BadSecret,
    #[error("Telegram needs a chat_id")]
    NeedsChatId,
    #[error("the chat_id is not valid")]
    BadChatId,
    #[error("email needs an SMTP host")]
    NeedsSmtpHost,
    #[error("the SMTP host is not a host name")]
    BadSmtpHost,
    #[error("the SMTP port must be 1 to 65535")]
    BadSmtpPort,
    #[error("the SMTP security must be starttls, tls or none")]
    BadSmtpTls,
    #[error("an SMTP user needs a password")]
    NeedsSmtpPassword,
    #[error("the From address is not an email address")]
    BadFrom,
    #[error("the To addresses are not email addresses (1 to {MAX_RECIPIENTS})")]
    BadTo,
    #[error("no such channel")]
    NotFound,
    /// Tampered, moved, or sealed with another master key: enter it again.
    #[error("this channel cannot be opened; add it again")]
    NeedsReentry,
    #[error("vault: {0}")]
    Vault(VaultError),
    #[error(transparent)]
    Db(#[from] DbError),
}

fn field(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn check_url(value: &Option<String>) -> Result<Option<String>, ChannelError> {
    let Some(url) = field(value) else {
        return Ok(None);
    };
    if url.chars().count() > MAX_URL_CHARS || url.chars().any(|c| c.is_control() || c == ' ') {
        return Err(ChannelError::BadUrl);
    }
    let parsed = reqwest::Url::parse(&url).map_err(|_| ChannelError::BadUrl)?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(ChannelError::BadUrl);
    }
    Ok(Some(url))
}

fn check_secret(value: &Option<String>) -> Result<Option<String>, ChannelError> {
    let Some(secret) = field(value) else {
        return Ok(None);
    };
    if secret.chars().count() > MAX_SECRET_CHARS
        || secret.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(ChannelError::BadSecret);
    }
    Ok(Some(secret))
}

fn check_address(text: &str) -> Option<String> {
    let text = text.trim();
    (text.chars().count() <= MAX_FIELD_CHARS)
        .then(|| text.parse::<lettre::Address>().ok())
        .flatten()
        .map(|address| address.to_string())
}

fn check_host(value: &Option<String>) -> Result<String, ChannelError> {
    let host = field(value).ok_or(ChannelError::NeedsSmtpHost)?;
    let plain = host.trim_start_matches('[').trim_end_matches(']');
    let ok = host.chars().count() <= MAX_FIELD_CHARS
        && (plain.parse::<std::net::IpAddr>().is_ok()
            || plain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            }));
    if ok {
        Ok(plain.to_owned())
    } else {
        Err(ChannelError::BadSmtpHost)
    }
}

/// The last four characters of a secret, the only part of it a page shows.
fn tail(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}

/// `host …abcd` for a URL that carries a token.
fn url_hint(url: &str) -> String {
    let host = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    format!("{host} …{}", tail(url))
}

/// Checks a channel's fields for its kind.
pub fn check_channel(ask: &ChannelAsk) -> Result<NewChannel, ChannelError> {
    let kind = ask
        .kind
        .as_deref()
        .and_then(Kind::parse)
        .ok_or(ChannelError::BadKind)?;
    let name = names::check_name(ask.name.as_deref().unwrap_or("")).map_err(|e| match e {
        NameError::Empty => ChannelError::EmptyName,
        NameError::Invalid => ChannelError::BadName,
    })?;
    let url = check_url(&ask.url)?;
    let secret = check_secret(&ask.secret)?;
    let lang = field(&ask.lang)
        .and_then(|l| Lang::parse(&l))
        .filter(|l| *l != Lang::default())
        .map(|l| l.tag().to_owned());
    let mut settings = Settings {
        lang,
        ..Settings::default()
    };
    let mut secrets = Secrets::default();
    let hint;
    match kind {
        Kind::Webhook | Kind::DingTalk | Kind::Feishu | Kind::WeCom | Kind::Bark => {
            let url = url.ok_or(ChannelError::NeedsUrl)?;
            hint = url_hint(&url);
            secrets.url = Some(url);
            // The generic webhook signs with it; DingTalk and Feishu sign when it is given.
            if matches!(kind, Kind::Webhook | Kind::DingTalk | Kind::Feishu) {
                secrets.secret = secret;
            }
        }
        Kind::Telegram => {
            let token = secret.ok_or(ChannelError::NeedsSecret)?;
            let chat = field(&ask.chat_id).ok_or(ChannelError::NeedsChatId)?;
            if chat.chars().count() > 64 || chat.chars().any(|c| c.is_control() || c == ' ') {
                return Err(ChannelError::BadChatId);
            }
            hint = format!("chat {chat} · bot …{}", tail(&token));
            settings.chat_id = Some(chat);
            secrets.secret = Some(token);
            // An API base of your own (a proxy), else api.telegram.org.
            secrets.url = url;
        }
        Kind::ServerChan => {
            if url.is_none() && secret.is_none() {
                return Err(ChannelError::NeedsSecret);
            }
            hint = match (&url, &secret) {
                (Some(url), _) => url_hint(url),
                (None, Some(key)) => format!("SendKey …{}", tail(key)),
                (None, None) => String::new(),
            };
            secrets.url = url;
            secrets.secret = secret;
        }
        Kind::Email => {
            let host = check_host(&ask.smtp_host)?;
            let tls = SmtpTls::parse(ask.smtp_tls.as_deref().unwrap_or(""))
                .ok_or(ChannelError::BadSmtpTls)?;
            let port = match field(&ask.smtp_port) {
                Some(port) => port
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or(ChannelError::BadSmtpPort)?,
                None => tls.default_port(),
            };
            let user = field(&ask.smtp_user);
            if user.as_deref().is_some_and(|u| {
                u.chars().count() > MAX_FIELD_CHARS || u.chars().any(char::is_control)
            }) {
                return Err(ChannelError::BadSecret);
            }
            let password = field(&ask.smtp_password);
            if password.as_deref().is_some_and(|p| {
                p.chars().count() > MAX_SECRET_CHARS || p.chars().any(char::is_control)
            }) {
                return Err(ChannelError::BadSecret);
            }
            if user.is_some() && password.is_none() {
                return Err(ChannelError::NeedsSmtpPassword);
            }
            let from = field(&ask.smtp_from)
                .as_deref()
                .and_then(check_address)
                .ok_or(ChannelError::BadFrom)?;
            let to: Option<Vec<String>> = field(&ask.smtp_to)
                .unwrap_or_default()
                .split([',', ';', ' ', '\n'])
                .filter(|t| !t.trim().is_empty())
                .map(check_address)
                .collect();
            let to = to
                .filter(|to| !to.is_empty() && to.len() <= MAX_RECIPIENTS)
                .ok_or(ChannelError::BadTo)?;
            hint = format!("{host}:{port} → {}", to.join(", "));
            settings.smtp_host = Some(host);
            settings.smtp_port = Some(port);
            settings.smtp_user = user;
            settings.smtp_from = Some(from);
            settings.smtp_to = to;
            settings.smtp_tls = Some(tls);
            secrets.password = password;
        }
    }
    Ok(NewChannel {
        kind,
        name,
        settings,
        secrets,
        hint,
    })
}

/// What a page may show of a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSummary {
    pub id: ChannelId,
    pub kind: String,
    pub name: String,
    pub hint: String,
    pub created_at: i64,
    pub needs_reentry: bool,
}

/// A channel opened for one send.
#[derive(Debug)]
pub struct OpenedChannel {
    pub id: ChannelId,
    pub user_id: UserId,
    pub kind: Kind,
    pub name: String,
    pub settings: Settings,
    pub secrets: Secrets,
}

#[derive(Clone)]
pub struct Channels {
    db: Db,
    vault: Arc<Vault>,
}

impl Channels {
    pub fn new(db: Db, vault: Arc<Vault>) -> Self {
        Self { db, vault }
    }

    pub async fn add(&self, user: UserId, new: NewChannel) -> Result<ChannelId, ChannelError> {
        let vault = self.vault.clone();
        self.db
            .run(move |conn| {
                if rows::count_for_user(conn, user)? >= MAX_CHANNELS_PER_USER {
                    return Ok(Err(ChannelError::TooMany {
                        max: MAX_CHANNELS_PER_USER,
                    }));
                }
                // Both documents are plain structs of strings: they always serialise.
                let settings = serde_json::to_string(&new.settings).unwrap_or_default();
                let plaintext =
                    Zeroizing::new(serde_json::to_string(&new.secrets).unwrap_or_default());
                let row = NewChannelRow {
                    user_id: user,
                    kind: new.kind.as_str(),
                    name: &new.name,
                    settings: &settings,
                    hint: &new.hint,
                    created_at: crate::clock::now(),
                };
                let inserted = rows::insert_sealed(conn, &row, |id| {
                    vault.seal_channel_secret(user, id, &plaintext)
                })?;
                Ok(match inserted {
                    Ok(Some(id)) => Ok(id),
                    Ok(None) => Err(ChannelError::DuplicateName),
                    Err(error) => Err(ChannelError::Vault(error)),
                })
            })
            .await?
    }

    pub async fn list(&self, user: UserId) -> Result<Vec<ChannelSummary>, ChannelError> {
        let vault = self.vault.clone();
        Ok(self
            .db
            .run(move |conn| {
                Ok(rows::list_for_user(conn, user)?
                    .into_iter()
                    .map(|c| ChannelSummary {
                        needs_reentry: open_stored(&vault, &c).is_err(),
                        id: c.id,
                        kind: c.kind,
                        name: c.name,
                        hint: c.hint,
                        created_at: c.created_at,
                    })
                    .collect())
            })
            .await?)
    }

    pub async fn delete(&self, user: UserId, id: ChannelId) -> Result<(), ChannelError> {
        if self
            .db
            .run(move |conn| rows::delete_for_user(conn, user, id))
            .await?
        {
            Ok(())
        } else {
            Err(ChannelError::NotFound)
        }
    }

    /// One of the user's channels with its secrets, for one send.
    pub async fn open(&self, user: UserId, id: ChannelId) -> Result<OpenedChannel, ChannelError> {
        let vault = self.vault.clone();
        self.db
            .run(move |conn| {
                Ok(match rows::get_for_user(conn, user, id)? {
                    Some(stored) => open_stored(&vault, &stored),
                    None => Err(ChannelError::NotFound),
                })
            })
            .await?
    }
}

fn open_stored(vault: &Vault, stored: &StoredChannel) -> Result<OpenedChannel, ChannelError> {
    let kind = Kind::parse(&stored.kind).ok_or(ChannelError::NeedsReentry)?;
    let settings: Settings =
        serde_json::from_str(&stored.settings).map_err(|_| ChannelError::NeedsReentry)?;
    let plaintext = vault
        .open_channel_secret(stored.user_id, stored.id, &stored.sealed)
        .map_err(|_| ChannelError::NeedsReentry)?;
    let secrets: Secrets =
        serde_json::from_str(&plaintext).map_err(|_| ChannelError::NeedsReentry)?;
    Ok(OpenedChannel {
        id: stored.id,
        user_id: stored.user_id,
        kind,
        name: stored.name.clone(),
        settings,
        secrets,
    })
}

/// Re-seals every channel's secrets with `vault`'s current master key (inside the caller's
/// transaction). Returns (re-sealed, could not be opened and left as they were).
pub fn reseal_all(
    conn: &rusqlite::Connection,
    vault: &Vault,
) -> Result<(usize, usize), ChannelError> {
    let (mut resealed, mut skipped) = (0, 0);
    for stored in rows::all(conn)? {
        match vault.open_channel_secret(stored.user_id, stored.id, &stored.sealed) {
            Ok(plaintext) => {
                let sealed = vault
                    .seal_channel_secret(stored.user_id, stored.id, &plaintext)
                    .map_err(ChannelError::Vault)?;
                rows::store_sealed(conn, stored.id, &sealed)?;
                resealed += 1;
            }
            Err(_) => skipped += 1,
        }
    }
    Ok((resealed, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(kind: &str) -> ChannelAsk {
        ChannelAsk {
            kind: Some(kind.into()),
            name: Some("ops".into()),
            ..ChannelAsk::default()
        }
    }

    #[test]
    fn each_kind_needs_its_fields() {
        assert!(matches!(
            check_channel(&ask("pager")),
            Err(ChannelError::BadKind)
        ));
        assert!(matches!(
            check_channel(&ask("webhook")),
            Err(ChannelError::NeedsUrl)
        ));
        let mut hook = ask("dingtalk");
        hook.url = Some("https://oapi.dingtalk.com/robot/send?access_token=abcdef123456".into());
        hook.secret = Some("SECabc".into());
        let checked = check_channel(&hook).unwrap();
        assert_eq!(checked.hint, "oapi.dingtalk.com …3456");
        assert!(!checked.hint.contains("abcdef"));
        let mut bad = ask("webhook");
        bad.url = Some("file:///etc/passwd".into());
        assert!(matches!(check_channel(&bad), Err(ChannelError::BadUrl)));
        let mut tg = ask("telegram");
        tg.secret = Some("123456:ABCDEF".into());
        assert!(matches!(check_channel(&tg), Err(ChannelError::NeedsChatId)));
        tg.chat_id = Some("-100200".into());
        assert_eq!(check_channel(&tg).unwrap().hint, "chat -100200 · bot …CDEF");
        let mut mail = ask("email");
        mail.smtp_host = Some("smtp.example.com".into());
        mail.smtp_from = Some("alerts@example.com".into());
        mail.smtp_to = Some("me@example.com, you@example.com".into());
        mail.smtp_user = Some("alerts".into());
        assert!(matches!(
            check_channel(&mail),
            Err(ChannelError::NeedsSmtpPassword)
        ));
        mail.smtp_password = Some("hunter2hunter2".into());
        let checked = check_channel(&mail).unwrap();
        assert_eq!(checked.settings.smtp_port, Some(587));
        assert_eq!(checked.settings.smtp_to.len(), 2);
        assert!(!checked.hint.contains("hunter2"));
        mail.smtp_to = Some("not an address".into());
        assert!(matches!(check_channel(&mail), Err(ChannelError::BadTo)));
    }

    #[test]
    fn secrets_never_print() {
        let secrets = Secrets {
            url: Some("https://x.example/hook?token=canary".into()),
            secret: Some("canary".into()),
            password: None,
        };
        assert_eq!(format!("{secrets:?}"), "Secrets(<redacted>)");
        let ask = ChannelAsk {
            secret: Some("canary".into()),
            ..ChannelAsk::default()
        };
        assert!(!format!("{ask:?}").contains("canary"));
    }
}
