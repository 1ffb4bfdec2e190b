"""pytest fixtures for the fake Discord.

Register with ``from tests.fake_discord.fixtures import fake_discord  # noqa: F401`` in a conftest
(or ``pytest_plugins = ["tests.fake_discord.fixtures"]`` in the root conftest).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from .server import FakeDiscord


@pytest_asyncio.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """A started FakeDiscord with discord.py's REST base and gateway pointed at it; torn down after.

    The teardown fails the test when the bot called a route the fake lacks, or got a 4xx answer that
    the test neither injected (``fake.inject``) nor declared (``fake.expect_status``): Discord would
    have refused that request too.
    """
    async with FakeDiscord() as fake:
        yield fake
    fake.assert_clean()
