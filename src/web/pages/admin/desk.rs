//! What every `/admin` handler needs, taken as one request guard: the admin (everyone else
//! gets 404 before anything else runs), the database and the configuration, with the two ways
//! an action ends: back to the list with a flash, or the page again with what went wrong
//! beside the form it concerns.

use rocket::http::Status;
use rocket::outcome::try_outcome;
use rocket::request::{self, FromRequest};
use rocket::{Request, State};
use zeroize::Zeroizing;

use super::view::AdminPage;
use crate::auth::admin::AdminError;
use crate::config::AppConfig;
use crate::db::Db;
use crate::ids::UserId;
use crate::web::kit::notice::{Flash, Notice, NoticeCode, Redirected};
use crate::web::kit::problem::Problem;
use crate::web::kit::reveal::Reveals;
use crate::web::kit::session::Admin;

/// How an action on `/admin` answers.
pub type Answer = Result<Redirected, (Status, AdminPage)>;

/// The form on the page a notice belongs beside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The users' list (and the page as a whole).
    Users,
    ResetLink,
    Signup,
    Invitations,
    Prices,
}

impl Place {
    fn notice_on(self, page: &mut AdminPage) -> &mut Option<Notice> {
        match self {
            Place::Users => &mut page.error,
            Place::ResetLink => &mut page.link_error,
            Place::Signup => &mut page.signup_error,
            Place::Invitations => &mut page.invitation_error,
            Place::Prices => &mut page.price_error,
        }
    }
}

pub struct Desk<'r> {
    pub admin: Admin,
    pub db: &'r Db,
    pub config: &'r AppConfig,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Desk<'r> {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        let admin = try_outcome!(request.guard::<Admin>().await);
        let db = try_outcome!(request.guard::<&State<Db>>().await);
        let config = try_outcome!(request.guard::<&State<AppConfig>>().await);
        request::Outcome::Success(Self { admin, db, config })
    }
}

impl Desk<'_> {
    pub fn user_id(&self) -> UserId {
        self.admin.user().user_id
    }

    /// The page (list page `page`), or the bare page with the reason its list is missing.
    pub async fn page(&self, page: i64) -> (Status, AdminPage) {
        match AdminPage::load(&self.admin, self.db, self.config, page).await {
            Ok(page) => (Status::Ok, page),
            Err(error) => {
                let problem = Problem::db(&error);
                let mut page = AdminPage::empty(&self.admin);
                page.error = Some(problem.notice);
                (problem.status, page)
            }
        }
    }

    /// The first page again, answering `status`, with `notice` beside the form at `place`.
    pub async fn refused(
        &self,
        status: Status,
        notice: Notice,
        place: Place,
    ) -> (Status, AdminPage) {
        let (_, mut page) = self.page(1).await;
        *place.notice_on(&mut page) = Some(notice);
        (status, page)
    }

    /// The first page, and what `handle` holds the one time it is shown; asked again, the
    /// page says beside the form at `place` that it was shown already.
    pub async fn revealed(
        &self,
        reveals: &Reveals,
        handle: &str,
        place: Place,
    ) -> (Status, AdminPage, Option<Zeroizing<String>>) {
        let (status, mut page) = self.page(1).await;
        let held = reveals.take(self.user_id(), handle);
        if held.is_none() {
            *place.notice_on(&mut page) = Some(Notice::new(NoticeCode::LinkAlreadyShown));
        }
        (status, page, held)
    }

    /// After an action on a user: back to the list with a flash, or the list with what went
    /// wrong.
    pub async fn done(&self, outcome: Result<Flash, AdminError>) -> Answer {
        match outcome {
            Ok(flash) => Ok(flash.redirect("/admin")),
            Err(error) => {
                let problem = Problem::admin(&error);
                Err(self
                    .refused(problem.status, problem.notice, Place::Users)
                    .await)
            }
        }
    }
}
