-- Per-server settings chosen in Discord (the command prefix, set with !prefix).

CREATE TABLE guild_settings (
    guild_id   INTEGER PRIMARY KEY,
    prefix     TEXT,
    updated_at TEXT NOT NULL
);
