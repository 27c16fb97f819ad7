-- A delivery being sent right now holds its turn until `sending_until` (its lease), so every
-- server on the database sees which users' and channels' messages are in flight: one attempt
-- per channel, a few per user (issue 19, fair shares of the sending slots). Cleared when the
-- attempt is recorded; a server that died mid-send lets it go when the lease runs out.
ALTER TABLE deliveries ADD COLUMN sending_until INTEGER;
CREATE INDEX deliveries_in_flight ON deliveries(sending_until) WHERE sending_until IS NOT NULL;
