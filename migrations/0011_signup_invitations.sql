-- Sign-up at run time: the mode an admin chose (the configuration gives the default until one
-- does), and invitations. Instance-wide settings are one row each, by name.
CREATE TABLE instance_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- An invitation link `/signup?invite=<code>`: only the code's SHA-256 is kept. Used once, before
-- it expires; revoking deletes it. The account it made is remembered for the admin's list.
CREATE TABLE invitations (
    id         INTEGER PRIMARY KEY,
    code_hash  TEXT    NOT NULL UNIQUE,
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    used_by    INTEGER REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX invitations_by_time ON invitations(created_at DESC);
