-- How alerts look in a channel (!alerts format): 'compact' (a link and the title), 'card' (an embed with
-- the summary) or 'full' (the summary, the names and the topics). A channel without a row is 'full'.
CREATE TABLE alert_channel_settings (
    channel_id INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    format     TEXT    NOT NULL DEFAULT 'full' CHECK (format IN ('compact', 'card', 'full')),
    set_by     INTEGER,
    updated_at TEXT    NOT NULL
);
