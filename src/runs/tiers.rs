//! Each site's price tiers: the built-in table (`modelscope::Tiers::default`) until the site's
//! rates endpoint answers, then its table, asked again once a day. The endpoint is optional
//! (it may not answer a token at all): a failure leaves the table as it was and is tried again
//! an hour later, and no run ever waits long for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::crypto::ApiSecret;
use crate::modelscope::{Site, Tiers, Upstream};

/// How long a table from the rates endpoint is used before it is asked again.
const FRESH_FOR: Duration = Duration::from_secs(24 * 3600);
/// How long after a failure the endpoint is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(3600);
/// The longest one rates request may take (it runs beside the run, on its own task).
const RATES_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Default)]
struct SiteTiers {
    /// The site's own table, once its rates endpoint answered.
    table: Option<Tiers>,
    /// When the endpoint was last asked, and whether it answered.
    asked: Option<(Instant, bool)>,
    asking: bool,
}

/// The tier tables of both sites; clones share them.
#[derive(Clone, Default)]
pub struct TierBook {
    sites: Arc<Mutex<HashMap<Site, SiteTiers>>>,
}

/// A rates request under way; waiting for it is optional.
pub struct Asking(Option<tokio::task::JoinHandle<()>>);

impl Asking {
    /// Waits for the answer at most `bound` (the request goes on without us after that).
    pub async fn wait(self, bound: Duration) {
        if let Some(task) = self.0 {
            let _ = tokio::time::timeout(bound, task).await;
        }
    }
}

impl TierBook {
    /// The site's table now.
    pub fn tiers(&self, site: Site) -> Tiers {
        let sites = self.sites.lock().unwrap_or_else(|p| p.into_inner());
        sites
            .get(&site)
            .and_then(|s| s.table.clone())
            .unwrap_or_default()
    }

    /// Asks the site's rates endpoint with `key` when the table is due (on a task of its own).
    pub fn refresh(&self, upstream: &Upstream, site: Site, key: &ApiSecret) -> Asking {
        {
            let mut sites = self.sites.lock().unwrap_or_else(|p| p.into_inner());
            let entry = sites.entry(site).or_default();
            let due = match entry.asked {
                None => true,
                Some((at, true)) => at.elapsed() >= FRESH_FOR,
                Some((at, false)) => at.elapsed() >= RETRY_AFTER,
            };
            if !due || entry.asking {
                return Asking(None);
            }
            entry.asking = true;
        }
        let (book, upstream, key) = (self.clone(), upstream.clone(), key.clone());
        Asking(Some(tokio::spawn(async move {
            let answer = tokio::time::timeout(RATES_TIMEOUT, upstream.rates(site, &key)).await;
            let table = match answer {
                Ok(Ok(table)) => Some(table),
                Ok(Err(error)) => {
                    tracing::debug!(%error, site = site.as_str(), "no rates table");
                    None
                }
                Err(_) => {
                    tracing::debug!(site = site.as_str(), "the rates request timed out");
                    None
                }
            };
            book.note(site, table);
        })))
    }

    fn note(&self, site: Site, table: Option<Tiers>) {
        let mut sites = self.sites.lock().unwrap_or_else(|p| p.into_inner());
        let entry = sites.entry(site).or_default();
        entry.asking = false;
        entry.asked = Some((Instant::now(), table.is_some()));
        if table.is_some() {
            entry.table = table;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_keeps_the_table_it_had() {
        let book = TierBook::default();
        assert_eq!(book.tiers(Site::Cn), Tiers::default());
        let answered = Tiers::from_prices([0.5, 1.0, 3.0]).unwrap();
        book.note(Site::Cn, Some(answered.clone()));
        assert_eq!(book.tiers(Site::Cn), answered);
        assert_eq!(book.tiers(Site::Ai), Tiers::default());
        book.note(Site::Cn, None);
        assert_eq!(book.tiers(Site::Cn), answered);
    }
}
