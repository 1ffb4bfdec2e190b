-- 0006_trending.sql for PostgreSQL: BIGINT ids, no WITHOUT ROWID; the backfill is the same SQL.

-- Trending: how many articles are about each entity and each topic, per UTC day, kept by the store on
-- every write (bot/store/trending.py), so that !trending compares a window with the 30 days before it
-- without counting article_entities. An entity counts when it is salient in the article (0.2 or more:
-- the article is about it, not passing by); a topic, when it is among the article's first five.

CREATE TABLE entity_day_counts (
    day       TEXT    NOT NULL,             -- YYYY-MM-DD of the articles' publication, UTC
    entity_id BIGINT  NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    articles  INTEGER NOT NULL,
    PRIMARY KEY (day, entity_id)
);
CREATE INDEX entity_day_counts_by_entity ON entity_day_counts (entity_id, day, articles);

CREATE TABLE topic_day_counts (
    day      TEXT    NOT NULL,
    topic_id BIGINT  NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    articles INTEGER NOT NULL,
    PRIMARY KEY (day, topic_id)
);
CREATE INDEX topic_day_counts_by_topic ON topic_day_counts (topic_id, day, articles);

-- The article rows that count, by time (the partial days at a window's edges, a digest's period); each
-- holds the column of its condition, so that reading it never visits the table.
CREATE INDEX article_entities_about ON article_entities (published, entity_id, salience) WHERE salience >= 0.2;
CREATE INDEX article_topics_about ON article_topics (published, topic_id, rank) WHERE rank <= 5;

INSERT INTO entity_day_counts (day, entity_id, articles)
SELECT substr(published, 1, 10), entity_id, COUNT(*) FROM article_entities WHERE salience >= 0.2
GROUP BY substr(published, 1, 10), entity_id;

INSERT INTO topic_day_counts (day, topic_id, articles)
SELECT substr(published, 1, 10), topic_id, COUNT(*) FROM article_topics WHERE rank <= 5
GROUP BY substr(published, 1, 10), topic_id;
