//! Notification channels: a user's webhooks, chat bots and mail servers. What is secret (a
//! webhook URL with its token, a bot secret or token, an SMTP password) is sealed in the vault
//! like an API key and exists in plaintext only in memory while a message is sent; the page
//! shows a hint (the host and the last four characters). Here: what a channel is and what can
//! go wrong; `channel_check` checks a form, `channel_store` seals, stores and opens.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::crypto::VaultError;
use crate::db::DbError;
pub use crate::db::channels::Kind;
use crate::i18n::Lang;

pub(super) const MAX_URL_CHARS: usize = 2048;
pub(super) const MAX_SECRET_CHARS: usize = 512;
pub(super) const MAX_FIELD_CHARS: usize = 254;
/// A few people, not a mailing list: the server must not be a way to mail many.
pub const MAX_RECIPIENTS: usize = 3;

/// What the instance's configuration allows channels to be.
#[derive(Debug, Clone, Copy)]
pub struct ChannelRules {
    /// `allow_unauthenticated_smtp`: a mail server that may be public needs no login or TLS.
    pub allow_unauthenticated_smtp: bool,
    /// `max_channels_per_user`.
    pub max_per_user: i64,
}

crate::closed_set! {
    /// How to talk to an SMTP server (stored in the settings as this text): a plain connection
    /// upgraded with STARTTLS (required; usually port 587), TLS from the first byte (usually
    /// 465), or no encryption (a relay on your own network only).
    #[derive(Default)]
    pub enum SmtpTls { #[default] Starttls, Tls, None }
}

impl Kind {
    /// The receiver renders the text as Markdown (ServerChan's `desp`); the others show it as
    /// plain text.
    pub fn renders_markdown(self) -> bool {
        self == Self::ServerChan
    }
}

impl SmtpTls {
    pub(super) fn default_port(self) -> u16 {
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
    /// The language messages are written in, stored as its tag (`en`) when not the default.
    #[serde(skip_serializing_if = "Option::is_none", default, with = "lang_tag")]
    pub lang: Option<Lang>,
}

impl Settings {
    pub fn lang(&self) -> Lang {
        self.lang.unwrap_or_default()
    }
}

/// A language as its BCP 47 tag; a tag the app does not speak is an error, not a default.
mod lang_tag {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use crate::i18n::Lang;

    pub fn serialize<S: Serializer>(lang: &Option<Lang>, serializer: S) -> Result<S::Ok, S::Error> {
        match lang {
            Some(lang) => serializer.serialize_str(lang.tag()),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Lang>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            None => Ok(None),
            Some(tag) => Lang::ALL
                .into_iter()
                .find(|lang| lang.tag() == tag)
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("unknown language {tag:?}"))),
        }
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
    /// of a URL that may be its token (path segments, query values as written and decoded,
    /// user info), each in every form it may be echoed in (`redact::forms`), longest first.
    pub fn texts(&self) -> Vec<String> {
        let mut parts: Vec<String> = [&self.url, &self.secret, &self.password]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        if let Some(url) = self
            .url
            .as_deref()
            .and_then(|u| reqwest::Url::parse(u).ok())
        {
            parts.extend(url.path_segments().into_iter().flatten().map(str::to_owned));
            parts.extend(url.query_pairs().map(|(_, v)| v.into_owned()));
            // As written: `access_token=SECRET%2DTOKEN` is echoed with its `%2D` too.
            parts.extend(
                url.query()
                    .into_iter()
                    .flat_map(|q| q.split('&'))
                    .filter_map(|pair| pair.split_once('=').map(|(_, v)| v.to_owned())),
            );
            parts.push(url.username().to_owned());
            parts.extend(url.password().map(str::to_owned));
        }
        let mut texts: Vec<String> = parts.iter().flat_map(|p| super::redact::forms(p)).collect();
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

/// How many tests one user may send (from the configuration).
#[derive(Debug, Clone, Copy)]
pub struct TestLimits {
    /// `channel_tests_per_minute`.
    pub per_minute: u32,
    /// `channel_tests_per_hour`.
    pub per_hour: u32,
    /// How long one attempt may take (`notify_timeout_secs`): the wait while one is going.
    pub attempt_secs: i64,
}

/// Which limit a test met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestLimit {
    /// The user's tests in a minute.
    PerMinute { max: u32 },
    /// The user's tests in an hour.
    PerHour { max: u32 },
    /// The channel's messages in an hour (`alerts_per_channel_per_hour`, tests included).
    ChannelHour { max: u32 },
    /// A message to this channel is being sent right now.
    ChannelBusy,
    /// As many of the user's messages as their share allows are being sent right now.
    UserBusy,
}

/// A test message refused: which limit, and in how many seconds one would be taken.
pub type TestRefused = crate::clock::Refused<TestLimit>;

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

impl ChannelError {
    /// When to try again, for a refusal that passes (a test over a limit).
    pub fn retry_after_secs(&self) -> Option<i64> {
        match self {
            Self::TestLimited(refused) => Some(refused.retry_after_secs),
            _ => None,
        }
    }
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
    /// A mail server that may be public, without a login (`auth`) or TLS (`tls`): the server
    /// would be an open relay with the instance's address.
    #[error("a public SMTP server needs a user, a password and TLS")]
    SmtpNeedsAuth { auth: bool, tls: bool },
    #[error("the From address is not an email address")]
    BadFrom,
    #[error("the To addresses are not email addresses (1 to {MAX_RECIPIENTS})")]
    BadTo,
    /// The URL's host is on loopback, the LAN, link-local or cloud metadata, and
    /// `allow_private_webhooks` is off.
    #[error("the URL points to a private address")]
    PrivateUrl,
    /// The same for the mail server.
    #[error("the SMTP host is a private address")]
    PrivateSmtpHost,
    #[error("no such channel")]
    NotFound,
    /// A test message over a limit, or while the channel or the user's share is busy.
    #[error("no test now: {0:?}")]
    TestLimited(TestRefused),
    /// Tampered, moved, or sealed with another master key: enter it again.
    #[error("this channel cannot be opened; add it again")]
    NeedsReentry,
    #[error("vault: {0}")]
    Vault(VaultError),
    #[error(transparent)]
    Db(#[from] DbError),
}

#[cfg(test)]
mod tests {
    /// Stored in a channel's sealed settings and sent as the form's `smtp_tls`: a renamed
    /// variant must keep its text.
    #[test]
    fn the_stored_texts_do_not_change_with_a_rename() {
        let texts: Vec<_> = super::SmtpTls::ALL.iter().map(|v| v.as_str()).collect();
        assert_eq!(texts, ["starttls", "tls", "none"]);
    }
}
