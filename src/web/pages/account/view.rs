//! What `/account` shows: sessions, two-factor sign-in, access tokens, and the forms' errors.

use askama::Template;
use askama_web::WebTemplate;

use crate::auth::access_tokens;
use crate::clock;
use crate::db::access_tokens::AccessToken;
use crate::db::{Db, DbError, sessions, sso_identities, two_factor};
use crate::ids::{SessionId, TokenId};
use crate::web::kit::notice::Notice;
use crate::web::kit::session::CurrentUser;
use crate::web::kit::view::Layout;

pub struct SessionRow {
    pub id: SessionId,
    /// `Chrome · Windows`, or empty when the browser did not say.
    pub device: String,
    /// The raw `User-Agent`, cut short, for the tooltip.
    pub user_agent: String,
    /// Where it signed in from (empty for sessions older than this column).
    pub address: String,
    pub created: String,
    pub last_seen: String,
    pub current: bool,
}

pub struct TokenRow {
    pub id: TokenId,
    pub name: String,
    pub created: String,
    pub last_used: Option<String>,
}

impl From<AccessToken> for TokenRow {
    fn from(token: AccessToken) -> Self {
        Self {
            id: token.id,
            name: token.name,
            created: clock::minutes(token.created_at),
            last_used: token.last_used_at.map(clock::minutes),
        }
    }
}

/// A readable name for a `User-Agent`: the browser and the system, as far as they are known
/// (`Chrome · Windows`, `Firefox · Linux`, `curl`); a header we do not know is shown as sent,
/// cut to a line; empty when there was none.
pub fn device_name(user_agent: &str) -> String {
    // Order matters: Edge and Opera also say Chrome, Chrome also says Safari.
    const BROWSERS: [(&str, &str); 7] = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
        ("python-requests", "Python"),
    ];
    const SYSTEMS: [(&str, &str); 6] = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ];
    let browser = BROWSERS
        .iter()
        .find(|(marker, _)| user_agent.contains(marker))
        .map(|(_, name)| *name);
    let system = SYSTEMS
        .iter()
        .find(|(marker, _)| user_agent.contains(marker))
        .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} · {s}"),
        (Some(one), None) | (None, Some(one)) => one.to_owned(),
        (None, None) => {
            const SHOWN: usize = 48;
            let agent = user_agent.trim();
            match agent.char_indices().nth(SHOWN) {
                Some((cut, _)) => format!("{}…", &agent[..cut]),
                None => agent.to_owned(),
            }
        }
    }
}

/// An identity at a provider, linked to the account.
pub struct IdentityRow {
    pub issuer: String,
    pub email: Option<String>,
    pub linked: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub layout: Layout,
    pub username: String,
    pub sessions: Vec<SessionRow>,
    pub password_error: Option<Notice>,
    pub delete_error: Option<Notice>,
    pub tokens: Vec<TokenRow>,
    pub new_token: Option<String>,
    /// Where the site is, for the new token's `curl` example.
    pub site: String,
    pub token_error: Option<Notice>,
    /// Whether the account signs in with a second factor (`/account/two-factor`).
    pub two_factor_on: bool,
    /// Whether single sign-on is on (the card shows even when off, for a linked account).
    pub sso_on: bool,
    /// The identity providers' identities linked to the account.
    pub sso_identities: Vec<IdentityRow>,
    /// The account's email (single sign-on may be linked by it).
    pub email: Option<String>,
    /// The email form's refused input, echoed back.
    pub email_typed: String,
    pub email_error: Option<Notice>,
    /// About the page as a whole (e.g. its lists could not be read).
    pub error: Option<Notice>,
}

impl AccountPage {
    /// Whether any session but this one is listed ("sign out all others").
    pub fn has_other_sessions(&self) -> bool {
        self.sessions.iter().any(|s| !s.current)
    }

    /// The page with nothing listed yet.
    pub fn empty(user: &CurrentUser) -> Self {
        Self {
            layout: user.layout(),
            username: user.0.username.clone(),
            sessions: Vec::new(),
            password_error: None,
            delete_error: None,
            tokens: Vec::new(),
            new_token: None,
            site: String::new(),
            token_error: None,
            two_factor_on: false,
            sso_on: false,
            sso_identities: Vec::new(),
            email: None,
            email_typed: String::new(),
            email_error: None,
            error: None,
        }
    }

    /// Whether the single sign-on card shows: single sign-on is on, or the account holds a
    /// link or an email from when it was.
    pub fn shows_sso(&self) -> bool {
        self.sso_on || !self.sso_identities.is_empty() || self.email.is_some()
    }

    /// The page with the user's sessions and tokens.
    pub async fn load(user: &CurrentUser, db: &Db) -> Result<Self, DbError> {
        let (user_id, current) = (user.0.user_id, user.0.session_id);
        let (sessions, two_factor_on, identities, email) = db
            .run(move |conn| {
                Ok((
                    sessions::list_for_user(conn, user_id)?,
                    two_factor::is_on(conn, user_id)?,
                    sso_identities::list_for_user(conn, user_id)?,
                    sso_identities::email_of(conn, user_id)?,
                ))
            })
            .await?;
        let tokens = access_tokens::list(db, user_id).await?;
        Ok(Self {
            sessions: sessions
                .into_iter()
                .map(|s| SessionRow {
                    id: s.id,
                    device: device_name(&s.user_agent),
                    user_agent: s.user_agent.chars().take(120).collect(),
                    address: s.client_addr,
                    created: clock::minutes(s.created_at),
                    last_seen: clock::minutes(s.last_seen_at),
                    current: s.id == current,
                })
                .collect(),
            tokens: tokens.into_iter().map(TokenRow::from).collect(),
            two_factor_on,
            sso_identities: identities
                .into_iter()
                .map(|i| IdentityRow {
                    issuer: i.issuer,
                    email: i.email,
                    linked: clock::minutes(i.linked_at),
                })
                .collect(),
            email_typed: email.clone().unwrap_or_default(),
            email,
            ..Self::empty(user)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_read_well() {
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
        assert_eq!(device_name(chrome), "Chrome · Windows");
        let edge =
            "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/131.0 Safari/537.36 Edg/131.0";
        assert_eq!(device_name(edge), "Edge · Windows");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Version/18.1 Mobile/15E148 Safari/604.1";
        assert_eq!(device_name(safari), "Safari · iOS");
        assert_eq!(device_name("curl/8.5.0"), "curl");
        assert_eq!(device_name(""), "");
        assert_eq!(device_name("SomeBot/1.0"), "SomeBot/1.0");
        assert_eq!(device_name(&"x".repeat(60)).chars().count(), 49);
    }
}
