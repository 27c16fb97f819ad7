-- The client address that began each passkey ceremony, so that one address can keep only a
-- few under way (a person finishes theirs, and a used one is deleted): a flood from one
-- address is refused before it fills the instance's cap for everyone. Ceremonies live five
-- minutes; the ones begun before this migration count as no address's.
ALTER TABLE passkey_ceremonies ADD COLUMN client_addr TEXT NOT NULL DEFAULT '';
CREATE INDEX passkey_ceremonies_by_address ON passkey_ceremonies(client_addr, expires_at);
