//! Sign-ins sent to the provider and not yet back: the state, nonce and PKCE verifier of each,
//! kept in memory (they never leave the server) under the hash of a random value the browser
//! holds in a cookie, for ten minutes, and taken out when the browser comes back (single use,
//! whatever the outcome). A restart forgets them: whoever was at the provider starts again.

use std::collections::HashMap;
use std::sync::Mutex;

use zeroize::Zeroizing;

use crate::crypto::tokens;

/// How long a browser has to come back from the provider.
pub const LIFETIME_SECS: i64 = 600;

/// The most sign-ins waiting at once: a flood of starts cannot grow the map without bound.
const MAX_WAITING: usize = 10_000;

/// What a browser's trip to the provider is checked against when it comes back.
pub struct Pending {
    pub state: Zeroizing<String>,
    pub nonce: Zeroizing<String>,
    pub pkce_verifier: Zeroizing<String>,
    /// Where to go once signed in (already checked to be a path of this site).
    pub next: String,
    /// The invitation the sign-up page carried, for an instance in invite mode.
    pub invitation: Option<String>,
    expires_at: i64,
}

impl Pending {
    pub fn new(
        state: String,
        nonce: String,
        pkce_verifier: String,
        next: String,
        invitation: Option<String>,
        now: i64,
    ) -> Self {
        Self {
            state: Zeroizing::new(state),
            nonce: Zeroizing::new(nonce),
            pkce_verifier: Zeroizing::new(pkce_verifier),
            next,
            invitation,
            expires_at: now + LIFETIME_SECS,
        }
    }
}

#[derive(Default)]
pub struct Waiting(Mutex<HashMap<String, Pending>>);

impl Waiting {
    /// Keeps `pending`; answers the cookie's value (plaintext, only in `Set-Cookie`), or `None`
    /// when too many sign-ins are waiting.
    pub fn put(&self, pending: Pending, now: i64) -> Option<String> {
        let mut waiting = self.0.lock().unwrap_or_else(|poison| poison.into_inner());
        if waiting.len() >= MAX_WAITING {
            waiting.retain(|_, p| p.expires_at > now);
            if waiting.len() >= MAX_WAITING {
                return None;
            }
        }
        let token = tokens::new_token("");
        waiting.insert(token.hash, pending);
        Some(token.plaintext)
    }

    /// Takes out the sign-in behind `cookie` (it cannot be used twice); `None` when there is
    /// none or it expired.
    pub fn take(&self, cookie: &str, now: i64) -> Option<Pending> {
        let mut waiting = self.0.lock().unwrap_or_else(|poison| poison.into_inner());
        waiting
            .remove(&tokens::hash_token(cookie))
            .filter(|pending| pending.expires_at > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(now: i64) -> Pending {
        Pending::new("s".into(), "n".into(), "v".into(), "/".into(), None, now)
    }

    #[test]
    fn taken_once_and_only_within_ten_minutes() {
        let waiting = Waiting::default();
        let cookie = waiting.put(pending(1000), 1000).unwrap();
        assert!(waiting.take("other", 1001).is_none());
        assert_eq!(waiting.take(&cookie, 1001).unwrap().next, "/");
        assert!(waiting.take(&cookie, 1001).is_none(), "single use");
        let late = waiting.put(pending(1000), 1000).unwrap();
        assert!(waiting.take(&late, 1000 + LIFETIME_SECS).is_none());
    }
}
