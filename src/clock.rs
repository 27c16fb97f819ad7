//! Time as users read it. ModelScope lives in Beijing time (UTC+8 all year, no daylight
//! saving): quotas and short-term points renew at its midnight, and every time a page shows is
//! in it.

use time::format_description::well_known::Rfc3339;
use time::macros::{format_description, offset};
use time::{Date, OffsetDateTime, UtcOffset};

pub const BEIJING: UtcOffset = offset!(+8);

const DAY_SECS: i64 = 86_400;

/// Where the scheduler reads the time and waits for it. The server uses [`SystemClock`]; tests
/// and benchmarks hand the app a [`ManualClock`] and move time on instead of sleeping.
pub trait Clock: Send + Sync + 'static {
    /// Unix time in milliseconds.
    fn now_ms(&self) -> i64;

    /// Unix time in seconds.
    fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Resolves once this clock reads `deadline_ms` or later.
    fn sleep_until(
        &self,
        deadline_ms: i64,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>>;
}

/// A clock to share between the app's tasks.
pub type SharedClock = std::sync::Arc<dyn Clock>;

/// The wall clock, waiting with tokio's timers.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        let now = OffsetDateTime::now_utc();
        i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
    }

    fn sleep_until(
        &self,
        deadline_ms: i64,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            loop {
                let left = deadline_ms - self.now_ms();
                if left <= 0 {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(left.unsigned_abs())).await;
            }
        })
    }
}

/// A clock that moves only when told to: [`ManualClock::advance`] wakes every sleeper whose
/// deadline has come. Clones share one time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    time: std::sync::Arc<tokio::sync::watch::Sender<i64>>,
}

impl ManualClock {
    /// A clock that reads `start_ms` until moved.
    pub fn starting_at(start_ms: i64) -> Self {
        Self {
            time: std::sync::Arc::new(tokio::sync::watch::Sender::new(start_ms)),
        }
    }

    /// Moves the clock forward by `by` (never backwards).
    pub fn advance(&self, by: std::time::Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.time.send_modify(|now| *now = now.saturating_add(by));
    }

    /// Sets the clock to `at_ms` if that is later than it reads now.
    pub fn set(&self, at_ms: i64) {
        self.time.send_modify(|now| *now = (*now).max(at_ms));
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        *self.time.borrow()
    }

    fn sleep_until(
        &self,
        deadline_ms: i64,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        let mut watch = self.time.subscribe();
        Box::pin(async move {
            // The sender lives as long as this clock, so `changed` only fails if it is gone.
            while *watch.borrow_and_update() < deadline_ms {
                if watch.changed().await.is_err() {
                    return;
                }
            }
        })
    }
}

/// Current unix time in seconds.
pub fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn in_beijing(unix_secs: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(unix_secs)
        .ok()
        .map(|t| t.to_offset(BEIJING))
}

// `minutes` and `seconds` are written by hand: a history page or a chart formats a hundred
// times and an export a million, and `time`'s format descriptions cost several times more.

/// `2026-11-28 23:05`.
pub fn minutes(unix_secs: i64) -> String {
    in_beijing(unix_secs)
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute()
            )
        })
        .unwrap_or_default()
}

/// `2026-11-28 23:05:09`.
pub fn seconds(unix_secs: i64) -> String {
    in_beijing(unix_secs)
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        })
        .unwrap_or_default()
}

