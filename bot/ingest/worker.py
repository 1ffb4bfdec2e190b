"""The worker process untrusted documents are parsed in: feeds, article pages and article files.

Python holds the GIL through every single C call, and the parsers make such calls over whole documents:
feedparser's ``str.translate`` and regexes, libxml2 through trafilatura, our own readers' regexes. On a
5 MB feed or a 2 MB page each holds it for a quarter of a second, and from a thread of the bot's process
that freezes its event loop just the same. In a process of their own they cannot; their memory is not the
bot's either. One worker, spawned on first use (fork is unsafe in a process with threads) and spawned
again if it dies (a crash, the kernel's out-of-memory killer): a dead one costs the document it had.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


class WorkerStopped(Exception):
    """The worker process died while parsing; ``str(error)`` is one sentence for a log or a user."""


def _worker() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        return _pool


async def in_worker(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in the worker process (both must pickle); its exceptions are raised here.

    Raises :class:`WorkerStopped` when the worker dies on the way; the next call starts a new one.
    """
    global _pool
    pool = _worker()
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, function, *args)
    except BrokenProcessPool:
        with _pool_lock:
            if _pool is pool:
                _pool = None
        log.warning("the parsing worker process stopped; a new one starts with the next document")
        raise WorkerStopped("The document could not be parsed.") from None
