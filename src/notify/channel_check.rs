//! Checks a channel form: each kind's own fields, URLs and addresses, and a hint that shows
//! where it goes without its secret.

use std::time::Duration;

use crate::i18n::Lang;
use crate::names::{self, NameError};

use super::channels::{
    ChannelAsk, ChannelError, ChannelRules, Kind, MAX_FIELD_CHARS, MAX_RECIPIENTS,
    MAX_SECRET_CHARS, MAX_URL_CHARS, NewChannel, Secrets, Settings, SmtpTls,
};
use super::guard::{self, ResolveError};

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

/// No mail relay: a mail server that may be public (decided from the form alone, before any
/// lookup or connection) needs a login and TLS, unless the instance allows otherwise.
pub fn check_not_a_relay(
    host: &str,
    has_login: bool,
    tls: SmtpTls,
    allow_unauthenticated_smtp: bool,
) -> Result<(), ChannelError> {
    let auth = !has_login;
    let tls = tls == SmtpTls::None;
    if (auth || tls) && !allow_unauthenticated_smtp && guard::may_be_public(host) {
        return Err(ChannelError::SmtpNeedsAuth { auth, tls });
    }
    Ok(())
}

/// Checks a channel's fields for its kind, under the instance's `rules`.
pub fn check_channel(ask: &ChannelAsk, rules: &ChannelRules) -> Result<NewChannel, ChannelError> {
    let kind = ask
        .kind
        .as_deref()
        .and_then(|text| Kind::parse(text.trim()))
        .ok_or(ChannelError::BadKind)?;
    let name = names::check_name(ask.name.as_deref().unwrap_or("")).map_err(|e| match e {
        NameError::Empty => ChannelError::EmptyName,
        NameError::Invalid => ChannelError::BadName,
    })?;
    let url = check_url(&ask.url)?;
    let secret = check_secret(&ask.secret)?;
    let lang = field(&ask.lang)
        .and_then(|l| Lang::parse(&l))
        .filter(|l| *l != Lang::default());
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
            let tls = match field(&ask.smtp_tls) {
                Some(text) => SmtpTls::parse(&text).ok_or(ChannelError::BadSmtpTls)?,
                None => SmtpTls::default(),
            };
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
            // Every field well-formed; now whether the server may be used this way at all.
            let login = user.is_some() && password.is_some();
            check_not_a_relay(&host, login, tls, rules.allow_unauthenticated_smtp)?;
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

/// Where a checked channel sends to, as far as can be told when it is saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// Every address of its receiver is public (or allowed), or it is the service's own.
    Checked,
    /// Its host name does not resolve now: kept, and checked again at every send.
    Unresolved,
}

/// How long saving a channel waits for its host name to resolve.
const RESOLVE_WAIT: Duration = Duration::from_secs(3);

/// Refuses a channel whose receiver is on loopback, the LAN, link-local or cloud metadata when
/// `allow_private` is off, so that is said when it is saved and not first at "send a test".
/// The guard checks again at every send (a name may resolve elsewhere later).
pub async fn check_destination(
    new: &NewChannel,
    allow_private: bool,
) -> Result<Destination, ChannelError> {
    let (host, refused) = match (&new.secrets.url, &new.settings.smtp_host) {
        (Some(url), _) => {
            let parsed = reqwest::Url::parse(url).map_err(|_| ChannelError::BadUrl)?;
            let host = parsed.host_str().ok_or(ChannelError::BadUrl)?.to_owned();
            (host, ChannelError::PrivateUrl)
        }
        (None, Some(host)) => (host.clone(), ChannelError::PrivateSmtpHost),
        // Telegram's or ServerChan's own public address.
        (None, None) => return Ok(Destination::Checked),
    };
    match tokio::time::timeout(RESOLVE_WAIT, guard::resolve(&host, 0, allow_private)).await {
        Ok(Ok(_)) => Ok(Destination::Checked),
        Ok(Err(ResolveError::Refused(_))) => Err(refused),
        Ok(Err(ResolveError::NotFound)) | Err(_) => Ok(Destination::Unresolved),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::channels::Secrets;

    fn ask(kind: &str) -> ChannelAsk {
        ChannelAsk {
            kind: Some(kind.into()),
            name: Some("ops".into()),
            ..ChannelAsk::default()
        }
    }

    const RULES: ChannelRules = ChannelRules {
        allow_unauthenticated_smtp: false,
        max_per_user: 10,
    };

    fn check_channel(ask: &ChannelAsk) -> Result<NewChannel, ChannelError> {
        super::check_channel(ask, &RULES)
    }

    #[test]
    fn a_public_mail_server_needs_a_login_and_tls() {
        let mut mail = ask("email");
        mail.smtp_host = Some("smtp.example.com".into());
        mail.smtp_from = Some("alerts@example.com".into());
        mail.smtp_to = Some("me@example.com".into());
        mail.smtp_tls = Some("none".into());
        assert!(matches!(
            check_channel(&mail),
            Err(ChannelError::SmtpNeedsAuth {
                auth: true,
                tls: true
            })
        ));
        mail.smtp_user = Some("alerts".into());
        mail.smtp_password = Some("hunter2hunter2".into());
        assert!(matches!(
            check_channel(&mail),
            Err(ChannelError::SmtpNeedsAuth {
                auth: false,
                tls: true
            })
        ));
        mail.smtp_tls = Some("tls".into());
        assert!(check_channel(&mail).is_ok());
        // A relay on this machine or the LAN (reachable only with allow_private_webhooks).
        let mut local = mail.clone();
        local.smtp_user = None;
        local.smtp_password = None;
        local.smtp_tls = Some("none".into());
        for host in ["127.0.0.1", "10.0.0.5", "localhost"] {
            local.smtp_host = Some(host.into());
            assert!(check_channel(&local).is_ok(), "{host}");
        }
        // The instance may allow it.
        local.smtp_host = Some("smtp.example.com".into());
        let open = ChannelRules {
            allow_unauthenticated_smtp: true,
            ..RULES
        };
        assert!(super::check_channel(&local, &open).is_ok());
        mail.smtp_to = Some("a@example.com, b@example.com, c@example.com, d@example.com".into());
        assert!(matches!(check_channel(&mail), Err(ChannelError::BadTo)));
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
    fn the_message_language_is_stored_as_its_tag() {
        let mut hook = ask("webhook");
        hook.url = Some("https://example.com/hook".into());
        hook.lang = Some(" en-US ".into());
        let settings = check_channel(&hook).unwrap().settings;
        let stored = serde_json::to_string(&settings).unwrap();
        assert_eq!(stored, r#"{"lang":"en"}"#);
        assert_eq!(serde_json::from_str::<Settings>(&stored).unwrap(), settings);
        hook.lang = Some("zh-CN".into());
        let default = serde_json::to_string(&check_channel(&hook).unwrap().settings).unwrap();
        assert_eq!(default, "{}");
        assert!(serde_json::from_str::<Settings>(r#"{"lang":"fr"}"#).is_err());
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
