-- Single sign-on with OpenID Connect. Follows 0019 (passkeys); the two touch different tables.
--
-- An account's link to an identity at a provider: the issuer and the subject (`sub`) the
-- provider names the person by, unique together; the email the provider last vouched for, to
-- show on the account page. A person signs in through the provider and lands in this account.
CREATE TABLE sso_identities (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    issuer     TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    email      TEXT,
    linked_at  INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    UNIQUE (issuer, subject)
);
CREATE INDEX sso_identities_by_user ON sso_identities(user_id);

-- An account's email (lower-case), set by its owner with the password on the account page or
-- taken from the provider's verified email when single sign-on made the account. With
-- `oidc_link_by_email` on, a first single sign-on whose verified email is this one lands in
-- this account. At most one account holds an email.
ALTER TABLE users ADD COLUMN email TEXT;
CREATE UNIQUE INDEX users_by_email ON users(email) WHERE email IS NOT NULL;
