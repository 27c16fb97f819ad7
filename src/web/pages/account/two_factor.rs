//! `/account/two-factor`: turning two-factor sign-in on (a pending secret shown as a QR code,
//! an `otpauth://` link and text, the same on every reload until a first code confirms it or
//! it is cancelled; then the ten recovery codes, shown this once) and off (the password and a
//! code). Every page holding a secret is sent `no-store`.

use askama::Template;
use askama_web::WebTemplate;
use rocket::form::FromForm;
use rocket::http::{Header, Status};
use rocket::request::{FlashMessage, Request};
use rocket::response::{self, Responder};
use rocket::{State, get, post};
use zeroize::Zeroizing;

use crate::auth::accounts::AccountError;
use crate::auth::two_factor::{Proof, Status as TwoFactorStatus, TwoFactor};
use crate::web::kit::client::ClientInfo;
use crate::web::kit::csrf::{Csrf, TokenOnlyForm, csrf_form};
use crate::web::kit::notice::{Flash, FlashCode, Notice, Redirected};
use crate::web::kit::problem::Problem;
use crate::web::kit::qr;
use crate::web::kit::session::CurrentUser;
use crate::web::kit::view::Layout;

const PATH: &str = "/account/two-factor";

/// What the page shows.
pub enum Stage {
    Off,
    /// Enrolling: the secret as a QR code (`qr_svg`, empty when it could not be drawn), a link
    /// and text (in groups of four).
    Pending {
        qr_svg: String,
        uri: Zeroizing<String>,
        secret: Zeroizing<String>,
    },
    /// Just turned on: the recovery codes, this once.
    RecoveryCodes(Vec<Zeroizing<String>>),
    On {
        recovery_codes_left: i64,
    },
}

#[derive(Template, WebTemplate)]
#[template(path = "two_factor.html")]
pub struct TwoFactorPage {
    layout: Layout,
    stage: Stage,
    /// About the confirming code, or the page as a whole.
    error: Option<Notice>,
    /// About the form that turns it off.
    off_error: Option<Notice>,
    /// About the form that makes new recovery codes.
    codes_error: Option<Notice>,
}

/// Which form a refusal is about.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    Confirm,
    Off,
    Codes,
}

/// The page with its status and `no-store`: it may hold a secret, which no cache should keep.
pub struct Answer {
    status: Status,
    page: TwoFactorPage,
    retry_after_secs: Option<i64>,
}

impl<'r> Responder<'r, 'static> for Answer {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let mut response = (self.status, self.page).respond_to(request)?;
        response.set_header(Header::new("Cache-Control", "no-store"));
        if let Some(secs) = self.retry_after_secs {
            response.set_raw_header("Retry-After", secs.to_string());
        }
        Ok(response)
    }
}

#[derive(Debug, FromForm)]
pub struct CodeForm {
    code: Option<String>,
    csrf_token: Option<String>,
}

/// Turning it off and making new recovery codes: the password and a current code.
#[derive(Debug, FromForm)]
pub struct TurnOffForm {
    current_password: Option<String>,
    code: Option<String>,
    csrf_token: Option<String>,
}

csrf_form!(CodeForm, TurnOffForm);

impl TurnOffForm {
    /// The password and the code, zeroed when dropped.
    fn secrets(self) -> (Zeroizing<String>, Zeroizing<String>) {
        (
            Zeroizing::new(self.current_password.unwrap_or_default()),
            Zeroizing::new(self.code.unwrap_or_default()),
        )
    }
}

/// The signed-in owner's proof for turning it off or making new recovery codes.
fn proof<'a>(
    user: &'a CurrentUser,
    password: &'a str,
    code: &'a str,
    client: &'a ClientInfo,
) -> Proof<'a> {
    Proof {
        user_id: user.0.user_id,
        username: &user.0.username,
        password,
        code,
        client_addr: &client.addr,
    }
}

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![page, start, confirm, cancel, turn_off, new_recovery_codes]
}

/// `ABCD EFGH …`: easier to read and type; authenticator apps ignore the spaces.
fn grouped(secret: &str) -> Zeroizing<String> {
    let groups: Vec<&str> = secret
        .as_bytes()
        .chunks(4)
        .filter_map(|group| std::str::from_utf8(group).ok())
        .collect();
    Zeroizing::new(groups.join(" "))
}

/// The page as the account stands now, with `error` (about the code) and `off_error`.
async fn current(
    user: &CurrentUser,
    two_factor: &TwoFactor,
    problem: Option<(Problem, Option<i64>)>,
    form: Form,
) -> Answer {
    let signed_in = &user.0;
    let (status, notice, retry_after_secs) = match problem {
        Some((problem, retry)) => (problem.status, Some(problem.notice), retry),
        None => (Status::Ok, None, None),
    };
    let stage = match two_factor
        .status(signed_in.user_id, &signed_in.username)
        .await
    {
        Ok(TwoFactorStatus::Off) => Stage::Off,
        Ok(TwoFactorStatus::Pending { text, uri }) => Stage::Pending {
            qr_svg: qr::svg(&uri).unwrap_or_default(),
            uri,
            secret: grouped(&text),
        },
        Ok(TwoFactorStatus::On {
            recovery_codes_left,
        }) => Stage::On {
            recovery_codes_left,
        },
        Err(error) => {
            let problem = Problem::db(&error);
            return Answer {
                status: problem.status,
                page: TwoFactorPage {
                    layout: user.layout(),
                    stage: Stage::Off,
                    error: Some(problem.notice),
                    off_error: None,
                    codes_error: None,
                },
                retry_after_secs: None,
            };
        }
    };
    let (mut error, mut off_error, mut codes_error) = (None, None, None);
    match form {
        Form::Confirm => error = notice,
        Form::Off => off_error = notice,
        Form::Codes => codes_error = notice,
    }
    Answer {
        status,
        page: TwoFactorPage {
            layout: user.layout(),
            stage,
            error,
            off_error,
            codes_error,
        },
        retry_after_secs,
    }
}

