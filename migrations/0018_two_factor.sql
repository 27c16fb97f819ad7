-- Two-factor sign-in with TOTP (RFC 6238): one authenticator per account, its secret sealed by
-- the vault (bound to the user), pending until a first code confirms it. `last_step` is the
-- last time step a code was accepted for: a code is accepted once (RFC 6238 §5.2).
CREATE TABLE totp_secrets (
    user_id       INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    nonce         BLOB    NOT NULL,
    ciphertext    BLOB    NOT NULL,
    master_key_id TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    confirmed_at  INTEGER,
    last_step     INTEGER
);

-- Ten single-use recovery codes, shown once when TOTP is confirmed; only their SHA-256 is kept
-- (80 random bits each: nothing to guess from a copy of the database).
CREATE TABLE recovery_codes (
    id        INTEGER PRIMARY KEY,
    user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT    NOT NULL,
    used_at   INTEGER,
    UNIQUE (user_id, code_hash)
);

-- Half signed in: the password was right, the second factor is still to come. Only the SHA-256
-- of the browser's cookie is kept; it lasts five minutes and is never a session.
CREATE TABLE pending_sign_ins (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT    NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    next        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX pending_sign_ins_by_expiry ON pending_sign_ins(expires_at);
