-- History as a ledger (issue 20): a five-minute monitor stores 288 free checks a key a day, so
-- /history folds a key's scheduled free checks of one Beijing day into one row, with the day's
-- count and lowest and highest available points, and probes stay visible. The newest check of
-- the day stands for the day in the listing; the others are still stored and listed on their own
-- when asked for (`?checks=each`). The list also filters by kind, source and status.

-- One key's scheduled free checks on one Beijing day (`day` is its 00:00, unix seconds). Kept up
-- to date as checks are stored (db::check_days::file_check) and deleted (the trigger below).
CREATE TABLE check_days (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    api_key_id  INTEGER REFERENCES api_keys(id) ON DELETE SET NULL,
    day         INTEGER NOT NULL,
    runs        INTEGER NOT NULL,
    -- Checks that failed (their balance could not be read).
    failed_runs INTEGER NOT NULL,
    -- The lowest and highest available points read that day (NULL: none was read).
    low         REAL,
    high        REAL
);
CREATE UNIQUE INDEX check_days_by_key_day ON check_days(api_key_id, day);
CREATE INDEX check_days_by_user ON check_days(user_id);

-- The day a scheduled free check is filed under (NULL for every other run).
ALTER TABLE queries ADD COLUMN check_day_id INTEGER;
-- How a run shows when scheduled checks are folded: 2 listed (every run that is not a filed
-- check, and the newest check of its day, which stands for the day); 1 the newest check of its
-- day with its outcome, standing for those under a status filter; 0 folded into its day's row.
ALTER TABLE queries ADD COLUMN head INTEGER NOT NULL DEFAULT 2;
-- 1 when something in the run failed (a model or the balance read): the status filter.
ALTER TABLE queries ADD COLUMN any_failed INTEGER
    GENERATED ALWAYS AS (failed_count > 0 OR balance_error IS NOT NULL) VIRTUAL;

-- Scheduled checks stored before this, filed the same way.
INSERT INTO check_days (user_id, api_key_id, day, runs, failed_runs, low, high)
SELECT user_id, api_key_id, day, count(*), sum(any_failed), min(balance_available),
       max(balance_available)
FROM (SELECT user_id, api_key_id, any_failed, balance_available,
             started_at - ((started_at + 28800) % 86400 + 86400) % 86400 AS day
      FROM queries
      WHERE source = 'schedule' AND kind = 'check' AND api_key_id IS NOT NULL)
GROUP BY api_key_id, day;

UPDATE queries SET head = 0, check_day_id = (
    SELECT d.id FROM check_days d
    WHERE d.api_key_id = queries.api_key_id
      AND d.day = queries.started_at - ((queries.started_at + 28800) % 86400 + 86400) % 86400)
WHERE source = 'schedule' AND kind = 'check' AND api_key_id IS NOT NULL;
UPDATE queries SET head = 1 WHERE id IN (
    SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY check_day_id, any_failed
                                                  ORDER BY started_at DESC, id DESC) AS n
                    FROM queries WHERE check_day_id IS NOT NULL)
    WHERE n = 1);
UPDATE queries SET head = 2 WHERE id IN (
    SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY check_day_id
                                                  ORDER BY started_at DESC, id DESC) AS n
                    FROM queries WHERE check_day_id IS NOT NULL)
    WHERE n = 1);

-- The folded list, newest first: every listed run of a user; of a key (each outcome, listed or
-- standing for its outcome); by source, kind and outcome. Each is walked in the list's order.
CREATE INDEX queries_listed_by_user_time ON queries(user_id, started_at DESC, id DESC)
    WHERE head = 2;
CREATE INDEX queries_listed_by_key ON queries(api_key_id, any_failed, head, started_at DESC, id DESC);
CREATE INDEX queries_by_user_class
    ON queries(user_id, source, kind, any_failed, head, started_at DESC, id DESC);
-- A day's checks, newest first with each outcome: which check stands for the day.
CREATE INDEX queries_by_check_day ON queries(check_day_id, any_failed, started_at DESC, id DESC)
    WHERE check_day_id IS NOT NULL;

-- A deleted check leaves its day: the counts go down (the lowest and highest are read again when
-- it was one of them), the day goes with its last check, and when it stood for the day (or for
-- its outcome) the newest check left takes its place. Skipped when the day is already gone
-- (db::users::delete removes a user's days first, so deleting an account does no filing).
CREATE TRIGGER check_days_after_delete AFTER DELETE ON queries
WHEN OLD.check_day_id IS NOT NULL
     AND EXISTS (SELECT 1 FROM check_days WHERE id = OLD.check_day_id)
BEGIN
    UPDATE check_days SET
        runs = runs - 1,
        failed_runs = failed_runs - OLD.any_failed,
        low = CASE WHEN OLD.balance_available <= low THEN
            (SELECT min(balance_available) FROM queries WHERE check_day_id = OLD.check_day_id)
            ELSE low END,
        high = CASE WHEN OLD.balance_available >= high THEN
            (SELECT max(balance_available) FROM queries WHERE check_day_id = OLD.check_day_id)
            ELSE high END
    WHERE id = OLD.check_day_id;
    DELETE FROM check_days WHERE id = OLD.check_day_id AND runs <= 0;
    UPDATE queries SET head = 1 WHERE OLD.head > 0 AND id = (
        SELECT id FROM queries
        WHERE check_day_id = OLD.check_day_id AND any_failed = OLD.any_failed
        ORDER BY started_at DESC, id DESC LIMIT 1);
    UPDATE queries SET head = 2 WHERE OLD.head = 2 AND id = (
        SELECT id FROM queries
        WHERE check_day_id = OLD.check_day_id AND any_failed IN (0, 1) AND head > 0
        ORDER BY started_at DESC, id DESC LIMIT 1);
END;
