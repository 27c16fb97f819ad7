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
