-- 0014_server_data.sql for PostgreSQL: Discord ids are BIGINT, no WITHOUT ROWID.

-- What each server keeps of its own beyond settings: names that mean someone in that server only, and
-- the servers that removed the bot, whose data is deleted when the grace period ends.

-- !alias add <alias> = <name>: in this server, <alias> stands for <name> (an entity or a topic).
CREATE TABLE server_aliases (
    guild_id   BIGINT  NOT NULL,
    alias_key  TEXT    NOT NULL,    -- name_key(alias)
    alias      TEXT    NOT NULL,    -- as typed
    target     TEXT    NOT NULL,    -- the name or topic it stands for, as the index spells it
    created_by BIGINT,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, alias_key)
);

-- A server that removed the bot: its data goes at delete_after, unless the bot is added back before.
CREATE TABLE server_departures (
    guild_id     BIGINT PRIMARY KEY,
    left_at      TEXT NOT NULL,
    delete_after TEXT NOT NULL
);
CREATE INDEX server_departures_due ON server_departures (delete_after);
