//! One run of one monitor: each key in turn through the planner and the executor (stored as a
//! run with source `schedule`), what it saw turned into an observation, every alert rule
//! evaluated against it, and the monitor's next slot (with backoff when every key failed).

use crate::clock;
use crate::db::alert_rules::{self as rule_rows, StoredRule};
use crate::db::monitors::{self as rows, Claimed, Finish, StoredMonitor};
use crate::ids::{KeyId, MonitorId};
use crate::monitors::CheckKind;
use crate::monitors::rules::KeyHealth;
use crate::monitors::schedule::Schedule;
use crate::runs::engine::Lane;
use crate::runs::executor::{self, Execution, Stored};
use crate::runs::history::{RunKind, Source};
use crate::runs::planner::{Named, PlanError, RunAsk};
use crate::telemetry::SchedulerOutcome;

use super::{LEASE_SECS, Scheduler, cost};

/// The longest a failing monitor waits between tries.
const MAX_BACKOFF_SECS: i64 = 6 * 3600;

/// How one key's run went, for the monitor's page.
struct KeyOutcome {
    code: String,
    failed: bool,
}

impl Scheduler {
    pub(super) async fn run_claimed(&self, claim: Claimed) {
        let clock = &self.inner.clock;
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
        let clock = &self.inner.clock;
        loop {
            clock
                .sleep_until(clock.now_ms() + LEASE_SECS * 1000 / 3)
                .await;
            let until = clock.now() + LEASE_SECS;
            let renewed = self
                .inner
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
        let lag_ms = (self.inner.clock.now_ms() - claim.slot * 1000).max(0);
        let lag = std::time::Duration::from_millis(u64::try_from(lag_ms).unwrap_or(0));
        let db = &self.inner.db;
        let id = claim.id;
        let loaded = db
            .run(move |conn| Ok((rows::get(conn, id)?, rows::keys_of(conn, id)?)))
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
        let kind = CheckKind::from_stored(&monitor.kind);
        let user = monitor.user_id;
        let rules = match db.run(move |conn| rule_rows::rules_of(conn, id)).await {
            Ok(rules) => rules,
            Err(error) => {
                tracing::warn!(%error, "reading alert rules failed");
                Vec::new()
            }
        };
        let preset_models = match (kind, monitor.preset_id) {
            (CheckKind::Probe, Some(preset)) => crate::monitors::preset_models(db, user, preset)
                .await
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let expected = cost::per_run(db, user, &preset_models).await;
        let today = clock::last_midnight(self.now());
        let mut spent = if monitor.spent_day == Some(today) {
            monitor.spent_points
        } else {
            0.0
        };
        let mut outcomes: Vec<KeyOutcome> = Vec::new();
        let mut capped = false;
        for key in &keys {
            if kind == CheckKind::Probe
                && let Some(cap) = monitor.daily_cost_cap
                && spent + expected.max > cap + 1e-9
            {
                capped = true;
                break;
            }
            let outcome = self
                .run_key(
                    &monitor,
                    kind,
                    key.key_id,
                    &key.label,
                    &key.last_four,
                    &rules,
                    &mut spent,
                )
                .await;
            if let Some(outcome) = outcome {
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
        self.finish(&monitor, claim, &outcomes, capped, today, spent)
            .await;
    }

    /// One key's run; `None` when the key is gone (deleted while the monitor waited).
    #[allow(clippy::too_many_arguments)]
    async fn run_key(
        &self,
        monitor: &StoredMonitor,
        kind: CheckKind,
        key: KeyId,
        label: &str,
        last_four: &str,
        rules: &[StoredRule],
        spent: &mut f64,
    ) -> Option<KeyOutcome> {
        let user = monitor.user_id;
        let ask = RunAsk {
            user: Some(user),
            saved_key: Some(Named::Id(key)),
            preset: monitor
                .preset_id
                .filter(|_| kind == CheckKind::Probe)
                .map(Named::Id),
            check_only: kind == CheckKind::Balance,
            ..RunAsk::default()
        };
        let plan = match self.inner.planner.plan(ask).await {
            Ok(plan) => plan,
            Err(PlanError::KeyNotFound) => return None,
            Err(error) => {
                let code = match error {
                    PlanError::KeyNeedsReentry => "key_needs_reentry",
                    PlanError::PresetNotFound | PlanError::EmptyPreset | PlanError::NoModels => {
                        "preset_gone"
                    }
                    PlanError::NoValidModels(_) => "invalid_model",
                    _ => "unavailable",
                };
                self.record_key(monitor.id, key, None, code, None).await;
                return Some(KeyOutcome {
                    code: code.to_owned(),
                    failed: true,
                });
            }
        };
        let _probe_turn = match kind {
            // One scheduled probe at a time: their calls stay a small share of the global limit.
            CheckKind::Probe => self.inner.probes.acquire().await.ok(),
            CheckKind::Balance => None,
        };
        let finished = executor::run(
            &self.inner.engine,
            &self.inner.db,
            Execution {
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
            },
        )
        .await;
        if kind == CheckKind::Probe {
            *spent += finished.points_spent.unwrap_or(finished.expected.max);
        }
        let run_id = match finished.stored {
            Stored::Saved(id) => Some(id),
            _ => None,
        };
        let code = match &finished.balance {
            Ok(_) => "ok",
            Err(error) => error.code().as_str(),
        };
        let observation = self.observe(user, &finished, rules).await;
        let code = match observation.key {
            KeyHealth::Refused(code) => code,
            _ => code,
        };
        self.record_key(monitor.id, key, run_id, code, finished.available())
            .await;
        self.alert(monitor, key, label, last_four, rules, &observation)
            .await;
        Some(KeyOutcome {
            code: code.to_owned(),
            failed: finished.balance.is_err(),
        })
    }

    async fn record_key(
        &self,
        monitor: MonitorId,
        key: KeyId,
        run: Option<crate::ids::RunId>,
        code: &'static str,
        available: Option<f64>,
    ) {
        let at = self.now();
        let saved = self
            .inner
            .db
            .run(move |conn| rows::set_key_result(conn, monitor, key, run, at, code, available))
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
        let (outcome, reason) = if capped && outcomes.is_empty() {
            ("skipped", Some("daily_cap".to_owned()))
        } else if all_failed {
            ("failed", outcomes.first().map(|o| o.code.clone()))
        } else if capped {
            ("ok", Some("daily_cap".to_owned()))
        } else {
            let failed = outcomes.iter().find(|o| o.failed).map(|o| o.code.clone());
            ("ok", failed)
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
        let done = db_finish(next, now, outcome, reason, failures, today, spent);
        let saved = self
            .inner
            .db
            .run(move |conn| rows::finish(conn, id, &done.as_finish()))
            .await;
        if let Err(error) = saved {
            tracing::error!(%error, "recording a monitor's run failed");
        }
    }
}

/// An owned [`Finish`], to move into the database task.
struct OwnedFinish {
    next: Option<i64>,
    at: i64,
    outcome: &'static str,
    reason: Option<String>,
    failures: i64,
    day: i64,
    spent: f64,
}

impl OwnedFinish {
    fn as_finish(&self) -> Finish<'_> {
        Finish {
            next_run_at: self.next,
            last_run_at: self.at,
            outcome: self.outcome,
            reason: self.reason.as_deref(),
            failures: self.failures,
            spent_day: Some(self.day),
            spent_points: self.spent,
        }
    }
}

fn db_finish(
    next: Option<i64>,
    at: i64,
    outcome: &'static str,
    reason: Option<String>,
    failures: i64,
    day: i64,
    spent: f64,
) -> OwnedFinish {
    OwnedFinish {
        next,
        at,
        outcome,
        reason,
        failures,
        day,
        spent,
    }
}
