-- Why a row failed in our own words (a stable name such as `connect` or `too_long`), beside
-- upstream's words in error_message. Rows stored before this have it NULL.
ALTER TABLE query_results ADD COLUMN error_reason TEXT;
