"""Articles: writing analysed articles (with their origins, files and alerts) in batched transactions,
and reading them back — one article, the latest, related ones, the size of the index."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.models import (
    EVERYTHING,
    SHARED_SCOPE,
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
    Viewer,
    WriteResult,
    to_iso,
)
from bot.store.alerts import AlertQueries
from bot.store.database import Database, chunks, current_time
from bot.store.entities import RECENT_WINDOW, EntityQueries
from bot.store.rows import BRIEF_COLUMNS, article_brief, scope_marks, visible, visible_in
from bot.store.search import SearchQueries
from bot.store.topics import TopicQueries

_ARTICLE_COLUMNS = "id, title, source, url, published, ingested_at, summary, word_count"
# The source id crediting what the watched folders and the command line index (shared with every server).
FOLDERS_SOURCE = 0


@dataclass(slots=True)
class _Touched:
    """What one write changed: entities and topics whose aggregates to refresh, articles to rescope."""

    entities: set[int] = field(default_factory=set)
    topics: set[int] = field(default_factory=set)
    articles: set[int] = field(default_factory=set)
    removed: int = 0  # articles deleted


class ArticleQueries:
    """The article tables (articles, origins, files). A batch write also adds the entity, topic and search
    rows of its articles and plans their alerts, through those parts, inside its one transaction."""

    def __init__(
        self,
        db: Database,
        *,
        entities: EntityQueries,
        topics: TopicQueries,
        search: SearchQueries,
        alerts: AlertQueries,
    ) -> None:
        self._db = db
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
        source_id: int | None = None,
    ) -> list[WriteResult]:
        """Store analysed articles, drop origins that vanished, and mark files done — in one transaction.

        A record whose text is already indexed under another origin needs no analysis (pass ``None``):
        its origin is linked to that article. A record whose origin held other text replaces that
        article's rows, keeping its id when no other origin shares it. With an ``alerts`` policy, the
        alerts of new articles are written to the outbox in the same transaction.

        ``source_id`` is the feed the records came from (``None``: the watched folders or the command
        line, which are shared): each origin is credited to it, which decides who may see its article.
        A record already indexed under its origin (pass it with ``None``) only gains the credit, and is
        ``linked`` when that made it visible to a server that could not see it. Records of a feed
        removed meanwhile are not written.
        """
        results: list[WriteResult] = []
        async with self._db.write() as db:
            source = await self._source_scope(source_id)
            touched = _Touched()
            for origin in stale_origins:
                await self._unlink_origin(origin, touched)
            for record, analysis in items if source is not None else ():
                results.append(await self._write_one(record, analysis, source or (0, 0), touched))
            scopes_before = {r.article_id: await self._scopes(r.article_id) for r in results if r.status == "linked"}
            await self._rescope(touched)
            # A credit that shows the article to no one new (a second feed of the same server) changes nothing.
            results = [
                WriteResult(r.origin, r.article_id, "unchanged")
                if r.status == "linked" and await self._scopes(r.article_id) == scopes_before[r.article_id]
                else r
                for r in results
            ]
            await self._entities.refresh(touched.entities)
            await self._topics.refresh(touched.topics)
            planned = 0
            if alerts is not None and not alerts.suppress:
                for result in results:
                    if result.status in {"new", "duplicate", "linked"}:
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

    async def _source_scope(self, source_id: int | None) -> tuple[int, int] | None:
        """(source id, scope) to credit a batch's origins to; ``None`` when the feed is gone."""
        if source_id is None:
            return FOLDERS_SOURCE, SHARED_SCOPE
        async with self._db.writer.execute(
            "SELECT guild_id, shared FROM sources WHERE id = ?", (source_id,)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        return source_id, SHARED_SCOPE if row["shared"] else int(row["guild_id"])

    async def linked_origins(self, source_id: int, origins: Sequence[str]) -> set[str]:
        """Which of ``origins`` are already credited to feed ``source_id``."""
        found: set[str] = set()
        async with self._db.turn() as db:
            for chunk in chunks(list(origins)):
                marks = ",".join("?" * len(chunk))
                async with db.execute(
                    f"SELECT origin FROM origin_sources WHERE source_id = ? AND origin IN ({marks})",
                    (source_id, *chunk),
                ) as cursor:
                    found.update([row["origin"] async for row in cursor])
        return found

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
        source: tuple[int, int],
        touched: _Touched,
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
                if await self._credit(record.origin, source):
                    await self._show_shared_source(previous["article_id"], record, source)
                    touched.articles.add(previous["article_id"])
                    return WriteResult(record.origin, previous["article_id"], "linked")
                return WriteResult(record.origin, previous["article_id"], "unchanged")
            reuse: int | None = previous["article_id"]  # a forced re-analysis refreshes the rows in place
        else:
            same_text = await self._id_for_hash(record.content_hash)
            if same_text is not None:
                await self._show_shared_source(same_text, record, source)
                await self._link_origin(record, same_text, now, source, touched)
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
            await self._detach_article(reuse, touched)
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
        await self._attach_analysis(article_id, published, analysis, touched)
        await self._link_origin(record, article_id, now, source, touched)
        return WriteResult(record.origin, article_id, status)

    async def _attach_analysis(
        self, article_id: int, published: str, analysis: ArticleAnalysis, touched: _Touched
    ) -> None:
        await self._entities.attach(article_id, published, analysis.entities, touched.entities)
        await self._topics.attach(article_id, published, analysis.topics, touched.topics)
        # Counted in the scopes the article already has (a re-analysis); a new one's come with its origin.
        scopes = await self._scopes(article_id)
        await self._entities.shift_scopes(article_id, (), scopes)
        await self._topics.shift_scopes(article_id, (), scopes)

    async def _show_shared_source(self, article_id: int, record: ArticleRecord, source: tuple[int, int]) -> None:
        """A story a server's own feed brought in arrives through a shared source: from now on it shows the
        shared source's name and link, not the server's feed (which other servers must not learn of)."""
        if source[1] == SHARED_SCOPE and SHARED_SCOPE not in await self._scopes(article_id):
            await self._db.writer.execute(
                "UPDATE articles SET source = ?, url = ? WHERE id = ?", (record.source, record.url, article_id)
            )

    async def _origin_count(self, article_id: int) -> int:
        async with self._db.writer.execute(
            "SELECT COUNT(*) AS n FROM origins WHERE article_id = ?", (article_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return int(row["n"]) if row else 0

    async def _credit(self, origin: str, source: tuple[int, int]) -> bool:
        """Credit an origin to a source; ``False`` when it already was."""
        async with self._db.writer.execute(
            "INSERT OR IGNORE INTO origin_sources (origin, source_id, scope) VALUES (?, ?, ?) RETURNING 1",
            (origin, *source),
        ) as cursor:
            return await cursor.fetchone() is not None

    async def _link_origin(
        self, record: ArticleRecord, article_id: int, now: str, source: tuple[int, int], touched: _Touched
    ) -> None:
        db = self._db.writer
        async with db.execute("SELECT article_id FROM origins WHERE origin = ?", (record.origin,)) as cursor:
            row = await cursor.fetchone()
        await db.execute(
            "INSERT INTO origins (origin, article_id, file, seen_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (origin) DO UPDATE SET article_id = excluded.article_id, seen_at = excluded.seen_at",
            (record.origin, article_id, record.file, now),
        )
        await self._credit(record.origin, source)
        touched.articles.add(article_id)
        if row and row["article_id"] != article_id:
            touched.articles.add(row["article_id"])
            if await self._origin_count(row["article_id"]) == 0:
                await self._delete_article(row["article_id"], touched)

    async def _unlink_origin(self, origin: str, touched: _Touched) -> None:
        async with self._db.writer.execute(
            "DELETE FROM origins WHERE origin = ? RETURNING article_id", (origin,)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return
        touched.articles.add(row["article_id"])
        if await self._origin_count(row["article_id"]) == 0:
            await self._delete_article(row["article_id"], touched)

    async def _delete_article(self, article_id: int, touched: _Touched) -> None:
        await self._detach_article(article_id, touched)
        await self._db.writer.execute("DELETE FROM articles WHERE id = ?", (article_id,))
        touched.articles.discard(article_id)
        touched.removed += 1

    async def _detach_article(self, article_id: int, touched: _Touched) -> None:
        """Remove an article's analysis rows and its search entry, noting which aggregates to redo."""
        scopes = await self._scopes(article_id)
        await self._entities.shift_scopes(article_id, scopes, ())
        await self._topics.shift_scopes(article_id, scopes, ())
        await self._entities.detach(article_id, touched.entities)
        await self._topics.detach(article_id, touched.topics)
        await self._search.remove(article_id)

    # ------------------------------------------------------------------------------- visibility

    async def _scopes(self, article_id: int) -> set[int]:
        """The scopes an article is counted in now (inside the write)."""
        async with self._db.writer.execute(
            "SELECT scope FROM article_scopes WHERE article_id = ?", (article_id,)
        ) as cursor:
            return {row["scope"] async for row in cursor}

    async def _rescope(self, touched: _Touched) -> None:
        """Bring the scopes of articles whose origins or credits changed in line with their sources,
        moving their running totals from the scopes they leave to the ones they join."""
        db = self._db.writer
        for article_id in sorted(touched.articles):
            async with db.execute(
                "SELECT DISTINCT os.scope FROM origins o JOIN origin_sources os ON os.origin = o.origin "
                "WHERE o.article_id = ?",
                (article_id,),
            ) as cursor:
                credited = {row["scope"] async for row in cursor}
            wanted = {SHARED_SCOPE} if SHARED_SCOPE in credited else credited
            current = await self._scopes(article_id)
            if wanted == current:
                continue
            leaving, joining = current - wanted, wanted - current
            await self._entities.shift_scopes(article_id, leaving, joining)
            await self._topics.shift_scopes(article_id, leaving, joining)
            await db.executemany(
                "DELETE FROM article_scopes WHERE article_id = ? AND scope = ?", [(article_id, s) for s in leaving]
            )
            await db.executemany(
                "INSERT INTO article_scopes (article_id, scope) VALUES (?, ?)", [(article_id, s) for s in joining]
            )
        touched.articles.clear()

    async def forget_sources(self, source_ids: Sequence[int]) -> int:
        """Inside a write: take back the credits of removed feeds. An origin no source delivers any more
        goes, and its article with it when no other origin keeps it; the others are rescoped. Returns
        how many articles were removed."""
        db = self._db.writer
        touched = _Touched()
        orphans: list[str] = []
        for source_id in source_ids:
            async with db.execute(
                "DELETE FROM origin_sources WHERE source_id = ? RETURNING origin", (source_id,)
            ) as cursor:
                origins = [row["origin"] async for row in cursor]
            for origin in origins:
                async with db.execute(
                    "SELECT o.article_id, EXISTS (SELECT 1 FROM origin_sources s WHERE s.origin = o.origin) AS kept "
                    "FROM origins o WHERE o.origin = ?",
                    (origin,),
                ) as cursor:
                    row = await cursor.fetchone()
                if row is None:
                    continue
                touched.articles.add(row["article_id"])
                if not row["kept"]:
                    orphans.append(origin)
        for origin in orphans:
            await self._unlink_origin(origin, touched)
        await self._rescope(touched)
        await self._entities.refresh(touched.entities)
        await self._topics.refresh(touched.topics)
        self._db.generation += 1
        return touched.removed

    # ---------------------------------------------------------------------------------- read side

    async def get(self, article_id: int, *, with_body: bool = False, viewer: Viewer = EVERYTHING) -> Article | None:
        """One article with its entities, topics and where it came from, if ``viewer`` sees it."""
        body_column = "body" if with_body else "NULL"
        seen, params = visible(viewer, "articles.id")
        row = await self._db.fetchone(
            f"SELECT {_ARTICLE_COLUMNS}, {body_column} AS body FROM articles WHERE id = ? AND {seen}",
            (article_id, *params),
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

    async def latest(self, limit: int = 5, *, viewer: Viewer = EVERYTHING) -> list[ArticleBrief]:
        """The most recently published articles ``viewer`` sees."""
        seen, params = visible(viewer)
        rows = await self._db.fetchall(
            f"SELECT {BRIEF_COLUMNS} FROM articles a WHERE {seen} ORDER BY a.published DESC, a.id DESC LIMIT ?",
            (*params, limit),
        )
        return [article_brief(r) for r in rows]

    async def latest_id(self, *, viewer: Viewer = EVERYTHING) -> int | None:
        """The id of the most recently published article ``viewer`` sees."""
        latest = await self.latest(1, viewer=viewer)
        return latest[0].id if latest else None

    async def count(self, *, viewer: Viewer = EVERYTHING) -> int:
        """How many articles ``viewer`` sees."""
        scopes = viewer.scopes
        if scopes is None:
            row = await self._db.fetchone("SELECT COUNT(*) AS n FROM articles")
        else:
            row = await self._db.fetchone(
                f"SELECT COALESCE(SUM(articles), 0) AS n FROM scope_counts WHERE scope IN ({scope_marks(scopes)})",
                scopes,
            )
        return int(row["n"]) if row else 0

    async def related(self, article_id: int, limit: int = 5, *, viewer: Viewer = EVERYTHING) -> list[RelatedArticle]:
        """Articles ``viewer`` sees sharing the most salient entities and topics with this one.

        Each shared entity adds the product of its salience in both articles; a shared topic adds half
        the product of its scores. Candidates come from each shared name's recent articles only. An
        article ``viewer`` does not see has no related articles for it.
        """
        if viewer.scopes is not None:
            own, own_params = visible(viewer, "a.id")
            shown = await self._db.fetchone(
                f"SELECT 1 FROM articles a WHERE a.id = ? AND {own}", (article_id, *own_params)
            )
            if shown is None:
                return []
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
        # Every anchor's recent articles, scored and summed in one query (thousands of rows never reach
        # Python); what the viewer may not see is left out of the best only, which needs few checks.
        parts: list[str] = []
        params: list[Any] = []
        anchors = [
            *(("article_entities", "entity_id", "salience", 1.0, a) for a in mine),
            *(("article_topics", "topic_id", "score", 0.5, a) for a in my_topics),
        ]
        for order, (table, column, weight_column, factor, anchor) in enumerate(anchors):
            parts.append(
                f"SELECT article_id, ? * weight AS score, ? AS anchor FROM (SELECT x.article_id, "
                f"x.{weight_column} AS weight FROM {table} x WHERE x.{column} = ? AND x.article_id != ? "
                f"ORDER BY x.published DESC LIMIT {RECENT_WINDOW})"
            )
            params += [factor * anchor["weight"], order, anchor["anchor"], article_id]
        if not parts:
            return []
        seen, seen_params = visible(viewer, "g.article_id")
        best = await self._db.fetchall(
            f"SELECT g.article_id, g.score, g.anchors, {BRIEF_COLUMNS} FROM ("
            "SELECT c.article_id, SUM(c.score) AS score, json_group_array(c.anchor) AS anchors, MIN(c.anchor) AS first "
            f"FROM ({' UNION ALL '.join(parts)}) c GROUP BY c.article_id) g JOIN articles a ON a.id = g.article_id "
            f"WHERE {seen} ORDER BY g.score DESC, g.first, g.article_id DESC LIMIT ?",
            (*params, *seen_params, limit),
        )
        return [
            RelatedArticle(
                article_brief(r),
                round(r["score"], 4),
                [anchors[n][4]["name"] for n in sorted(json.loads(r["anchors"]))],
            )
            for r in best
        ]

    async def stats(self, *, viewer: Viewer = EVERYTHING) -> Stats:
        """Counts and dates that describe the index, as ``viewer`` sees it."""
        page = await self._db.fetchone(
            "SELECT page_count * page_size AS size FROM pragma_page_count(), pragma_page_size()"
        )
        database_bytes = int(page["size"]) if page else 0
        scopes = viewer.scopes
        if scopes is not None:
            return await self._scoped_stats(scopes, database_bytes)
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
        return Stats(
            **row,
            database_bytes=database_bytes,
            entities_by_type={r["type"]: r["n"] for r in by_type},
        )

    async def _scoped_stats(self, scopes: tuple[int, ...], database_bytes: int) -> Stats:
        """:meth:`stats` for a server or a DM, from the per-scope counts: an entity or topic in both the
        shared scope and the server's is counted once (the server's own are few, so checking them is cheap)."""
        marks = scope_marks(scopes)
        row = await self._db.fetchone(
            f"SELECT COALESCE(SUM(articles), 0) AS articles, COALESCE(SUM(entities), 0) AS entities, "
            f"COALESCE(SUM(topics), 0) AS topics, COALESCE(SUM(mentions), 0) AS mentions, "
            f"COALESCE(SUM(origins), 0) AS origins, "
            f"MAX(last_ingested) AS last_ingested FROM scope_counts WHERE scope IN ({marks})",
            scopes,
        )
        assert row is not None
        entities, topics = int(row["entities"]), int(row["topics"])
        for own in scopes[1:]:
            both = await self._db.fetchone(
                "SELECT (SELECT COUNT(*) FROM entity_scope_totals m WHERE m.scope = ? AND EXISTS "
                "(SELECT 1 FROM entity_scope_totals z WHERE z.scope = 0 AND z.entity_id = m.entity_id)) AS entities, "
                "(SELECT COUNT(*) FROM topic_scope_totals m WHERE m.scope = ? AND EXISTS "
                "(SELECT 1 FROM topic_scope_totals z WHERE z.scope = 0 AND z.topic_id = m.topic_id)) AS topics",
                (own, own),
            )
            if both is not None:
                entities -= int(both["entities"])
                topics -= int(both["topics"])
        seen, params = visible_in(scopes)
        dates = []
        for order in ("ASC", "DESC"):
            first = await self._db.fetchone(
                f"SELECT a.published FROM articles a WHERE {seen} ORDER BY a.published {order} LIMIT 1", params
            )
            dates.append(first["published"] if first else None)
        return Stats(
            articles=int(row["articles"]),
            entities=entities,
            topics=topics,
            mentions=int(row["mentions"]),
            origins=int(row["origins"]),
            first_published=dates[0],
            last_published=dates[1],
            last_ingested=row["last_ingested"] or None,
            database_bytes=database_bytes,
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
