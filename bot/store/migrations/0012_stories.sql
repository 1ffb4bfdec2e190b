-- Stories across outlets: articles about one event, grouped as they are indexed (bot/stories.py decides,
-- bot/store/stories.py keeps the state), and how each story is alerted in each channel.

-- A story: its capped comparison state (bot.stories.StoryState as JSON) and its span in time.
CREATE TABLE stories (
    id              INTEGER PRIMARY KEY,
    title           TEXT    NOT NULL,    -- the first article's headline
    size            INTEGER NOT NULL,
    first_published TEXT    NOT NULL,
    last_published  TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
);

-- Where each article went and why: the decision as bot.stories.StoryDecision JSON, its main figures
-- as columns (the similarity and score of the story joined, or of the closest one when it started one).
CREATE TABLE article_stories (
    article_id    INTEGER PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    story_id      INTEGER NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
    joined        INTEGER NOT NULL,
    similarity    REAL,
    score         REAL,
    shared_names  TEXT    NOT NULL DEFAULT '[]',
    shared_topics TEXT    NOT NULL DEFAULT '[]',
    decision      TEXT    NOT NULL,
    placed_at     TEXT    NOT NULL
);
CREATE INDEX article_stories_by_story ON article_stories (story_id, article_id);

-- Running document counts behind the clustering's IDF weights ("w:" words, "n:" names, "t:" topics);
-- the row with key '#' counts the documents.
CREATE TABLE story_frequencies (
    key       TEXT    PRIMARY KEY,
    documents INTEGER NOT NULL
) WITHOUT ROWID;

-- An alert's story: the first alert of a story in a channel posts; each later one (thread_of = the
-- first's outbox id) goes into the thread on that post (outbox.thread_id of the first, from 0010: a forum
-- post's thread or one opened on its message; 0 when none can be made there), or else is counted in the
-- post's footer.
ALTER TABLE outbox ADD COLUMN story_id INTEGER;
ALTER TABLE outbox ADD COLUMN thread_of INTEGER;
CREATE INDEX outbox_by_story ON outbox (story_id, channel_id) WHERE story_id IS NOT NULL;
