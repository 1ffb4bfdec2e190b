-- 0013_scopes.sql for PostgreSQL: BIGINT ids (a scope is 0 or a server's snowflake), no WITHOUT ROWID,
-- the triggers as plpgsql functions, INSERT OR IGNORE as ON CONFLICT DO NOTHING.

-- Every server its own desk: which source delivered each origin, who may see each article, and running
-- totals per scope so that a server's answers need no scan. Scope 0 is shared (the operator's folders
-- and shared feeds); any other scope is the id of the one server that may see it.

-- A feed the bot's owner added for every server (1), or one server's own feed (0, the default).
ALTER TABLE sources ADD COLUMN shared INTEGER NOT NULL DEFAULT 0;

-- The sources that delivered an origin: source 0 is the watched folders and the command line (shared),
-- any other is sources.id. An origin no source delivers any more is removed, and its article with it
-- when no other origin keeps it.
CREATE TABLE origin_sources (
    origin    TEXT    NOT NULL REFERENCES origins (origin) ON DELETE CASCADE,
    source_id BIGINT  NOT NULL,
    scope     BIGINT  NOT NULL,               -- 0 shared, else the server the source belongs to
    PRIMARY KEY (origin, source_id)
);
CREATE INDEX origin_sources_by_source ON origin_sources (source_id);
CREATE INDEX origin_sources_by_scope ON origin_sources (scope);

-- Who may see an article: the single row 0 when any of its sources is shared, else one row per server
-- whose source delivered it. A viewer in server S sees the articles with a row 0 or S; in a DM, row 0.
CREATE TABLE article_scopes (
    article_id BIGINT  NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    scope      BIGINT  NOT NULL,
    PRIMARY KEY (article_id, scope)
);
CREATE INDEX article_scopes_by_scope ON article_scopes (scope, article_id);

-- Running totals of the articles of each scope (as article_scopes assigns them): a server's view sums
-- scope 0 and its own, so no article is counted twice.
CREATE TABLE entity_scope_totals (
    scope         BIGINT  NOT NULL,
    entity_id     BIGINT  NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    article_count INTEGER NOT NULL,
    mention_count INTEGER NOT NULL,
    PRIMARY KEY (scope, entity_id)
);
CREATE INDEX entity_scope_totals_by_entity ON entity_scope_totals (entity_id);

CREATE TABLE topic_scope_totals (
    scope         BIGINT  NOT NULL,
    topic_id      BIGINT  NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    article_count INTEGER NOT NULL,
    score_sum     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (scope, topic_id)
);
CREATE INDEX topic_scope_totals_by_topic ON topic_scope_totals (topic_id);
CREATE INDEX topic_scope_totals_by_articles ON topic_scope_totals (scope, article_count DESC, score_sum DESC);

-- Trending's articles per name and topic per day (0006_trending), per scope: a server's !trending and
-- spikes count what it sees. Each article counts in its scopes as article_scopes gives them.
CREATE TABLE entity_scope_day_counts (
    scope     BIGINT  NOT NULL,
    day       TEXT    NOT NULL,
    entity_id BIGINT  NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    articles  INTEGER NOT NULL,
    PRIMARY KEY (scope, day, entity_id)
);
CREATE INDEX entity_scope_day_counts_by_entity ON entity_scope_day_counts (entity_id, day, scope, articles);

CREATE TABLE topic_scope_day_counts (
    scope    BIGINT  NOT NULL,
    day      TEXT    NOT NULL,
    topic_id BIGINT  NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    articles INTEGER NOT NULL,
    PRIMARY KEY (scope, day, topic_id)
);
CREATE INDEX topic_scope_day_counts_by_topic ON topic_scope_day_counts (topic_id, day, scope, articles);

-- "Related" reads each name's and topic's recent articles with their weight: from the index alone.
DROP INDEX article_entities_by_entity;
CREATE INDEX article_entities_by_entity ON article_entities (entity_id, published DESC, salience);
DROP INDEX article_topics_by_topic;
CREATE INDEX article_topics_by_topic ON article_topics (topic_id, published DESC, score);

-- Per scope: how many articles, entities, topics, mentions and origins, and the latest ingest (for !stats),
-- kept by the triggers below.
CREATE TABLE scope_counts (
    scope         BIGINT  PRIMARY KEY,
    articles      INTEGER NOT NULL DEFAULT 0,
    entities      INTEGER NOT NULL DEFAULT 0,
    topics        INTEGER NOT NULL DEFAULT 0,
    mentions      INTEGER NOT NULL DEFAULT 0,
    origins       INTEGER NOT NULL DEFAULT 0,   -- credits of origins to the scope's sources
    last_ingested TEXT
);

-- SQLite's triggers, as plpgsql functions of the same names (row by row, cascading deletes included).

CREATE FUNCTION article_scope_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO scope_counts AS c (scope, articles, last_ingested)
    VALUES (new.scope, 1, (SELECT ingested_at FROM articles WHERE id = new.article_id))
    ON CONFLICT (scope) DO UPDATE SET articles = c.articles + 1,
        last_ingested = GREATEST(COALESCE(c.last_ingested, ''), COALESCE(excluded.last_ingested, ''));
    RETURN NULL;
END
$$;
CREATE TRIGGER article_scope_added AFTER INSERT ON article_scopes
FOR EACH ROW EXECUTE FUNCTION article_scope_added();

