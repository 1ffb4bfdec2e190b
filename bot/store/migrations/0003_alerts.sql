-- Alerts: where they go, who follows what, feed sources, and the outbox every alert passes through.

-- The channel of a server that gets every new article (!alerts here / !alerts off).
CREATE TABLE alert_channels (
    guild_id   INTEGER PRIMARY KEY,
    channel_id INTEGER NOT NULL,
    enabled    INTEGER NOT NULL DEFAULT 1,
    set_by     INTEGER,
    updated_at TEXT    NOT NULL
);
CREATE INDEX alert_channels_by_channel ON alert_channels (channel_id);

-- !follow: a member of a server follows an entity or a topic; channel_id is where they asked, used
-- for their pings when the server has no alert channel.
CREATE TABLE follows (
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('entity', 'topic')),
    target_key TEXT    NOT NULL,      -- entities.key or topics.key: survives re-indexing
    name       TEXT    NOT NULL,
    channel_id INTEGER NOT NULL,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, user_id, kind, target_key)
) WITHOUT ROWID;
CREATE INDEX follows_by_target ON follows (kind, target_key);

-- RSS and Atom feeds added with !source add.
CREATE TABLE sources (
    id               INTEGER PRIMARY KEY,
    guild_id         INTEGER NOT NULL,
    channel_id       INTEGER NOT NULL,  -- where it was added: notices go there
    url              TEXT    NOT NULL,
    title            TEXT,
    interval_minutes REAL    NOT NULL,
    etag             TEXT,
    last_modified    TEXT,
    last_polled_at   TEXT,
    next_poll_at     TEXT    NOT NULL,
    failures         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    paused           INTEGER NOT NULL DEFAULT 0,
    pause_notified   INTEGER NOT NULL DEFAULT 0,
    added_by         INTEGER,
    created_at       TEXT    NOT NULL,
    UNIQUE (guild_id, url)
);
CREATE INDEX sources_due ON sources (next_poll_at) WHERE paused = 0;

-- Every alert, written in the same transaction as its article, then sent by the dispatcher.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    article_id      INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    guild_id        INTEGER NOT NULL,
    channel_id      INTEGER NOT NULL,
    title_key       TEXT    NOT NULL,   -- normalised title, to catch the same story with other text
    ping_user_ids   TEXT    NOT NULL DEFAULT '[]',
    reasons         TEXT    NOT NULL,   -- JSON list of {"kind", "name", "id"?} for !why
    nonce           TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'digested', 'dropped')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    sent_at         TEXT,
    message_id      INTEGER,
    error           TEXT,
    UNIQUE (article_id, channel_id)
);
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX outbox_by_channel ON outbox (channel_id, created_at);
CREATE INDEX outbox_sent_by_channel ON outbox (channel_id, sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX outbox_by_article ON outbox (article_id, guild_id);
