-- 0005_key_versions.sql for PostgreSQL (no WITHOUT ROWID).

CREATE TABLE key_versions (
    name    TEXT    PRIMARY KEY,
    version INTEGER NOT NULL
);
