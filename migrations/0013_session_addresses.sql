-- Where a session signed in from, shown beside its device on /account.
ALTER TABLE sessions ADD COLUMN client_addr TEXT NOT NULL DEFAULT '';
