-- 0008_digests.sql for PostgreSQL: Discord ids are BIGINT.

ALTER TABLE guild_settings ADD COLUMN timezone TEXT;  -- an IANA zone name; NULL: UTC

-- One digest per channel. last_period_end is the end of the latest period planned (UTC): a period is
-- planned once, in the transaction that writes its outbox row, so it is posted once across restarts.
CREATE TABLE digests (
    channel_id      BIGINT  PRIMARY KEY,
    guild_id        BIGINT  NOT NULL,
    cadence         TEXT    NOT NULL CHECK (cadence IN ('daily', 'weekly')),
    weekday         INTEGER CHECK (weekday BETWEEN 0 AND 6),   -- weekly: 0 = Monday
    at_minute       INTEGER NOT NULL CHECK (at_minute BETWEEN 0 AND 1439),  -- local time of day
    subject_kind    TEXT    CHECK (subject_kind IN ('entity', 'topic')),
    subject_key     TEXT,
    subject_name    TEXT,
    set_by          BIGINT,
    created_at      TEXT    NOT NULL,
    last_period_end TEXT
);
CREATE INDEX digests_by_guild ON digests (guild_id);
