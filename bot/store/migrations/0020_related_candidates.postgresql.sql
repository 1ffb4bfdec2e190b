-- `related` gathers its candidates from the most recent articles of up to sixteen names and topics, a few
-- hundred ids each, read newest first from these indexes. A PostgreSQL index points at the table's rows,
-- which then had to be read for their article id (one page visit per id, thousands per call); carried in
-- the index, the ids come from an index-only scan. The same indexes, a column wider: no write more.
DROP INDEX article_entities_by_entity;
CREATE INDEX article_entities_by_entity ON article_entities (entity_id, published DESC, salience) INCLUDE (article_id);
DROP INDEX article_topics_by_topic;
CREATE INDEX article_topics_by_topic ON article_topics (topic_id, published DESC, score) INCLUDE (article_id);
