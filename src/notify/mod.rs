//! Notifications: the channels a user set up (webhook, DingTalk, Feishu, WeCom, Telegram,
//! Bark, ServerChan, email), the words of each message, sending it safely, and the delivery
//! log with its retries. No Rocket types; `scheduler` decides when something is sent.

pub mod channel_check;
pub mod channel_store;
pub mod channels;
pub mod deliveries;
pub mod guard;
pub mod message;
pub mod outbox;
pub mod redact;
pub mod send;
pub mod throttle;

pub use channel_store::{ChannelSummary, Channels, OpenedChannel};
pub use channels::{ChannelError, Kind};
pub use outbox::{Outbox, OutboxParts};
pub use send::{Notifier, SendError};
