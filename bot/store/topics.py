"""Topics: the keyphrases articles are about, with their running totals."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from bot.models import EVERYTHING, SHARED_SCOPE, ArticleBrief, Keyphrase, SubjectArticle, TopicRef, Viewer
from bot.store.database import Database, chunks
from bot.store.rows import BRIEF_COLUMNS, article_brief, scope_marks, seen_by, visible
from bot.store.trending import ABOUT_TOPIC_RANK

# A period summary looks at the topic's most recent articles in the period, at most this many.
RECENT_WINDOW = 300

_TOPIC_COLUMNS = "t.id, t.name, t.key, t.article_count, t.last_seen"


def _topic(row: sqlite3.Row) -> TopicRef:
    return TopicRef(
        id=row["id"],
        name=row["name"],
        key=row["key"],
        article_count=row["article_count"],
        last_seen=row["last_seen"],
    )


class TopicQueries:
    """The topic tables: lookups, the most covered topics, a topic's articles, and the rows each article adds."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def _refs(
        self, viewer: Viewer, where: str, params: Sequence[Any], *, order: str = "", limit: int | None = None
    ) -> list[TopicRef]:
        """Topics matching ``where`` (over ``topics t``) that ``viewer`` sees, with their counts in its view."""
        scopes = viewer.scopes
        tail = (f" ORDER BY {order}" if order else "") + (f" LIMIT {int(limit)}" if limit is not None else "")
        if scopes is None:
            rows = await self._db.fetchall(f"SELECT {_TOPIC_COLUMNS} FROM topics t WHERE {where}{tail}", params)
        else:
            rows = await self._db.fetchall(
                "SELECT t.id, t.name, t.key, SUM(s.article_count) AS article_count, "
                "SUM(s.score_sum) AS score_sum, t.last_seen FROM topics t "
                f"JOIN topic_scope_totals s ON s.topic_id = t.id AND s.scope IN ({scope_marks(scopes)}) "
                f"WHERE {where} GROUP BY t.id{tail}",
                (*scopes, *params),
            )
        return [_topic(r) for r in rows]

    async def by_key(self, key: str, *, viewer: Viewer = EVERYTHING) -> TopicRef | None:
        """The topic whose normalised phrase is exactly ``key``, if ``viewer`` sees it."""
        found = await self._refs(viewer, "t.key = ?", (key,))
        return found[0] if found else None

    async def names(self, scope: int | None = None) -> list[sqlite3.Row]:
        """(id, key, name, articles) rows for the in-memory name index: of every topic (``None``), of
        shared articles' topics (scope 0), or of one server's own articles' topics (with their shared
        articles counted too)."""
        if scope is None:
            return await self._db.fetchall("SELECT id, key, name, article_count FROM topics")
        if scope == SHARED_SCOPE:
            return await self._db.fetchall(
                "SELECT t.id, t.key, t.name, s.article_count FROM topic_scope_totals s "
                "JOIN topics t ON t.id = s.topic_id WHERE s.scope = 0"
            )
        return await self._db.fetchall(
            "SELECT t.id, t.key, t.name, s.article_count + COALESCE(z.article_count, 0) AS article_count "
            "FROM topic_scope_totals s JOIN topics t ON t.id = s.topic_id "
            "LEFT JOIN topic_scope_totals z ON z.scope = 0 AND z.topic_id = s.topic_id WHERE s.scope = ?",
            (scope,),
        )

    async def get(self, topic_id: int, *, viewer: Viewer = EVERYTHING) -> TopicRef | None:
        """One topic by id, if ``viewer`` sees it."""
        found = await self._refs(viewer, "t.id = ?", (topic_id,))
        return found[0] if found else None

    async def top(self, limit: int = 10, *, viewer: Viewer = EVERYTHING) -> list[TopicRef]:
        """Topics covered by the most articles ``viewer`` sees.

        In a server's view a topic's count is its shared count plus the server's own: the best are among
        the shared ranking's first ``limit`` topics that the server's own articles lack, and the topics
        its own articles have (few: one server's feeds), so no scan of every topic is needed.
        """
        scopes = viewer.scopes
        if scopes is None:
            return await self._refs(viewer, "TRUE", (), order="article_count DESC, score_sum DESC", limit=limit)
        if len(scopes) == 1:
            rows = await self._db.fetchall(
                "SELECT t.id, t.name, t.key, s.article_count, t.last_seen FROM topic_scope_totals s "
                "JOIN topics t ON t.id = s.topic_id WHERE s.scope = 0 "
                "ORDER BY s.article_count DESC, s.score_sum DESC LIMIT ?",
                (limit,),
            )
            return [_topic(r) for r in rows]
        own = scopes[1]
        rows = await self._db.fetchall(
            """
            SELECT t.id, t.name, t.key, c.article_count, t.last_seen FROM (
                SELECT topic_id, article_count, score_sum FROM (
                    SELECT s.topic_id, s.article_count, s.score_sum FROM topic_scope_totals s
                    WHERE s.scope = 0 AND NOT EXISTS (
                        SELECT 1 FROM topic_scope_totals m WHERE m.scope = ? AND m.topic_id = s.topic_id)
                    ORDER BY s.article_count DESC, s.score_sum DESC LIMIT ?)
                UNION ALL
                SELECT m.topic_id, m.article_count + COALESCE(z.article_count, 0),
                       m.score_sum + COALESCE(z.score_sum, 0)
                FROM topic_scope_totals m LEFT JOIN topic_scope_totals z ON z.scope = 0 AND z.topic_id = m.topic_id
                WHERE m.scope = ?
            ) c JOIN topics t ON t.id = c.topic_id
            ORDER BY c.article_count DESC, c.score_sum DESC LIMIT ?
            """,
            (own, limit, own, limit),
        )
        return [_topic(r) for r in rows]

    async def articles(
        self, topic_id: int, limit: int = 5, *, viewer: Viewer = EVERYTHING
    ) -> list[tuple[ArticleBrief, list[str]]]:
        """The latest articles on a topic that ``viewer`` sees, each with its summary sentences."""
        seen, params = visible(viewer, "at.article_id")
        rows = await self._db.fetchall(
            f"""
            SELECT {BRIEF_COLUMNS}, a.summary FROM article_topics at JOIN articles a ON a.id = at.article_id
            WHERE at.topic_id = ? AND {seen} ORDER BY at.published DESC, a.id DESC LIMIT ?
            """,
            (topic_id, *params, limit),
        )
        return [(article_brief(r), json.loads(r["summary"])) for r in rows]

    async def articles_since(
        self, topic_id: int, since: str, limit: int, *, viewer: Viewer = EVERYTHING
    ) -> tuple[int, list[SubjectArticle]]:
        """How many articles ``viewer`` sees published from ``since`` are on a topic, and the ``limit``
        ranking it highest among the most recent :data:`RECENT_WINDOW` of them, with their summaries."""
        seen = seen_by(viewer, "r.article_id")
        count = await self._db.fetchone(
            f"SELECT COUNT(*) AS n FROM article_topics r WHERE r.topic_id = ? AND r.published >= ? AND {seen}",
            (topic_id, since),
        )
        rows = await self._db.fetchall(
            f"""
            SELECT at.article_id, a.title, at.published, at.score, a.summary
            FROM (SELECT r.article_id, r.published, r.score FROM article_topics r
                  WHERE r.topic_id = ? AND r.published >= ? AND {seen}
                  ORDER BY r.published DESC LIMIT {RECENT_WINDOW}) at
            JOIN articles a ON a.id = at.article_id
            ORDER BY at.score DESC, at.published DESC LIMIT ?
            """,
            (topic_id, since, limit),
        )
        return int(count["n"]) if count else 0, [
            SubjectArticle(r["article_id"], r["title"], r["published"], r["score"], "", json.loads(r["summary"]))
            for r in rows
        ]

    # ------------------------------------------------------------------ writes, inside Database.write()

    async def attach(self, article_id: int, published: str, topics: Sequence[Keyphrase], touched: set[int]) -> None:
        """Add an article's topic rows (ranked as given) and their running totals; ``touched`` gains the
        topics to refresh."""
        db = self._db.writer
        topic_ids: dict[str, int] = {}
        if topics:
            await db.executemany(
                "INSERT INTO topics (key, name) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                [(t.key, t.text) for t in topics],
            )
            keys = list({t.key for t in topics})
            async with db.execute(
                f"SELECT key, id FROM topics WHERE key IN ({','.join('?' * len(keys))})", keys
            ) as cursor:
                topic_ids = {row["key"]: row["id"] async for row in cursor}
        unique_topics = list(
            {
                topic_ids[t.key]: (topic_ids[t.key], t.score, rank)
                for rank, t in reversed(list(enumerate(topics, start=1)))
            }.values()
        )
        await db.executemany(
            "INSERT INTO article_topics (article_id, topic_id, score, rank, published) VALUES (?, ?, ?, ?, ?)",
            [(article_id, tid, score, rank, published) for tid, score, rank in unique_topics],
        )
        await db.executemany(
            "UPDATE topics SET article_count = article_count + 1, score_sum = score_sum + ? WHERE id = ?",
            [(score, tid) for tid, score, _ in unique_topics],
        )
        await db.executemany(
            "INSERT INTO topic_day_counts (day, topic_id, articles) VALUES (?, ?, 1) "
            "ON CONFLICT (day, topic_id) DO UPDATE SET articles = topic_day_counts.articles + 1",
            [(published[:10], tid) for tid, _, rank in unique_topics if rank <= ABOUT_TOPIC_RANK],
        )
        touched.update(tid for tid, _, _ in unique_topics)

    async def shift_scopes(self, article_id: int, leaving: Iterable[int], joining: Iterable[int]) -> None:
        """Move an article's topic rows in the per-scope running totals: off the scopes it leaves, onto
        the ones it joins (a topic's row in a scope goes when no article there has it)."""
        db = self._db.writer
        for scope, sign in [*((s, -1) for s in leaving), *((s, 1) for s in joining)]:
            await db.execute(
                "INSERT INTO topic_scope_totals (scope, topic_id, article_count, score_sum) "
                "SELECT ?, topic_id, ?, ? * score FROM article_topics WHERE article_id = ? "
                "ON CONFLICT (scope, topic_id) DO UPDATE SET "
                "article_count = topic_scope_totals.article_count + excluded.article_count, "
                "score_sum = topic_scope_totals.score_sum + excluded.score_sum",
                (scope, sign, sign, article_id),
            )
            # The per-day counts trending reads, for the article's first topics.
            await db.execute(
                "INSERT INTO topic_scope_day_counts (scope, day, topic_id, articles) "
                "SELECT ?, substr(published, 1, 10), topic_id, ? FROM article_topics "
                "WHERE article_id = ? AND rank <= ? "
                "ON CONFLICT (scope, day, topic_id) DO UPDATE SET "
                "articles = topic_scope_day_counts.articles + excluded.articles",
                (scope, sign, article_id, ABOUT_TOPIC_RANK),
            )
            if sign < 0:
                await db.execute(
                    "DELETE FROM topic_scope_totals WHERE scope = ? AND article_count <= 0 AND topic_id IN "
                    "(SELECT topic_id FROM article_topics WHERE article_id = ?)",
                    (scope, article_id),
                )
                await db.execute(
                    "DELETE FROM topic_scope_day_counts WHERE scope = ? AND articles <= 0 AND (day, topic_id) IN "
                    "(SELECT substr(published, 1, 10), topic_id FROM article_topics WHERE article_id = ?)",
                    (scope, article_id),
                )

    async def detach(self, article_id: int, touched: set[int]) -> None:
        """Remove an article's topic rows and take them off the running totals; ``touched`` gains the
        topics to refresh."""
        db = self._db.writer
        async with db.execute(
            "SELECT topic_id, score, rank, published FROM article_topics WHERE article_id = ?", (article_id,)
        ) as cursor:
            topic_rows = list(await cursor.fetchall())
        await db.executemany(
            "UPDATE topics SET article_count = article_count - 1, score_sum = score_sum - ? WHERE id = ?",
            [(r["score"], r["topic_id"]) for r in topic_rows],
        )
        days = [(r["published"][:10], r["topic_id"]) for r in topic_rows if r["rank"] <= ABOUT_TOPIC_RANK]
        await db.executemany("UPDATE topic_day_counts SET articles = articles - 1 WHERE day = ? AND topic_id = ?", days)
        await db.executemany("DELETE FROM topic_day_counts WHERE day = ? AND topic_id = ? AND articles <= 0", days)
        touched.update(r["topic_id"] for r in topic_rows)
        await db.execute("DELETE FROM article_topics WHERE article_id = ?", (article_id,))

    async def refresh(self, topic_ids: set[int]) -> None:
        """When topics whose articles changed were last seen; topics no article has any more are removed."""
        if not topic_ids:
            return
        for chunk in chunks(sorted(topic_ids)):
            marks = ",".join("?" * len(chunk))
            await self._db.writer.execute(f"DELETE FROM topics WHERE id IN ({marks}) AND article_count <= 0", chunk)
            await self._db.writer.execute(
                f"UPDATE topics SET last_seen = (SELECT MAX(published) FROM article_topics t "
                f"WHERE t.topic_id = topics.id) WHERE id IN ({marks})",
                chunk,
            )

    # ------------------------------------------------------------------ re-keying, inside Database.write()

    async def key_version(self) -> int:
        """The version of :func:`~bot.nlp.topics.topic_key` the stored topic keys were made with (1: before
        versions were recorded)."""
        row = await self._db.fetchone("SELECT version FROM key_versions WHERE name = 'topic'")
        return int(row["version"]) if row else 1

    async def rekey(self, key_of: Callable[[str], str], version: int) -> int:
        """Give every topic the key ``key_of`` makes of its stored key and record ``version``; topics that
        now share a key become one (the most covered keeps its id and name, and gains the others' articles,
        counts and dates). Returns how many topics were merged away."""
        db = self._db.writer
        async with db.execute("SELECT id, key, article_count FROM topics") as cursor:
            rows = list(await cursor.fetchall())
        groups: dict[str, list[sqlite3.Row]] = {}
        for row in rows:
            groups.setdefault(key_of(row["key"]) or row["key"], []).append(row)
        merged = 0
        changed: list[tuple[str, int]] = []
        for key, group in groups.items():
            keeper, *others = sorted(group, key=lambda r: (-r["article_count"], r["id"]))
            if keeper["key"] != key:
                changed.append((key, keeper["id"]))
            if not others:
                continue
            for other in others:
                # An article that had both keeps its row of the kept topic; deleting the topic cascades
                # to the rows left behind.
                if self._db.dialect == "postgresql":  # no UPDATE OR IGNORE: leave out the rows that would clash
                    await db.execute(
                        "UPDATE article_topics SET topic_id = ? WHERE topic_id = ? AND NOT EXISTS (SELECT 1 FROM "
                        "article_topics k WHERE k.article_id = article_topics.article_id AND k.topic_id = ?)",
                        (keeper["id"], other["id"], keeper["id"]),
                    )
                else:
                    await db.execute(
                        "UPDATE OR IGNORE article_topics SET topic_id = ? WHERE topic_id = ?",
                        (keeper["id"], other["id"]),
                    )
                await db.execute("DELETE FROM topics WHERE id = ?", (other["id"],))
            await db.execute(
                """
                UPDATE topics SET
                    article_count = (SELECT COUNT(*) FROM article_topics WHERE topic_id = topics.id),
                    score_sum = (SELECT COALESCE(SUM(score), 0) FROM article_topics WHERE topic_id = topics.id),
                    last_seen = (SELECT MAX(published) FROM article_topics WHERE topic_id = topics.id)
                WHERE id = ?
                """,
                (keeper["id"],),
            )
            # Its running totals per scope (who sees what: article_scopes), recounted for the merged topic.
            await db.execute("DELETE FROM topic_scope_totals WHERE topic_id = ?", (keeper["id"],))
            await db.execute(
                "INSERT INTO topic_scope_totals (scope, topic_id, article_count, score_sum) "
                "SELECT s.scope, at.topic_id, COUNT(*), SUM(at.score) FROM article_topics at "
                "JOIN article_scopes s ON s.article_id = at.article_id WHERE at.topic_id = ? "
                "GROUP BY s.scope, at.topic_id",
                (keeper["id"],),
            )
            await db.execute("DELETE FROM topic_scope_day_counts WHERE topic_id = ?", (keeper["id"],))
            await db.execute(
                "INSERT INTO topic_scope_day_counts (scope, day, topic_id, articles) "
                "SELECT s.scope, substr(at.published, 1, 10), at.topic_id, COUNT(*) FROM article_topics at "
                "JOIN article_scopes s ON s.article_id = at.article_id WHERE at.topic_id = ? AND at.rank <= ? "
                "GROUP BY s.scope, substr(at.published, 1, 10), at.topic_id",
                (keeper["id"], ABOUT_TOPIC_RANK),
            )
            # The per-day counts that trending reads (bot/store/trending.py), recounted for the merged topic.
            await db.execute("DELETE FROM topic_day_counts WHERE topic_id = ?", (keeper["id"],))
            await db.execute(
                "INSERT INTO topic_day_counts (day, topic_id, articles) "
                "SELECT substr(published, 1, 10), topic_id, COUNT(*) FROM article_topics "
                "WHERE topic_id = ? AND rank <= ? GROUP BY substr(published, 1, 10), topic_id",
                (keeper["id"], ABOUT_TOPIC_RANK),
            )
            merged += len(others)
        # Two steps, so that no key is briefly held by two topics whatever the order of the updates.
        # (A key no topic_key makes: SQLite's char(0); PostgreSQL text holds no NUL, chr(1) then.)
        placeholder = "chr(1)" if self._db.dialect == "postgresql" else "char(0)"
        await db.executemany(
            f"UPDATE topics SET key = {placeholder} || id WHERE id = ?", [(tid,) for _, tid in changed]
        )
        await db.executemany("UPDATE topics SET key = ? WHERE id = ?", changed)
        await db.execute(
            "INSERT INTO key_versions (name, version) VALUES ('topic', ?) "
            "ON CONFLICT (name) DO UPDATE SET version = excluded.version",
            (version,),
        )
        return merged

