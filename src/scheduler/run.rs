//! One run of one monitor: each key in turn through the planner and the executor (stored as a
//! run with source `schedule`), what it saw turned into an observation, every alert rule
//! evaluated against it, and the monitor's next slot (with backoff when every key failed).

use crate::clock;
use crate::db::alert_rules::{self as rule_rows, StoredRule};
use crate::db::monitor_keys::{self as key_rows, KeyCode, MonitorKey};
use crate::db::monitors::{self as rows, Claimed, Finish, StoredMonitor};
use crate::ids::{KeyId, MonitorId, RunId};
use crate::modelscope::ErrorCode;
use crate::monitors::rules::KeyHealth;
use crate::monitors::schedule::Schedule;
use crate::monitors::{CheckKind, MonitorReason, Outcome, Reason};
use crate::runs::engine::Lane;
use crate::runs::executor::{Execution, Stored};
use crate::runs::history::{RunKind, Source};
use crate::runs::planner::{Named, PlanError, RunAsk};
use crate::telemetry::SchedulerOutcome;

use super::{LEASE_SECS, Scheduler};

/// The longest a failing monitor waits between tries.
const MAX_BACKOFF_SECS: i64 = 6 * 3600;

/// How one key's run went, for the monitor's page.
struct KeyOutcome {
    code: KeyCode,
    failed: bool,
}

impl KeyOutcome {
    /// Why it failed, when it did.
    fn reason(&self) -> Option<Reason> {
        match (self.failed, self.code) {
            (true, KeyCode::Failed(reason)) => Some(reason),
            _ => None,
        }
    }
}

/// What every key's run of one monitor shares.
struct Round<'a> {
    monitor: &'a StoredMonitor,
    rules: &'a [StoredRule],
    /// Points spent today by this monitor's probes, this run's included.
    spent: f64,
}

/// Why a key's run could not be planned, as the monitor's page says it.
fn plan_failure(error: &PlanError) -> Reason {
    match error {
        PlanError::KeyNeedsReentry => Reason::Monitor(MonitorReason::KeyNeedsReentry),
        PlanError::PresetNotFound | PlanError::EmptyPreset | PlanError::NoModels => {
            Reason::Monitor(MonitorReason::PresetGone)
        }
        PlanError::NoValidModels(_) => Reason::Upstream(ErrorCode::InvalidModel),
        _ => Reason::Monitor(MonitorReason::Unavailable),
    }
}

impl Scheduler {
    pub(super) async fn run_claimed(&self, claim: Claimed) {
        let clock = &self.parts().clock;
        let started = clock.now_ms();
        tracing::debug!(
            monitor = claim.id.get(),
            slot = claim.slot,
            late_ms = started - claim.slot * 1000,
            requested = claim.requested,
            "scheduled run started"
        );
        let heartbeat = self.renew_lease(claim.id);
        let work = self.run_monitor(claim);
        tokio::select! {
            () = heartbeat => {}
            () = work => {}
        }
    }

    /// Keeps the lease fresh while the run goes (never resolves).
    async fn renew_lease(&self, id: MonitorId) {
        let clock = &self.parts().clock;
        loop {
            clock
                .sleep_until(clock.now_ms() + LEASE_SECS * 1000 / 3)
                .await;
            let until = clock.now() + LEASE_SECS;
            let renewed = self
                .parts()
                .db
                .run(move |conn| {
                    conn.execute(
                        "UPDATE monitors SET lease_until = ?2 WHERE id = ?1 AND lease_until IS NOT NULL",
                        rusqlite::params![id, until],
                    )?;
                    Ok(())
                })
                .await;
            if let Err(error) = renewed {
                tracing::warn!(%error, "renewing a monitor's lease failed");
            }
        }
    }

    async fn run_monitor(&self, claim: Claimed) {
        let lag_ms = (self.parts().clock.now_ms() - claim.slot * 1000).max(0);
        let lag = std::time::Duration::from_millis(u64::try_from(lag_ms).unwrap_or(0));
        let db = &self.parts().db;
        let id = claim.id;
        let loaded = db
            .run(move |conn| Ok((rows::get(conn, id)?, key_rows::keys_of(conn, id)?)))
            .await;
        let (monitor, keys) = match loaded {
            Ok((Some(monitor), keys)) => (monitor, keys),
            // Deleted meanwhile (with its user or its last key): nothing to do.
            Ok((None, _)) => return,
            Err(error) => {
                tracing::error!(%error, "reading a monitor failed");
                let _ = db.run(move |conn| rows::release(conn, id)).await;
                return;
            }
        };
        let user = monitor.user_id;
        let rules = match db.run(move |conn| rule_rows::rules_of(conn, id)).await {
            Ok(rules) => rules,
            Err(error) => {
                tracing::warn!(%error, "reading alert rules failed");
                Vec::new()
            }
        };
        let expected = match (monitor.kind, monitor.preset_id) {
            (CheckKind::Probe, Some(preset)) => self.parts().monitors.run_cost(user, preset).await,
            _ => Default::default(),
        };
        let today = clock::last_midnight(self.now());
        let mut round = Round {
            monitor: &monitor,
            rules: &rules,
            spent: if monitor.spent_day == Some(today) {
                monitor.spent_points
            } else {
                0.0
            },
        };
        let mut outcomes: Vec<KeyOutcome> = Vec::new();
        let mut capped = false;
        for key in &keys {
            if monitor.kind == CheckKind::Probe
                && let Some(cap) = monitor.daily_cost_cap
                && round.spent + expected.max > cap + 1e-9
            {
                capped = true;
                break;
            }
            if let Some(outcome) = self.run_key(&mut round, key).await {
                outcomes.push(outcome);
            }
        }
        let failed = outcomes.iter().filter(|o| o.failed).count();
        crate::telemetry::record_scheduler_run(
            match (outcomes.len(), failed) {
                (0, _) => SchedulerOutcome::Skipped,
                (_, 0) => SchedulerOutcome::Ok,
                (all, failed) if failed == all => SchedulerOutcome::Failed,
                _ => SchedulerOutcome::Partial,
            },
            lag,
        );
        let spent = round.spent;
        self.finish(&monitor, claim, &outcomes, capped, today, spent)
            .await;
    }

