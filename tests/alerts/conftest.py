"""A running bot with alerts: a watched folder, an alert channel, and the session's spaCy analyzer."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app import NewsdeskBot
from bot.config import Settings
from bot.ingest.sources.folders import FolderWatcher
from bot.nlp.analyzer import Analyzer
from tests.fake_discord import FakeDiscord

SALIENT = (
    "Milei unveils budget cuts\n\n"
    "Argentine President Javier Milei unveiled deep budget cuts in Buenos Aires on Monday. "
    "Milei said the cuts would end the deficit this year.\n\n"
    "Opposition leaders said the plan would hurt pensioners. Milei rejected the criticism."
)
PASSING = (
    "Chile copper exports climb\n\n"
    "Chile's copper exports rose sharply in March, officials in Santiago said on Tuesday. "
    "Mining companies in Chile expect strong demand from China this year.\n\n"
    "One analyst compared the mining reforms of Chile with the policies of Javier Milei."
)
LITHIUM = (
    "Lithium mining expands in Chile\n\n"
    "Lithium mining companies expanded lithium mining in the Atacama desert of Chile on Monday, officials said. "
    "The lithium mining boom has brought thousands of jobs to the region.\n\n"
    "Environmental groups warned that lithium mining uses scarce water. "
    "Executives said lithium mining would keep growing as demand for batteries rises."
)
OSLO = (  # a name that no seed article has
    "Marta Lindqvist wins Oslo mayoral race\n\n"
    "Marta Lindqvist won the race for mayor of Oslo on Sunday, officials said. "
    "Lindqvist promised new bus lanes and cheaper housing.\n\n"
    "Marta Lindqvist thanked voters in a speech at city hall. Rivals congratulated Lindqvist on her victory."
)

AlertBot = Callable[..., contextlib.AbstractAsyncContextManager[NewsdeskBot]]


def story(n: int) -> str:
    """A distinct short story: distinct text and title, so no de-duplication, and another town, mayor,
    building and figures, so that no two are one story either."""
    towns = ["Leeds", "Bristol", "Cardiff", "Glasgow", "Belfast", "York", "Bath", "Derby", "Exeter", "Hull"]
    mayors = ["Anna Hughes", "Omar Patel", "Gwen Morgan", "Iain Fraser", "Siobhan Kelly", "Tom Ridley",
              "Priya Nair", "Carl Brooks", "Lena Moss", "Dev Sharma"]
    buildings = ["bridge", "library", "swimming pool", "tram line", "concert hall", "hospital wing", "skate park",
                 "bus station", "museum", "ferry terminal"]
    town, mayor, building = towns[n % 10], mayors[n % 10], buildings[n % 10]
    return (
        f"{town} opens {building} number {n}\n\n"
        f"The council of {town} opened {building} number {n} on Monday, officials said. "
        f"Mayor {mayor} said the {building} had cost {n * 3 + 7} million pounds and took {n + 2} years.\n"
    )


def title_of(n: int) -> str:
    """The headline of :func:`story` ``n``."""
    return story(n).split("\n", 1)[0]


@pytest.fixture
def news_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "news"
    folder.mkdir()
    return folder


@pytest.fixture
def alert_bot(
    fake_discord: FakeDiscord, bot_settings: Settings, analyzer: Analyzer, news_folder: Path
) -> AlertBot:
    """Start the bot with alert settings; ``alerts_here`` sets the alert channel before it starts."""

    @contextlib.asynccontextmanager
    async def run(*, alerts_here: bool = True, **changes: Any) -> AsyncIterator[NewsdeskBot]:
        settings = bot_settings.replace(folders=(news_folder,), watch_debounce_ms=400, **changes)
        newsdesk = NewsdeskBot(settings, analyzer=analyzer)
        async with fake_discord.run_bot(newsdesk):
            if alerts_here:
                await newsdesk.store.alerts.set_channel(fake_discord.guild.id, fake_discord.channel.id, 1)
            await newsdesk.ingestion.source(FolderWatcher).ready.wait()
            yield newsdesk

    return run
