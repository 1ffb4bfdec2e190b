-- Each word row carries its entity's mention count (see 0023_name_word_mentions.sql). The primary key
-- includes it, so the lookup is an index-only scan of the words' entries.
ALTER TABLE entity_words ADD COLUMN entity_mentions integer NOT NULL DEFAULT 0;
UPDATE entity_words w SET entity_mentions = e.mention_count FROM entities e WHERE e.id = w.entity_id;
ALTER TABLE entity_words DROP CONSTRAINT entity_words_pkey,
    ADD CONSTRAINT entity_words_pkey PRIMARY KEY (word, entity_id) INCLUDE (entity_mentions);

-- A new entity's words are written at 0 with the entity itself; its count changes only by this UPDATE.
CREATE FUNCTION entity_words_mentions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE entity_words SET entity_mentions = NEW.mention_count WHERE entity_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER entity_words_mentions AFTER UPDATE OF mention_count ON entities FOR EACH ROW
WHEN (NEW.mention_count <> OLD.mention_count) EXECUTE FUNCTION entity_words_mentions();
