-- A name looked up by its words (a misspelt one: "SE Rulo" finds the names holding "rulo") ranks the
-- entities holding them by mentions, and a common word is in thousands of names ("rulo" in 4,500 at
-- 100,000 articles): each of their entity rows was read for its count (18,000 pages on PostgreSQL, 6–11
-- ms). Each word row now carries its entity's mention count, kept by the trigger below, so the lookup
-- reads the words' own rows only (SQLite's primary key of this WITHOUT ROWID table holds the column).
ALTER TABLE entity_words ADD COLUMN entity_mentions INTEGER NOT NULL DEFAULT 0;
UPDATE entity_words SET entity_mentions = (SELECT e.mention_count FROM entities e WHERE e.id = entity_words.entity_id);

-- A new entity's words are written at 0 with the entity itself; its count changes only by this UPDATE.
CREATE TRIGGER entity_words_mentions AFTER UPDATE OF mention_count ON entities
WHEN new.mention_count != old.mention_count BEGIN
    UPDATE entity_words SET entity_mentions = new.mention_count WHERE entity_id = new.id;
END;