fn refusal(error: &AccountError) -> Option<(Problem, Option<i64>)> {
    Some((Problem::account(error), error.retry_after_secs()))
}

#[get("/account/two-factor")]
async fn page(
    user: CurrentUser,
    flash: Option<FlashMessage<'_>>,
    two_factor: &State<TwoFactor>,
) -> Answer {
    let mut answer = current(&user, two_factor, None, Form::Confirm).await;
    answer.page.layout = answer.page.layout.with_flash(flash);
    answer
}

/// Begins an enrolment (a second click keeps the pending secret), then shows it.
#[post("/account/two-factor/start", data = "<_form>")]
async fn start(
    user: CurrentUser,
    _form: Csrf<TokenOnlyForm>,
    two_factor: &State<TwoFactor>,
) -> Result<rocket::response::Redirect, Answer> {
    match two_factor.begin(user.0.user_id).await {
        Ok(()) => Ok(rocket::response::Redirect::to(PATH)),
        Err(error) => Err(current(&user, two_factor, refusal(&error), Form::Confirm).await),
    }
}

/// The first code confirms the pending secret; the answer shows the recovery codes, once (a
/// reload posts again and is refused: it is on already).
#[post("/account/two-factor/confirm", data = "<form>")]
async fn confirm(
    user: CurrentUser,
    form: Csrf<CodeForm>,
    client: ClientInfo,
    two_factor: &State<TwoFactor>,
) -> Answer {
    let code = Zeroizing::new(form.0.code.unwrap_or_default());
    let signed_in = &user.0;
    let confirmed = two_factor
        .confirm(signed_in.user_id, &signed_in.username, &code, &client.addr)
        .await;
    match confirmed {
        Ok(codes) => {
            let mut answer = current(&user, two_factor, None, Form::Confirm).await;
            answer.page.stage =
                Stage::RecoveryCodes(codes.into_iter().map(Zeroizing::new).collect());
            answer.page.layout.flash = Some(Flash::new(FlashCode::TwoFactorOn));
            answer
        }
        Err(error) => current(&user, two_factor, refusal(&error), Form::Confirm).await,
    }
}

#[post("/account/two-factor/cancel", data = "<_form>")]
async fn cancel(
    user: CurrentUser,
    _form: Csrf<TokenOnlyForm>,
    two_factor: &State<TwoFactor>,
) -> Result<Redirected, Answer> {
    match two_factor.cancel(user.0.user_id).await {
        Ok(_) => Ok(Flash::new(FlashCode::TwoFactorCancelled).redirect(PATH)),
        Err(error) => Err(current(
            &user,
            two_factor,
            refusal(&AccountError::Db(error)),
            Form::Confirm,
        )
        .await),
    }
}

#[post("/account/two-factor/off", data = "<form>")]
async fn turn_off(
    user: CurrentUser,
    form: Csrf<TurnOffForm>,
    client: ClientInfo,
    two_factor: &State<TwoFactor>,
) -> Result<Redirected, Answer> {
    let (password, code) = form.0.secrets();
    let turned_off = two_factor
        .turn_off(&proof(&user, &password, &code, &client))
        .await;
    match turned_off {
        Ok(()) => Ok(Flash::new(FlashCode::TwoFactorOffNow).redirect("/account")),
        Err(error) => Err(current(&user, two_factor, refusal(&error), Form::Off).await),
    }
}

/// Ten new recovery codes in place of the old ones, shown this once (a reload posts again:
/// the password and a code again, and again new codes).
#[post("/account/two-factor/recovery-codes", data = "<form>")]
async fn new_recovery_codes(
    user: CurrentUser,
    form: Csrf<TurnOffForm>,
    client: ClientInfo,
    two_factor: &State<TwoFactor>,
) -> Answer {
    let (password, code) = form.0.secrets();
    let made = two_factor
        .regenerate_recovery_codes(&proof(&user, &password, &code, &client))
        .await;
    match made {
        Ok(codes) => {
            let mut answer = current(&user, two_factor, None, Form::Codes).await;
            answer.page.stage =
                Stage::RecoveryCodes(codes.into_iter().map(Zeroizing::new).collect());
            answer
        }
        Err(error) => current(&user, two_factor, refusal(&error), Form::Codes).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_shown_in_groups_of_four() {
        assert_eq!(grouped("ABCDEFGHIJ").as_str(), "ABCD EFGH IJ");
    }
}
