-- Monitoring and alerts: scheduled checks of saved keys, alert rules, notification channels and
-- the delivery log. Times are unix seconds (UTC). Everything cascades away with its user.

-- A schedule over one or more saved keys: a free balance check, or a preset probed.
CREATE TABLE monitors (
    id             INTEGER PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind           TEXT    NOT NULL CHECK (kind IN ('check', 'probe')),
    -- A probe monitor without its preset has nothing to do: it goes with it.
    preset_id      INTEGER REFERENCES presets(id) ON DELETE CASCADE,
    -- Exactly one of the two: every N minutes, or `08:00,20:00` (Beijing time).
    every_minutes  INTEGER,
    at_times       TEXT,
    -- Points a probe monitor may spend per Beijing day (NULL for free checks).
    daily_cost_cap REAL,
    -- Seconds added to every slot, so monitors due the same minute spread out.
    jitter_secs    INTEGER NOT NULL DEFAULT 0,
    paused         INTEGER NOT NULL DEFAULT 0,
    -- "Run now": runs once at the next tick, paused or not, without moving the schedule.
    run_requested  INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    next_run_at    INTEGER NOT NULL,
    -- Held by the scheduler while a run goes; a run whose server died frees it on expiry.
    lease_until    INTEGER,
    last_run_at    INTEGER,
    -- `ok`, `failed` or `skipped` (the daily cap), with our own reason code.
    last_outcome   TEXT,
    last_reason    TEXT,
    failures       INTEGER NOT NULL DEFAULT 0,
    -- What this monitor's probes spent on `spent_day` (the Beijing midnight it started).
    spent_day      INTEGER,
    spent_points   REAL    NOT NULL DEFAULT 0,
    CHECK ((every_minutes IS NULL) <> (at_times IS NULL)),
    CHECK (kind = 'check' OR preset_id IS NOT NULL)
);
CREATE INDEX monitors_due ON monitors(paused, next_run_at);
CREATE INDEX monitors_requested ON monitors(id) WHERE run_requested = 1;
CREATE INDEX monitors_by_user ON monitors(user_id, id);
CREATE INDEX monitors_by_preset ON monitors(preset_id);

-- The keys a monitor watches, with the newest thing it saw for each.
CREATE TABLE monitor_keys (
    monitor_id     INTEGER NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
    api_key_id     INTEGER NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    last_run_id    INTEGER REFERENCES queries(id) ON DELETE SET NULL,
    last_run_at    INTEGER,
    -- `ok` or an error code (`invalid_key`, `timeout`, …).
    last_code      TEXT,
    last_available REAL,
    PRIMARY KEY (monitor_id, api_key_id)
) WITHOUT ROWID;
CREATE INDEX monitor_keys_by_key ON monitor_keys(api_key_id);
CREATE INDEX monitor_keys_by_run ON monitor_keys(last_run_id);

-- A monitor whose last key was deleted stops: it goes too.
CREATE TRIGGER monitors_without_keys AFTER DELETE ON monitor_keys
WHEN NOT EXISTS (SELECT 1 FROM monitor_keys WHERE monitor_id = OLD.monitor_id)
BEGIN
    DELETE FROM monitors WHERE id = OLD.monitor_id;
END;

-- Where messages go. Secrets (URLs with tokens, bot secrets, SMTP passwords) are one JSON
-- document sealed with AES-256-GCM (the channel key, bound to user and row); `settings` holds
-- only what is not secret, `hint` what the page shows (the host and the last four characters).
CREATE TABLE channels (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL CHECK (kind IN ('webhook', 'dingtalk', 'feishu', 'wecom',
                                                   'telegram', 'bark', 'serverchan', 'email')),
    name          TEXT    NOT NULL,
    settings      TEXT    NOT NULL,
    hint          TEXT    NOT NULL,
    nonce         BLOB    NOT NULL,
    ciphertext    BLOB    NOT NULL,
    master_key_id TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (user_id, name COLLATE NOCASE)
);

-- An alert on a monitor, sent to one channel.
CREATE TABLE alert_rules (
    id              INTEGER PRIMARY KEY,
    monitor_id      INTEGER NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    condition       TEXT    NOT NULL CHECK (condition IN ('points_below', 'calls_below',
                                           'key_invalid', 'model_gone', 'daily_summary')),
    threshold       REAL,
    model           TEXT,
    at_time         TEXT,
    channel_id      INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    created_at      INTEGER NOT NULL,
    -- daily_summary: when the next one is due.
    next_summary_at INTEGER
);
CREATE INDEX alert_rules_by_monitor ON alert_rules(monitor_id);
CREATE INDEX alert_rules_by_channel ON alert_rules(channel_id);
CREATE INDEX alert_rules_summaries ON alert_rules(next_summary_at) WHERE next_summary_at IS NOT NULL;

-- Whether a rule's condition holds for one key: an alert fires once when it starts and once
-- when it clears.
CREATE TABLE alert_states (
    rule_id    INTEGER NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
    api_key_id INTEGER NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    active     INTEGER NOT NULL,
    since      INTEGER NOT NULL,
    PRIMARY KEY (rule_id, api_key_id)
) WITHOUT ROWID;
CREATE INDEX alert_states_by_key ON alert_states(api_key_id);

-- Every message sent or tried. Nothing secret: the message is built from labels, masked keys
-- and numbers, and errors are our own words plus the receiver's short answer, redacted.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    channel_id      INTEGER REFERENCES channels(id) ON DELETE SET NULL,
    channel_name    TEXT    NOT NULL,
    channel_kind    TEXT    NOT NULL,
    monitor_id      INTEGER REFERENCES monitors(id) ON DELETE SET NULL,
    rule_id         INTEGER REFERENCES alert_rules(id) ON DELETE SET NULL,
    event           TEXT    NOT NULL CHECK (event IN ('alert', 'recovered', 'summary', 'test')),
    payload         TEXT    NOT NULL,
    message         TEXT    NOT NULL,
    -- `pending` (waiting for a try), `sent`, `failed` (after the last try) or `held` (over the
    -- channel's hourly cap, not sent).
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'held')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL DEFAULT 3,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER,
    sent_at         INTEGER
);
CREATE INDEX deliveries_by_user ON deliveries(user_id, created_at DESC, id DESC);
CREATE INDEX deliveries_pending ON deliveries(next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_by_channel ON deliveries(channel_id, created_at);
CREATE INDEX deliveries_by_monitor ON deliveries(monitor_id);
CREATE INDEX deliveries_by_rule ON deliveries(rule_id);
