"""Full-text search: BM25 over titles and bodies (FTS5), and the search entry each article keeps."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.models import SearchHit
from bot.store.database import Database
from bot.store.rows import BRIEF_COLUMNS, article_brief

SEARCH_CANDIDATES = 300
_FTS_WORD = re.compile(r"\w+", re.UNICODE)


def snippet(body: str, words: Sequence[str], width: int = 200) -> str:
    """The passage of ``body`` around the first place it uses the most query words, each marked with
    \x02 … \x03. Words match by their start, so "elections" is found for "election" as BM25's stemmer
    would."""
    stems = {w.casefold()[: max(4, len(w) - 2)] for w in words if w}
    pattern = (
        re.compile(
            r"\b(" + "|".join(re.escape(s) for s in sorted(stems, key=len, reverse=True)) + r")\w*", re.IGNORECASE
        )
        if stems
        else None
    )
    text = " ".join(body.split())
    matches = list(pattern.finditer(text)) if pattern else []
    if not matches:
        return text if len(text) <= width else text[:width].rsplit(" ", 1)[0] + "…"
    # The window that holds the most distinct words wins; the earliest among equals.
    best_start, best_score = matches[0].start(), 0
    for first in matches:
        inside = {m.group(1).casefold() for m in matches if first.start() <= m.start() < first.start() + width}
        if len(inside) > best_score:
            best_start, best_score = first.start(), len(inside)
    start = max(0, best_start - width // 4)
    start = text.rfind(" ", 0, start) + 1 if start else 0
    end = min(len(text), start + width)
    end = text.find(" ", end) if end < len(text) and text.find(" ", end) != -1 else len(text)
    passage = pattern.sub(lambda m: "\x02" + m.group(0) + "\x03", text[start:end])
    return ("…" if start else "") + passage + ("…" if end < len(text) else "")


def fts_words(text: str) -> list[str]:
    """User text as safe FTS5 terms: every word quoted, so ``AND (``, ``*`` and quotes are just words."""
    return ['"' + w.replace('"', '""') + '"' for w in _FTS_WORD.findall(text)[:32]]


class SearchQueries:
    """The full-text index of titles and bodies."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def find(self, query: str, limit: int = 5) -> list[SearchHit]:
        """Full-text search over titles (weighted up) and bodies, best BM25 match first.

        Every word must match; when nothing matches them all, any word will do. Only the most recently
        indexed matches are ranked (:data:`SEARCH_CANDIDATES`): BM25 over every article containing a
        common word would cost time in proportion to the whole index, and news readers want recent
        stories first anyway.
        """
        words = fts_words(query)
        if not words:
            return []
        for match in dict.fromkeys([" ".join(words), " OR ".join(words)]):
            ranked = await self._db.fetchall(
                f"SELECT rowid, bm25(articles_fts, 4.0, 1.0) FROM articles_fts WHERE articles_fts MATCH ? "
                f"ORDER BY rowid DESC LIMIT {SEARCH_CANDIDATES}",
                (match,),
            )
            if ranked:
                break
        best = dict(sorted(ranked, key=lambda r: (r[1], -r[0]))[:limit])
        if not best:
            return []
        # Snippets are cut from the bodies here: FTS5's snippet() would re-run the whole match.
        rows = await self._db.fetchall(
            f"SELECT {BRIEF_COLUMNS}, a.body FROM articles a WHERE a.id IN ({','.join('?' * len(best))})",
            list(best),
        )
        plain_words = [w.strip('"').replace('""', '"') for w in words]
        hits = [
            SearchHit(article=article_brief(row), snippet=snippet(row[5], plain_words), rank=best[row[0]])
            for row in rows
        ]
        hits.sort(key=lambda h: (h.rank, -h.article.id))
        return hits

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
                (article_id, old[0], old[1]),
            )
