-- The article index: articles, where they came from, entities, roles, topics and full-text search.

CREATE TABLE articles (
    id            INTEGER PRIMARY KEY,
    content_hash  TEXT    NOT NULL UNIQUE,      -- sha256 of the normalised text
    title         TEXT    NOT NULL,
    title_derived INTEGER NOT NULL DEFAULT 0,   -- 1 when the headline was made from the first sentence
    source        TEXT,
    url           TEXT,
    published     TEXT    NOT NULL,             -- UTC, ISO 8601 with Z
    ingested_at   TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    summary       TEXT    NOT NULL,             -- JSON list of sentences, in article order
    word_count    INTEGER NOT NULL
);
CREATE INDEX articles_by_published ON articles (published DESC, id DESC);
CREATE INDEX articles_by_url ON articles (url) WHERE url IS NOT NULL;

-- Every file record or URL an article came from; one article may have several (same text twice).
CREATE TABLE origins (
    origin     TEXT    PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    file       TEXT,                             -- the file the origin lies in, when it is one
    seen_at    TEXT    NOT NULL
) WITHOUT ROWID;
CREATE INDEX origins_by_article ON origins (article_id);
CREATE INDEX origins_by_file ON origins (file) WHERE file IS NOT NULL;

-- Fingerprints of files whose every record is indexed: an unchanged file is not read again.
CREATE TABLE files (
    path       TEXT    PRIMARY KEY,
    size       INTEGER NOT NULL,
    mtime_ns   INTEGER NOT NULL,
    indexed_at TEXT    NOT NULL
) WITHOUT ROWID;

CREATE TABLE entities (
    id            INTEGER PRIMARY KEY,
    key           TEXT    NOT NULL UNIQUE,      -- name_key(name)
    name          TEXT    NOT NULL,
    type          TEXT    NOT NULL,             -- majority of its mentions' labels
    surname       TEXT,                         -- last word of a person's name, for "Milei" → "Javier Milei"
    article_count INTEGER NOT NULL DEFAULT 0,
    mention_count INTEGER NOT NULL DEFAULT 0,
    first_seen    TEXT,
    last_seen     TEXT
);
CREATE INDEX entities_by_surname ON entities (surname) WHERE surname IS NOT NULL;
CREATE INDEX entities_by_mentions ON entities (mention_count DESC);

CREATE TABLE entity_labels (
    entity_id INTEGER NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    label     TEXT    NOT NULL,
    mentions  INTEGER NOT NULL,
    PRIMARY KEY (entity_id, label)
) WITHOUT ROWID;

-- Each word of an entity's key, for lookups by any part of a name ("musk" → "Elon Musk").
CREATE TABLE entity_words (
    word      TEXT    NOT NULL,
    entity_id INTEGER NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    PRIMARY KEY (word, entity_id)
) WITHOUT ROWID;
CREATE INDEX entity_words_by_entity ON entity_words (entity_id);

CREATE TABLE article_entities (
    article_id   INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    entity_id    INTEGER NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    mentions     INTEGER NOT NULL,
    salience     REAL    NOT NULL,
    in_headline  INTEGER NOT NULL,
    key_sentence TEXT    NOT NULL,
    published    TEXT    NOT NULL,              -- the article's, so "latest about X" needs no join
    PRIMARY KEY (article_id, entity_id)
) WITHOUT ROWID;
CREATE INDEX article_entities_by_entity ON article_entities (entity_id, published DESC);
CREATE INDEX article_entities_by_salience ON article_entities (entity_id, salience DESC, published DESC);

CREATE TABLE article_entity_labels (
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    entity_id  INTEGER NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    label      TEXT    NOT NULL,
    mentions   INTEGER NOT NULL,
    PRIMARY KEY (article_id, entity_id, label)
) WITHOUT ROWID;

CREATE TABLE article_roles (
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    entity_id  INTEGER NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    role       TEXT    NOT NULL,
    published  TEXT    NOT NULL,
    PRIMARY KEY (article_id, entity_id, role)
) WITHOUT ROWID;
CREATE INDEX article_roles_by_entity ON article_roles (entity_id, published DESC);

CREATE TABLE topics (
    id            INTEGER PRIMARY KEY,
    key           TEXT    NOT NULL UNIQUE,      -- topic_key(name)
    name          TEXT    NOT NULL,
    article_count INTEGER NOT NULL DEFAULT 0,
    score_sum     REAL    NOT NULL DEFAULT 0,
    last_seen     TEXT
);
CREATE INDEX topics_by_articles ON topics (article_count DESC, score_sum DESC);

CREATE TABLE article_topics (
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    topic_id   INTEGER NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
    score      REAL    NOT NULL,
    rank       INTEGER NOT NULL,
    published  TEXT    NOT NULL,
    PRIMARY KEY (article_id, topic_id)
) WITHOUT ROWID;
CREATE INDEX article_topics_by_topic ON article_topics (topic_id, published DESC);

-- Full-text search over title and body, kept in step with `articles` by the store.
CREATE VIRTUAL TABLE articles_fts USING fts5 (
    title, body, content = 'articles', content_rowid = 'id', tokenize = 'porter unicode61 remove_diacritics 2'
);
