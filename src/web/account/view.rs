//! What `/account` shows: sessions, access tokens, and the forms' errors.

use askama::Template;
use askama_web::WebTemplate;

use crate::auth::access_tokens;
use crate::clock;
use crate::db::access_tokens::AccessToken;
use crate::db::{Db, DbError, sessions};
use crate::ids::{SessionId, TokenId};
use crate::web::session::CurrentUser;
use crate::web::view::{Layout, Notice};

pub struct SessionRow {
    pub id: SessionId,
    pub user_agent: String,
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
    pub token_error: Option<Notice>,
    /// About the page as a whole (e.g. its lists could not be read).
    pub error: Option<Notice>,
}

impl AccountPage {
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
            token_error: None,
            error: None,
        }
    }

    /// The page with the user's sessions and tokens.
    pub async fn load(user: &CurrentUser, db: &Db) -> Result<Self, DbError> {
        let (user_id, current) = (user.0.user_id, user.0.session_id);
        let sessions = db
            .run(move |conn| sessions::list_for_user(conn, user_id))
            .await?;
        let tokens = access_tokens::list(db, user_id).await?;
        Ok(Self {
            sessions: sessions
                .into_iter()
                .map(|s| SessionRow {
                    id: s.id,
                    user_agent: s.user_agent.chars().take(120).collect(),
                    created: clock::minutes(s.created_at),
                    last_seen: clock::minutes(s.last_seen_at),
                    current: s.id == current,
                })
                .collect(),
            tokens: tokens.into_iter().map(TokenRow::from).collect(),
            ..Self::empty(user)
        })
    }
}
