"""The ``folders`` source: in watched folders, a new or changed article file is indexed (and alerted)
within seconds.

Filesystem events come from watchfiles. A file is read only once its size and modification time
have stopped changing, so a file still being written is never indexed half-done; editors' and
downloaders' temporary files are ignored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from watchfiles import Change, awatch

from bot.ingest.readers import SUPPORTED_SUFFIXES
from bot.ingest.sources.base import SourceContext
from bot.models import AlertPolicy
from bot.wording import plural

log = logging.getLogger(__name__)

STABLE_CHECK_SECONDS = 0.15
STABLE_MAX_WAIT_SECONDS = 10.0
_TEMPORARY_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".swp", ".swx", "~")


def is_article_file(path: Path) -> bool:
    """Whether a changed path is an article file worth indexing (not hidden, not temporary)."""
    name = path.name
    return (
        not name.startswith((".", "~$", "#"))
        and not name.endswith(_TEMPORARY_SUFFIXES)
        and path.suffix.lower() in SUPPORTED_SUFFIXES
    )


async def wait_until_stable(path: Path) -> bool:
    """Wait until ``path`` stops changing; ``False`` when it vanished or never settled."""
    waited = 0.0
    previous: tuple[int, int] | None = None
    while waited <= STABLE_MAX_WAIT_SECONDS:
        try:
            stat = await asyncio.to_thread(path.stat)
        except OSError:
            return False
        current = (stat.st_size, stat.st_mtime_ns)
        if current == previous and stat.st_size > 0:
            return True
        previous = current
        await asyncio.sleep(STABLE_CHECK_SECONDS)
        waited += STABLE_CHECK_SECONDS
    return False


class FolderWatcher:
    """Calls ``on_files`` with batches of settled article files that appeared or changed."""

    def __init__(
        self,
        folders: Iterable[Path],
        on_files: Callable[[list[Path]], Awaitable[object]],
        *,
        debounce_ms: int,
    ) -> None:
        self.folders = [f for f in folders if f.is_dir()]
        self.on_files = on_files
        self.debounce_ms = debounce_ms
        self._stop = asyncio.Event()
        self.ready = asyncio.Event()  # set once the watch is in place (tests wait for it)
        self.batches = 0  # batches of settled files handed to on_files and finished (tests wait on it)

    def stop(self) -> None:
        """Stop watching after the current batch."""
        self._stop.set()

    async def will_index(self) -> bool:
        """Whether there is a folder to watch."""
        return bool(self.folders)

    async def run(self) -> None:
        """Watch until stopped; a failing batch is logged and the watch goes on."""
        if not self.folders:
            self.ready.set()
            return
        log.info("watching %s for new articles", ", ".join(str(f) for f in self.folders))
        watch = awatch(
            *self.folders,
            debounce=self.debounce_ms,
            step=50,
            stop_event=self._stop,
            recursive=True,
            yield_on_timeout=True,
            rust_timeout=500,
        )
        async for changes in watch:
            self.ready.set()
            paths = sorted({Path(p) for change, p in changes if change != Change.deleted})
            candidates = [p for p in paths if is_article_file(p)]
            if not candidates:
                continue
            settled = [
                p
                for p, ok in zip(candidates, await asyncio.gather(*map(wait_until_stable, candidates)), strict=True)
                if ok
            ]
            if not settled:
                continue
            try:
                await self.on_files(settled)
            except Exception:
                log.exception("indexing %s failed", plural(len(settled), "changed file"))
            self.batches += 1


def make(context: SourceContext) -> FolderWatcher:
    """The configured folders, watched: what appears in them is indexed, and new articles alerted."""
    policy = AlertPolicy(context.settings.follow_salience)

    async def index_files(paths: list[Path]) -> None:
        report = await context.ingest.index_paths(paths, alerts=policy)
        for where, reason in report.skipped:
            log.warning("skipped %s: %s", where, reason)
        if report.analysed:
            log.info("watched folders: %s", report.summary_line())

    return FolderWatcher(context.settings.folders, index_files, debounce_ms=context.settings.watch_debounce_ms)
