-- Filters on what is posted (!source filter, !alerts filter): one row per rule, on a feed or a channel.
CREATE TABLE alert_filters (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    scope      TEXT    NOT NULL CHECK (scope IN ('source', 'channel')),
    scope_id   INTEGER NOT NULL,                -- sources.id or a channel id
    kind       TEXT    NOT NULL CHECK (kind IN ('words', 'has', 'topic', 'section', 'regex')),
    negate     INTEGER NOT NULL DEFAULT 0,
    rule_values TEXT   NOT NULL,                -- JSON list: what is compared (keys, normalised words, a pattern)
    labels     TEXT    NOT NULL,                -- JSON list: how the values read
    created_by INTEGER,
    created_at TEXT    NOT NULL
);
CREATE INDEX alert_filters_by_scope ON alert_filters (scope, scope_id);

-- An article a filter kept out of a channel, and which rule did, for !why; forgotten with the outbox.
CREATE TABLE filtered_alerts (
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    guild_id   INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    reasons    TEXT    NOT NULL,                -- JSON list: the reasons it would have been posted for
    rule       TEXT    NOT NULL,                -- the rule in words, as it read then
    scope      TEXT    NOT NULL,
    scope_id   INTEGER NOT NULL,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (article_id, channel_id)
) WITHOUT ROWID;
CREATE INDEX filtered_alerts_by_age ON filtered_alerts (created_at);
