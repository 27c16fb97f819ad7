//! The ModelScope model catalogue, for suggestions in model fields: fetched from the free
//! `GET {api_base}/models`, shared by every user and cached for an hour.
//!
//! It is only ever a convenience, so it never gets in the way: a fetch is bounded by a short
//! timeout, a failure keeps the last good list (or none), a failed fetch is not tried again
//! for a minute, and a stale list is served at once while a fresh one is fetched in the
//! background. Only the very first page (nothing cached yet) waits, and at most the timeout.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, RwLock};
use tokio::time::Instant;

use crate::modelscope::Upstream;
use crate::modelscope::validate_model_id;

/// Enough for the whole catalogue; keeps a page's `<datalist>` bounded whatever upstream sends.
pub const MAX_SUGGESTIONS: usize = 2000;

#[derive(Debug, Clone, Copy)]
pub struct CatalogueTiming {
    /// How long a fetched list is fresh.
    pub ttl: Duration,
    /// The least time between two fetch attempts when the last one failed.
    pub retry_after: Duration,
    /// The most a fetch may take.
    pub fetch_timeout: Duration,
}

impl Default for CatalogueTiming {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(60 * 60),
            retry_after: Duration::from_secs(60),
            fetch_timeout: Duration::from_secs(3),
        }
    }
}

/// Managed state: one per server.
#[derive(Clone)]
pub struct Catalogue {
    inner: Arc<Inner>,
}

struct Inner {
    upstream: Upstream,
    timing: CatalogueTiming,
    cache: RwLock<Cache>,
    /// One fetch at a time.
    fetching: Mutex<()>,
}

#[derive(Default)]
struct Cache {
    ids: Arc<Vec<String>>,
    fetched_at: Option<Instant>,
    attempted_at: Option<Instant>,
}

impl Cache {
    /// Nothing to do: the list is fresh, or the last attempt was too recent to try again.
    fn settled(&self, timing: &CatalogueTiming, now: Instant) -> bool {
        let fresh = self
            .fetched_at
            .is_some_and(|at| now.duration_since(at) < timing.ttl);
        let tried_recently = self
            .attempted_at
            .is_some_and(|at| now.duration_since(at) < timing.retry_after);
        fresh || tried_recently
    }
}

impl Catalogue {
    pub fn new(upstream: Upstream) -> Self {
        Self::with_timing(upstream, CatalogueTiming::default())
    }

    pub fn with_timing(upstream: Upstream, timing: CatalogueTiming) -> Self {
        Self {
            inner: Arc::new(Inner {
                upstream,
                timing,
                cache: RwLock::new(Cache::default()),
                fetching: Mutex::new(()),
            }),
        }
    }

    /// Valid model ids from the catalogue, sorted; empty when it has never been reachable.
    pub async fn model_ids(&self) -> Vec<String> {
        let (ids, settled, ever_fetched) = {
            let cache = self.inner.cache.read().await;
            (
                cache.ids.clone(),
                cache.settled(&self.inner.timing, Instant::now()),
                cache.fetched_at.is_some(),
            )
        };
        if settled {
            return ids.to_vec();
        }
        // The fetch runs on its own task, so a closed page never cancels it half-way.
        let refresh = tokio::spawn(self.inner.clone().refresh());
        if ever_fetched {
            // Stale but usable: answer now, the next page gets the fresh list.
            return ids.to_vec();
        }
        let wait = self.inner.timing.fetch_timeout + Duration::from_millis(500);
        let _ = tokio::time::timeout(wait, refresh).await;
        self.inner.cache.read().await.ids.to_vec()
    }
}

impl Inner {
    async fn refresh(self: Arc<Self>) {
        let _one_at_a_time = self.fetching.lock().await;
        {
            // Someone else may have fetched (or tried) while this waited.
            let mut cache = self.cache.write().await;
            if cache.settled(&self.timing, Instant::now()) {
                return;
            }
            cache.attempted_at = Some(Instant::now());
        }
        let fetched =
            tokio::time::timeout(self.timing.fetch_timeout, self.upstream.catalogue()).await;
        match fetched {
            Ok(Ok(models)) => {
                let ids = clean(models.into_iter().map(|model| model.id));
                tracing::debug!(count = ids.len(), "model catalogue fetched");
                let mut cache = self.cache.write().await;
                cache.ids = Arc::new(ids);
                cache.fetched_at = Some(Instant::now());
            }
            Ok(Err(error)) => tracing::warn!(%error, "model catalogue unavailable"),
            Err(_) => tracing::warn!("model catalogue request timed out"),
        }
    }
}

