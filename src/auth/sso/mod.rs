//! Single sign-on with OpenID Connect: the authorization code flow with PKCE (RFC 7636), a
//! nonce and a state, against one provider found by discovery. `start` sends the browser to the
//! provider, keeping what its return is checked against (`pending`); `finish` checks that return
//! (state, the provider's `iss`, the code exchanged with the PKCE verifier and the client
//! secret, the ID token's signature, audience, expiry and nonce, and `at_hash`) and answers who
//! the provider vouches for; `landing` turns that into an account, under the sign-up rules.
//! Codes, tokens and the client secret live only in memory during a sign-in: no log line, page
//! or error carries them.

pub mod email;
mod http;
mod landing;
mod pending;
mod provider;

use std::sync::Arc;
use std::time::Duration;

use openidconnect::core::{CoreAuthenticationFlow, CoreGenderClaim, CoreUserInfoClaims};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClaimsVerificationError, CsrfToken, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, Scope, StandardClaims, TokenResponse,
};
use zeroize::Zeroizing;

pub use landing::{Landed, Rules};
pub use pending::LIFETIME_SECS;

use crate::clock::SharedClock;
use crate::crypto::tokens;
use crate::db::Db;
use pending::{Pending, Waiting};
use provider::{Client, Provider};

/// How long one call to the provider may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// What the app needs of the provider (the configuration's `oidc_*`, checked at start).
#[derive(Clone)]
pub struct Settings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Zeroizing<String>,
    /// `<public_url>/login/oidc/callback`.
    pub redirect_url: String,
    pub link_by_email: bool,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("redirect_url", &self.redirect_url)
            .field("link_by_email", &self.link_by_email)
            .finish_non_exhaustive()
    }
}

crate::closed_set! {
    /// Why a single sign-on did not sign anyone in (the words are `sso-refused-<text>`).
    pub enum SsoError {
        /// The provider cannot be reached or its discovery document is unusable.
        Unavailable,
        /// Too many sign-ins are waiting at the provider.
        Busy,
        /// No sign-in was started in this browser, it took over ten minutes, or it was used.
        Expired,
        StateMismatch,
        /// The provider answered with `error=…` (the person cancelled, or it refused).
        ProviderRefused,
        /// The answer names another issuer (`iss`, RFC 9207) or carries no code.
        BadAnswer,
        /// The code could not be exchanged, or the ID token is not valid.
        NotConfirmed,
        NonceMismatch,
        /// A first sign-in needs a verified email, and the provider sent none.
        EmailUnverified,
        Disabled,
        SignupClosed,
        InvitationNeeded,
        /// The invitation carried is unknown, used or expired.
        BadInvitation,
        SignupThrottled,
        /// The database could not be used.
        Storage,
    }
}

impl std::error::Error for SsoError {}

/// What came back to `/login/oidc/callback`, as the browser brought it.
#[derive(Debug, Default)]
pub struct Callback {
    pub state: Option<String>,
    pub code: Option<Zeroizing<String>>,
    pub error: Option<String>,
    pub iss: Option<String>,
}

/// Who the provider vouches for.
#[derive(Debug, Clone)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    /// Lower-case; `None` when the provider sent none.
    pub email: Option<String>,
    pub email_verified: bool,
    pub preferred_username: Option<String>,
}

/// A checked return from the provider: who, and what the start carried.
pub struct Verified {
    pub identity: Identity,
    pub next: String,
    pub invitation: Option<String>,
}

/// Single sign-on's state: the provider and the sign-ins waiting at it.
#[derive(Clone)]
pub struct Sso {
    provider: Arc<Provider>,
    waiting: Arc<Waiting>,
    db: Db,
    clock: SharedClock,
}

impl Sso {
    pub fn new(settings: Settings, db: Db, clock: SharedClock) -> Result<Self, reqwest::Error> {
        let http = http::HttpClient::new(CALL_TIMEOUT)?;
        Ok(Self {
            provider: Arc::new(Provider::new(settings, http, clock.clone())),
            waiting: Arc::default(),
            db,
            clock,
        })
    }

    /// `false` once a discovery failed and none worked before: the login page says single
    /// sign-on is unavailable right now.
    pub fn seems_up(&self) -> bool {
        self.provider.seems_up()
    }

    /// Fetches the provider's discovery document now (at start, so a mistake shows in the log
    /// early); a failure is logged and asked again later.
    pub async fn warm_up(&self) {
        let _ = self.provider.client().await;
    }

    /// Starts a sign-in: answers the provider's authorization URL to send the browser to and
    /// the value of the cookie that binds the return to this browser.
    pub async fn start(
        &self,
        next: String,
        invitation: Option<String>,
    ) -> Result<(String, String), SsoError> {
        let client = self.provider.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        let pending = Pending::new(
            state.into_secret(),
            nonce.secret().clone(),
            verifier.into_secret(),
            next,
            invitation,
            self.clock.now(),
        );
        let cookie = self
            .waiting
            .put(pending, self.clock.now())
            .ok_or(SsoError::Busy)?;
        Ok((url.to_string(), cookie))
    }

