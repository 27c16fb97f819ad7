//! Measuring a key's spending honestly when runs of the app overlap on it. A probe run's cost is
//! what the key's balance lost between its first and its settled last reading (its *window*);
//! two windows on one key that overlap would each claim the other's spending. So:
//! - runs that learn prices (a signed-in user's, a token holder's, the scheduler's) take the
//!   key's lock for their whole window, so they do not overlap each other; a run waits for it a
//!   little while at most (a hanging run of the scheduler must not hold up a user's query),
//!   then goes on without it and, having overlapped, reports the shared window;
//! - every probe run registers its window, so one that overlapped another run of the app
//!   (an anonymous run does not wait for the lock) knows it and reports the shared window
//!   instead of a cost it cannot claim;
//! - the key's last settled reading is kept, so a run can tell that the balance fell since
//!   then with no run of ours in between (another client spends this key).
//!
//! Keys are known here only by a salted SHA-256 of their secret (the salt is random per
//! process), so nothing held here outlives the process or reveals a key. The table is bounded:
//! entries nobody holds are dropped when it grows past [`MAX_KEYS`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::OwnedMutexGuard;

use crate::crypto::ApiSecret;
use crate::modelscope::{AccountBalance, Site};

/// Keys remembered at once before unused ones are forgotten.
const MAX_KEYS: usize = 4096;

/// A key as this module knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyMark([u8; 32]);

#[derive(Default)]
struct Activity {
    /// Windows open now.
    open: usize,
    /// Windows ever opened: a window that sees this move was overlapped.
    opened: u64,
    /// Available points at the last reading made while no window was open and nothing was
    /// held; `None` until there is one (a key's first reading counts as settled).
    last_settled: Option<f64>,
}

#[derive(Default)]
struct KeyState {
    lock: Arc<tokio::sync::Mutex<()>>,
    activity: Mutex<Activity>,
}

/// Every key's measuring state; clones share it.
#[derive(Clone)]
pub struct KeyWatch {
    keys: Arc<Mutex<HashMap<KeyMark, Arc<KeyState>>>>,
    salt: [u8; 32],
}

impl Default for KeyWatch {
    fn default() -> Self {
        let mut salt = [0u8; 32];
        // Without randomness the marks are still unique per key; they are only easier to test
        // against a guessed key, which never leaves this process anyway.
        if getrandom::fill(&mut salt).is_err() {
            tracing::warn!("no randomness for key marks; using a fixed salt");
        }
        Self {
            keys: Arc::default(),
            salt,
        }
    }
}

/// How a window ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowEnd {
    /// Another run of the app had a window open on the key at some moment of this one.
    pub overlapped: bool,
}

/// One run's window on a key; closing (or dropping) it ends the window and frees the lock.
pub struct Window {
    state: Arc<KeyState>,
    opened_as: u64,
    overlapped_at_open: bool,
    last_settled: Option<f64>,
    closed: bool,
    _lock: Option<OwnedMutexGuard<()>>,
}

impl KeyWatch {
    pub fn mark(&self, site: Site, key: &ApiSecret) -> KeyMark {
        let mut hash = Sha256::new();
        hash.update(self.salt);
        hash.update(site.as_str().as_bytes());
        hash.update([0]);
        hash.update(key.expose().as_bytes());
        KeyMark(hash.finalize().into())
    }

    fn state(&self, mark: KeyMark) -> Arc<KeyState> {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if keys.len() >= MAX_KEYS && !keys.contains_key(&mark) {
            keys.retain(|_, state| Arc::strong_count(state) > 1);
        }
        keys.entry(mark).or_default().clone()
    }

    /// Opens a window on the key; with `wait`, first waits (that long at most) for every other
    /// window that took the lock to close.
    pub async fn open(&self, mark: KeyMark, wait: Option<Duration>) -> Window {
        let state = self.state(mark);
        let lock = match wait {
            Some(wait) => tokio::time::timeout(wait, state.lock.clone().lock_owned())
                .await
                .ok(),
            None => None,
        };
        let mut activity = state.activity.lock().unwrap_or_else(|p| p.into_inner());
        let overlapped_at_open = activity.open > 0;
        activity.open += 1;
        activity.opened += 1;
        let (opened_as, last_settled) = (activity.opened, activity.last_settled);
        drop(activity);
        Window {
            state,
            opened_as,
            overlapped_at_open,
            last_settled,
            closed: false,
            _lock: lock,
        }
    }

