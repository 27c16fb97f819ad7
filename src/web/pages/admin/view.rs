//! What `/admin` shows: the users with what they hold, and the one-time link just made.

use askama::Template;
use askama_web::WebTemplate;

use crate::auth::admin::{self, USERS_PER_PAGE};
use crate::clock;
use crate::db::users::UserOverview;
use crate::db::{Db, DbError};
use crate::ids::UserId;
use crate::web::kit::session::Admin;
use crate::web::kit::view::{Layout, Notice};

pub struct UserRow {
    pub id: UserId,
    pub username: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub created: String,
    pub last_seen: Option<String>,
    pub keys: i64,
    pub monitors: i64,
    pub runs: i64,
    /// The admin looking at the page.
    pub is_me: bool,
}

/// A password-reset link, the one time it is shown.
pub struct NewLink {
    pub username: String,
    pub url: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin.html")]
pub struct AdminPage {
    pub layout: Layout,
    pub users: Vec<UserRow>,
    pub total: i64,
    pub prev_href: Option<String>,
    pub next_href: Option<String>,
    pub reset_link: Option<NewLink>,
    pub link_error: Option<Notice>,
    /// About the page or an action on it.
    pub error: Option<Notice>,
}

impl AdminPage {
    pub fn empty(admin: &Admin) -> Self {
        Self {
            layout: admin.layout(),
            users: Vec::new(),
            total: 0,
            prev_href: None,
            next_href: None,
            reset_link: None,
            link_error: None,
            error: None,
        }
    }

    pub async fn load(admin: &Admin, db: &Db, page: i64) -> Result<Self, DbError> {
        let page = page.max(1);
        let (users, total) = admin::users_page(db, page).await?;
        let me = admin.user().user_id;
        Ok(Self {
            users: users.into_iter().map(|u| row(u, me)).collect(),
            total,
            prev_href: (page > 1).then(|| format!("/admin?page={}", page - 1)),
            next_href: (page * USERS_PER_PAGE < total).then(|| format!("/admin?page={}", page + 1)),
            ..Self::empty(admin)
        })
    }
}

fn row(user: UserOverview, me: UserId) -> UserRow {
    UserRow {
        is_me: user.id == me,
        id: user.id,
        username: user.username,
        is_admin: user.is_admin,
        disabled: user.disabled,
        created: clock::minutes(user.created_at),
        last_seen: user.last_seen_at.map(clock::minutes),
        keys: user.keys,
        monitors: user.monitors,
        runs: user.runs,
    }
}