    /// Checks a return from the provider (the sign-in behind `cookie` is used up either way).
    pub async fn finish(&self, cookie: &str, callback: Callback) -> Result<Verified, SsoError> {
        let pending = self
            .waiting
            .take(cookie, self.clock.now())
            .ok_or(SsoError::Expired)?;
        if let Some(error) = &callback.error {
            // The provider's code (e.g. access_denied) only; its description is its own words.
            let error: String = error
                .chars()
                .filter(char::is_ascii_graphic)
                .take(64)
                .collect();
            tracing::info!(%error, "single sign-on: the provider refused the sign-in");
            return Err(SsoError::ProviderRefused);
        }
        let state_matches = callback
            .state
            .as_deref()
            .is_some_and(|state| tokens::constant_time_eq(state, &pending.state));
        if !state_matches {
            return Err(SsoError::StateMismatch);
        }
        let settings = self.provider.settings();
        if callback
            .iss
            .as_deref()
            .is_some_and(|iss| iss != settings.issuer)
        {
            return Err(SsoError::BadAnswer);
        }
        let code = callback.code.ok_or(SsoError::BadAnswer)?;
        let client = self.provider.client().await?;
        let identity = self.confirm(&client, &code, &pending).await?;
        Ok(Verified {
            identity,
            next: pending.next,
            invitation: pending.invitation,
        })
    }

    /// Exchanges the code and checks the ID token; the email from it, or from the user-info
    /// endpoint when the ID token carries none.
    async fn confirm(
        &self,
        client: &Client,
        code: &str,
        pending: &Pending,
    ) -> Result<Identity, SsoError> {
        let http = self.provider.http();
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|_| not_confirmed("the provider has no token endpoint"))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.to_string()))
            .request_async(http)
            .await
            .map_err(|error| not_confirmed(&token_error(&error)))?;
        let id_token = token
            .id_token()
            .ok_or_else(|| not_confirmed("the token response has no ID token"))?;
        let verifier = client.id_token_verifier();
        let claims = id_token
            .claims(&verifier, &Nonce::new(pending.nonce.to_string()))
            .map_err(|error| match error {
                ClaimsVerificationError::InvalidNonce(_) => SsoError::NonceMismatch,
                other => not_confirmed(&format!("the ID token is not valid: {other}")),
            })?;
        if let Some(expected) = claims.access_token_hash() {
            let actual = id_token
                .signing_alg()
                .ok()
                .zip(id_token.signing_key(&verifier).ok())
                .and_then(|(alg, key)| {
                    AccessTokenHash::from_token(token.access_token(), alg, key).ok()
                });
            if actual.as_ref() != Some(expected) {
                return Err(not_confirmed("the ID token's at_hash does not match"));
            }
        }
        let mut identity = identity_of(&self.provider.settings().issuer, claims);
        if identity.email.is_none()
            && let Ok(request) =
                client.user_info(token.access_token().clone(), Some(claims.subject().clone()))
        {
            let info: Result<CoreUserInfoClaims, _> = request.request_async(http).await;
            match info {
                Ok(info) => {
                    identity.email = email_of(info.standard_claims());
                    identity.email_verified = info.email_verified() == Some(true);
                    if identity.preferred_username.is_none() {
                        identity.preferred_username =
                            info.preferred_username().map(|name| name.to_string());
                    }
                }
                Err(error) => tracing::warn!(%error, "single sign-on: user info failed"),
            }
        }
        Ok(identity)
    }

    /// Signs in (or up) the person `verified` names, under the sign-up rules.
    pub async fn land(
        &self,
        verified: &Verified,
        rules: landing::Rules,
        client_addr: &str,
        user_agent: &str,
    ) -> Result<Landed, SsoError> {
        landing::land(
            &self.db,
            verified,
            rules,
            self.provider.settings().link_by_email,
            client_addr,
            user_agent,
        )
        .await
    }
}

fn not_confirmed(reason: &str) -> SsoError {
    tracing::warn!(%reason, "single sign-on: the provider's answer was not accepted");
    SsoError::NotConfirmed
}

/// What a failed exchange says: the provider's error code, or the failure's kind (never a
/// response body: it could hold a token).
fn token_error(
    error: &openidconnect::RequestTokenError<
        http::HttpError,
        openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    >,
) -> String {
    match error {
        openidconnect::RequestTokenError::ServerResponse(response) => {
            format!("the token endpoint refused the code: {}", response.error())
        }
        openidconnect::RequestTokenError::Request(inner) => {
            format!("the token endpoint could not be reached: {inner}")
        }
        openidconnect::RequestTokenError::Parse(..) => {
            "the token endpoint's answer could not be read".to_owned()
        }
        openidconnect::RequestTokenError::Other(what) => {
            format!("the token endpoint failed: {what}")
        }
    }
}

fn email_of(claims: &StandardClaims<CoreGenderClaim>) -> Option<String> {
    claims
        .email()
        .map(|email| email.as_str().trim().to_lowercase())
}

fn identity_of(issuer: &str, claims: &openidconnect::core::CoreIdTokenClaims) -> Identity {
    Identity {
        issuer: issuer.to_owned(),
        subject: claims.subject().as_str().to_owned(),
        email: claims
            .email()
            .map(|email| email.as_str().trim().to_lowercase()),
        email_verified: claims.email_verified() == Some(true),
        preferred_username: claims.preferred_username().map(|name| name.to_string()),
    }
}
