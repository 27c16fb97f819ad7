-- The daily-grant hint (the dashboard, points alerts) asks one thing of a key's stored balances:
-- did the total rise since 00:00 Beijing time? It is kept per key as runs are stored
-- (db::runs::insert_run), so answering reads one row, not every reading of the day.
CREATE TABLE balance_rises (
    api_key_id   INTEGER PRIMARY KEY REFERENCES api_keys(id) ON DELETE CASCADE,
    -- The newest stored reading: its total (available plus frozen) and its run's start.
    last_total   REAL    NOT NULL,
    last_read_at INTEGER NOT NULL,
    -- The start of the newest run whose total was higher than the reading before it.
    rose_at      INTEGER
);

-- Runs stored before this migration: the same facts, read in the order the runs started.
INSERT INTO balance_rises (api_key_id, last_total, last_read_at, rose_at)
SELECT api_key_id,
       MAX(CASE WHEN newest = 1 THEN total END),
       MAX(started_at),
       MAX(CASE WHEN total > previous + 1e-9 THEN started_at END)
FROM (SELECT api_key_id, started_at, balance_total AS total,
             LAG(balance_total) OVER (PARTITION BY api_key_id ORDER BY started_at, id) AS previous,
             ROW_NUMBER() OVER (PARTITION BY api_key_id ORDER BY started_at DESC, id DESC) AS newest
      FROM queries
      WHERE api_key_id IS NOT NULL AND balance_total IS NOT NULL)
GROUP BY api_key_id;
