"""Full-text search: BM25 over titles and bodies (FTS5), and the search entry each article keeps."""

from __future__ import annotations

from bot.models import EVERYTHING, SearchMatch, Viewer
from bot.store.database import Database
from bot.store.rows import BRIEF_COLUMNS, article_brief, visible
from bot.text import SearchTerms, search_terms

SEARCH_CANDIDATES = 300


def fts_words(terms: SearchTerms) -> list[str]:
    """Search terms as safe FTS5 terms: every word quoted, so ``AND (``, ``*`` and quotes are just words;
    the prefix, if any, last and marked as one."""
    quoted = ['"' + w.replace('"', '""') + '"' for w in terms.all]
    if terms.prefix:
        quoted[-1] += "*"
    return quoted


class SearchQueries:
    """The full-text index of titles and bodies."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def find(self, query: str, limit: int = 5, *, viewer: Viewer = EVERYTHING) -> list[SearchMatch]:
        """Full-text search over titles (weighted up) and bodies, best BM25 match first, each match with
        its body (the answer cuts the snippet from it).

        The words are those of :func:`~bot.text.search_terms`: stop words left out unless they are all
        there is, the last word a prefix. Every word must match; when nothing matches them all, any word
        will do. Only the most recently indexed matches are ranked (:data:`SEARCH_CANDIDATES`): BM25
        over every article containing a common word would cost time in proportion to the whole index,
        and news readers want recent stories first anyway. Only articles ``viewer`` sees are candidates.
        """
        words = fts_words(search_terms(query))
        if not words:
            return []
        seen, params = visible(viewer, "articles_fts.rowid")
        for match in dict.fromkeys([" ".join(words), " OR ".join(words)]):
            ranked = await self._db.fetchall(
                f"SELECT rowid AS id, bm25(articles_fts, 4.0, 1.0) AS score FROM articles_fts "
                f"WHERE articles_fts MATCH ? AND {seen} ORDER BY rowid DESC LIMIT {SEARCH_CANDIDATES}",
                (match, *params),
            )
            if ranked:
                break
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

    # ------------------------------------------------------------------ writes, inside Database.write()

    async def add(self, article_id: int, title: str, body: str) -> None:
        """Make an article findable."""
        await self._db.writer.execute(
            "INSERT INTO articles_fts (rowid, title, body) VALUES (?, ?, ?)", (article_id, title, body)
        )

    async def remove(self, article_id: int) -> None:
        """Take an article out of the search index (before its title and body change or go)."""
        db = self._db.writer
        async with db.execute("SELECT title, body FROM articles WHERE id = ?", (article_id,)) as cursor:
            old = await cursor.fetchone()
        if old:
            await db.execute(
                "INSERT INTO articles_fts (articles_fts, rowid, title, body) VALUES ('delete', ?, ?, ?)",
                (article_id, old["title"], old["body"]),
            )
