-- Which version of a normalisation the stored keys were made with ('topic': bot.nlp.topics.TOPIC_KEY_VERSION).
-- When the code's version is newer, the store re-keys the table once at start-up (bot.store.topics.rekey).

CREATE TABLE key_versions (
    name    TEXT    PRIMARY KEY,
    version INTEGER NOT NULL
) WITHOUT ROWID;
