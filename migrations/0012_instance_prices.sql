-- Prices an admin set for the whole instance: a person's word for every user, below each
-- user's own setting and measurements (runs::prices).
CREATE TABLE instance_prices (
    model  TEXT    PRIMARY KEY,
    points REAL    NOT NULL,
    set_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    set_at INTEGER NOT NULL
) WITHOUT ROWID;