/// `2026-11-28T23:05:09+08:00`.
pub fn rfc3339(unix_secs: i64) -> String {
    in_beijing(unix_secs)
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// `23:05` in Beijing.
pub fn hour_minute(unix_secs: i64) -> String {
    let format = format_description!("[hour]:[minute]");
    in_beijing(unix_secs)
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// `2026-11-28`.
pub fn iso_date(date: Date) -> String {
    let format = format_description!("[year]-[month]-[day]");
    date.format(&format).unwrap_or_default()
}

/// Parses `2026-11-28`.
pub fn parse_date(text: &str) -> Option<Date> {
    Date::parse(text, &format_description!("[year]-[month]-[day]")).ok()
}

/// Today in Beijing.
pub fn today() -> Date {
    OffsetDateTime::now_utc().to_offset(BEIJING).date()
}

/// The Beijing day `unix_secs` falls on.
pub fn date_of(unix_secs: i64) -> Option<Date> {
    in_beijing(unix_secs).map(OffsetDateTime::date)
}

/// 00:00 of `date` in Beijing, as unix seconds.
pub fn midnight(date: Date) -> i64 {
    date.midnight().assume_offset(BEIJING).unix_timestamp()
}

/// The last 00:00 in Beijing at or before `unix_secs`.
pub fn last_midnight(unix_secs: i64) -> i64 {
    unix_secs - (unix_secs + BEIJING.whole_seconds() as i64).rem_euclid(DAY_SECS)
}

/// Seconds until the next 00:00 in Beijing, when ModelScope quotas reset.
pub fn seconds_until_midnight(unix_secs: i64) -> i64 {
    last_midnight(unix_secs) + DAY_SECS - unix_secs
}

/// Seconds until one more event fits a limit of `max` per `window` seconds, when the newest
/// events (`times`, newest first, at most `max` of them) already fill it; `None` when there is
/// room. For throttles that count rows in the database.
pub fn wait_for_room(times: &[i64], max: u32, window: i64, now: i64) -> Option<i64> {
    let oldest = *times.last()?;
    (times.len() >= max as usize).then(|| (oldest + window - now).max(1))
}

/// A request a limit refused: which limit, and in how many seconds one would be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused<L> {
    pub limit: L,
    pub retry_after_secs: i64,
}

/// Of several limits, each with its [`wait_for_room`], the one met that keeps a caller waiting
/// longest, and that wait; `None` when every limit has room.
pub fn longest_wait<L>(limits: impl IntoIterator<Item = (L, Option<i64>)>) -> Option<Refused<L>> {
    limits
        .into_iter()
        .filter_map(|(limit, wait)| wait.map(|secs| (limit, secs)))
        .max_by_key(|(_, secs)| *secs)
        .map(|(limit, retry_after_secs)| Refused {
            limit,
            retry_after_secs,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_runs_until_the_oldest_leaves_the_window() {
        assert_eq!(wait_for_room(&[], 5, 60, 100), None);
        assert_eq!(wait_for_room(&[99, 90], 5, 60, 100), None);
        assert_eq!(wait_for_room(&[99, 98, 97, 96, 90], 5, 60, 100), Some(50));
        assert_eq!(wait_for_room(&[100, 41], 2, 60, 100), Some(1));
        assert_eq!(
            longest_wait([('a', None), ('b', Some(5)), ('c', Some(9))]),
            Some(Refused {
                limit: 'c',
                retry_after_secs: 9
            })
        );
        assert_eq!(longest_wait([('a', None::<i64>)]), None);
    }

    #[test]
    fn reset_is_at_beijing_midnight() {
        // 2026-11-28 15:30:00 UTC = 23:30 in Beijing: 30 minutes left.
        let t = 1_795_879_800;
        assert_eq!(seconds_until_midnight(t), 30 * 60);
        // 16:00 UTC is exactly midnight in Beijing: a whole day until the next reset.
        assert_eq!(seconds_until_midnight(t + 1800), 86_400);
        assert_eq!(last_midnight(t + 1800), t + 1800);
        assert_eq!(last_midnight(t), t + 1800 - 86_400);
    }

    #[tokio::test]
    async fn a_manual_clock_wakes_sleepers_when_moved() {
        let clock = ManualClock::starting_at(1_000);
        assert_eq!(clock.now(), 1);
        let sleeper = {
            let clock = clock.clone();
            tokio::spawn(async move { clock.sleep_until(61_000).await })
        };
        clock.advance(std::time::Duration::from_secs(30));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(std::time::Duration::from_secs(30));
        sleeper.await.unwrap();
        assert_eq!(clock.now_ms(), 61_000);
        clock.set(5);
        assert_eq!(clock.now_ms(), 61_000, "never backwards");
    }

    #[test]
    fn formats() {
        // 2026-01-01 00:00:05 UTC is 08:00:05 in Beijing.
        let t = 1_767_225_605;
        assert_eq!(minutes(t), "2026-01-01 08:00");
        assert_eq!(seconds(t), "2026-01-01 08:00:05");
        assert_eq!(rfc3339(t), "2026-01-01T08:00:05+08:00");
        assert_eq!(hour_minute(t), "08:00");
        let date = parse_date("2026-01-01").unwrap();
        assert_eq!(iso_date(date), "2026-01-01");
        // 2026-01-01 00:00 +08 is 2025-12-31 16:00 UTC.
        assert_eq!(midnight(date), 1_767_196_800);
        assert_eq!(parse_date("2026-13-45"), None);
    }
}
