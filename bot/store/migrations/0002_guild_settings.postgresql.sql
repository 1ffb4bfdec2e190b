-- 0002_guild_settings.sql for PostgreSQL: a server's id is a 64-bit snowflake.

CREATE TABLE guild_settings (
    guild_id   BIGINT PRIMARY KEY,
    prefix     TEXT,
    updated_at TEXT NOT NULL
);
