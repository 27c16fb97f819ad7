//! The outbox: tries a logged message on its channel and records how it went, sends a test
//! message at once (throttled, and in its turn like any other, see `throttle`), and lists a
//! user's log. The scheduler works through pending messages with it; the channels page tests
//! a channel with it. It knows which deliveries this server is trying, so none is claimed
//! again meanwhile, even when the clock jumps past its lease.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::channel_store::Channels;
use super::channels::{ChannelError, Kind};
use super::deliveries::{Letter, Policy, retry_delay};
use super::message::{self, About, EventKind};
use super::send::{Notifier, Outgoing, SendError};
use super::throttle;
use crate::clock::SharedClock;
use crate::db::Db;
use crate::db::DbError;
use crate::db::channels as channel_rows;
use crate::db::deliveries::{
    self as rows, Attempted, DeliveryError, DeliveryFailure, StoredDelivery,
};
use crate::ids::{ChannelId, DeliveryId, UserId};
use crate::telemetry::{ChannelKind, DeliveryResult};

/// How one try went: sent, or why not and whether trying again can help.
struct Tried {
    failure: Option<DeliveryFailure>,
    last: bool,
}

impl Tried {
    fn sent() -> Self {
        Self {
            failure: None,
            last: false,
        }
    }

    fn failed(failure: DeliveryFailure, last: bool) -> Self {
        Self {
            failure: Some(failure),
            last,
        }
    }
}

/// The deliveries this server is trying right now.
#[derive(Default)]
struct Sending(Mutex<HashSet<DeliveryId>>);

impl Sending {
    fn ids(&self) -> MutexGuard<'_, HashSet<DeliveryId>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A delivery marked as being tried here until dropped.
struct Trying(Arc<Sending>, DeliveryId);

impl Trying {
    fn mark(sending: &Arc<Sending>, id: DeliveryId) -> Self {
        sending.ids().insert(id);
        Self(sending.clone(), id)
    }
}

impl Drop for Trying {
    fn drop(&mut self) {
        self.0.ids().remove(&self.1);
    }
}

/// What the outbox works with.
#[derive(Clone)]
pub struct OutboxParts {
    pub db: Db,
    pub channels: Channels,
    pub notifier: Notifier,
    pub policy: Policy,
    pub clock: SharedClock,
    /// Tells the scheduler to look again (a test gave back its channel's turn).
    pub wake: Arc<Notify>,
}

#[derive(Clone)]
pub struct Outbox {
    parts: OutboxParts,
    sending: Arc<Sending>,
}

impl Outbox {
    pub fn new(parts: OutboxParts) -> Self {
        Self {
            parts,
            sending: Arc::default(),
        }
    }

    /// The deliveries this server is trying now (the scheduler claims none of them).
    pub fn trying(&self) -> HashSet<DeliveryId> {
        self.sending.ids().clone()
    }

    /// The cap and link every queued message follows.
    pub fn policy(&self) -> &Policy {
        &self.parts.policy
    }

    /// Tries a claimed delivery once and records how it went; it counts as being tried here
    /// from this call until the attempt is recorded. Answers the outcome of this try.
    pub fn attempt(
        &self,
        delivery: StoredDelivery,
        now: i64,
    ) -> impl Future<Output = Result<Result<(), DeliveryFailure>, DbError>> + Send + 'static {
        let trying = Trying::mark(&self.sending, delivery.id);
        let me = self.clone();
        async move {
            let outcome = me.attempt_once(delivery, now).await;
            drop(trying);
            outcome
        }
    }

    async fn attempt_once(
        &self,
        delivery: StoredDelivery,
        now: i64,
    ) -> Result<Result<(), DeliveryFailure>, DbError> {
        let tried = self.try_once(&delivery).await?;
        let done = delivery.attempts + 1;
        let id = delivery.id;
        let outcome = match tried.failure {
            None => Ok(()),
            Some(failure) => Err(failure),
        };
        let recorded = outcome.clone();
        let last = tried.last || done >= delivery.max_attempts;
        self.parts
            .db
            .run(move |conn| {
                let attempt = match &recorded {
                    Ok(()) => Attempted::Sent { at: now },
                    Err(error) if last => Attempted::Failed { error },
                    Err(error) => Attempted::Retry {
                        error,
                        next: now + retry_delay(done),
                    },
                };
                rows::record_attempt(conn, id, attempt)
            })
            .await?;
        Ok(outcome)
    }

