-- Points-first: a saved key's site; a run's kind, site, balance before and after and what it
-- cost; each row's price; measured and set prices. `queries` is rebuilt (SQLite's documented
-- way to change a CHECK constraint) so scheduled runs can be stored later; the app runs its
-- migrations with foreign keys off and checks them after.

ALTER TABLE api_keys ADD COLUMN site TEXT NOT NULL DEFAULT 'cn' CHECK (site IN ('cn', 'ai'));

CREATE TABLE queries_new (
    id                INTEGER PRIMARY KEY,
    user_id           INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    api_key_id        INTEGER REFERENCES api_keys(id) ON DELETE SET NULL,
    key_label         TEXT,
    preset_id         INTEGER REFERENCES presets(id) ON DELETE SET NULL,
    preset_name       TEXT,
    source            TEXT    NOT NULL CHECK (source IN ('web', 'api', 'schedule')),
    -- `probe` calls every model; `check` reads the free balance only.
    kind              TEXT    NOT NULL DEFAULT 'probe' CHECK (kind IN ('probe', 'check')),
    site              TEXT    NOT NULL DEFAULT 'cn',
    started_at        INTEGER NOT NULL,
    duration_ms       INTEGER NOT NULL,
    model_count       INTEGER NOT NULL,
    ok_count          INTEGER NOT NULL,
    failed_count      INTEGER NOT NULL,
    -- The balance read after the probes settled (or the one reading of a check).
    balance_total     REAL,
    balance_available REAL,
    balance_frozen    REAL,
    balance_error     TEXT,
    -- The balance read before the first probe.
    before_total      REAL,
    before_available  REAL,
    before_frozen     REAL,
    -- before_available - balance_available, when both were read and the difference is >= 0.
    points_spent      REAL
);
INSERT INTO queries_new (id, user_id, api_key_id, key_label, preset_id, preset_name, source,
        started_at, duration_ms, model_count, ok_count, failed_count,
        balance_total, balance_available, balance_frozen, balance_error)
    SELECT id, user_id, api_key_id, key_label, preset_id, preset_name, source,
        started_at, duration_ms, model_count, ok_count, failed_count,
        balance_total, balance_available, balance_frozen, balance_error
    FROM queries;
DROP TABLE queries;
ALTER TABLE queries_new RENAME TO queries;
CREATE INDEX queries_by_user_time ON queries(user_id, started_at DESC, id DESC);
CREATE INDEX queries_by_key_time ON queries(api_key_id, started_at DESC, id DESC);
CREATE INDEX queries_by_preset_time ON queries(preset_id, started_at DESC, id DESC);

ALTER TABLE query_results ADD COLUMN points_per_call REAL;
ALTER TABLE query_results ADD COLUMN price_source TEXT;

-- What one-model runs cost (only the tiers 0.5, 1 and 2 are recorded).
CREATE TABLE price_measurements (
    id          INTEGER PRIMARY KEY,
    model       TEXT    NOT NULL,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    api_key_id  INTEGER REFERENCES api_keys(id) ON DELETE SET NULL,
    points      REAL    NOT NULL,
    measured_at INTEGER NOT NULL
);
CREATE INDEX price_measurements_by_model ON price_measurements(model, user_id, measured_at DESC);
CREATE INDEX price_measurements_by_user ON price_measurements(user_id);
CREATE INDEX price_measurements_by_key ON price_measurements(api_key_id);

-- A user's own price for a model; overrides any measurement, for them only.
CREATE TABLE price_settings (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    model   TEXT    NOT NULL,
    points  REAL    NOT NULL,
    set_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, model)
) WITHOUT ROWID;