/// Only ids a preset would accept, once each, sorted case-insensitively, at most
/// `MAX_SUGGESTIONS`.
fn clean(ids: impl Iterator<Item = String>) -> Vec<String> {
    let mut ids: Vec<String> = ids.filter(|id| validate_model_id(id).is_ok()).collect();
    ids.sort_by(|a, b| {
        a.to_ascii_lowercase()
            .cmp(&b.to_ascii_lowercase())
            .then_with(|| a.cmp(b))
    });
    ids.dedup();
    ids.truncate(MAX_SUGGESTIONS);
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn listing(ids: &[&str]) -> ResponseTemplate {
        let data: Vec<_> = ids
            .iter()
            .map(|id| json!({"id": id, "object": "model"}))
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({"object": "list", "data": data}))
    }

    fn catalogue(server: &MockServer, timing: CatalogueTiming) -> Catalogue {
        let bases = crate::modelscope::SiteBases {
            api_base: format!("{}/v1", server.uri()),
            hub_base: server.uri(),
        };
        let upstream = Upstream::new(&bases, &bases, Duration::from_secs(30)).unwrap();
        Catalogue::with_timing(upstream, timing)
    }

    #[test]
    fn only_valid_ids_once_each_sorted() {
        let ids = clean(
            ["b/x", "A/y", "<script>", "a/z", "b/x", "no-slash"]
                .into_iter()
                .map(String::from),
        );
        assert_eq!(ids, ["A/y", "a/z", "b/x"]);
    }

    #[tokio::test]
    async fn fetched_once_then_served_from_the_cache() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1/models"))
            .respond_with(listing(&["Qwen/Qwen2.5-72B-Instruct", "bad id"]))
            .expect(1)
            .mount(&server)
            .await;
        let catalogue = catalogue(&server, CatalogueTiming::default());
        for _ in 0..3 {
            assert_eq!(catalogue.model_ids().await, ["Qwen/Qwen2.5-72B-Instruct"]);
        }
    }

    #[tokio::test]
    async fn a_failure_is_empty_and_not_retried_at_once() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1/models"))
            .respond_with(ResponseTemplate::new(500))
            .expect(1)
            .mount(&server)
            .await;
        let catalogue = catalogue(&server, CatalogueTiming::default());
        assert!(catalogue.model_ids().await.is_empty());
        assert!(catalogue.model_ids().await.is_empty());
    }

    #[tokio::test]
    async fn a_slow_catalogue_does_not_hold_the_page() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1/models"))
            .respond_with(listing(&["A/a"]).set_delay(Duration::from_secs(5)))
            .mount(&server)
            .await;
        let timing = CatalogueTiming {
            fetch_timeout: Duration::from_millis(200),
            ..CatalogueTiming::default()
        };
        let catalogue = catalogue(&server, timing);
        let started = std::time::Instant::now();
        assert!(catalogue.model_ids().await.is_empty());
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn a_stale_list_is_kept_when_the_refresh_fails() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1/models"))
            .respond_with(listing(&["A/a"]))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v1/models"))
            .respond_with(ResponseTemplate::new(503))
            .mount(&server)
            .await;
        let timing = CatalogueTiming {
            ttl: Duration::from_millis(50),
            retry_after: Duration::from_millis(50),
            fetch_timeout: Duration::from_secs(3),
        };
        let catalogue = catalogue(&server, timing);
        assert_eq!(catalogue.model_ids().await, ["A/a"]);
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Stale: served at once while the (failing) refresh runs in the background.
        assert_eq!(catalogue.model_ids().await, ["A/a"]);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(catalogue.model_ids().await, ["A/a"]);
        assert!(server.received_requests().await.unwrap().len() >= 2);
    }
}
