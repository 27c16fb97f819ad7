-- Running an instance for a team: admins, disabled accounts, when a user was last seen, and
-- one-time password-reset links an admin hands over by other means.

-- The first account on a new instance is the admin (users::create); on an instance made before
-- admins existed, its oldest account is.
ALTER TABLE users ADD COLUMN is_admin INTEGER NOT NULL DEFAULT 0;
-- Set while an admin has disabled the account: its sessions and tokens are not honoured and its
-- monitors are not run, until it is enabled again (nothing of it is deleted).
ALTER TABLE users ADD COLUMN disabled_at INTEGER;
-- A session's last-seen time (written at most once a minute) and its sign-in, copied by the
-- triggers below, so the session lookup stays one statement and its touch one more.
ALTER TABLE users ADD COLUMN last_seen_at INTEGER;
UPDATE users SET last_seen_at = (SELECT max(last_seen_at) FROM sessions WHERE user_id = users.id);
CREATE TRIGGER sessions_seen_user AFTER UPDATE OF last_seen_at ON sessions
BEGIN
    UPDATE users SET last_seen_at = NEW.last_seen_at WHERE id = NEW.user_id;
END;
CREATE TRIGGER sessions_started_user AFTER INSERT ON sessions
BEGIN
    UPDATE users SET last_seen_at = NEW.last_seen_at WHERE id = NEW.user_id;
END;
UPDATE users SET is_admin = 1 WHERE id = (SELECT min(id) FROM users);
CREATE INDEX users_admins ON users(id) WHERE is_admin = 1;

-- A password-reset link: only the SHA-256 of its code is kept; it works once, within its hour.
CREATE TABLE password_resets (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX password_resets_by_user ON password_resets(user_id);
