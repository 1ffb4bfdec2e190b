"""The parsing worker process: documents are parsed outside the bot's process, and a dead worker is replaced."""

from __future__ import annotations

import os

import pytest

from bot.ingest.feeds import parse_feed
from bot.ingest.worker import WorkerStopped, in_worker
from tests.feed_server import rss_document


async def test_work_runs_in_another_process_and_its_errors_come_back() -> None:
    worker = await in_worker(os.getpid)
    assert worker != os.getpid()
    feed = await in_worker(parse_feed, rss_document([{"title": "Ferries", "link": "https://news.example/f"}]), "u")
    assert [item.title for item in feed.items] == ["Ferries"]
    with pytest.raises(ValueError, match="invalid literal"):
        await in_worker(int, "not a number")


async def test_a_dead_worker_costs_one_document_and_is_replaced() -> None:
    """A crash or the kernel's out-of-memory killer ends the worker: that document fails, the next one
    gets a new worker."""
    worker = await in_worker(os.getpid)
    with pytest.raises(WorkerStopped):
        await in_worker(os._exit, 1)
    assert await in_worker(os.getpid) not in (worker, os.getpid())
