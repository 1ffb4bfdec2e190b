-- Trending's window and a digest's period read every row of a few days: from the indexes alone, as in
-- SQLite (whose WITHOUT ROWID tables hold these columns in their keys). A PostgreSQL index without a
-- column the read needs sends it to the table, one page per row of tables updated in place all day
-- (a week of a server's topic day counts: 4,800 rows, 4,800 pages, 6.5 ms of the 15 ms statement).

-- The rows that count on an edge day and a digest's names, with the article each belongs to (its
-- visibility, its weight).
DROP INDEX article_entities_about;
CREATE INDEX article_entities_about ON article_entities (published, entity_id, salience) INCLUDE (article_id)
WHERE salience >= 0.2;
DROP INDEX article_topics_about;
CREATE INDEX article_topics_about ON article_topics (published, topic_id, rank) INCLUDE (article_id)
WHERE rank <= 5;

-- The whole days of a window: each subject's count next to its key. The same keys (ON CONFLICT finds
-- them), the count carried along.
ALTER TABLE entity_day_counts DROP CONSTRAINT entity_day_counts_pkey,
    ADD CONSTRAINT entity_day_counts_pkey PRIMARY KEY (day, entity_id) INCLUDE (articles);
ALTER TABLE topic_day_counts DROP CONSTRAINT topic_day_counts_pkey,
    ADD CONSTRAINT topic_day_counts_pkey PRIMARY KEY (day, topic_id) INCLUDE (articles);
ALTER TABLE entity_scope_day_counts DROP CONSTRAINT entity_scope_day_counts_pkey,
    ADD CONSTRAINT entity_scope_day_counts_pkey PRIMARY KEY (scope, day, entity_id) INCLUDE (articles);
ALTER TABLE topic_scope_day_counts DROP CONSTRAINT topic_scope_day_counts_pkey,
    ADD CONSTRAINT topic_scope_day_counts_pkey PRIMARY KEY (scope, day, topic_id) INCLUDE (articles);

-- A window's article count for a server or a DM: the articles of each scope per UTC day (see the SQLite
-- step, 0019_window_reads.sql).
CREATE TABLE scope_day_articles (
    scope    BIGINT  NOT NULL,
    day      TEXT    NOT NULL,
    articles INTEGER NOT NULL,
    PRIMARY KEY (scope, day)
);
INSERT INTO scope_day_articles (scope, day, articles)
SELECT s.scope, substr(a.published, 1, 10), COUNT(*) FROM article_scopes s JOIN articles a ON a.id = s.article_id
GROUP BY s.scope, substr(a.published, 1, 10);
