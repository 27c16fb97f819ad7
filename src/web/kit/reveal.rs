//! A secret shown once on a page that can be reloaded without making another: `POST` makes it
//! and stores it here for a few minutes, the redirected `GET` takes it out. It lives only in
//! memory, for the user who made it; a reload (or anyone else) finds nothing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use crate::crypto::tokens;
use crate::ids::UserId;

/// Long enough to follow a redirect, short enough not to linger.
const KEEP: Duration = Duration::from_secs(5 * 60);

struct Held {
    user: UserId,
    secret: Zeroizing<String>,
    until: Instant,
}

#[derive(Default)]
pub struct Reveals {
    held: Mutex<HashMap<String, Held>>,
}

impl Reveals {
    /// Keeps `secret` for `user`; returns the one-time handle to put in the redirect.
    pub fn put(&self, user: UserId, secret: String) -> String {
        let handle = tokens::random_hex(16);
        if let Ok(mut held) = self.held.lock() {
            let now = Instant::now();
            held.retain(|_, h| h.until > now);
            held.insert(
                handle.clone(),
                Held {
                    user,
                    secret: Zeroizing::new(secret),
                    until: now + KEEP,
                },
            );
        }
        handle
    }

    /// The secret behind `handle`, once, and only for the user who made it.
    pub fn take(&self, user: UserId, handle: &str) -> Option<Zeroizing<String>> {
        let mut held = self.held.lock().ok()?;
        match held.get(handle) {
            Some(h) if h.user == user && h.until > Instant::now() => {
                held.remove(handle).map(|h| h.secret)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_taken_once_by_its_owner_only() {
        let reveals = Reveals::default();
        let handle = reveals.put(UserId(1), "msb_secret".into());
        assert!(reveals.take(UserId(2), &handle).is_none());
        assert_eq!(
            reveals
                .take(UserId(1), &handle)
                .as_deref()
                .map(String::as_str),
            Some("msb_secret")
        );
        assert!(reveals.take(UserId(1), &handle).is_none());
    }
}
