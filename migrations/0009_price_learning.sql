-- Prices learned from every run, rows that say whether they were checked, the international
-- site's monthly headers, the price census, and price changes as news (issue 17).

-- A clean probe run of a signed-in user is an equation: the prices of the models that answered
-- add up to what it cost. `total` is in thousandths of a point; `models` a JSON array of the
-- answered models, repeats kept.
CREATE TABLE price_equations (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    models     TEXT    NOT NULL,
    total      INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX price_equations_by_user ON price_equations(user_id);
-- Which equations name a model: storing a run reads only the equations of its models.
CREATE TABLE price_equation_models (
    user_id     INTEGER NOT NULL,
    model       TEXT    NOT NULL,
    equation_id INTEGER NOT NULL REFERENCES price_equations(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, model, equation_id)
) WITHOUT ROWID;
CREATE INDEX price_equation_models_by_equation ON price_equation_models(equation_id);

-- Per user and model, the prices still possible after the equations (a JSON array, cheapest
-- first); one left is an inferred price. Pages read these rows, never the equations.
CREATE TABLE price_candidates (
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    model      TEXT    NOT NULL,
    candidates TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, model)
) WITHOUT ROWID;

-- A measurement that disagrees with the user's known price waits here for a second one that
-- agrees before it replaces it.
CREATE TABLE price_pending (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    model   TEXT    NOT NULL,
    points  REAL    NOT NULL,
    seen_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, model)
) WITHOUT ROWID;

-- A model's price changed for a user: news on its rows, in presets and for `price_changed`.
CREATE TABLE price_changes (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    model      TEXT    NOT NULL,
    old_points REAL    NOT NULL,
    new_points REAL    NOT NULL,
    source     TEXT    NOT NULL,
    changed_at INTEGER NOT NULL
);
CREATE INDEX price_changes_by_user_model ON price_changes(user_id, model, id DESC);
CREATE INDEX price_changes_by_user ON price_changes(user_id, id);

-- Rows: whether a chat call was made (NULL on older rows: then a probe run's rows were), the
-- candidates the row's range came from, and the monthly headers.
ALTER TABLE query_results ADD COLUMN checked INTEGER;
ALTER TABLE query_results ADD COLUMN price_candidates TEXT;
ALTER TABLE query_results ADD COLUMN model_month_request_limit INTEGER;
ALTER TABLE query_results ADD COLUMN model_month_request_remaining INTEGER;
ALTER TABLE latest_results ADD COLUMN model_month_request_limit INTEGER;
ALTER TABLE latest_results ADD COLUMN model_month_request_remaining INTEGER;

-- Runs: a price census; why the balance difference teaches nothing (`shared`, `outside`,
-- `unsettled`); the shared window's total when the run cannot claim it as its own cost.
ALTER TABLE queries ADD COLUMN census INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queries ADD COLUMN unclean TEXT;
ALTER TABLE queries ADD COLUMN shared_points_spent REAL;

-- `price_changed` rules, and per rule the last change it told of. The table is rebuilt
-- (SQLite's documented way to change a CHECK constraint); migrations run with foreign keys off.
CREATE TABLE alert_rules_new (
    id              INTEGER PRIMARY KEY,
    monitor_id      INTEGER NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    condition       TEXT    NOT NULL CHECK (condition IN ('points_below', 'calls_below',
                                           'key_invalid', 'model_gone', 'daily_summary',
                                           'price_changed')),
    threshold       REAL,
    model           TEXT,
    at_time         TEXT,
    channel_id      INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    created_at      INTEGER NOT NULL,
    next_summary_at INTEGER,
    -- price_changed: the newest price_changes row already told of.
    seen_change_id  INTEGER NOT NULL DEFAULT 0
);
INSERT INTO alert_rules_new (id, monitor_id, user_id, condition, threshold, model, at_time,
        channel_id, created_at, next_summary_at)
    SELECT id, monitor_id, user_id, condition, threshold, model, at_time, channel_id,
        created_at, next_summary_at
    FROM alert_rules;
DROP TABLE alert_rules;
ALTER TABLE alert_rules_new RENAME TO alert_rules;
CREATE INDEX alert_rules_by_monitor ON alert_rules(monitor_id);
CREATE INDEX alert_rules_by_channel ON alert_rules(channel_id);
CREATE INDEX alert_rules_summaries ON alert_rules(next_summary_at) WHERE next_summary_at IS NOT NULL;
