//! What the scheduler has done, published as it goes: the passes it finished, the jobs (runs and
//! sends) it started that are still going, and a count of the changes it was told about. Whoever
//! moves the clock (the tests) waits here for a pass that began after the move, instead of
//! sleeping and hoping the loop has looked.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Notify, watch};

use super::Scheduler;

/// A snapshot of the scheduler's work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Passes finished (a pass starts what is due and decides when to look next).
    pub passes: u64,
    /// Bumped by every wake: a page changed something, a job ended, someone asked.
    pub changes: u64,
    /// `changes` as the last finished pass read it when it began.
    pub seen: u64,
    /// Runs and sends started and not yet ended.
    pub jobs: usize,
    /// Runs and sends started, since start.
    pub started: u64,
    /// The loop is going (it has been spawned and the server has not stopped).
    pub running: bool,
}

impl Progress {
    /// Nothing left to do for now: no job is going, and (while the loop runs) the last finished
    /// pass began after the last change, so it saw everything there was to start.
    pub fn is_quiet(&self) -> bool {
        self.jobs == 0 && (!self.running || self.seen == self.changes)
    }
}

/// The scheduler's side: the wake-up it sleeps on (shared with the [`crate::monitors::Monitors`]
/// handle, which notifies it directly) and the progress it publishes.
#[derive(Debug)]
pub(super) struct Tracker {
    wake: Arc<Notify>,
    progress: watch::Sender<Progress>,
}

impl Default for Tracker {
    fn default() -> Self {
        Self::new(Arc::default())
    }
}

impl Tracker {
    pub(super) fn new(wake: Arc<Notify>) -> Self {
        Self {
            wake,
            progress: watch::Sender::new(Progress::default()),
        }
    }

    /// Something changed: count it and wake the loop.
    pub(super) fn wake(&self) {
        self.progress.send_modify(|p| p.changes += 1);
        self.wake.notify_one();
    }

    pub(super) async fn woken(&self) {
        self.wake.notified().await;
    }

    pub(super) fn set_running(&self, running: bool) {
        self.progress.send_modify(|p| p.running = running);
    }

    /// A pass begins; answers the changes it sees, for [`Tracker::pass_ends`].
    pub(super) fn pass_begins(&self) -> u64 {
        self.progress.borrow().changes
    }

    pub(super) fn pass_ends(&self, seen: u64) {
        self.progress.send_modify(|p| {
            p.passes += 1;
            p.seen = seen;
        });
    }
}

/// One job going; ending it (even by a panic) counts as a change and wakes the loop, so a pass
/// sees what the job left behind.
struct Job(Arc<Tracker>);

impl Drop for Job {
    fn drop(&mut self) {
        self.0.progress.send_modify(|p| {
            p.jobs = p.jobs.saturating_sub(1);
            p.changes += 1;
        });
        self.0.wake.notify_one();
    }
}

/// A watch on one scheduler's passes that does not keep the scheduler itself alive.
#[derive(Clone)]
pub struct Passes(Arc<Tracker>);

impl Passes {
    pub fn now(&self) -> Progress {
        *self.0.progress.borrow()
    }

    /// Wakes the loop and resolves once a pass that began after this call has finished and
    /// nothing is left going (no run, no send, no change since). A stopped loop only has its
    /// jobs to finish.
    pub fn settle(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut progress = self.0.progress.subscribe();
        self.0.wake();
        async move {
            // The sender lives as long as the tracker this watch holds.
            let _ = progress.wait_for(Progress::is_quiet).await;
        }
    }

    /// Wakes the loop and resolves once a pass that began after this call has finished,
    /// whatever runs or sends are still going (one that hangs never lets [`Passes::settle`]
    /// resolve). A stopped loop has no pass to wait for.
    pub fn look(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut progress = self.0.progress.subscribe();
        self.0.wake();
        let asked = self.0.progress.borrow().changes;
        async move {
            let _ = progress.wait_for(|p| !p.running || p.seen >= asked).await;
        }
    }

    /// Resolves once the loop is not going: never spawned, or ended after a shutdown (a pass
    /// under way when it was told to stop is finished first).
    pub fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut progress = self.0.progress.subscribe();
        async move {
            let _ = progress.wait_for(|p| !p.running).await;
        }
    }
}

impl Scheduler {
    /// A watch on this scheduler's passes (for whoever moves its clock).
    pub fn passes(&self) -> Passes {
        Passes(self.inner.tracker.clone())
    }

    /// Runs `work` as a job of this scheduler: counted while it goes, and the loop looks again
    /// when it ends.
    pub(super) fn spawn_job(&self, work: impl Future<Output = ()> + Send + 'static) {
        let tracker = &self.inner.tracker;
        tracker.progress.send_modify(|p| {
            p.jobs += 1;
            p.started += 1;
        });
        let job = Job(tracker.clone());
        tokio::spawn(async move {
            let _job = job;
            work.await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_means_no_job_and_a_pass_after_the_last_change() {
        let tracker = Arc::new(Tracker::default());
        let passes = Passes(tracker.clone());
        assert!(
            passes.now().is_quiet(),
            "a loop not yet spawned has nothing to do"
        );
        tracker.set_running(true);
        tracker.wake();
        assert!(!passes.now().is_quiet(), "a change no pass has seen");
        let seen = tracker.pass_begins();
        tracker.progress.send_modify(|p| {
            p.jobs += 1;
            p.started += 1;
        });
        let job = Job(tracker.clone());
        tracker.pass_ends(seen);
        assert!(!passes.now().is_quiet(), "a job going");
        drop(job);
        assert!(!passes.now().is_quiet(), "the job's end is a change");
        let seen = tracker.pass_begins();
        tracker.pass_ends(seen);
        assert!(passes.now().is_quiet());
        assert_eq!(passes.now().passes, 2);
        tracker.set_running(false);
        tracker.wake();
        assert!(passes.now().is_quiet(), "a stopped loop has only its jobs");
    }

    #[tokio::test]
    async fn settle_waits_for_a_pass_that_began_after_it() {
        let tracker = Arc::new(Tracker::default());
        tracker.set_running(true);
        let seen = tracker.pass_begins();
        tracker.pass_ends(seen);
        let settled = tokio::spawn(Passes(tracker.clone()).settle());
        tokio::task::yield_now().await;
        assert!(!settled.is_finished(), "the last pass began before settle");
        tracker.woken().await;
        let seen = tracker.pass_begins();
        tracker.pass_ends(seen);
        settled.await.unwrap();
        let stopped = tokio::spawn(Passes(tracker.clone()).stopped());
        tokio::task::yield_now().await;
        assert!(!stopped.is_finished(), "the loop still runs");
        tracker.set_running(false);
        stopped.await.unwrap();
    }
}