    /// One key's run; `None` when the key is gone (deleted while the monitor waited).
    async fn run_key(&self, round: &mut Round<'_>, key: &MonitorKey) -> Option<KeyOutcome> {
        let monitor = round.monitor;
        let (user, kind) = (monitor.user_id, monitor.kind);
        let ask = RunAsk {
            user: Some(user),
            saved_key: Some(Named::Id(key.key_id)),
            preset: monitor
                .preset_id
                .filter(|_| kind == CheckKind::Probe)
                .map(Named::Id),
            check_only: kind == CheckKind::Balance,
            ..RunAsk::default()
        };
        let plan = match self.parts().runner.plan(ask).await {
            Ok(plan) => plan,
            Err(PlanError::KeyNotFound) => return None,
            Err(error) => {
                let code = KeyCode::Failed(plan_failure(&error));
                self.record_key(monitor.id, key.key_id, None, code, None)
                    .await;
                return Some(KeyOutcome { code, failed: true });
            }
        };
        let _probe_turn = match kind {
            // One scheduled probe at a time: their calls stay a small share of the global limit.
            CheckKind::Probe => self.inner.probes.acquire().await.ok(),
            CheckKind::Balance => None,
        };
        let finished = self
            .parts()
            .runner
            .run(Execution {
                plan,
                kind: match kind {
                    CheckKind::Balance => RunKind::Check,
                    CheckKind::Probe => RunKind::Probe,
                },
                source: Source::Schedule,
                user: Some(user),
                keep: true,
                lane: Lane::Scheduled,
                budget: None,
            })
            .await;
        if kind == CheckKind::Probe {
            round.spent += finished.points_spent.unwrap_or(finished.expected.max);
        }
        let run_id = match finished.stored {
            Stored::Saved(id) => Some(id),
            _ => None,
        };
        let observation = self.observe(user, key.key_id, &finished, round.rules).await;
        let code = match (observation.key, &finished.balance) {
            (KeyHealth::Refused(code), _) => KeyCode::Failed(Reason::Upstream(code)),
            (_, Ok(_)) => KeyCode::Ok,
            (_, Err(error)) => KeyCode::Failed(Reason::Upstream(error.code())),
        };
        self.record_key(monitor.id, key.key_id, run_id, code, finished.available())
            .await;
        self.alert(monitor, key, round.rules, &observation).await;
        Some(KeyOutcome {
            code,
            failed: finished.balance.is_err(),
        })
    }

    async fn record_key(
        &self,
        monitor: MonitorId,
        key: KeyId,
        run: Option<RunId>,
        code: KeyCode,
        available: Option<f64>,
    ) {
        let at = self.now();
        let saved = self
            .parts()
            .db
            .run(move |conn| key_rows::set_key_result(conn, monitor, key, run, at, code, available))
            .await;
        if let Err(error) = saved {
            tracing::warn!(%error, "recording a monitor's result failed");
        }
    }

    async fn finish(
        &self,
        monitor: &StoredMonitor,
        claim: Claimed,
        outcomes: &[KeyOutcome],
        capped: bool,
        today: i64,
        spent: f64,
    ) {
        let now = self.now();
        let schedule = Schedule::from_stored(monitor.every_minutes, monitor.at_times.as_deref());
        let all_failed = !outcomes.is_empty() && outcomes.iter().all(|o| o.failed);
        let failures = if all_failed { monitor.failures + 1 } else { 0 };
        let daily_cap = Some(Reason::Monitor(MonitorReason::DailyCap));
        let (outcome, reason) = if capped && outcomes.is_empty() {
            (Outcome::Skipped, daily_cap)
        } else if all_failed {
            (
                Outcome::Failed,
                outcomes.first().and_then(KeyOutcome::reason),
            )
        } else if capped {
            (Outcome::Ok, daily_cap)
        } else {
            (Outcome::Ok, outcomes.iter().find_map(KeyOutcome::reason))
        };
        let next = if claim.requested {
            None
        } else {
            schedule.map(|schedule| {
                let mut next = schedule.next_slot(claim.slot, now, monitor.jitter_secs);
                if failures >= 2
                    && let Schedule::Every { minutes } = schedule
                {
                    let period = i64::from(minutes) * 60;
                    let backoff = (period << (failures - 1).min(8)).min(MAX_BACKOFF_SECS);
                    next = next.max(now + backoff);
                }
                next
            })
        };
        let id = monitor.id;
        let done = Finish {
            next_run_at: next,
            last_run_at: now,
            outcome,
            reason,
            failures,
            spent_day: Some(today),
            spent_points: spent,
        };
        let saved = self
            .parts()
            .db
            .run(move |conn| rows::finish(conn, id, &done))
            .await;
        if let Err(error) = saved {
            tracing::error!(%error, "recording a monitor's run failed");
        }
    }
}
