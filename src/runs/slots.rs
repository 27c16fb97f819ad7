//! The server-wide upstream slots and the shares of them anonymous and scheduled work take
//! first, counted per lane: calls holding their slots (in flight), calls parked behind a full
//! limit, and, since start, the most in flight at once and how many calls ever had to wait.
//! The counts answer "is anything queued behind a limit, did this call wait?" without a
//! stopwatch.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

/// Which slots a call takes, by whose work it is (see `engine::Lane`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaneKind {
    /// Signed-in users and token holders: the server-wide slots only.
    Member,
    /// The anonymous share first, then a server-wide slot.
    Anonymous,
    /// The scheduler's share first, then a server-wide slot.
    Scheduled,
}

/// One lane's upstream calls at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LaneCalls {
    /// Calls holding their slots (at the upstream, or about to be).
    pub in_flight: usize,
    /// Calls parked behind a full limit (their share's or the server's).
    pub waiting: usize,
    /// Calls that could not have their slots at once, since start.
    pub waited: u64,
    /// The most calls in flight at once, since start.
    pub peak: usize,
}

/// Every lane's upstream calls at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpstreamCalls {
    pub member: LaneCalls,
    pub anonymous: LaneCalls,
    pub scheduled: LaneCalls,
}

impl UpstreamCalls {
    pub fn total(&self) -> LaneCalls {
        let lanes = [self.member, self.anonymous, self.scheduled];
        LaneCalls {
            in_flight: lanes.iter().map(|l| l.in_flight).sum(),
            waiting: lanes.iter().map(|l| l.waiting).sum(),
            waited: lanes.iter().map(|l| l.waited).sum(),
            // Each lane's own high-water mark; they need not have been at once.
            peak: lanes.iter().map(|l| l.peak).max().unwrap_or(0),
        }
    }
}

#[derive(Debug, Default)]
struct Counter {
    in_flight: AtomicUsize,
    waiting: AtomicUsize,
    waited: AtomicU64,
    peak: AtomicUsize,
}

impl Counter {
    fn read(&self) -> LaneCalls {
        LaneCalls {
            in_flight: self.in_flight.load(Ordering::SeqCst),
            waiting: self.waiting.load(Ordering::SeqCst),
            waited: self.waited.load(Ordering::SeqCst),
            peak: self.peak.load(Ordering::SeqCst),
        }
    }
}

/// The slots, shared by every request.
#[derive(Clone)]
pub struct Slots {
    global: Arc<Semaphore>,
    anonymous: Arc<Semaphore>,
    scheduled: Arc<Semaphore>,
    counters: Arc<[Counter; 3]>,
}

/// A call's slots; dropping it frees them.
pub struct Held {
    _permits: [Option<OwnedSemaphorePermit>; 2],
    counter: Arc<[Counter; 3]>,
    lane: usize,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.counter[self.lane]
            .in_flight
            .fetch_sub(1, Ordering::SeqCst);
    }
}

/// A call on its way to its slots: counted as waiting (once parked) until it has them or gives
/// up.
struct Waiting {
    counters: Arc<[Counter; 3]>,
    lane: usize,
    parked: bool,
}

impl Waiting {
    async fn take(&mut self, slots: &Arc<Semaphore>) -> Option<OwnedSemaphorePermit> {
        match slots.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(TryAcquireError::Closed) => None,
            Err(TryAcquireError::NoPermits) => {
                if !self.parked {
                    self.parked = true;
                    let counter = &self.counters[self.lane];
                    counter.waiting.fetch_add(1, Ordering::SeqCst);
                    counter.waited.fetch_add(1, Ordering::SeqCst);
                }
                slots.clone().acquire_owned().await.ok()
            }
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if self.parked {
            self.counters[self.lane]
                .waiting
                .fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Slots {
    /// `global` slots, of which anonymous work may hold `anonymous` and scheduled work
    /// `scheduled` at once.
    pub fn new(global: usize, anonymous: usize, scheduled: usize) -> Self {
        Self {
            global: Arc::new(Semaphore::new(global)),
            anonymous: Arc::new(Semaphore::new(anonymous.min(global))),
            scheduled: Arc::new(Semaphore::new(scheduled.min(global))),
            counters: Arc::default(),
        }
    }

    /// Waits for a call's slots: its lane's share first (so it never holds more of the
    /// server-wide slots than that), then a server-wide one. The semaphores are never closed.
    pub async fn take(&self, lane: LaneKind) -> Held {
        let index = lane as usize;
        let mut waiting = Waiting {
            counters: self.counters.clone(),
            lane: index,
            parked: false,
        };
        let share = match lane {
            LaneKind::Member => None,
            LaneKind::Anonymous => waiting.take(&self.anonymous).await,
            LaneKind::Scheduled => waiting.take(&self.scheduled).await,
        };
        let global = waiting.take(&self.global).await;
        // Counted in flight before it stops counting as waiting: the sum never dips.
        let counter = &self.counters[index];
        let now = counter.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        counter.peak.fetch_max(now, Ordering::SeqCst);
        drop(waiting);
        Held {
            _permits: [share, global],
            counter: self.counters.clone(),
            lane: index,
        }
    }

    /// The calls in flight and waiting now, by lane.
    pub fn calls(&self) -> UpstreamCalls {
        UpstreamCalls {
            member: self.counters[LaneKind::Member as usize].read(),
            anonymous: self.counters[LaneKind::Anonymous as usize].read(),
            scheduled: self.counters[LaneKind::Scheduled as usize].read(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_share_holds_its_calls_to_its_slots_and_counts_who_waits() {
        let slots = Slots::new(3, 1, 1);
        let first = slots.take(LaneKind::Scheduled).await;
        let queued = tokio::spawn({
            let slots = slots.clone();
            async move { slots.take(LaneKind::Scheduled).await }
        });
        while slots.calls().scheduled.waiting == 0 {
            tokio::task::yield_now().await;
        }
        let member = slots.take(LaneKind::Member).await;
        let calls = slots.calls();
        assert_eq!(
            calls.scheduled,
            LaneCalls {
                in_flight: 1,
                waiting: 1,
                waited: 1,
                peak: 1,
            }
        );
        assert_eq!(calls.member.in_flight, 1);
        assert_eq!(
            calls.member.waited, 0,
            "a member never waits behind a share"
        );
        assert_eq!(calls.total().in_flight, 2);
        drop(first);
        let second = queued.await.unwrap();
        assert_eq!(slots.calls().scheduled.in_flight, 1);
        assert_eq!(slots.calls().scheduled.waiting, 0);
        drop((second, member));
        assert_eq!(slots.calls().total().in_flight, 0);
        assert_eq!(slots.calls().total().peak, 1, "one at a time in each lane");
    }

    #[tokio::test]
    async fn a_call_that_gives_up_waiting_is_no_longer_counted() {
        let slots = Slots::new(1, 1, 1);
        let held = slots.take(LaneKind::Member).await;
        let gave_up = tokio::time::timeout(
            std::time::Duration::from_millis(1),
            slots.take(LaneKind::Anonymous),
        )
        .await;
        assert!(gave_up.is_err());
        let calls = slots.calls();
        assert_eq!((calls.anonymous.waiting, calls.anonymous.waited), (0, 1));
        drop(held);
    }
}
