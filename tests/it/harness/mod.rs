//! The one harness every test module uses: the app on a temporary data dir ([`app`]), a
//! wiremock double of ModelScope ([`upstream`]), finished responses and the requests a browser
//! or a script makes ([`http`], [`api`], [`users`]), page parsing ([`html`]), readers of what
//! the app stored ([`db`]) and the key canaries every response is checked against ([`secrets`]).

pub mod api;
pub mod app;
pub mod binary;
pub mod db;
pub mod gate;
pub mod html;
pub mod http;
pub mod monitoring;
pub mod passkeys;
pub mod points;
pub mod readings;
pub mod schema;
pub mod secrets;
pub mod smtp;
pub mod two_factor;
pub mod upstream;
pub mod users;

use std::time::Duration;

pub use app::TestApp;
pub use http::Answer;
pub use users::User;

/// The password every test account signs up with.
pub const PASSWORD: &str = "correct horse battery";

/// Polls (every 50 ms, up to `within`) until `check` holds; returns whether it did. For a
/// condition that must come true (a positive wait): the bound only turns a hang into a failure,
/// it never decides what the test asserts.
pub async fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    eventually_async(within, async || check()).await
}

/// [`eventually`] for a check that awaits (reads the double, say).
pub async fn eventually_async(within: Duration, mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