CREATE FUNCTION article_scope_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE scope_counts SET articles = articles - 1 WHERE scope = old.scope;
    RETURN NULL;
END
$$;
CREATE TRIGGER article_scope_removed AFTER DELETE ON article_scopes
FOR EACH ROW EXECUTE FUNCTION article_scope_removed();

CREATE FUNCTION entity_scope_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO scope_counts AS c (scope, entities, mentions) VALUES (new.scope, 1, new.mention_count)
    ON CONFLICT (scope) DO UPDATE SET entities = c.entities + 1, mentions = c.mentions + excluded.mentions;
    RETURN NULL;
END
$$;
CREATE TRIGGER entity_scope_added AFTER INSERT ON entity_scope_totals
FOR EACH ROW EXECUTE FUNCTION entity_scope_added();

CREATE FUNCTION entity_scope_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE scope_counts SET mentions = mentions + new.mention_count - old.mention_count WHERE scope = new.scope;
    RETURN NULL;
END
$$;
CREATE TRIGGER entity_scope_changed AFTER UPDATE OF mention_count ON entity_scope_totals
FOR EACH ROW EXECUTE FUNCTION entity_scope_changed();

CREATE FUNCTION entity_scope_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE scope_counts SET entities = entities - 1, mentions = mentions - old.mention_count WHERE scope = old.scope;
    RETURN NULL;
END
$$;
CREATE TRIGGER entity_scope_removed AFTER DELETE ON entity_scope_totals
FOR EACH ROW EXECUTE FUNCTION entity_scope_removed();

CREATE FUNCTION origin_credited() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO scope_counts AS c (scope, origins) VALUES (new.scope, 1)
    ON CONFLICT (scope) DO UPDATE SET origins = c.origins + 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER origin_credited AFTER INSERT ON origin_sources
FOR EACH ROW EXECUTE FUNCTION origin_credited();

CREATE FUNCTION origin_uncredited() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE scope_counts SET origins = origins - 1 WHERE scope = old.scope;
    RETURN NULL;
END
$$;
CREATE TRIGGER origin_uncredited AFTER DELETE ON origin_sources
FOR EACH ROW EXECUTE FUNCTION origin_uncredited();

CREATE FUNCTION topic_scope_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO scope_counts AS c (scope, topics) VALUES (new.scope, 1)
    ON CONFLICT (scope) DO UPDATE SET topics = c.topics + 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER topic_scope_added AFTER INSERT ON topic_scope_totals
FOR EACH ROW EXECUTE FUNCTION topic_scope_added();

CREATE FUNCTION topic_scope_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE scope_counts SET topics = topics - 1 WHERE scope = old.scope;
    RETURN NULL;
END
$$;
CREATE TRIGGER topic_scope_removed AFTER DELETE ON topic_scope_totals
FOR EACH ROW EXECUTE FUNCTION topic_scope_removed();

-- What was indexed before: file origins came from the watched folders (shared); a feed item's origin is
-- credited to the feed whose title its article carries or whose address starts its origin. An old feed
-- item matched by neither stays visible to the console only.
INSERT INTO origin_sources (origin, source_id, scope)
SELECT origin, 0, 0 FROM origins WHERE file IS NOT NULL;
INSERT INTO origin_sources (origin, source_id, scope)
SELECT o.origin, s.id, s.guild_id FROM origins o JOIN articles a ON a.id = o.article_id
JOIN sources s ON s.title = a.source OR substr(o.origin, 1, length(s.url) + 1) = s.url || '#'
WHERE o.file IS NULL
ON CONFLICT DO NOTHING;
INSERT INTO article_scopes (article_id, scope)
SELECT DISTINCT o.article_id, 0 FROM origins o JOIN origin_sources os ON os.origin = o.origin WHERE os.scope = 0;
INSERT INTO article_scopes (article_id, scope)
SELECT DISTINCT o.article_id, os.scope FROM origins o JOIN origin_sources os ON os.origin = o.origin
WHERE NOT EXISTS (SELECT 1 FROM article_scopes z WHERE z.article_id = o.article_id AND z.scope = 0)
ON CONFLICT DO NOTHING;
INSERT INTO entity_scope_totals (scope, entity_id, article_count, mention_count)
SELECT s.scope, ae.entity_id, COUNT(*), SUM(ae.mentions) FROM article_scopes s
JOIN article_entities ae ON ae.article_id = s.article_id GROUP BY s.scope, ae.entity_id;
INSERT INTO topic_scope_totals (scope, topic_id, article_count, score_sum)
SELECT s.scope, at.topic_id, COUNT(*), SUM(at.score) FROM article_scopes s
JOIN article_topics at ON at.article_id = s.article_id GROUP BY s.scope, at.topic_id;
INSERT INTO entity_scope_day_counts (scope, day, entity_id, articles)
SELECT s.scope, substr(ae.published, 1, 10), ae.entity_id, COUNT(*) FROM article_scopes s
JOIN article_entities ae ON ae.article_id = s.article_id WHERE ae.salience >= 0.2
GROUP BY s.scope, substr(ae.published, 1, 10), ae.entity_id;
INSERT INTO topic_scope_day_counts (scope, day, topic_id, articles)
SELECT s.scope, substr(at.published, 1, 10), at.topic_id, COUNT(*) FROM article_scopes s
JOIN article_topics at ON at.article_id = s.article_id WHERE at.rank <= 5
GROUP BY s.scope, substr(at.published, 1, 10), at.topic_id;
