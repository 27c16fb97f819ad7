-- Sign-in throttling by (account, address) and by address; sign-ups throttled per address.
CREATE INDEX login_failures_by_user_addr ON login_failures(username, client_addr, at);

-- Sign-ups started from a client address, for the per-address hourly limit. Only the address
-- and the time: nothing ties a row to the account it made.
CREATE TABLE signup_attempts (
    id          INTEGER PRIMARY KEY,
    client_addr TEXT    NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX signup_attempts_by_addr ON signup_attempts(client_addr, at);

-- One row that /health rewrites to prove the database still takes writes.
CREATE TABLE health_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at INTEGER NOT NULL
);
