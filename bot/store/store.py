"""The index in SQLite, through aiosqlite. Every SQL statement of the project lives in this package.

One connection writes (in batched transactions), another reads, so that answering a question never
waits for an ingest in progress: WAL lets the reader see the last committed state.

Many tasks write (feed polls, the folder watcher, commands, the alert dispatcher) and SQLite has one
transaction per connection: a statement run while another task's transaction is open would join it,
and be lost with its rollback. So the writing connection is reached only inside :meth:`Store._write`
(one task at a time, one transaction each) or :meth:`Store._turn`; anywhere else it raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import aiosqlite

from bot.models import (
    ENTITY_TYPES,
    AlertPolicy,
    Article,
    ArticleAnalysis,
    ArticleBrief,
    ArticleEntity,
    ArticleRecord,
    ArticleTopic,
    EntityArticle,
    EntityProfile,
    EntityRef,
    FileFingerprint,
    RelatedArticle,
    SearchHit,
    Stats,
    TopicRef,
    WriteResult,
    to_iso,
)
from bot.store.alerts import AlertQueries
from bot.store.migrations import MigrationError, load_migrations

# Roles, co-mentions and related articles look at an entity's most recent articles: exact for nearly
# every entity, and for the few in thousands of stories it is what is said of them lately, at a cost
# that does not grow with the index.
RECENT_WINDOW = 300
CO_MENTION_WINDOW = 150
SEARCH_CANDIDATES = 300
_IN_CHUNK = 500
NAME_WORDS = 12  # words of a name a lookup matches on; SQLite joins at most 64 tables
_FTS_WORD = re.compile(r"\w+", re.UNICODE)
_TYPE_ORDER = "CASE label " + " ".join(f"WHEN '{t}' THEN {i}" for i, t in enumerate(ENTITY_TYPES)) + " END"
_ENTITY_COLUMNS = "id, name, type, article_count, mention_count"
_BRIEF_COLUMNS = "a.id, a.title, a.source, a.url, a.published"
# After a burst of writes the WAL is truncated back to this size at the next checkpoint.
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024

log = logging.getLogger(__name__)


class StoreError(RuntimeError):
    """The database cannot be opened, is damaged, is from a newer version of Newsdesk, or its disk is full.

    The message is one sentence naming the file, fit to show as is.
    """


# SQLite result codes (the low byte of an extended code) that are faults of the file or the disk
# under it, not of the query: a damaged or foreign file, a full disk, an I/O error, no access.
_FAULTS = {
    sqlite3.SQLITE_CORRUPT: "is damaged ({error}); restore a backup, or move it away to build a new index",
    sqlite3.SQLITE_NOTADB: "is not a Newsdesk database or is damaged ({error}); move it away to build a new index",
    sqlite3.SQLITE_FULL: "cannot grow: the disk is full ({error}); what was saved before is intact",
    sqlite3.SQLITE_IOERR: "could not be read or written ({error})",
    sqlite3.SQLITE_CANTOPEN: "cannot be opened ({error})",
    sqlite3.SQLITE_READONLY: "is read-only ({error})",
    sqlite3.SQLITE_PERM: "cannot be accessed ({error})",
}


def storage_fault(path: Path, exc: BaseException) -> StoreError | None:
    """The one-line :class:`StoreError` for a fault of the database file itself (damaged, full disk,
    unreadable), or ``None`` when ``exc`` is something else (a bug in a query stays a bug)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(exc, sqlite3.DatabaseError) or code is None or code & 0xFF not in _FAULTS:
        return None
    return StoreError(f"the database {path} " + _FAULTS[code & 0xFF].format(error=exc))


def _now() -> str:
    return to_iso(datetime.now(UTC))


def _entity(row: Sequence[Any]) -> EntityRef:
    return EntityRef(id=row[0], name=row[1], type=row[2], article_count=row[3], mention_count=row[4])


def _brief(row: Sequence[Any]) -> ArticleBrief:
    return ArticleBrief(id=row[0], title=row[1], source=row[2], url=row[3], published=row[4])


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


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def fts_words(text: str) -> list[str]:
    """User text as safe FTS5 terms: every word quoted, so ``AND (``, ``*`` and quotes are just words."""
    return ['"' + w.replace('"', '""') + '"' for w in _FTS_WORD.findall(text)[:32]]