    async fn try_once(&self, delivery: &StoredDelivery) -> Result<Tried, DbError> {
        let Some(channel_id) = delivery.channel_id else {
            return Ok(Tried::failed(
                DeliveryFailure::new(DeliveryError::ChannelGone),
                false,
            ));
        };
        let channel = match self.parts.channels.open(delivery.user_id, channel_id).await {
            Ok(channel) => channel,
            Err(ChannelError::NotFound) => {
                let gone = DeliveryFailure::new(DeliveryError::ChannelGone);
                return Ok(Tried::failed(gone, true));
            }
            Err(ChannelError::Db(error)) => return Err(error),
            Err(_) => {
                let secret = DeliveryFailure::new(DeliveryError::Secret);
                return Ok(Tried::failed(secret, true));
            }
        };
        let lang = channel.settings.lang();
        let title = message::title(lang, delivery.event);
        let out = Outgoing {
            title: &title,
            text: &delivery.message,
            webhook_body: &delivery.payload,
        };
        let sent = self.parts.notifier.send(&channel, &out).await;
        crate::telemetry::record_alert_delivery(
            channel_label(channel.kind),
            match &sent {
                Ok(()) => DeliveryResult::Sent,
                Err(SendError::Timeout) => DeliveryResult::Timeout,
                Err(SendError::Refused) => DeliveryResult::Refused,
                Err(_) => DeliveryResult::Failed,
            },
        );
        Ok(match sent {
            Ok(()) => Tried::sent(),
            Err(error) => Tried::failed(error.failure(), error.is_final()),
        })
    }

    /// Sends a test message to one of the user's channels now (one try), logged like any
    /// other, unless a limit refuses it (see `throttle`). Answers whether it arrived (with the
    /// logged error when not).
    pub async fn send_test(
        &self,
        user: UserId,
        channel_id: ChannelId,
    ) -> Result<Result<(), DeliveryFailure>, ChannelError> {
        let now = self.parts.clock.now();
        let policy = self.parts.policy.clone();
        let claimed = self
            .parts
            .db
            .run(move |conn| {
                let Some(channel) = channel_rows::get_for_user(conn, user, channel_id)? else {
                    return Ok(Err(ChannelError::NotFound));
                };
                let markdown = channel.kind.renders_markdown();
                let letter = Letter {
                    monitor_id: None,
                    rule_id: None,
                    about: About::event(EventKind::Test),
                };
                let words = |lang| message::test_text(lang, &channel.name, markdown);
                Ok(
                    throttle::queue_test(conn, &policy, &channel, &letter, words, now)?
                        .map_err(ChannelError::TestLimited),
                )
            })
            .await?;
        let outcome = self.attempt(claimed?, now).await;
        // A delivery due to this channel may have waited for the test.
        self.parts.wake.notify_one();
        Ok(outcome?)
    }

    /// The user's newest deliveries, at most `limit`.
    pub async fn list(&self, user: UserId, limit: i64) -> Result<Vec<StoredDelivery>, DbError> {
        self.parts
            .db
            .run(move |conn| rows::list_for_user(conn, user, limit))
            .await
    }
}

/// The metrics label of a channel kind (a closed set, so no label is unbounded).
fn channel_label(kind: Kind) -> ChannelKind {
    match kind {
        Kind::Webhook => ChannelKind::Webhook,
        Kind::DingTalk => ChannelKind::DingTalk,
        Kind::Feishu => ChannelKind::Feishu,
        Kind::WeCom => ChannelKind::WeCom,
        Kind::Telegram => ChannelKind::Telegram,
        Kind::Bark => ChannelKind::Bark,
        Kind::ServerChan => ChannelKind::ServerChan,
        Kind::Email => ChannelKind::Email,
    }
}
