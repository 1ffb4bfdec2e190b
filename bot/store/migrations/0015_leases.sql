-- Several processes share one index: each feed is polled by the worker that leased it, each alert is
-- sent by the dispatcher that claimed it. A lease names its holder (a process: host, pid and a random
-- part) and runs out at lease_until unless renewed; a holder that dies (kill -9) loses nothing, as
-- whoever claims after lease_until takes over. Plain ALTER TABLE: the same SQL in SQLite and PostgreSQL.
ALTER TABLE sources ADD COLUMN lease_owner TEXT;
ALTER TABLE sources ADD COLUMN lease_until TEXT;

ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
ALTER TABLE outbox ADD COLUMN lease_until TEXT;
-- When the holder claimed it: a row taken over from a holder that died may have been posted since then.
ALTER TABLE outbox ADD COLUMN leased_at TEXT;

-- The rows held now, few at any time: what a claim must keep off (a channel another dispatcher holds).
CREATE INDEX outbox_leased ON outbox (channel_id, lease_until) WHERE lease_owner IS NOT NULL;