    /// A reading made outside any window (a free check): it is the key's last settled reading
    /// when no window is open and nothing is held.
    pub fn note_reading(&self, mark: KeyMark, balance: &AccountBalance) {
        let state = self.state(mark);
        let mut activity = state.activity.lock().unwrap_or_else(|p| p.into_inner());
        if activity.open == 0 && balance.frozen_amount <= 1e-9 {
            activity.last_settled = Some(balance.available_balance);
        }
    }
}

impl Window {
    /// Available points at the key's last settled reading before this window.
    pub fn last_settled(&self) -> Option<f64> {
        self.last_settled
    }

    /// Whether another run of the app has had a window open on the key since this one opened.
    pub fn overlapped_so_far(&self) -> bool {
        let activity = self
            .state
            .activity
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        self.overlapped_at_open || activity.opened != self.opened_as || activity.open > 1
    }

    /// Ends the window. `settled`: the last reading, when the points held for the run's calls
    /// were back; it becomes the key's last settled reading if nothing else was going on. Any
    /// other end forgets the last settled reading (the next one counts as the first).
    pub fn close(mut self, settled: Option<&AccountBalance>) -> WindowEnd {
        self.closed = true;
        let mut activity = self
            .state
            .activity
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let overlapped = self.overlapped_at_open || activity.opened != self.opened_as;
        activity.open = activity.open.saturating_sub(1);
        activity.last_settled = match settled {
            Some(balance) if activity.open == 0 && !overlapped => Some(balance.available_balance),
            _ => None,
        };
        WindowEnd { overlapped }
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        if !self.closed {
            let mut activity = self
                .state
                .activity
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            activity.open = activity.open.saturating_sub(1);
            activity.last_settled = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn balance(available: f64) -> AccountBalance {
        AccountBalance {
            total_balance: available,
            available_balance: available,
            frozen_amount: 0.0,
        }
    }

    const WAIT: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn overlapping_windows_know_it_and_lone_ones_do_not() {
        let watch = KeyWatch::default();
        let key = watch.mark(Site::Cn, &ApiSecret::new("ms-one"));
        let other = watch.mark(Site::Cn, &ApiSecret::new("ms-two"));
        assert_ne!(key, other);
        assert_ne!(key, watch.mark(Site::Ai, &ApiSecret::new("ms-one")));

        let alone = watch.open(key, Some(WAIT)).await;
        assert_eq!(alone.last_settled(), None);
        assert!(!alone.close(Some(&balance(10.0))).overlapped);

        let first = watch.open(key, None).await;
        assert_eq!(first.last_settled(), Some(10.0));
        let second = watch.open(key, None).await;
        let elsewhere = watch.open(other, None).await;
        assert!(first.close(Some(&balance(9.0))).overlapped);
        assert!(second.close(Some(&balance(8.0))).overlapped);
        assert!(!elsewhere.close(None).overlapped);
        // Overlapping windows leave no settled reading behind.
        assert_eq!(watch.open(key, None).await.last_settled(), None);
    }

    #[tokio::test]
    async fn exclusive_windows_wait_for_each_other() {
        let watch = KeyWatch::default();
        let key = watch.mark(Site::Cn, &ApiSecret::new("ms-one"));
        let first = watch.open(key, Some(WAIT)).await;
        let waiting = {
            let watch = watch.clone();
            tokio::spawn(async move { watch.open(key, Some(WAIT)).await.close(None) })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        assert!(!first.close(Some(&balance(5.0))).overlapped);
        assert!(!waiting.await.unwrap().overlapped);
    }

    #[tokio::test]
    async fn a_window_that_waited_too_long_goes_on_and_knows_it_overlapped() {
        let watch = KeyWatch::default();
        let key = watch.mark(Site::Cn, &ApiSecret::new("ms-one"));
        let holder = watch.open(key, Some(WAIT)).await;
        let late = watch.open(key, Some(Duration::from_millis(10))).await;
        assert!(late.close(None).overlapped);
        assert!(holder.close(None).overlapped);
    }

    #[tokio::test]
    async fn a_free_reading_is_settled_only_when_nothing_goes_on() {
        let watch = KeyWatch::default();
        let key = watch.mark(Site::Cn, &ApiSecret::new("ms-one"));
        watch.note_reading(key, &balance(7.0));
        let window = watch.open(key, Some(WAIT)).await;
        watch.note_reading(key, &balance(3.0));
        assert_eq!(window.last_settled(), Some(7.0));
        drop(window);
        let held = AccountBalance {
            frozen_amount: 1.0,
            ..balance(6.0)
        };
        watch.note_reading(key, &held);
        assert_eq!(watch.open(key, None).await.last_settled(), None);
    }
}