class Store(AlertQueries):
    """The Newsdesk index. Open it with ``async with Store.open(path) as store``."""

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self.path = path
        self._write_connection = writer  # only through _write() / _turn(): see the module docstring
        self._write_lock = asyncio.Lock()
        self._write_owner: asyncio.Task[Any] | None = None
        self._reader = reader
        self.generation = 0  # bumped on every committed write, so caches know when to refresh
        # Set when a write planned alerts, so an in-process dispatcher wakes at once.
        self.alerts_planned = asyncio.Event()

    # ----------------------------------------------------------------------------------- lifecycle

    @classmethod
    def open(cls, path: Path) -> _StoreOpener:
        """Open (creating and migrating as needed) the database at ``path``."""
        return _StoreOpener(path)

    @classmethod
    async def connect(cls, path: Path) -> Store:
        """Open the database; prefer ``async with Store.open(path)`` which also closes it."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _create_private(path)
            writer = await aiosqlite.connect(path, isolation_level=None)
        except Exception as exc:  # sqlite3 raises a bare OperationalError with little context
            raise StoreError(f"cannot open the database {path}: {exc}") from exc
        try:
            await _configure(writer)
            await _migrate(writer)
            reader = await aiosqlite.connect(path, isolation_level=None)
            await _configure(reader)
            await reader.execute("PRAGMA query_only = ON")
        except BaseException as exc:
            await writer.close()
            if isinstance(exc, MigrationError):
                raise StoreError(f"cannot prepare the database {path}: {exc}") from exc
            fault = storage_fault(path, exc)
            if fault is not None:
                raise fault from exc
            raise
        return cls(path, writer, reader)

    async def close(self, *, optimize: bool = True) -> None:
        """Close both connections, first letting SQLite refresh its statistics (``optimize``; skipped
        after a failure). A write in progress finishes first. Never raises for the database's own
        faults: they are logged, and what was committed is safe either way."""
        await self._close_connection(self._reader)
        async with self._turn() as writer:
            if optimize:
                try:
                    await writer.execute("PRAGMA optimize")
                except sqlite3.Error as exc:
                    log.warning("could not optimise the database %s at close: %s", self.path, exc)
            await self._close_connection(writer)

    async def _close_connection(self, connection: aiosqlite.Connection) -> None:
        try:
            await connection.close()
        except sqlite3.Error as exc:
            log.warning("closing the database %s failed: %s", self.path, exc)

    # ------------------------------------------------------------------------------------- writing

    @contextlib.asynccontextmanager
    async def _turn(self) -> AsyncIterator[aiosqlite.Connection]:
        """The writing connection to this task alone (others wait), outside any transaction: for reads
        that plan a write and must not see another task's uncommitted rows."""
        task = asyncio.current_task()
        if task is not None and self._write_owner is task:
            raise RuntimeError("the store's writing connection is already held by this task")
        async with self._write_lock:
            self._write_owner = task
            try:
                yield self._write_connection
            finally:
                self._write_owner = None

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One transaction on the writing connection, after any other task's: committed when the block
        ends, rolled back on any exception or cancellation. Helpers called inside the block reach the
        connection through :attr:`_writer` and must not enter ``_write`` again."""
        async with self._turn() as db:
            try:
                await db.execute("BEGIN IMMEDIATE")
                yield db
                await db.execute("COMMIT")
            except BaseException:
                # aiosqlite runs statements in order, so this follows any statement still running (a
                # cancelled BEGIN or COMMIT included); without an open transaction it does nothing.
                await db.rollback()
                raise

    @property
    def _writer(self) -> aiosqlite.Connection:
        """The writing connection, for code running inside :meth:`_write` or :meth:`_turn`."""
        task = asyncio.current_task()
        if task is None or self._write_owner is not task:
            raise RuntimeError("the store's writing connection is used outside Store._write()")
        return self._write_connection

    async def data_version(self) -> int:
        """A number that changes whenever another connection (another process, or our writer) commits."""
        row = await self._fetchone("PRAGMA data_version")
        return int(row[0]) if row else 0

    async def schema_version(self) -> int:
        """The ``user_version`` the migrations have reached."""
        async with self._reader.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    # -------------------------------------------------------------------------------- ingest side

    async def file_is_unchanged(self, fingerprint: FileFingerprint) -> bool:
        """Whether the file was fully indexed as it is now (same size and modification time)."""
        async with self._turn() as db, db.execute(
            "SELECT size, mtime_ns FROM files WHERE path = ?", (fingerprint.path,)
        ) as cursor:
            row = await cursor.fetchone()
        return row is not None and (row[0], row[1]) == (fingerprint.size, fingerprint.mtime_ns)

    async def origin_hashes(self, origins: Sequence[str]) -> dict[str, str]:
        """The content hash currently indexed for each of ``origins`` that is known."""
        found: dict[str, str] = {}
        async with self._turn() as db:
            for chunk in _chunks(list(origins)):
                marks = ",".join("?" * len(chunk))
                async with db.execute(
                    f"SELECT o.origin, a.content_hash FROM origins o JOIN articles a ON a.id = o.article_id "
                    f"WHERE o.origin IN ({marks})",
                    chunk,
                ) as cursor:
                    found.update({row[0]: row[1] async for row in cursor})
        return found

    async def origins_in_file(self, path: str) -> list[str]:
        """Every origin recorded for records of the file at ``path``."""
        async with self._turn() as db, db.execute("SELECT origin FROM origins WHERE file = ?", (path,)) as cursor:
            return [row[0] async for row in cursor]

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
        async with self._write() as db:
            touched_entities: set[int] = set()
            touched_topics: set[int] = set()
            for origin in stale_origins:
                await self._unlink_origin(origin, touched_entities, touched_topics)
            for record, analysis in items:
                results.append(await self._write_one(record, analysis, touched_entities, touched_topics))
            await self._refresh_entities(touched_entities)
            await self._refresh_topics(touched_topics)
            planned = 0
            if alerts is not None and not alerts.suppress:
                for result in results:
                    if result.status in {"new", "duplicate"}:
                        planned += await self._plan_alerts(result.article_id, alerts, is_new=result.status == "new")
            now = _now()
            await db.executemany(
                "INSERT INTO files (path, size, mtime_ns, indexed_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, "
                "indexed_at = excluded.indexed_at",
                [(f.path, f.size, f.mtime_ns, now) for f in files_done],
            )
        self.generation += 1
        if planned:
            self.alerts_planned.set()
        return results

    async def article_id_for_hash(self, content_hash: str) -> int | None:
        """The article holding this exact text, if any."""
        async with self._turn():
            return await self._article_id_for_hash(content_hash)

    async def _article_id_for_hash(self, content_hash: str) -> int | None:
        async with self._writer.execute("SELECT id FROM articles WHERE content_hash = ?", (content_hash,)) as cursor:
            row = await cursor.fetchone()
        return row[0] if row else None

    async def _write_one(
        self,
        record: ArticleRecord,
        analysis: ArticleAnalysis | None,
        touched_entities: set[int],
        touched_topics: set[int],
    ) -> WriteResult:
        db = self._writer
        now = _now()
        async with db.execute(
            "SELECT o.article_id, a.content_hash FROM origins o JOIN articles a ON a.id = o.article_id "
            "WHERE o.origin = ?",
            (record.origin,),
        ) as cursor:
            previous = await cursor.fetchone()
        if previous and previous[1] == record.content_hash:
            if analysis is None:
                return WriteResult(record.origin, previous[0], "unchanged")
            reuse: int | None = previous[0]  # a forced re-analysis refreshes the rows in place
        else:
            same_text = await self._article_id_for_hash(record.content_hash)
            if same_text is not None:
                await self._link_origin(record, same_text, now, touched_entities, touched_topics)
                return WriteResult(record.origin, same_text, "duplicate")
            if analysis is None:
                raise ValueError(f"{record.origin}: new text needs its analysis")
            reuse = previous[0] if previous and await self._origin_count(previous[0]) == 1 else None

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
            article_id, status = row[0], "new" if previous is None else "updated"
        await db.execute(
            "INSERT INTO articles_fts (rowid, title, body) VALUES (?, ?, ?)",
            (article_id, record.title, record.body),
        )
        await self._attach_analysis(article_id, published, analysis, touched_entities, touched_topics)
        await self._link_origin(record, article_id, now, touched_entities, touched_topics)
        return WriteResult(record.origin, article_id, status)

    async def _origin_count(self, article_id: int) -> int:
        async with self._writer.execute("SELECT COUNT(*) FROM origins WHERE article_id = ?", (article_id,)) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def _link_origin(
        self,
        record: ArticleRecord,
        article_id: int,
        now: str,
        touched_entities: set[int],
        touched_topics: set[int],
    ) -> None:
        async with self._writer.execute("SELECT article_id FROM origins WHERE origin = ?", (record.origin,)) as cursor:
            row = await cursor.fetchone()
        await self._writer.execute(
            "INSERT INTO origins (origin, article_id, file, seen_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (origin) DO UPDATE SET article_id = excluded.article_id, seen_at = excluded.seen_at",
            (record.origin, article_id, record.file, now),
        )
        if row and row[0] != article_id and await self._origin_count(row[0]) == 0:
            await self._delete_article(row[0], touched_entities, touched_topics)

    async def _unlink_origin(self, origin: str, touched_entities: set[int], touched_topics: set[int]) -> None:
        async with self._writer.execute(
            "DELETE FROM origins WHERE origin = ? RETURNING article_id", (origin,)
        ) as cursor:
            row = await cursor.fetchone()
        if row and await self._origin_count(row[0]) == 0:
            await self._delete_article(row[0], touched_entities, touched_topics)

    async def _delete_article(self, article_id: int, touched_entities: set[int], touched_topics: set[int]) -> None:
        await self._detach_article(article_id, touched_entities, touched_topics)
        await self._writer.execute("DELETE FROM articles WHERE id = ?", (article_id,))

    async def _detach_article(self, article_id: int, touched_entities: set[int], touched_topics: set[int]) -> None:
        """Remove an article's analysis rows and its search entry, noting which aggregates to redo."""
        db = self._writer
        async with db.execute(
            "SELECT entity_id, mentions FROM article_entities WHERE article_id = ?", (article_id,)
        ) as cursor:
            entity_rows = list(await cursor.fetchall())
        async with db.execute(
            "SELECT entity_id, label, mentions FROM article_entity_labels WHERE article_id = ?", (article_id,)
        ) as cursor:
            label_rows = list(await cursor.fetchall())
        async with db.execute(
            "SELECT topic_id, score FROM article_topics WHERE article_id = ?", (article_id,)
        ) as cursor:
            topic_rows = list(await cursor.fetchall())
        await db.executemany(
            "UPDATE entities SET article_count = article_count - 1, mention_count = mention_count - ? WHERE id = ?",
            [(mentions, entity_id) for entity_id, mentions in entity_rows],
        )
        await db.executemany(
            "UPDATE entity_labels SET mentions = mentions - ? WHERE entity_id = ? AND label = ?",
            [(mentions, entity_id, label) for entity_id, label, mentions in label_rows],
        )
        await db.executemany(
            "UPDATE topics SET article_count = article_count - 1, score_sum = score_sum - ? WHERE id = ?",
            [(score, topic_id) for topic_id, score in topic_rows],
        )
        touched_entities.update(row[0] for row in entity_rows)
        touched_topics.update(row[0] for row in topic_rows)
        async with db.execute("SELECT title, body FROM articles WHERE id = ?", (article_id,)) as cursor:
            old = await cursor.fetchone()
        if old:
            await db.execute(
                "INSERT INTO articles_fts (articles_fts, rowid, title, body) VALUES ('delete', ?, ?, ?)",
                (article_id, old[0], old[1]),
            )
        for table in ("article_entities", "article_entity_labels", "article_roles", "article_topics"):
            await db.execute(f"DELETE FROM {table} WHERE article_id = ?", (article_id,))

    async def _entity_ids(self, analysis: ArticleAnalysis) -> dict[str, int]:
        """Entity ids for an article's entities, creating the missing ones.

        A one-word person name ("Milei") in an article that never gives the full name joins the one
        known person with that surname, when one clearly dominates.
        """
        db = self._writer
        keys = [e.key for e in analysis.entities]
        marks = ",".join("?" * len(keys))
        ids: dict[str, int] = {}
        if keys:
            async with db.execute(f"SELECT key, id FROM entities WHERE key IN ({marks})", keys) as cursor:
                ids.update({row[0]: row[1] async for row in cursor})
        for entity in analysis.entities:
            if entity.key in ids:
                continue
            words = entity.key.split(" ")
            if entity.type == "PERSON" and len(words) == 1:
                async with db.execute(
                    "SELECT id, mention_count FROM entities WHERE surname = ? AND type = 'PERSON' "
                    "ORDER BY mention_count DESC LIMIT 2",
                    (entity.key,),
                ) as cursor:
                    rows = await cursor.fetchall()
                if rows and (len(rows) == 1 or rows[0][1] >= 3 * rows[1][1]):
                    ids[entity.key] = rows[0][0]
                    continue
            surname = words[-1] if entity.type == "PERSON" and len(words) > 1 else None
            async with db.execute(
                "INSERT INTO entities (key, name, type, surname) VALUES (?, ?, ?, ?) RETURNING id",
                (entity.key, entity.name, entity.type, surname),
            ) as cursor:
                row = await cursor.fetchone()
            assert row is not None
            ids[entity.key] = row[0]
            await db.executemany(
                "INSERT OR IGNORE INTO entity_words (word, entity_id) VALUES (?, ?)",
                [(word, row[0]) for word in dict.fromkeys(words) if word],
            )
        return ids

    async def _attach_analysis(
        self,
        article_id: int,
        published: str,
        analysis: ArticleAnalysis,
        touched_entities: set[int],
        touched_topics: set[int],
    ) -> None:
        db = self._writer
        ids = await self._entity_ids(analysis)
        merged: dict[int, list[Any]] = {}
        labels: dict[tuple[int, str], int] = {}
        roles: set[tuple[int, str]] = set()
        for entity in analysis.entities:
            entity_id = ids[entity.key]
            row = merged.get(entity_id)
            # Two keys can land on one entity (a surname joined to a full name): add them up.
            if row is None:
                merged[entity_id] = [entity.mentions, entity.salience, int(entity.in_headline), entity.key_sentence]
            else:
                row[0] += entity.mentions
                row[1] = max(row[1], entity.salience)
                row[2] |= int(entity.in_headline)
            for label, count in entity.label_counts.items():
                labels[(entity_id, label)] = labels.get((entity_id, label), 0) + count
            roles.update((entity_id, role) for role in entity.roles)
        await db.executemany(
            "INSERT INTO article_entities (article_id, entity_id, mentions, salience, in_headline, "
            "key_sentence, published) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(article_id, eid, m, s, h, k, published) for eid, (m, s, h, k) in merged.items()],
        )
        await db.executemany(
            "INSERT INTO article_entity_labels (article_id, entity_id, label, mentions) VALUES (?, ?, ?, ?)",
            [(article_id, eid, label, n) for (eid, label), n in labels.items()],
        )
        await db.executemany(
            "INSERT INTO article_roles (article_id, entity_id, role, published) VALUES (?, ?, ?, ?)",
            [(article_id, eid, role, published) for eid, role in roles],
        )
        # Running totals: an entity in thousands of articles is never recounted on each write.
        await db.executemany(
            "UPDATE entities SET article_count = article_count + 1, mention_count = mention_count + ? WHERE id = ?",
            [(row[0], eid) for eid, row in merged.items()],
        )
        await db.executemany(
            "INSERT INTO entity_labels (entity_id, label, mentions) VALUES (?, ?, ?) "
            "ON CONFLICT (entity_id, label) DO UPDATE SET mentions = mentions + excluded.mentions",
            [(eid, label, n) for (eid, label), n in labels.items()],
        )
        touched_entities.update(merged)

        topic_ids: dict[str, int] = {}
        if analysis.topics:
            await db.executemany(
                "INSERT INTO topics (key, name) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                [(t.key, t.text) for t in analysis.topics],
            )
            keys = list({t.key for t in analysis.topics})
            async with db.execute(
                f"SELECT key, id FROM topics WHERE key IN ({','.join('?' * len(keys))})", keys
            ) as cursor:
                topic_ids = {row[0]: row[1] async for row in cursor}
        unique_topics = list(
            {
                topic_ids[t.key]: (topic_ids[t.key], t.score, rank)
                for rank, t in reversed(list(enumerate(analysis.topics, start=1)))
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
        touched_topics.update(tid for tid, _, _ in unique_topics)

    async def _refresh_entities(self, entity_ids: set[int]) -> None:
        """First and last seen and the majority type of entities whose articles changed; entities no
        article mentions any more are removed. Counts are running totals kept by attach and detach."""
        if not entity_ids:
            return
        db = self._writer
        for chunk in _chunks(sorted(entity_ids)):
            marks = ",".join("?" * len(chunk))
            await db.execute(f"DELETE FROM entities WHERE id IN ({marks}) AND article_count <= 0", chunk)
            await db.execute(
                f"""
                UPDATE entities SET
                    first_seen = (SELECT MIN(published) FROM article_entities ae WHERE ae.entity_id = entities.id),
                    last_seen = (SELECT MAX(published) FROM article_entities ae WHERE ae.entity_id = entities.id),
                    type = COALESCE((SELECT label FROM entity_labels l WHERE l.entity_id = entities.id
                                     AND l.mentions > 0 ORDER BY l.mentions DESC, {_TYPE_ORDER} LIMIT 1), type)
                WHERE id IN ({marks})
                """,
                chunk,
            )

    async def _refresh_topics(self, topic_ids: set[int]) -> None:
        if not topic_ids:
            return
        for chunk in _chunks(sorted(topic_ids)):
            marks = ",".join("?" * len(chunk))
            await self._writer.execute(f"DELETE FROM topics WHERE id IN ({marks}) AND article_count <= 0", chunk)
            await self._writer.execute(
                f"UPDATE topics SET last_seen = (SELECT MAX(published) FROM article_topics t "
                f"WHERE t.topic_id = topics.id) WHERE id IN ({marks})",
                chunk,
            )

    # ---------------------------------------------------------------------------------- read side

    async def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        async with self._reader.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def _fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        async with self._reader.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def entity_by_key(self, key: str) -> EntityRef | None:
        """The entity whose normalised name is exactly ``key``."""
        row = await self._fetchone(f"SELECT {_ENTITY_COLUMNS} FROM entities WHERE key = ?", (key,))
        return _entity(row) if row else None

    async def entity(self, entity_id: int) -> EntityRef | None:
        """One entity by id."""
        row = await self._fetchone(f"SELECT {_ENTITY_COLUMNS} FROM entities WHERE id = ?", (entity_id,))
        return _entity(row) if row else None

    async def entities_with_words(self, words: Sequence[str], limit: int = 10) -> list[EntityRef]:
        """Entities whose name contains every one of ``words`` (whole words; the first
        :data:`NAME_WORDS` distinct ones), most mentioned first."""
        words = list(dict.fromkeys(words))[:NAME_WORDS]
        if not words:
            return []
        joins = " ".join(
            f"JOIN entity_words w{i} ON w{i}.entity_id = e.id AND w{i}.word = ?" for i in range(len(words))
        )
        rows = await self._fetchall(
            f"SELECT e.id, e.name, e.type, e.article_count, e.mention_count FROM entities e {joins} "
            "ORDER BY e.mention_count DESC LIMIT ?",
            (*words, limit),
        )
        return [_entity(r) for r in rows]

    async def entities_with_most_words(self, words: Sequence[str], limit: int = 6) -> list[EntityRef]:
        """Entities whose name has all but one of ``words`` (two or more), most words first: a typo in
        one word of a full name ("Rihard Nicholls") still finds it."""
        unique = list(dict.fromkeys(words))[:NAME_WORDS]
        if len(unique) < 2:
            return []
        marks = ",".join("?" * len(unique))
        rows = await self._fetchall(
            f"""
            SELECT e.id, e.name, e.type, e.article_count, e.mention_count FROM entities e JOIN (
                SELECT entity_id, COUNT(*) AS hits FROM entity_words WHERE word IN ({marks})
                GROUP BY entity_id HAVING hits >= ?) m ON m.entity_id = e.id
            ORDER BY m.hits DESC, e.mention_count DESC LIMIT ?
            """,
            (*unique, len(unique) - 1, limit),
        )
        return [_entity(r) for r in rows]

    async def article_count(self) -> int:
        """How many articles the index holds."""
        row = await self._fetchone("SELECT COUNT(*) FROM articles")
        return int(row[0]) if row else 0

    async def entity_names(self) -> list[tuple[int, str, str, int]]:
        """(id, key, name, mentions) of every entity, for the in-memory name index."""
        return await self._fetchall("SELECT id, key, name, mention_count FROM entities")

    async def entity_profile(self, entity_id: int, *, co_mentions: int = 5, sentences: int = 2) -> EntityProfile | None:
        """What ``!who`` shows: counts, roles, co-mentions and key sentences."""
        row = await self._fetchone(
            f"SELECT {_ENTITY_COLUMNS}, first_seen, last_seen FROM entities WHERE id = ?", (entity_id,)
        )
        if row is None:
            return None
        # Every role in the recent window, counted: the most frequent and the latest come from one query.
        role_groups = await self._fetchall(
            "SELECT role, COUNT(*) AS n, MAX(published) AS latest FROM (SELECT role, published FROM article_roles "
            "WHERE entity_id = ? ORDER BY published DESC LIMIT ?) GROUP BY lower(role)",
            (entity_id, RECENT_WINDOW),
        )
        # Most frequent first; among equals, the most recently used (sorts are stable).
        roles = sorted(sorted(role_groups, key=lambda r: r[2], reverse=True), key=lambda r: -r[1])
        latest_role = max(role_groups, key=lambda r: r[2], default=None)
        # Count first, name the top few after: joining every co-mentioned row to its entity costs more.
        co = await self._fetchall(
            f"""
            SELECT e.id, e.name, e.type, e.article_count, e.mention_count, top.together FROM (
                SELECT other.entity_id, COUNT(*) AS together
                FROM (SELECT article_id FROM article_entities WHERE entity_id = ?
                      ORDER BY published DESC LIMIT {CO_MENTION_WINDOW}) mine
                JOIN article_entities other ON other.article_id = mine.article_id
                WHERE other.entity_id != ?
                GROUP BY other.entity_id ORDER BY together DESC, other.entity_id LIMIT ?
            ) top JOIN entities e ON e.id = top.entity_id
            ORDER BY top.together DESC, e.mention_count DESC, e.id LIMIT ?
            """,
            # A few more than shown, so that ties are broken by how much the others are mentioned.
            (entity_id, entity_id, co_mentions * 4, co_mentions),
        )
        key_articles = await self._fetchall(
            """
            SELECT ae.article_id, a.title, ae.published, ae.salience, ae.key_sentence
            FROM article_entities ae JOIN articles a ON a.id = ae.article_id
            WHERE ae.entity_id = ? AND ae.key_sentence != ''
            ORDER BY ae.salience DESC, ae.published DESC LIMIT ?
            """,
            (entity_id, sentences),
        )
        return EntityProfile(
            entity=_entity(row),
            first_seen=row[5],
            last_seen=row[6],
            roles=[(r[0], r[1]) for r in roles[:5]],
            latest_role=latest_role[0] if latest_role else None,
            co_mentions=[(_entity(r), r[5]) for r in co],
            key_articles=[EntityArticle(*r) for r in key_articles],
        )

    async def entity_articles(
        self, entity_id: int, limit: int = 5, *, min_salience: float = 0.0
    ) -> list[EntityArticle]:
        """The latest articles about an entity (among its most recent ones), with its key sentence in each."""
        rows = await self._fetchall(
            f"""
            SELECT ae.article_id, a.title, ae.published, ae.salience, ae.key_sentence
            FROM (SELECT article_id, published, salience, key_sentence FROM article_entities
                  WHERE entity_id = ? ORDER BY published DESC LIMIT {RECENT_WINDOW}) ae
            JOIN articles a ON a.id = ae.article_id
            WHERE ae.salience >= ?
            ORDER BY ae.published DESC, ae.article_id DESC LIMIT ?
            """,
            (entity_id, min_salience, limit),
        )
        return [EntityArticle(*r) for r in rows]

    async def article(self, article_id: int, *, with_body: bool = False) -> Article | None:
        """One article with its entities, topics and where it came from."""
        body_column = "body" if with_body else "NULL"
        row = await self._fetchone(
            f"SELECT id, title, source, url, published, ingested_at, summary, word_count, {body_column} "
            "FROM articles WHERE id = ?",
            (article_id,),
        )
        if row is None:
            return None
        return await self._article_from_row(row)

    async def _article_from_row(self, row: Sequence[Any]) -> Article:
        article_id = row[0]
        entities = await self._fetchall(
            """
            SELECT e.id, e.name, e.type, ae.mentions, ae.salience,
                   (SELECT json_group_array(role) FROM article_roles r
                    WHERE r.article_id = ae.article_id AND r.entity_id = ae.entity_id)
            FROM article_entities ae JOIN entities e ON e.id = ae.entity_id
            WHERE ae.article_id = ? ORDER BY ae.salience DESC, ae.mentions DESC, e.name
            """,
            (article_id,),
        )
        topics = await self._fetchall(
            "SELECT t.id, t.name, t.key, at.score FROM article_topics at JOIN topics t ON t.id = at.topic_id "
            "WHERE at.article_id = ? ORDER BY at.rank",
            (article_id,),
        )
        origins = await self._fetchall(
            "SELECT origin FROM origins WHERE article_id = ? ORDER BY seen_at, origin", (article_id,)
        )
        return Article(
            id=article_id,
            title=row[1],
            source=row[2],
            url=row[3],
            published=row[4],
            ingested_at=row[5],
            summary=json.loads(row[6]),
            word_count=row[7],
            origins=[o[0] for o in origins],
            entities=[ArticleEntity(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in entities],
            topics=[ArticleTopic(*r) for r in topics],
            body=row[8],
        )

    async def latest(self, limit: int = 5) -> list[ArticleBrief]:
        """The most recently published articles."""
        rows = await self._fetchall(
            f"SELECT {_BRIEF_COLUMNS} FROM articles a ORDER BY a.published DESC, a.id DESC LIMIT ?", (limit,)
        )
        return [_brief(r) for r in rows]

    async def latest_article_id(self) -> int | None:
        """The id of the most recently published article."""
        row = await self._fetchone("SELECT id FROM articles ORDER BY published DESC, id DESC LIMIT 1")
        return row[0] if row else None

    async def search(self, query: str, limit: int = 5) -> list[SearchHit]:
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
            ranked = await self._fetchall(
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
        rows = await self._fetchall(
            f"SELECT {_BRIEF_COLUMNS}, a.body FROM articles a WHERE a.id IN ({','.join('?' * len(best))})",
            list(best),
        )
        plain_words = [w.strip('"').replace('""', '"') for w in words]
        hits = [SearchHit(article=_brief(row), snippet=snippet(row[5], plain_words), rank=best[row[0]]) for row in rows]
        hits.sort(key=lambda h: (h.rank, -h.article.id))
        return hits

    async def topic_by_key(self, key: str) -> TopicRef | None:
        """The topic whose normalised phrase is exactly ``key``."""
        row = await self._fetchone("SELECT id, name, key, article_count, last_seen FROM topics WHERE key = ?", (key,))
        return TopicRef(*row) if row else None

    async def topic_names(self) -> list[tuple[int, str, str, int]]:
        """(id, key, name, articles) of every topic, for the in-memory name index."""
        return await self._fetchall("SELECT id, key, name, article_count FROM topics")

    async def topic(self, topic_id: int) -> TopicRef | None:
        """One topic by id."""
        row = await self._fetchone(
            "SELECT id, name, key, article_count, last_seen FROM topics WHERE id = ?", (topic_id,)
        )
        return TopicRef(*row) if row else None

    async def top_topics(self, limit: int = 10) -> list[TopicRef]:
        """Topics covered by the most articles."""
        rows = await self._fetchall(
            "SELECT id, name, key, article_count, last_seen FROM topics "
            "ORDER BY article_count DESC, score_sum DESC LIMIT ?",
            (limit,),
        )
        return [TopicRef(*r) for r in rows]

    async def topic_articles(self, topic_id: int, limit: int = 5) -> list[tuple[ArticleBrief, list[str]]]:
        """The latest articles on a topic, each with its summary sentences."""
        rows = await self._fetchall(
            f"""
            SELECT {_BRIEF_COLUMNS}, a.summary FROM article_topics at JOIN articles a ON a.id = at.article_id
            WHERE at.topic_id = ? ORDER BY at.published DESC, a.id DESC LIMIT ?
            """,
            (topic_id, limit),
        )
        return [(_brief(r), json.loads(r[5])) for r in rows]

    async def related(self, article_id: int, limit: int = 5) -> list[RelatedArticle]:
        """Articles sharing the most salient entities and topics with this one.

        Each shared entity adds the product of its salience in both articles; a shared topic adds half
        the product of its scores. Candidates come from each shared name's recent articles only.
        """
        mine = await self._fetchall(
            "SELECT ae.entity_id, ae.salience, e.name FROM article_entities ae JOIN entities e "
            "ON e.id = ae.entity_id WHERE ae.article_id = ? ORDER BY ae.salience DESC LIMIT 8",
            (article_id,),
        )
        my_topics = await self._fetchall(
            "SELECT at.topic_id, at.score, t.name FROM article_topics at JOIN topics t ON t.id = at.topic_id "
            "WHERE at.article_id = ? ORDER BY at.rank LIMIT 8",
            (article_id,),
        )
        scores: dict[int, float] = {}
        shared: dict[int, list[str]] = {}
        for table, column, weight_column, factor, anchors in (
            ("article_entities", "entity_id", "salience", 1.0, mine),
            ("article_topics", "topic_id", "score", 0.5, my_topics),
        ):
            for anchor_id, weight, name in anchors:
                rows = await self._fetchall(
                    f"SELECT article_id, {weight_column} FROM {table} WHERE {column} = ? AND article_id != ? "
                    f"ORDER BY published DESC LIMIT {RECENT_WINDOW}",
                    (anchor_id, article_id),
                )
                for other_id, other_weight in rows:
                    scores[other_id] = scores.get(other_id, 0.0) + factor * weight * other_weight
                    shared.setdefault(other_id, []).append(name)
        best = sorted(scores, key=lambda a: -scores[a])[:limit]
        if not best:
            return []
        marks = ",".join("?" * len(best))
        briefs = {
            r[0]: _brief(r)
            for r in await self._fetchall(f"SELECT {_BRIEF_COLUMNS} FROM articles a WHERE a.id IN ({marks})", best)
        }
        return [RelatedArticle(briefs[a], round(scores[a], 4), shared[a]) for a in best if a in briefs]

    async def stats(self) -> Stats:
        """Counts and dates that describe the index."""
        row = await self._fetchone(
            """
            SELECT (SELECT COUNT(*) FROM articles), (SELECT COUNT(*) FROM entities),
                   (SELECT COUNT(*) FROM topics), (SELECT COALESCE(SUM(mention_count), 0) FROM entities),
                   (SELECT COUNT(*) FROM origins), (SELECT MIN(published) FROM articles),
                   (SELECT MAX(published) FROM articles), (SELECT MAX(ingested_at) FROM articles)
            """
        )
        by_type = await self._fetchall("SELECT type, COUNT(*) FROM entities GROUP BY type ORDER BY 2 DESC")
        page = await self._fetchone("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
        return Stats(*row, database_bytes=int(page[0]) if page else 0, entities_by_type=dict(by_type))

    # ------------------------------------------------------------------------------ server settings

    async def guild_prefixes(self) -> dict[int, str]:
        """Every server's own command prefix."""
        rows = await self._fetchall("SELECT guild_id, prefix FROM guild_settings WHERE prefix IS NOT NULL")
        return {int(r[0]): r[1] for r in rows}

    async def set_guild_prefix(self, guild_id: int, prefix: str | None) -> None:
        """Set (or with ``None`` reset) a server's command prefix."""
        async with self._write() as db:
            await db.execute(
                "INSERT INTO guild_settings (guild_id, prefix, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (guild_id) DO UPDATE SET prefix = excluded.prefix, updated_at = excluded.updated_at",
                (guild_id, prefix, _now()),
            )
        self.generation += 1

    async def iter_articles(self) -> AsyncIterator[Article]:
        """Every article with its analysis, oldest id first (for export)."""
        last = 0
        while True:
            rows = await self._fetchall(
                "SELECT id, title, source, url, published, ingested_at, summary, word_count, NULL "
                "FROM articles WHERE id > ? ORDER BY id LIMIT 200",
                (last,),
            )
            if not rows:
                return
            for row in rows:
                yield await self._article_from_row(row)
            last = rows[-1][0]


class _StoreOpener:
    """``async with Store.open(path) as store`` — opens on enter, closes on exit."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._store: Store | None = None

    async def __aenter__(self) -> Store:
        self._store = await Store.connect(self._path)
        return self._store

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._store is not None:
            await self._store.close(optimize=exc is None)
        fault = storage_fault(self._path, exc) if exc is not None else None
        if fault is not None:
            raise fault from exc


def _create_private(path: Path) -> None:
    """Create a new database file readable by its owner only (SQLite gives its -wal and -shm files the
    same mode); an existing file keeps the mode its admin chose."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


async def _rollback(db: aiosqlite.Connection) -> None:
    """Roll back the open transaction, if SQLite has not already done so itself (as it may on a full disk)."""
    if db.in_transaction:
        await db.execute("ROLLBACK")


async def _configure(db: aiosqlite.Connection) -> None:
    await db.execute("PRAGMA journal_mode = WAL")
    await db.execute("PRAGMA synchronous = NORMAL")
    await db.execute("PRAGMA foreign_keys = ON")
    await db.execute("PRAGMA busy_timeout = 10000")
    await db.execute("PRAGMA cache_size = -32000")
    await db.execute("PRAGMA mmap_size = 1073741824")
    await db.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")


async def _migrate(db: aiosqlite.Connection) -> None:
    """Apply the migrations this database has not seen, each in its own transaction."""
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    current = int(row[0]) if row else 0
    migrations = load_migrations()
    if current > len(migrations):
        raise StoreError(f"the database is at schema version {current}, newer than this Newsdesk ({len(migrations)})")
    for migration in migrations[current:]:
        await db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _split_sql(migration.sql):
                await db.execute(statement)
            await db.execute(f"PRAGMA user_version = {migration.version}")
            await db.execute("COMMIT")
        except BaseException:
            await _rollback(db)
            raise


def _split_sql(script: str) -> list[str]:
    """Statements of a migration script (no statement of ours contains a semicolon in a string)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
