-- Passkeys (WebAuthn): an account's random user handle (64 bytes, never its id or name), its
-- credentials (the public key and flags as the webauthn_rp crate encodes them: not secret, but
-- a signature counter to check), and the ceremonies under way. A ceremony's state is kept here,
-- on the server, keyed by its challenge and bound to the browser that began it (`binding`: the
-- SHA-256 of that browser's session, half-signed-in or CSRF cookie); it is used once and lasts
-- five minutes.
CREATE TABLE webauthn_users (
    user_id     INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    user_handle BLOB    NOT NULL UNIQUE
);

CREATE TABLE passkeys (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    credential_id BLOB    NOT NULL UNIQUE,
    transports    INTEGER NOT NULL,
    static_state  BLOB    NOT NULL,
    dynamic_state BLOB    NOT NULL,
    name          TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
);
CREATE INDEX passkeys_by_user ON passkeys(user_id);

CREATE TABLE passkey_ceremonies (
    challenge  BLOB    PRIMARY KEY,
    purpose    TEXT    NOT NULL,
    binding    TEXT    NOT NULL,
    user_id    INTEGER REFERENCES users(id) ON DELETE CASCADE,
    state      BLOB    NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX passkey_ceremonies_by_expiry ON passkey_ceremonies(expires_at);
