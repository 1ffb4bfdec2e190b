"""What the pictures are drawn from: mentions per day of an entity or a topic, the headline at a peak, and
an entity's co-mention network.

A "mention" per day is an article published that day (UTC) that names the entity or is about the topic:
entities and topics are then counted alike, and one long article that repeats a name fifty times is one
mention, as a reader would count coverage. Every query reads an index range of ``article_entities`` or
``article_topics`` by subject and date, so its cost follows the subject's coverage in the period asked
for, never the size of the index.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from bot.models import EVERYTHING, EntityRef, Viewer
from bot.store.database import Database
from bot.store.rows import entity_ref, seen_by

# The co-mention network looks at an entity's most recent articles: all of them for nearly every entity,
# and for one in tens of thousands of stories what it is reported with lately, at a bounded cost.
GRAPH_WINDOW = 1000

_SUBJECT_TABLES = {
    "entity": ("article_entities", "entity_id", "salience"),
    "topic": ("article_topics", "topic_id", "score"),
}


def _table(kind: str) -> tuple[str, str, str]:
    try:
        return _SUBJECT_TABLES[kind]
    except KeyError:
        raise ValueError(f"a trend subject is an entity or a topic, not {kind!r}") from None


def _start_of(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


class TrendQueries:
    """Counts per day, peak headlines and co-mentions, for ``!trend`` and ``!graph``, each from the articles
    its ``viewer`` sees."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def newest_day(self, *, viewer: Viewer = EVERYTHING) -> date | None:
        """The publication day (UTC) of the newest article ``viewer`` sees, or None when it sees none."""
        row = await self._db.fetchone(
            f"SELECT a.published FROM articles a WHERE {seen_by(viewer, 'a.id')} "
            "ORDER BY a.published DESC, a.id DESC LIMIT 1"
        )
        return date.fromisoformat(row["published"][:10]) if row else None

    async def per_day(
        self, kind: str, subject_id: int, first: date, last: date, *, viewer: Viewer = EVERYTHING
    ) -> dict[date, int]:
        """Articles per day naming an entity (``kind`` ``"entity"``) or about a topic (``"topic"``), from
        ``first`` to ``last`` inclusive; days without any are left out."""
        table, column, _ = _table(kind)
        rows = await self._db.fetchall(
            f"SELECT substr(s.published, 1, 10) AS day, COUNT(*) AS n FROM {table} s "
            f"WHERE s.{column} = ? AND s.published >= ? AND s.published < ? "
            f"AND {seen_by(viewer, 's.article_id')} GROUP BY day",
            (subject_id, _start_of(first), _start_of(last + timedelta(days=1))),
        )
        return {date.fromisoformat(r["day"]): int(r["n"]) for r in rows}

    async def top_title(
        self, kind: str, subject_id: int, first: date, last: date, *, viewer: Viewer = EVERYTHING
    ) -> str | None:
        """The headline of the article most about the subject published from ``first`` to ``last``
        (inclusive): the highest salience (entity) or topic score, then the newest."""
        table, column, weight = _table(kind)
        row = await self._db.fetchone(
            f"SELECT a.title FROM {table} s JOIN articles a ON a.id = s.article_id "
            f"WHERE s.{column} = ? AND s.published >= ? AND s.published < ? "
            f"AND {seen_by(viewer, 's.article_id')} ORDER BY s.{weight} DESC, s.published DESC, a.id DESC LIMIT 1",
            (subject_id, _start_of(first), _start_of(last + timedelta(days=1))),
        )
        return row["title"] if row else None

    async def co_mentions(
        self, entity_id: int, limit: int = 15, *, window: int = GRAPH_WINDOW, viewer: Viewer = EVERYTHING
    ) -> tuple[list[tuple[EntityRef, int]], list[tuple[int, int, int]]]:
        """The ``limit`` entities named most often in the same articles as ``entity_id`` (among its
        ``window`` most recent articles), each with the number of articles they share, most first; and the
        links between those neighbours: (entity id, entity id, shared articles) for every pair that shares
        at least one of those articles. The neighbours' counts are ``viewer``'s (see
        :meth:`bot.store.entities.EntityQueries.get`)."""
        seen = seen_by(viewer, "r.article_id")
        neighbours = await self._db.fetchall(
            f"""
            SELECT e.id, e.name, e.type, e.article_count, e.mention_count, top.together FROM (
                SELECT other.entity_id, COUNT(*) AS together
                FROM (SELECT r.article_id FROM article_entities r WHERE r.entity_id = ? AND {seen}
                      ORDER BY r.published DESC LIMIT {int(window)}) mine
                JOIN article_entities other ON other.article_id = mine.article_id
                WHERE other.entity_id != ?
                GROUP BY other.entity_id ORDER BY together DESC, other.entity_id LIMIT ?
            ) top JOIN entities e ON e.id = top.entity_id
            ORDER BY top.together DESC, e.mention_count DESC, e.id
            """,
            (entity_id, entity_id, limit),
        )
        found = [(entity_ref(r), int(r["together"])) for r in neighbours]
        if viewer.scopes is not None and found:  # their counts as the viewer sees them
            listed = ", ".join(str(int(scope)) for scope in viewer.scopes)
            rows = await self._db.fetchall(
                "SELECT t.entity_id, SUM(t.article_count) AS articles, SUM(t.mention_count) AS mentions "
                f"FROM entity_scope_totals t WHERE t.entity_id IN ({','.join('?' * len(found))}) "
                f"AND t.scope IN ({listed}) GROUP BY t.entity_id",
                [ref.id for ref, _ in found],
            )
            counts = {r["entity_id"]: (int(r["articles"]), int(r["mentions"])) for r in rows}
            found = [
                (replace(ref, article_count=counts[ref.id][0], mention_count=counts[ref.id][1]), n)
                for ref, n in found
                if ref.id in counts
            ]
        if len(found) < 2:
            return found, []
        ids = [ref.id for ref, _ in found]
        marks = ",".join("?" * len(ids))
        # Which of the neighbours each shared article names; pairs are counted here, not in SQL, where a
        # self-join of a busy entity's articles would grow with the square of their names.
        rows = await self._db.fetchall(
            f"""
            SELECT other.article_id, other.entity_id
            FROM (SELECT r.article_id FROM article_entities r WHERE r.entity_id = ? AND {seen}
                  ORDER BY r.published DESC LIMIT {int(window)}) mine
            JOIN article_entities other ON other.article_id = mine.article_id
            WHERE other.entity_id IN ({marks})
            """,
            (entity_id, *ids),
        )
        by_article: dict[int, list[int]] = {}
        for row in rows:
            by_article.setdefault(row["article_id"], []).append(row["entity_id"])
        pairs: dict[tuple[int, int], int] = {}
        for names in by_article.values():
            names.sort()
            for i, a in enumerate(names):
                for b in names[i + 1 :]:
                    pairs[(a, b)] = pairs.get((a, b), 0) + 1
        return found, [(a, b, n) for (a, b), n in sorted(pairs.items())]
