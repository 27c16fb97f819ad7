//! What `/admin` shows: the users with what they hold, and the one-time link just made.

use askama::Template;
use askama_web::WebTemplate;

use crate::auth::admin::{self, USERS_PER_PAGE};
use crate::auth::signup::{self, SignupMode};
use crate::clock;
use crate::config::AppConfig;
use crate::db::invitations::Invitation;
use crate::db::users::UserOverview;
use crate::db::{Db, DbError};
use crate::ids::{InvitationId, UserId};
use crate::modelscope::Tiers;
use crate::runs::instance_prices;
use crate::web::kit::view::points;

use super::health::{HealthView, PriceRow, price_rows};
use crate::web::kit::notice::Notice;
use crate::web::kit::session::Admin;
use crate::web::kit::view::Layout;

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

/// An invitation as listed (never its code).
pub struct InvitationRow {
    pub id: InvitationId,
    pub created: String,
    pub created_by: String,
    pub expires: String,
    /// `pending`, `used` or `expired`.
    pub state: &'static str,
    pub used_by: String,
}

impl InvitationRow {
    fn of(invitation: Invitation, now: i64) -> Self {
        let state = match (invitation.used_at, invitation.expires_at > now) {
            (Some(_), _) => "used",
            (None, true) => "pending",
            (None, false) => "expired",
        };
        Self {
            id: invitation.id,
            created: clock::minutes(invitation.created_at),
            created_by: invitation.created_by.unwrap_or_default(),
            expires: clock::minutes(invitation.expires_at),
            state,
            used_by: invitation.used_by.unwrap_or_default(),
        }
    }
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
    /// `open`, `invite` or `closed`.
    pub signup_mode: &'static str,
    pub signup_error: Option<Notice>,
    pub invitations: Vec<InvitationRow>,
    /// A new invitation's whole link, the one time it is shown.
    pub new_invitation: Option<String>,
    pub invitation_error: Option<Notice>,
    pub invitation_days: u32,
    /// Read for the page itself only (not again after a refused action).
    pub health: Option<HealthView>,
    pub instance_prices: Vec<PriceRow>,
    /// The tiers a price may be.
    pub tiers: Vec<String>,
    pub price_error: Option<Notice>,
    /// The model typed into the price form, echoed after a refusal.
    pub price_model: String,
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
            signup_mode: "",
            signup_error: None,
            invitations: Vec::new(),
            new_invitation: None,
            invitation_error: None,
            invitation_days: 7,
            health: None,
            instance_prices: Vec::new(),
            tiers: Tiers::default()
                .prices()
                .iter()
                .rev()
                .map(|t| points(*t))
                .collect(),
            price_error: None,
            price_model: String::new(),
            error: None,
        }
    }

    pub async fn load(
        admin: &Admin,
        db: &Db,
        config: &AppConfig,
        page: i64,
    ) -> Result<Self, DbError> {
        let page = page.max(1);
        let (users, total) = admin::users_page(db, page).await?;
        let me = admin.user().user_id;
        let mode = signup::mode(db, SignupMode::configured(config.default_signup_mode())).await?;
        let now = clock::now();
        let invitations = signup::invitations(db).await?;
        let prices = instance_prices::all(db).await?;
        Ok(Self {
            instance_prices: price_rows(prices),
            signup_mode: mode.as_str(),
            invitations: invitations
                .into_iter()
                .map(|i| InvitationRow::of(i, now))
                .collect(),
            invitation_days: config.invitation_days,
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
