-- Times are unix seconds (UTC). Every user-owned row cascades away with its user.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);

-- The cookie holds a random 256-bit token; only its SHA-256 is stored.
CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    token_hash   TEXT    NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token   TEXT    NOT NULL,
    user_agent   TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions(user_id);

-- Failed sign-ins, for throttling by account and by client address.
CREATE TABLE login_failures (
    id          INTEGER PRIMARY KEY,
    username    TEXT    NOT NULL COLLATE NOCASE,
    client_addr TEXT    NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX login_failures_by_user ON login_failures(username, at);
CREATE INDEX login_failures_by_addr ON login_failures(client_addr, at);

-- Saved ModelScope keys: AES-256-GCM ciphertext only, bound to (user, key id) and sealed
-- with the master key named by master_key_id. last_four is all that is ever shown.
CREATE TABLE api_keys (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    label         TEXT    NOT NULL,
    nonce         BLOB    NOT NULL,
    ciphertext    BLOB    NOT NULL,
    master_key_id TEXT    NOT NULL,
    last_four     TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    UNIQUE (user_id, label COLLATE NOCASE)
);

CREATE TABLE presets (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    models     TEXT    NOT NULL, -- JSON array of model ids, in order
    is_default INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (user_id, name COLLATE NOCASE)
);

-- One stored run. Key label and preset name are copied so history reads well after deletes.
CREATE TABLE queries (
    id                INTEGER PRIMARY KEY,
    user_id           INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    api_key_id        INTEGER REFERENCES api_keys(id) ON DELETE SET NULL,
    key_label         TEXT,
    preset_id         INTEGER REFERENCES presets(id) ON DELETE SET NULL,
    preset_name       TEXT,
    source            TEXT    NOT NULL CHECK (source IN ('web', 'api')),
    started_at        INTEGER NOT NULL,
    duration_ms       INTEGER NOT NULL,
    model_count       INTEGER NOT NULL,
    ok_count          INTEGER NOT NULL,
    failed_count      INTEGER NOT NULL,
    balance_total     REAL,
    balance_available REAL,
    balance_frozen    REAL,
    balance_error     TEXT
);
CREATE INDEX queries_by_user_time ON queries(user_id, started_at DESC, id DESC);
CREATE INDEX queries_by_key_time ON queries(api_key_id, started_at DESC, id DESC);
-- The preset filter, and SET NULL when a preset is deleted.
CREATE INDEX queries_by_preset_time ON queries(preset_id, started_at DESC, id DESC);

CREATE TABLE query_results (
    id                      INTEGER PRIMARY KEY,
    query_id                INTEGER NOT NULL REFERENCES queries(id) ON DELETE CASCADE,
    position                INTEGER NOT NULL,
    model                   TEXT    NOT NULL,
    request_limit           INTEGER,
    request_remaining       INTEGER,
    model_request_limit     INTEGER,
    model_request_remaining INTEGER,
    status                  INTEGER,
    error_code              TEXT,
    error_message           TEXT,
    latency_ms              INTEGER NOT NULL
);
CREATE INDEX query_results_by_query ON query_results(query_id, position);
CREATE INDEX query_results_by_model ON query_results(model, query_id);

-- Personal access tokens for the JSON API: only the SHA-256 of the token is stored.
CREATE TABLE access_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX access_tokens_by_user ON access_tokens(user_id);

-- The newest known numbers per (saved key, model), kept up to date as runs are stored, so the
-- dashboard reads a handful of rows instead of scanning history.
CREATE TABLE latest_results (
    api_key_id              INTEGER NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    model                   TEXT    NOT NULL,
    query_id                INTEGER NOT NULL REFERENCES queries(id) ON DELETE CASCADE,
    checked_at              INTEGER NOT NULL,
    request_limit           INTEGER,
    request_remaining       INTEGER,
    model_request_limit     INTEGER,
    model_request_remaining INTEGER,
    error_code              TEXT,
    PRIMARY KEY (api_key_id, model)
) WITHOUT ROWID;
CREATE INDEX latest_results_by_query ON latest_results(query_id);
