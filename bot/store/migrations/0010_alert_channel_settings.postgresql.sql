-- 0010_alert_channel_settings.sql for PostgreSQL: Discord ids are BIGINT.

-- How alerts are posted in a channel. `format` (!alerts format): 'compact' (a link and the title), 'card'
-- (an embed with the summary) or 'full' (the summary, the names and the topics). `threads` (!alerts here
-- threads): each alert in a text channel opens a thread for discussion. A channel without a row is 'full'
-- without threads; a forum channel always gets one post per article.
CREATE TABLE alert_channel_settings (
    channel_id BIGINT  PRIMARY KEY,
    guild_id   BIGINT  NOT NULL,
    format     TEXT    NOT NULL DEFAULT 'full' CHECK (format IN ('compact', 'card', 'full')),
    threads    INTEGER NOT NULL DEFAULT 0,
    set_by     BIGINT,
    updated_at TEXT    NOT NULL
);

-- The thread an alert opened (its forum post, or the thread on its message): the rest of its pings go there.
ALTER TABLE outbox ADD COLUMN thread_id BIGINT;
