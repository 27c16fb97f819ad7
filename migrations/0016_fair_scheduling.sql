-- Fair scheduling (issue 19). "Run now" asks for a run at the moment it was asked: it waits its
-- turn behind runs that were due before it, instead of going first.
ALTER TABLE monitors ADD COLUMN run_requested_at INTEGER;
-- The monitors running now (their lease), counted per user for each user's share of the slots.
CREATE INDEX monitors_running ON monitors(lease_until) WHERE lease_until IS NOT NULL;

-- Each "run now" asked, for its limits per monitor and per user; kept an hour. A deleted
-- monitor's requests still count toward its user's.
CREATE TABLE run_requests (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    monitor_id   INTEGER REFERENCES monitors(id) ON DELETE SET NULL,
    requested_at INTEGER NOT NULL
);
CREATE INDEX run_requests_by_user ON run_requests(user_id, requested_at);
CREATE INDEX run_requests_by_monitor ON run_requests(monitor_id, requested_at);

-- A user's rules are counted for their limit.
CREATE INDEX alert_rules_by_user ON alert_rules(user_id);
