"""Feed URLs may carry ``user:password@``: no log line and no notice shows the password."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from bot.cli import configure_logging
from bot.ingest.fetch import SafeFetcher, redact_url
from bot.ingest.indexer import Indexer
from bot.ingest.sources.feeds import FeedPoller
from bot.models import FeedSource
from bot.store import Store


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("https://user:secret@news.example/feed", "https://***@news.example/feed"),
        ("http://secret@news.example:8080/rss?x=1", "http://***@news.example:8080/rss?x=1"),
        ("http://us@er:sec@ret@news.example/", "http://***@news.example/"),
        ("http://news.example/people/@secret", "http://news.example/people/@secret"),  # a path, not a login
        ("http://news.example/feed", "http://news.example/feed"),
        (
            "https://a:secret@one.example/1: The server answered 404; see https://b:secret@two.example/2",
            "https://***@one.example/1: The server answered 404; see https://***@two.example/2",
        ),
        ("not a url: mail@example.com", "not a url: mail@example.com"),
    ],
)
def test_redact_url(text: str, redacted: str) -> None:
    assert redact_url(text) == redacted


async def test_a_failing_poll_logs_and_notifies_without_the_password(
    store: Store, indexer_for: Callable[..., Indexer], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")  # as `newsdesk -v` logs (see the next test)
    notices: list[str] = []

    async def notify(source: FeedSource, text: str) -> None:
        notices.append(text)

    source = await store.sources.add(1, 100, "http://user:secret@127.0.0.1:1/feed", 10.0, 9)
    assert source is not None
    async with SafeFetcher(timeout=2.0, max_bytes=100_000, allowed_private_networks=("127.0.0.1",)) as fetcher:
        poller = FeedPoller(
            store,
            indexer_for(store),
            fetcher,
            follow_salience=0.35,
            max_failures=1,
            fetch_full_text=True,
            notify=notify,
        )
        outcome = await poller.poll(source)
    assert not outcome.ok and outcome.paused
    assert "http://***@127.0.0.1:1/feed" in caplog.text  # the failure was logged, naming the feed
    [notice] = notices
    assert "***@127.0.0.1:1/feed" in notice
    assert "secret" not in caplog.text and "secret" not in notice


def test_verbose_logging_leaves_out_the_statement_parameters(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # everything on, as basicConfig(level=DEBUG) does outside pytest
    quiet = logging.getLogger("aiosqlite")
    before = quiet.level
    try:
        configure_logging(verbose=True)
        assert not quiet.isEnabledFor(logging.DEBUG)
    finally:
        quiet.setLevel(before)
