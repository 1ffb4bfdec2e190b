"""Files and feed items into the index: read, skip what is known, analyse in batches, write in batches.

A batch is analysed (``nlp.pipe``, in worker processes for bulk work) while the previous one is being
written; each batch is one transaction, and a file counts as done only in the transaction that writes
its last record, so a run killed at any moment leaves a consistent database that a rerun completes.

One bad input costs only itself: a file that cannot be read or planned, or an article whose analysis
raises, is skipped with a line naming it, and the run goes on. Article texts are cut to
``max_article_chars`` before anything is planned, so no text is too long to analyse.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.ingest.readers import SUPPORTED_SUFFIXES, FileContents, SkipFile, cap_text, content_hash, read_file
from bot.ingest.worker import in_worker
from bot.models import (
    AlertPolicy,
    AnalysisFailed,
    ArticleAnalysis,
    ArticleRecord,
    ArticleText,
    FileFingerprint,
    WriteResult,
)
from bot.store import Store

if TYPE_CHECKING:  # the analyzer imports spaCy: only what indexes loads it
    from bot.nlp.analyzer import Analyzer

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
SkipCallback = Callable[[str, str], None]
MAX_TITLE_CHARS = 300  # a headline longer than this is cut (with "…"), like an over-long body


def capped_record(record: ArticleRecord, max_chars: int) -> ArticleRecord:
    """``record`` with its body cut to ``max_chars`` and its title to :data:`MAX_TITLE_CHARS` (the
    content hash follows the body kept)."""
    body = cap_text(record.body, max_chars)
    title = record.title if len(record.title) <= MAX_TITLE_CHARS else cap_text(record.title, MAX_TITLE_CHARS - 1) + "…"
    if body is record.body and title is record.title:
        return record
    return dataclasses.replace(record, body=body, title=title, content_hash=content_hash(body))


def _one_line(error: BaseException) -> str:
    """An unexpected error as a few words: its type and the first line of its message."""
    message = (str(error).strip().splitlines() or [""])[0][:200]
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


@dataclass(slots=True)
class IndexReport:
    """What one indexing run did. ``skipped`` holds (path, reason) for every file or record left out."""

    indexed: int = 0
    updated: int = 0
    duplicates: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    articles: list[WriteResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def analysed(self) -> int:
        """Articles that went through spaCy in this run."""
        return self.indexed + self.updated

    def summary_line(self) -> str:
        """One closing line: indexed / updated / unchanged / skipped."""
        rate = self.analysed / self.seconds if self.seconds else 0.0
        return (
            f"{self.indexed} indexed, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.duplicates} duplicate, {self.removed} removed, {len(self.skipped)} skipped "
            f"in {self.seconds:.1f} s ({rate:.1f} articles/s)"
        )


@dataclass(slots=True)
class _Pending:
    record: ArticleRecord | None  # None: nothing to write, only the file's fingerprint
    needs_analysis: bool
    completes: FileFingerprint | None = None  # set on the last record of a file
    stale_origins: list[str] = field(default_factory=list)


def iter_article_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files under ``paths`` (recursively, in a stable order), hidden files and folders excluded."""
    for root in paths:
        if root.is_file():
            yield root
            continue
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root)
            if any(part.startswith(".") for part in relative.parts) or not path.is_file():
                continue
            yield path


