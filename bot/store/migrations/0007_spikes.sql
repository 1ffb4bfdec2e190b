-- Spike alerts (!alerts trending here, !follow <name> spikes), and posts in the outbox that are not an
-- article's alert: a spike, a digest.

-- The channel of a server that gets spikes: a name or topic suddenly covered far more than usual.
CREATE TABLE trending_channels (
    guild_id   INTEGER PRIMARY KEY,
    channel_id INTEGER NOT NULL,
    enabled    INTEGER NOT NULL DEFAULT 1,
    set_by     INTEGER,
    updated_at TEXT    NOT NULL
);

-- Spikes announced, per server, subject and window: a spike is posted when it starts, and is the same
-- spike while it is seen again within a window's length of last_seen_at.
CREATE TABLE spikes (
    guild_id     INTEGER NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('entity', 'topic')),
    subject_key  TEXT    NOT NULL,     -- entities.key or topics.key
    window       TEXT    NOT NULL,     -- '24h'
    started_at   TEXT    NOT NULL,
    last_seen_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, kind, subject_key, window)
) WITHOUT ROWID;

-- 1: the member is pinged when it spikes, not for every article about it.
ALTER TABLE follows ADD COLUMN spikes INTEGER NOT NULL DEFAULT 0;

-- The outbox gains posts that are no article's alert: kind 'spike' or 'digest', with no article, a key
-- that makes each planned once (post_key) and what it shows, rendered when planned (payload, JSON).
CREATE TABLE outbox_new (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL DEFAULT 'article' CHECK (kind IN ('article', 'spike', 'digest')),
    article_id      INTEGER REFERENCES articles (id) ON DELETE CASCADE,
    post_key        TEXT    UNIQUE,
    payload         TEXT,
    guild_id        INTEGER NOT NULL,
    channel_id      INTEGER NOT NULL,
    title_key       TEXT    NOT NULL,
    ping_user_ids   TEXT    NOT NULL DEFAULT '[]',
    reasons         TEXT    NOT NULL,
    nonce           TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'digested', 'dropped')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    sent_at         TEXT,
    message_id      INTEGER,
    error           TEXT,
    pings_left      TEXT    NOT NULL DEFAULT '[]',
    unknown_since   TEXT,
    CHECK ((kind = 'article') = (article_id IS NOT NULL)),
    CHECK ((kind = 'article') = (post_key IS NULL)),
    UNIQUE (article_id, channel_id)
);
INSERT INTO outbox_new (id, article_id, guild_id, channel_id, title_key, ping_user_ids, reasons, nonce, status,
                        attempts, next_attempt_at, created_at, sent_at, message_id, error, pings_left, unknown_since)
SELECT id, article_id, guild_id, channel_id, title_key, ping_user_ids, reasons, nonce, status,
       attempts, next_attempt_at, created_at, sent_at, message_id, error, pings_left, unknown_since FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX outbox_by_channel ON outbox (channel_id, created_at);
CREATE INDEX outbox_sent_by_channel ON outbox (channel_id, sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX outbox_by_article ON outbox (article_id, guild_id);
CREATE INDEX outbox_pings_due ON outbox (next_attempt_at, id) WHERE pings_left != '[]';
