//! "Run now": one run of a monitor outside its schedule. Each costs upstream calls (one per
//! key, or a probe of a preset), so it is limited per monitor and per user an hour; asked of a
//! monitor already queued (due, or asked before) or running, it changes nothing and counts for
//! nothing. The scheduler then takes it in its turn (see `db::monitors::claim_due`).

use rusqlite::TransactionBehavior;

use super::MonitorError;
use crate::clock::{Refused, longest_wait};
use crate::db::recent::{self, Counted};
use crate::db::{Db, DbError, monitors as rows, run_requests};
use crate::ids::{MonitorId, UserId};

/// How often a user may ask (from the configuration).
#[derive(Debug, Clone, Copy)]
pub struct RunNowLimits {
    /// `run_now_per_monitor_per_hour`.
    pub per_monitor: u32,
    /// `run_now_per_user_per_hour`.
    pub per_user: u32,
}

/// What a "run now" came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunNow {
    /// Asked: it runs in its turn.
    Asked,
    /// Due already, or asked before and not run yet: nothing changed.
    AlreadyQueued,
    /// Running now: nothing changed.
    Running,
}

/// Which limit a "run now" met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunNowLimit {
    PerMonitor { max: u32 },
    PerUser { max: u32 },
}

/// A "run now" refused: which limit, and in how many seconds one would be taken.
pub type RunNowRefused = Refused<RunNowLimit>;

/// Asks for one run of the user's monitor `id`, under `limits`; one IMMEDIATE transaction, so
/// requests at once cannot pass a limit together.
pub async fn request_run(
    db: &Db,
    user: UserId,
    id: MonitorId,
    limits: RunNowLimits,
    now: i64,
) -> Result<RunNow, MonitorError> {
    db.run(move |conn| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(monitor) = rows::get_for_user(&tx, user, id)? else {
            return Ok(Err(MonitorError::NotFound));
        };
        if monitor.lease_until.is_some_and(|until| until > now) {
            return Ok(Ok(RunNow::Running));
        }
        if monitor.run_requested || (!monitor.paused && monitor.next_run_at <= now) {
            return Ok(Ok(RunNow::AlreadyQueued));
        }
        if let Some(refused) = over(&tx, user, id, limits, now)? {
            return Ok(Err(MonitorError::RunNowLimited(refused)));
        }
        run_requests::insert(&tx, user, id, now)?;
        rows::request_run(&tx, user, id, now)?;
        tx.commit()?;
        Ok(Ok(RunNow::Asked))
    })
    .await?
}

/// The limit a request would go over now, with the longest wait among those met.
fn over(
    conn: &rusqlite::Connection,
    user: UserId,
    id: MonitorId,
    limits: RunNowLimits,
    now: i64,
) -> Result<Option<RunNowRefused>, DbError> {
    use Counted::{MonitorRequests, UserRequests};
    use RunNowLimit::{PerMonitor, PerUser};
    let (per_monitor, per_user) = (limits.per_monitor, limits.per_user);
    let wait = |counted, max| recent::wait_for_room(conn, counted, max, 3600, now);
    Ok(longest_wait([
        (
            PerMonitor { max: per_monitor },
            wait(MonitorRequests(id), per_monitor)?,
        ),
        (
            PerUser { max: per_user },
            wait(UserRequests(user), per_user)?,
        ),
    ]))
}

/// Forgets requests older than the hour their limits look at.
pub async fn forget_old(db: &Db, now: i64) -> Result<usize, DbError> {
    db.run(move |conn| run_requests::delete_before(conn, now - 3600))
        .await
}