class Indexer:
    """Turns article sources into index rows, through one :class:`Analyzer` and one :class:`Store`."""

    def __init__(
        self,
        store: Store,
        analyzer: Analyzer,
        *,
        max_file_bytes: int,
        batch_size: int = 64,
        max_article_chars: int = 100_000,
    ) -> None:
        self.store = store
        self.analyzer = analyzer
        self.max_file_bytes = max_file_bytes
        self.batch_size = batch_size
        self.max_article_chars = max_article_chars

    async def index_paths(
        self,
        paths: Sequence[Path],
        *,
        force: bool = False,
        on_skip: Callable[[str, str], None] | None = None,
        on_progress: ProgressCallback | None = None,
        alerts: AlertPolicy | None = None,
    ) -> IndexReport:
        """Index every supported file under ``paths``; report what happened.

        With an ``alerts`` policy, new articles are alerted (through the outbox) as they are written.
        """
        started = time.perf_counter()
        report = IndexReport()

        def skip(where: str, reason: str) -> None:
            report.skipped.append((where, reason))
            if on_skip:
                on_skip(where, reason)

        pending: list[_Pending] = []
        seen_hashes: set[str] = set()
        for path in iter_article_files(paths):
            where = str(path.resolve())
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                skip(where, f"unsupported file type {path.suffix or '(none)'}")
                continue
            try:
                stat = path.stat()
            except OSError as exc:
                skip(where, f"cannot read ({exc.strerror or exc})")
                continue
            fingerprint = FileFingerprint(where, stat.st_size, stat.st_mtime_ns)
            if not force and await self.store.articles.file_is_unchanged(fingerprint):
                report.unchanged += 1
                continue
            try:
                # In the worker process: a reader's work on a hostile file must not hold this one's GIL.
                contents: FileContents = await in_worker(read_file, path.resolve(), self.max_file_bytes)
            except SkipFile as exc:
                skip(where, str(exc))
                continue
            except Exception as exc:  # a reader's bug or a hostile file (RecursionError, …) costs that file only
                log.debug("reading %s failed", where, exc_info=True)
                skip(where, f"could not be read ({_one_line(exc)})")
                continue
            for note in contents.notes:
                skip(where, note)
            try:
                pending.extend(await self._plan_file(contents, fingerprint, seen_hashes, force, report))
            except Exception as exc:
                log.debug("planning %s failed", where, exc_info=True)
                skip(where, f"could not be planned ({_one_line(exc)})")

        await self._run(pending, report, on_progress, alerts, skip)
        report.seconds = time.perf_counter() - started
        return report

    async def index_records(
        self,
        records: Sequence[ArticleRecord],
        *,
        alerts: AlertPolicy | None = None,
        source_id: int | None = None,
    ) -> IndexReport:
        """Index records that do not come from files (feed items); known texts are not analysed again.

        ``source_id`` is the feed they came from: each is credited to it (which decides who sees it),
        an item already indexed through another feed included."""
        started = time.perf_counter()
        report = IndexReport()

        def skip(where: str, reason: str) -> None:
            report.skipped.append((where, reason))
            log.warning("skipped %s: %s", where, reason)

        uncredited: set[str] = set()
        if source_id is not None:
            origins = [r.origin for r in records]
            uncredited = set(origins) - await self.store.articles.linked_origins(source_id, origins)
        pending = await self._plan_records(records, set(), False, report, keep=uncredited)
        await self._run(pending, report, None, alerts, skip, source_id=source_id)
        report.seconds = time.perf_counter() - started
        return report

    async def _plan_records(
        self,
        records: Sequence[ArticleRecord],
        seen_hashes: set[str],
        force: bool,
        report: IndexReport,
        *,
        keep: Collection[str] = (),
    ) -> list[_Pending]:
        """Records to write: an origin already holding the same text is unchanged (unless forced: then
        analysed again; or in ``keep``: then written without analysis, to credit its source); a
        text is analysed once, the first time it is met in this run, and only if the index lacks it."""
        records = [capped_record(record, self.max_article_chars) for record in records]
        known = await self.store.articles.origin_hashes([r.origin for r in records])
        planned: list[_Pending] = []
        for record in records:
            if not force and known.get(record.origin) == record.content_hash:
                if record.origin in keep:
                    planned.append(_Pending(record, needs_analysis=False))
                else:
                    report.unchanged += 1
                continue
            is_new_text = record.content_hash not in seen_hashes and (
                force or await self.store.articles.id_for_hash(record.content_hash) is None
            )
            seen_hashes.add(record.content_hash)
            planned.append(_Pending(record, is_new_text))
        return planned

    async def _plan_file(
        self,
        contents: FileContents,
        fingerprint: FileFingerprint,
        seen_hashes: set[str],
        force: bool,
        report: IndexReport,
    ) -> list[_Pending]:
        """Which of a file's records need analysis, which only a link, and which are unchanged."""
        current = {r.origin for r in contents.records}
        stale = [o for o in await self.store.articles.origins_in_file(fingerprint.path) if o not in current]
        planned = await self._plan_records(contents.records, seen_hashes, force, report)
        if not planned:
            planned.append(_Pending(None, needs_analysis=False))
        planned[0].stale_origins = stale
        planned[-1].completes = fingerprint
        return planned

    async def _run(
        self,
        pending: list[_Pending],
        report: IndexReport,
        on_progress: ProgressCallback | None,
        alerts: AlertPolicy | None,
        skip: SkipCallback,
        *,
        source_id: int | None = None,
    ) -> None:
        batches = [pending[i : i + self.batch_size] for i in range(0, len(pending), self.batch_size)]
        total = sum(p.needs_analysis for p in pending)
        texts = (
            [
                ArticleText(p.record.title, p.record.body, p.record.title_derived)
                for p in batch
                if p.record is not None and p.needs_analysis
            ]
            for batch in batches
        )
        stream = self.analyzer.analyze_stream(texts, total)
        done = 0
        sentinel = object()
        loop = asyncio.get_running_loop()

        def analyse_next() -> asyncio.Future[Any]:
            return loop.run_in_executor(self.analyzer.thread, next, stream, sentinel)

        next_analysis = analyse_next() if batches else None
        for batch in batches:
            assert next_analysis is not None
            analyses = await next_analysis
            assert analyses is not sentinel
            # Start analysing the next batch while this one is written.
            next_analysis = analyse_next()
            await self._write(batch, iter(analyses), report, alerts, skip, source_id)  # type: ignore[arg-type]
            done += sum(p.needs_analysis for p in batch)
            if on_progress:
                on_progress(done, total)
        if next_analysis is not None:
            await next_analysis

    async def _write(
        self,
        batch: list[_Pending],
        analyses: Iterator[ArticleAnalysis | AnalysisFailed],
        report: IndexReport,
        alerts: AlertPolicy | None,
        skip: SkipCallback,
        source_id: int | None,
    ) -> None:
        items: list[tuple[ArticleRecord, ArticleAnalysis | None]] = []
        stale: list[str] = []
        files_done: list[FileFingerprint] = []
        for item in batch:
            stale.extend(item.stale_origins)
            if item.completes:
                files_done.append(item.completes)
            if item.record is None:
                continue
            analysis = next(analyses) if item.needs_analysis else None
            if isinstance(analysis, AnalysisFailed):
                skip(item.record.origin, analysis.reason)
                continue
            items.append((item.record, analysis))
        results = await self.store.articles.write_batch(
            items, files_done=files_done, stale_origins=stale, alerts=alerts, source_id=source_id
        )
        report.removed += len(stale)
        for result in results:
            report.articles.append(result)
            if result.status == "new":
                report.indexed += 1
            elif result.status == "updated":
                report.updated += 1
            elif result.status == "duplicate":
                report.duplicates += 1
            else:
                report.unchanged += 1
