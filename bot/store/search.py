"""Full-text search: BM25 over titles and bodies (SQLite's FTS5), or ``ts_rank_cd`` over the articles'
``search_vector`` (PostgreSQL, a GIN index kept by a trigger), and the search entry each article keeps."""

from __future__ import annotations

import sqlite3

from bot.models import EVERYTHING, SearchMatch, Viewer
from bot.store.database import Database
from bot.store.rows import BRIEF_COLUMNS, article_brief, visible
from bot.text import SearchTerms, search_terms

SEARCH_CANDIDATES = 300
# PostgreSQL looks for them among the newest ids, in a window sized from the counts of the query's words
# (migration 0022) but never narrower than this, or in the whole index when that costs less; a window
# that holds too few is widened by the density of the matches it held.
SEARCH_FIRST_WINDOW = 2048


def fts_words(terms: SearchTerms, *, prefix: bool = True) -> list[str]:
    """Search terms as safe FTS5 terms: every word quoted, so ``AND (``, ``*`` and quotes are just words;
    the prefix, if any, last and marked as one (or matched whole, with ``prefix=False``)."""
    quoted = ['"' + w.replace('"', '""') + '"' for w in terms.all]
    if terms.prefix and prefix:
        quoted[-1] += "*"
    return quoted


def tsquery_words(terms: SearchTerms, *, prefix: bool = True) -> list[str]:
    """Search terms as safe PostgreSQL ``tsquery`` terms: each word quoted (a quote or a backslash in it is
    just a character), the prefix, if any, last and marked ``:*`` (or matched whole, with ``prefix=False``)."""
    quoted = ["'" + w.replace("\\", "\\\\").replace("'", "''") + "'" for w in terms.all]
    if terms.prefix and prefix:
        quoted[-1] += ":*"
    return quoted


class SearchQueries:
    """The full-text index of titles and bodies."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def find(self, query: str, limit: int = 5, *, viewer: Viewer = EVERYTHING) -> list[SearchMatch]:
        """Full-text search over titles (weighted up) and bodies, best BM25 match first, each match with
        its body (the answer cuts the snippet from it).

        The words are those of :func:`~bot.text.search_terms`: stop words left out unless they are all
        there is, the last word a prefix — matched whole first, and as a prefix when that finds fewer than
        ``limit``. Every word must match; when nothing matches them all, any word will do. Only the most
        recently indexed matches are ranked (:data:`SEARCH_CANDIDATES`): BM25 over every article
        containing a common word would cost time in proportion to the whole index, and news readers want
        recent stories first anyway. Only articles ``viewer`` sees are candidates.
        """
        terms = search_terms(query)
        if not terms:
            return []
        postgres = self._db.dialect == "postgresql"
        seen, params = ("", ()) if postgres else visible(viewer, "articles_fts.rowid")
        # The last word matched whole first: a prefix query merges the lists of every word it begins
        # ("news*": news, newspaper, newsroom …), several times the cost for a common word, so it runs
        # only when the word as typed does not find enough ("lithi" finds nothing whole).
        words = tsquery_words if postgres else fts_words
        every, either = (" & ", " | ") if postgres else (" ", " OR ")
        whole, with_prefix = words(terms, prefix=False), words(terms)
        every_word = [every.join(whole)] + ([every.join(with_prefix)] if terms.prefix else [])
        ranked = []
        for match in every_word:  # the prefix query finds a superset of the whole-word one
            ranked = await self._candidates(match, seen, params, viewer)
            if len(ranked) >= limit:
                break
        if not ranked and len(with_prefix) > 1:
            ranked = await self._candidates(either.join(with_prefix), seen, params, viewer)
        best = {r["id"]: r["score"] for r in sorted(ranked, key=lambda r: (r["score"], -r["id"]))[:limit]}
        if not best:
            return []
        # The bodies, for the answer to cut snippets from: FTS5's snippet() would run the whole match again.
        rows = await self._db.fetchall(
            f"SELECT {BRIEF_COLUMNS}, a.body FROM articles a WHERE a.id IN ({','.join('?' * len(best))})",
            list(best),
        )
        matches = [SearchMatch(article=article_brief(row), body=row["body"], rank=best[row["id"]]) for row in rows]
        matches.sort(key=lambda m: (m.rank, -m.article.id))
        return matches

    async def _candidates(
        self, match: str, seen: str, params: tuple[int, ...], viewer: Viewer
    ) -> list[sqlite3.Row]:
        """The most recently indexed articles matching ``match`` that the viewer sees (``seen`` and its
        ``params`` on SQLite), with their BM25 (or their ``ts_rank_cd``, negated: lower is better in both)."""
        if self._db.dialect == "postgresql":
            # The function of migrations 0017, 0018 and 0022: the planner alone would read every match's vector.
            return await self._db.fetchall(
                "SELECT id, -score AS score FROM search_candidates(to_tsquery('english', ?), ?, ?, ?)",
                (
                    match,
                    None if viewer.scopes is None else list(viewer.scopes),
                    SEARCH_CANDIDATES,
                    SEARCH_FIRST_WINDOW,
                ),
            )
        return await self._db.fetchall(
            f"SELECT rowid AS id, bm25(articles_fts, 4.0, 1.0) AS score FROM articles_fts "
            f"WHERE articles_fts MATCH ? AND {seen} ORDER BY rowid DESC LIMIT {SEARCH_CANDIDATES}",
            (match, *params),
        )

    # ------------------------------------------------------------------ writes, inside Database.write()

    async def add(self, article_id: int, title: str, body: str) -> None:
        """Make an article findable (on PostgreSQL a trigger keeps ``search_vector`` in step by itself)."""
        if self._db.dialect == "postgresql":
            return
        await self._db.writer.execute(
            "INSERT INTO articles_fts (rowid, title, body) VALUES (?, ?, ?)", (article_id, title, body)
        )

    async def remove(self, article_id: int) -> None:
        """Take an article out of the search index (before its title and body change or go)."""
        if self._db.dialect == "postgresql":
            return
        db = self._db.writer
        async with db.execute("SELECT title, body FROM articles WHERE id = ?", (article_id,)) as cursor:
            old = await cursor.fetchone()
        if old:
            await db.execute(
                "INSERT INTO articles_fts (articles_fts, rowid, title, body) VALUES ('delete', ?, ?, ?)",
                (article_id, old["title"], old["body"]),
            )
