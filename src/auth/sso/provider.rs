//! The provider as discovered (`/.well-known/openid-configuration` and its keys), fetched when
//! first needed and again after an hour (keys rotate); a provider that does not answer is asked
//! again at most every `RETRY_SECS`, and until then single sign-on is unavailable while the
//! rest of the app, password sign-in included, goes on. A document fetched before is kept in
//! use while a refresh fails.

use std::sync::{Arc, Mutex};

use openidconnect::core::{CoreClient, CoreProviderMetadata};
use openidconnect::{
    ClientId, ClientSecret, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, RedirectUrl,
};

use super::http::HttpClient;
use super::{Settings, SsoError};
use crate::clock::SharedClock;

/// The client the provider's metadata makes: an authorization endpoint, maybe a token and a
/// user-info endpoint.
pub type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A discovery document older than this is fetched again (the provider may have new keys).
const REFRESH_SECS: i64 = 3600;
/// After a failed discovery, the provider is not asked again for this long.
const RETRY_SECS: i64 = 30;

#[derive(Default)]
struct Cache {
    ready: Option<(Arc<Client>, i64)>,
    failed_at: Option<i64>,
}

pub struct Provider {
    settings: Settings,
    http: HttpClient,
    clock: SharedClock,
    cache: Mutex<Cache>,
    /// One discovery at a time; the others wait for its outcome.
    discovering: tokio::sync::Mutex<()>,
}

impl Provider {
    pub fn new(settings: Settings, http: HttpClient, clock: SharedClock) -> Self {
        Self {
            settings,
            http,
            clock,
            cache: Mutex::default(),
            discovering: tokio::sync::Mutex::new(()),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// `false` only after a discovery failed with none before it (nothing is fetched here).
    pub fn seems_up(&self) -> bool {
        let cache = self.cache();
        cache.ready.is_some() || cache.failed_at.is_none()
    }

    /// The client, discovered now if there is none or it is old.
    pub async fn client(&self) -> Result<Arc<Client>, SsoError> {
        if let Some(client) = self.fresh() {
            return client;
        }
        let _one = self.discovering.lock().await;
        // Another request may have finished a discovery while this one waited.
        if let Some(client) = self.fresh() {
            return client;
        }
        let now = self.clock.now();
        match self.discover().await {
            Ok(client) => {
                let client = Arc::new(client);
                *self.cache() = Cache {
                    ready: Some((client.clone(), now)),
                    failed_at: None,
                };
                Ok(client)
            }
            Err(reason) => {
                tracing::warn!(
                    issuer = %self.settings.issuer,
                    %reason,
                    "single sign-on: the provider's discovery failed; asking again in {RETRY_SECS} s"
                );
                let mut cache = self.cache();
                cache.failed_at = Some(now);
                match &cache.ready {
                    Some((stale, _)) => Ok(stale.clone()),
                    None => Err(SsoError::Unavailable),
                }
            }
        }
    }

    /// The cached answer when no discovery is due: the client, or unavailable while a failure
    /// is recent. `None`: discover now.
    fn fresh(&self) -> Option<Result<Arc<Client>, SsoError>> {
        let now = self.clock.now();
        let cache = self.cache();
        let recent_failure = cache
            .failed_at
            .is_some_and(|at| now - at < RETRY_SECS && now >= at);
        match &cache.ready {
            Some((client, at)) if now - *at < REFRESH_SECS || recent_failure => {
                Some(Ok(client.clone()))
            }
            None if recent_failure => Some(Err(SsoError::Unavailable)),
            _ => None,
        }
    }

    async fn discover(&self) -> Result<Client, String> {
        let settings = &self.settings;
        let issuer = IssuerUrl::new(settings.issuer.clone()).map_err(|e| e.to_string())?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| e.to_string())?;
        let redirect =
            RedirectUrl::new(settings.redirect_url.clone()).map_err(|e| e.to_string())?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(settings.client_id.clone()),
            Some(ClientSecret::new(settings.client_secret.to_string())),
        )
        .set_redirect_uri(redirect))
    }
}
