"""Articles: writing analysed articles (with their origins, files, stories and alerts) in batched transactions,
and reading them back — one article, the latest, related ones, the size of the index."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Sequence

from bot.models import (
    AlertPolicy,
    Article,
    ArticleAnalysis,
    ArticleBrief,
    ArticleEntity,
    ArticleRecord,
    ArticleTopic,
    FileFingerprint,
    RelatedArticle,
    Stats,
    WriteResult,
    to_iso,
)
from bot.store.alerts import AlertQueries
from bot.store.database import Database, chunks, current_time
from bot.store.entities import RECENT_WINDOW, EntityQueries
from bot.store.rows import BRIEF_COLUMNS, article_brief
from bot.store.search import SearchQueries
from bot.store.stories import StoryQueries
from bot.store.topics import TopicQueries

_ARTICLE_COLUMNS = "id, title, source, url, published, ingested_at, summary, word_count"


class ArticleQueries:
    """The article tables (articles, origins, files). A batch write also adds the entity, topic and search
    rows of its articles, places each new text in a story and plans their alerts, through those parts,
    inside its one transaction."""

    def __init__(
        self,
        db: Database,
        *,
        entities: EntityQueries,
        topics: TopicQueries,
        search: SearchQueries,
        alerts: AlertQueries,
        stories: StoryQueries,
    ) -> None:
        self._db = db
        self._stories = stories
        self._entities = entities
        self._topics = topics
        self._search = search
        self._alerts = alerts

    # -------------------------------------------------------------------------------- ingest side

    async def file_is_unchanged(self, fingerprint: FileFingerprint) -> bool:
        """Whether the file was fully indexed as it is now (same size and modification time)."""
        async with self._db.turn() as db, db.execute(
            "SELECT size, mtime_ns FROM files WHERE path = ?", (fingerprint.path,)
        ) as cursor:
            row = await cursor.fetchone()
        return row is not None and (row["size"], row["mtime_ns"]) == (fingerprint.size, fingerprint.mtime_ns)

    async def origin_hashes(self, origins: Sequence[str]) -> dict[str, str]:
        """The content hash currently indexed for each of ``origins`` that is known."""
        found: dict[str, str] = {}
        async with self._db.turn() as db:
            for chunk in chunks(list(origins)):
                marks = ",".join("?" * len(chunk))
                async with db.execute(
                    f"SELECT o.origin, a.content_hash FROM origins o JOIN articles a ON a.id = o.article_id "
                    f"WHERE o.origin IN ({marks})",
                    chunk,
                ) as cursor:
                    found.update({row["origin"]: row["content_hash"] async for row in cursor})
        return found

    async def origins_in_file(self, path: str) -> list[str]:
        """Every origin recorded for records of the file at ``path``."""
        async with self._db.turn() as db, db.execute(
            "SELECT origin FROM origins WHERE file = ?", (path,)
        ) as cursor:
            return [row["origin"] async for row in cursor]

    async def write_batch(
        self,
        items: Sequence[tuple[ArticleRecord, ArticleAnalysis | None]],
        *,
        files_done: Sequence[FileFingerprint] = (),
        stale_origins: Sequence[str] = (),
        alerts: AlertPolicy | None = None,
    ) -> list[WriteResult]:
        """Store analysed articles, drop origins that vanished, and mark files done — in one transaction.

        A record whose text is already indexed under another origin needs no analysis (pass ``None``):
        its origin is linked to that article. A record whose origin held other text replaces that
        article's rows, keeping its id when no other origin shares it. With an ``alerts`` policy, the
        alerts of new articles are written to the outbox in the same transaction.
        """
        results: list[WriteResult] = []
        async with self._db.write() as db:
            touched_entities: set[int] = set()
            touched_topics: set[int] = set()
            for origin in stale_origins:
                await self._unlink_origin(origin, touched_entities, touched_topics)
            for record, analysis in items:
                results.append(await self._write_one(record, analysis, touched_entities, touched_topics))
            await self._entities.refresh(touched_entities)
            await self._topics.refresh(touched_topics)
            planned = 0
            if alerts is not None and not alerts.suppress:
                for result in results:
                    if result.status in {"new", "duplicate"}:
                        planned += await self._alerts.plan(result.article_id, alerts, is_new=result.status == "new")
            now = current_time()
            await db.executemany(
                "INSERT INTO files (path, size, mtime_ns, indexed_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, "
                "indexed_at = excluded.indexed_at",
                [(f.path, f.size, f.mtime_ns, now) for f in files_done],
            )
        self._db.generation += 1
        if planned:
            self._alerts.planned.set()
        return results

    async def id_for_hash(self, content_hash: str) -> int | None:
        """The article holding this exact text, if any."""
        async with self._db.turn():
            return await self._id_for_hash(content_hash)

    async def _id_for_hash(self, content_hash: str) -> int | None:
        async with self._db.writer.execute(
            "SELECT id FROM articles WHERE content_hash = ?", (content_hash,)
        ) as cursor:
            row = await cursor.fetchone()
        return row["id"] if row else None

    async def _write_one(
        self,
        record: ArticleRecord,
        analysis: ArticleAnalysis | None,
        touched_entities: set[int],
        touched_topics: set[int],
    ) -> WriteResult:
        db = self._db.writer
        now = current_time()
        async with db.execute(
            "SELECT o.article_id, a.content_hash FROM origins o JOIN articles a ON a.id = o.article_id "
            "WHERE o.origin = ?",
            (record.origin,),
        ) as cursor:
            previous = await cursor.fetchone()
        if previous and previous["content_hash"] == record.content_hash:
            if analysis is None:
                return WriteResult(record.origin, previous["article_id"], "unchanged")
            reuse: int | None = previous["article_id"]  # a forced re-analysis refreshes the rows in place
        else:
            same_text = await self._id_for_hash(record.content_hash)
            if same_text is not None:
                await self._link_origin(record, same_text, now, touched_entities, touched_topics)
                return WriteResult(record.origin, same_text, "duplicate")
            if analysis is None:
                raise ValueError(f"{record.origin}: new text needs its analysis")
            reuse = (
                previous["article_id"]
                if previous and await self._origin_count(previous["article_id"]) == 1
                else None
            )

        # A publication date in the future (a 2099 feed item) is clamped to now, or it tops !latest forever.
        published = min(to_iso(record.published), now)
        columns = (
            record.content_hash,
            record.title,
            int(record.title_derived),
            record.source,
            record.url,
            published,
            now,
            record.body,
            json.dumps(analysis.summary),
            analysis.word_count,
        )
        if reuse is not None:
            await self._detach_article(reuse, touched_entities, touched_topics)
            await db.execute(
                "UPDATE articles SET content_hash = ?, title = ?, title_derived = ?, source = ?, url = ?, "
                "published = ?, ingested_at = ?, body = ?, summary = ?, word_count = ? WHERE id = ?",
                (*columns, reuse),
            )
            article_id, status = reuse, "updated"
        else:
            async with db.execute(
                "INSERT INTO articles (content_hash, title, title_derived, source, url, published, "
                "ingested_at, body, summary, word_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                columns,
            ) as cursor:
                row = await cursor.fetchone()
            assert row is not None
            article_id, status = row["id"], "new" if previous is None else "updated"
        await self._search.add(article_id, record.title, record.body)
        await self._attach_analysis(article_id, published, analysis, touched_entities, touched_topics)
        await self._stories.place_or_skip(article_id, published, record.title, record.body, record.source)
        await self._link_origin(record, article_id, now, touched_entities, touched_topics)
        return WriteResult(record.origin, article_id, status)

    async def _attach_analysis(
        self,
        article_id: int,
        published: str,
        analysis: ArticleAnalysis,
        touched_entities: set[int],
        touched_topics: set[int],
    ) -> None:
        await self._entities.attach(article_id, published, analysis.entities, touched_entities)
        await self._topics.attach(article_id, published, analysis.topics, touched_topics)

    async def _origin_count(self, article_id: int) -> int:
        async with self._db.writer.execute(
            "SELECT COUNT(*) AS n FROM origins WHERE article_id = ?", (article_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return int(row["n"]) if row else 0

    async def _link_origin(
        self,
        record: ArticleRecord,
        article_id: int,
        now: str,
        touched_entities: set[int],
        touched_topics: set[int],
    ) -> None:
        db = self._db.writer
        async with db.execute("SELECT article_id FROM origins WHERE origin = ?", (record.origin,)) as cursor:
            row = await cursor.fetchone()
        await db.execute(
            "INSERT INTO origins (origin, article_id, file, seen_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (origin) DO UPDATE SET article_id = excluded.article_id, seen_at = excluded.seen_at",
            (record.origin, article_id, record.file, now),
        )
        if row and row["article_id"] != article_id and await self._origin_count(row["article_id"]) == 0:
            await self._delete_article(row["article_id"], touched_entities, touched_topics)

    async def _unlink_origin(self, origin: str, touched_entities: set[int], touched_topics: set[int]) -> None:
        async with self._db.writer.execute(
            "DELETE FROM origins WHERE origin = ? RETURNING article_id", (origin,)
        ) as cursor:
            row = await cursor.fetchone()
        if row and await self._origin_count(row["article_id"]) == 0:
            await self._delete_article(row["article_id"], touched_entities, touched_topics)

    async def _delete_article(self, article_id: int, touched_entities: set[int], touched_topics: set[int]) -> None:
        await self._detach_article(article_id, touched_entities, touched_topics)
        await self._db.writer.execute("DELETE FROM articles WHERE id = ?", (article_id,))

    async def _detach_article(self, article_id: int, touched_entities: set[int], touched_topics: set[int]) -> None:
        """Remove an article's analysis rows and its search entry, noting which aggregates to redo."""
        await self._entities.detach(article_id, touched_entities)
        await self._topics.detach(article_id, touched_topics)
        await self._search.remove(article_id)
        await self._stories.detach(article_id)

    # ---------------------------------------------------------------------------------- read side

    async def get(self, article_id: int, *, with_body: bool = False) -> Article | None:
        """One article with its entities, topics and where it came from."""
        body_column = "body" if with_body else "NULL"
        row = await self._db.fetchone(
            f"SELECT {_ARTICLE_COLUMNS}, {body_column} AS body FROM articles WHERE id = ?",
            (article_id,),
        )
        if row is None:
            return None
        return await self._article_from_row(row)

    async def _article_from_row(self, row: sqlite3.Row) -> Article:
        article_id = row["id"]
        entities = await self._db.fetchall(
            """
            SELECT e.id, e.name, e.type, ae.mentions, ae.salience,
                   (SELECT json_group_array(role) FROM article_roles r
                    WHERE r.article_id = ae.article_id AND r.entity_id = ae.entity_id) AS roles
            FROM article_entities ae JOIN entities e ON e.id = ae.entity_id
            WHERE ae.article_id = ? ORDER BY ae.salience DESC, ae.mentions DESC, e.name
            """,
            (article_id,),
        )
        topics = await self._db.fetchall(
            "SELECT t.id, t.name, t.key, at.score FROM article_topics at JOIN topics t ON t.id = at.topic_id "
            "WHERE at.article_id = ? ORDER BY at.rank",
            (article_id,),
        )
        origins = await self._db.fetchall(
            "SELECT origin FROM origins WHERE article_id = ? ORDER BY seen_at, origin", (article_id,)
        )
        return Article(
            id=article_id,
            title=row["title"],
            source=row["source"],
            url=row["url"],
            published=row["published"],
            ingested_at=row["ingested_at"],
            summary=json.loads(row["summary"]),
            word_count=row["word_count"],
            origins=[o["origin"] for o in origins],
            entities=[
                ArticleEntity(
                    entity_id=r["id"],
                    name=r["name"],
                    type=r["type"],
                    mentions=r["mentions"],
                    salience=r["salience"],
                    roles=json.loads(r["roles"]),
                )
                for r in entities
            ],
            topics=[ArticleTopic(topic_id=r["id"], name=r["name"], key=r["key"], score=r["score"]) for r in topics],
            body=row["body"],
        )

    async def latest(self, limit: int = 5) -> list[ArticleBrief]:
        """The most recently published articles."""
        rows = await self._db.fetchall(
            f"SELECT {BRIEF_COLUMNS} FROM articles a ORDER BY a.published DESC, a.id DESC LIMIT ?", (limit,)
        )
        return [article_brief(r) for r in rows]

    async def latest_id(self) -> int | None:
        """The id of the most recently published article."""
        row = await self._db.fetchone("SELECT id FROM articles ORDER BY published DESC, id DESC LIMIT 1")
        return row["id"] if row else None

    async def count(self) -> int:
        """How many articles the index holds."""
        row = await self._db.fetchone("SELECT COUNT(*) AS n FROM articles")
        return int(row["n"]) if row else 0

    async def related(self, article_id: int, limit: int = 5) -> list[RelatedArticle]:
        """Articles sharing the most salient entities and topics with this one.

        Each shared entity adds the product of its salience in both articles; a shared topic adds half
        the product of its scores. Candidates come from each shared name's recent articles only.
        """
        mine = await self._db.fetchall(
            "SELECT ae.entity_id AS anchor, ae.salience AS weight, e.name FROM article_entities ae JOIN entities e "
            "ON e.id = ae.entity_id WHERE ae.article_id = ? ORDER BY ae.salience DESC LIMIT 8",
            (article_id,),
        )
        my_topics = await self._db.fetchall(
            "SELECT at.topic_id AS anchor, at.score AS weight, t.name FROM article_topics at "
            "JOIN topics t ON t.id = at.topic_id WHERE at.article_id = ? ORDER BY at.rank LIMIT 8",
            (article_id,),
        )
        scores: dict[int, float] = {}
        shared: dict[int, list[str]] = {}
        for table, column, weight_column, factor, anchors in (
            ("article_entities", "entity_id", "salience", 1.0, mine),
            ("article_topics", "topic_id", "score", 0.5, my_topics),
        ):
            for anchor in anchors:
                rows = await self._db.fetchall(
                    f"SELECT article_id, {weight_column} AS weight FROM {table} WHERE {column} = ? AND article_id != ? "
                    f"ORDER BY published DESC LIMIT {RECENT_WINDOW}",
                    (anchor["anchor"], article_id),
                )
                for other in rows:
                    other_id = other["article_id"]
                    scores[other_id] = scores.get(other_id, 0.0) + factor * anchor["weight"] * other["weight"]
                    shared.setdefault(other_id, []).append(anchor["name"])
        best = sorted(scores, key=lambda a: -scores[a])[:limit]
        if not best:
            return []
        marks = ",".join("?" * len(best))
        briefs = {
            r["id"]: article_brief(r)
            for r in await self._db.fetchall(f"SELECT {BRIEF_COLUMNS} FROM articles a WHERE a.id IN ({marks})", best)
        }
        return [RelatedArticle(briefs[a], round(scores[a], 4), shared[a]) for a in best if a in briefs]

    async def stats(self) -> Stats:
        """Counts and dates that describe the index."""
        row = await self._db.fetchone(
            """
            SELECT (SELECT COUNT(*) FROM articles) AS articles, (SELECT COUNT(*) FROM entities) AS entities,
                   (SELECT COUNT(*) FROM topics) AS topics,
                   (SELECT COALESCE(SUM(mention_count), 0) FROM entities) AS mentions,
                   (SELECT COUNT(*) FROM origins) AS origins,
                   (SELECT MIN(published) FROM articles) AS first_published,
                   (SELECT MAX(published) FROM articles) AS last_published,
                   (SELECT MAX(ingested_at) FROM articles) AS last_ingested
            """
        )
        assert row is not None  # an aggregate query always returns its row
        by_type = await self._db.fetchall("SELECT type, COUNT(*) AS n FROM entities GROUP BY type ORDER BY n DESC")
        page = await self._db.fetchone(
            "SELECT page_count * page_size AS size FROM pragma_page_count(), pragma_page_size()"
        )
        return Stats(
            **row,
            database_bytes=int(page["size"]) if page else 0,
            entities_by_type={r["type"]: r["n"] for r in by_type},
        )

    async def iter_all(self) -> AsyncIterator[Article]:
        """Every article with its analysis, oldest id first (for export)."""
        last = 0
        while True:
            rows = await self._db.fetchall(
                f"SELECT {_ARTICLE_COLUMNS}, NULL AS body FROM articles WHERE id > ? ORDER BY id LIMIT 200",
                (last,),
            )
            if not rows:
                return
            for row in rows:
                yield await self._article_from_row(row)
            last = rows[-1]["id"]
