-- Forecasts and expiring points: what each key's stored balance readings say about its points
-- (how fast they were spent over the last day, which short-term grants are still alive), kept up
-- to date as runs are stored (db::runs::insert_run), so the dashboard and /api/quota read one
-- row a key, never the history. `state` is a pace::Pace as JSON: the newest reading, the points
-- spent so far, one anchor a clock hour of the last day and the grants that may still expire.
-- The migration's hook (db::pace::rebuild) fills it for keys read before it, from their last
-- two days of readings.
CREATE TABLE key_pace (
    api_key_id   INTEGER PRIMARY KEY REFERENCES api_keys(id) ON DELETE CASCADE,
    last_read_at INTEGER NOT NULL,
    state        TEXT    NOT NULL
);

-- ModelScope's optional endpoints, per key (a key belongs to one site): whether the points
-- ledger and today's earn rules answered its token, when each was last tried (a key they do
-- not answer is tried again now and then), and what earn rules said about today's login grant.
CREATE TABLE key_extras (
    api_key_id        INTEGER PRIMARY KEY REFERENCES api_keys(id) ON DELETE CASCADE,
    ledger_answered   INTEGER CHECK (ledger_answered IN (0, 1)),
    ledger_checked_at INTEGER,
    rules_answered    INTEGER CHECK (rules_answered IN (0, 1)),
    rules_checked_at  INTEGER,
    -- What earn rules said at rules_checked_at: 1 today's grant is claimed, 0 not yet.
    grant_claimed     INTEGER CHECK (grant_claimed IN (0, 1))
);

-- Three more alert rules: runs_out_within (the forecast says the points run out within
-- `threshold` hours), points_expiring (at least `threshold` points expire within `within_hours`)
-- and grant_unclaimed (by `at_time`, Beijing time, today's login grant has not come), beside
-- 0009's price_changed and its seen_change_id. The table is rebuilt (SQLite's documented way to
-- change a CHECK constraint; migrations run with foreign keys off, and alert_states and
-- deliveries keep pointing at it by name).
CREATE TABLE alert_rules_new (
    id              INTEGER PRIMARY KEY,
    monitor_id      INTEGER NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    condition       TEXT    NOT NULL CHECK (condition IN ('points_below', 'calls_below',
                                           'key_invalid', 'model_gone', 'daily_summary',
                                           'price_changed', 'runs_out_within',
                                           'points_expiring', 'grant_unclaimed')),
    threshold       REAL,
    model           TEXT,
    at_time         TEXT,
    within_hours    REAL,
    channel_id      INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    created_at      INTEGER NOT NULL,
    -- daily_summary: when the next one is due.
    next_summary_at INTEGER,
    -- price_changed: the newest price_changes row already told of (0009).
    seen_change_id  INTEGER NOT NULL DEFAULT 0
);
INSERT INTO alert_rules_new (id, monitor_id, user_id, condition, threshold, model, at_time,
        channel_id, created_at, next_summary_at, seen_change_id)
    SELECT id, monitor_id, user_id, condition, threshold, model, at_time,
        channel_id, created_at, next_summary_at, seen_change_id
    FROM alert_rules;
DROP TABLE alert_rules;
ALTER TABLE alert_rules_new RENAME TO alert_rules;
CREATE INDEX alert_rules_by_monitor ON alert_rules(monitor_id);
CREATE INDEX alert_rules_by_channel ON alert_rules(channel_id);
CREATE INDEX alert_rules_summaries ON alert_rules(next_summary_at) WHERE next_summary_at IS NOT NULL;
