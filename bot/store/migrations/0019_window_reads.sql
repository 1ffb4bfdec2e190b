-- A window's article count for a server or a DM: the articles of each scope per UTC day, kept where the
-- per-scope running totals are (an article's scopes set, changed or removed, its analysis replaced), so
-- that trending counts the whole days of a window from a dozen rows, not by checking every article.
CREATE TABLE scope_day_articles (
    scope    INTEGER NOT NULL,
    day      TEXT    NOT NULL,
    articles INTEGER NOT NULL,
    PRIMARY KEY (scope, day)
) WITHOUT ROWID;
INSERT INTO scope_day_articles (scope, day, articles)
SELECT s.scope, substr(a.published, 1, 10), COUNT(*) FROM article_scopes s JOIN articles a ON a.id = s.article_id
GROUP BY s.scope, substr(a.published, 1, 10);

-- PostgreSQL's trending and digest reads also become index-only (0019_window_reads.postgresql.sql). In
-- SQLite the tables they read are WITHOUT ROWID: their keys hold every column, each index the key's
-- columns, so those reads touch no table row already.
