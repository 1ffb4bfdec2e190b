-- 0009_role_follows.sql for PostgreSQL: Discord ids are BIGINT, no WITHOUT ROWID.

-- Role follows: a manager has a role pinged when a followed entity or topic is central to a new article
-- (!follow <name or topic> @role). Kept apart from members' follows: they are the server's, not a user's.
CREATE TABLE role_follows (
    guild_id   BIGINT  NOT NULL,
    role_id    BIGINT  NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('entity', 'topic')),
    target_key TEXT    NOT NULL,      -- entities.key or topics.key, as in follows
    name       TEXT    NOT NULL,
    channel_id BIGINT  NOT NULL,      -- where it was set: the pings go there when the server has no alert channel
    created_by BIGINT  NOT NULL,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, role_id, kind, target_key)
);
CREATE INDEX role_follows_by_target ON role_follows (kind, target_key);

-- The roles an alert pings (besides its users), checked again when it is sent: a role that was made
-- unmentionable meanwhile is named but not pinged.
ALTER TABLE outbox ADD COLUMN ping_role_ids TEXT NOT NULL DEFAULT '[]';
