"""Every server its own desk, end to end: a feed server A adds is A's own. From server B (and from DMs)
no command, autocomplete or typo suggestion reveals its articles, and B's followers are not pinged about
them; A sees them and is pinged. The same story through a shared feed is seen by everyone.

Two servers in the fake Discord, a real feed server on 127.0.0.1, the real bot and spaCy model.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.app import NewsdeskBot
from bot.config import Settings
from bot.models import Viewer
from bot.nlp.analyzer import Analyzer
from tests.fake_discord import FakeDiscord
from tests.fake_discord.models import FakeChannel, FakeGuild, FakeUser
from tests.fake_discord.records import RecordedMessage
from tests.feed_server import FeedServer, rss_document
from tests.settle import polled_again, settled_outbox

FAST = 0.02  # minutes between polls (1.2 s)
NAME = "Tobias Wrenfield"
WORD = "wrenfield"


def private_item(n: int = 1) -> dict[str, Any]:
    """A story only server A's feed carries: a distinctive name, words and topic."""
    text = (
        f"<p>{NAME}, the harbour master of Lisbon, unveiled a floating kelp observatory on Monday. "
        f"{NAME} said the kelp observatory would let marine biologists study seagrass meadows all year. "
        "Javier Milei, the Argentine president, sent a message of support.</p>"
        "<p>Elon Musk, the Tesla chief executive, joined Javier Milei at the opening; Musk and Milei met at "
        "the Tesla factory in Texas last year, and Milei thanked Musk for his support.</p>"
        f"<p>Fishermen welcomed the kelp observatory, and {NAME} promised a second one in Porto. "
        f"Wrenfield has led the harbour for {n + 5} years.</p>"
    )
    return {
        "title": f"{NAME} unveils floating kelp observatory",
        "link": f"https://private.example/kelp-{n}",
        "guid": f"kelp-{n}",
        "content": text,
        "description": "A kelp observatory.",
        "published": datetime.now(UTC) - timedelta(minutes=5),
    }


def filler_item() -> dict[str, Any]:
    """What the feed carries when it is added (indexed without alerts)."""
    return {
        "title": "Lisbon ferry timetable changes",
        "link": "https://private.example/ferry",
        "guid": "ferry",
        "content": "<p>The Lisbon ferry company changed its winter timetable, officials said on Friday. "
        "Boats will leave every twenty minutes from the river terminal.</p>",
        "description": "Ferries.",
        "published": datetime(2024, 1, 5, tzinfo=UTC),
    }


@dataclass
class World:
    """Server A (the default guild, which adds the feed) and server B, with a member and a channel each."""

    fake: FakeDiscord
    guild_b: FakeGuild
    channel_b: FakeChannel
    member_b: FakeUser

    async def ask_a(self, text: str) -> RecordedMessage:
        return await (await self.fake.send_message(text, author=self.fake.admin)).reply(timeout=20)

    async def ask_b(self, text: str) -> RecordedMessage:
        sent = await self.fake.send_message(text, author=self.member_b, channel=self.channel_b)
        return await sent.reply(timeout=20)


def shown(message: RecordedMessage) -> str:
    """Everything a reply shows: its text and every part of its embeds."""
    parts = [message.content or ""]
    for embed in message.embeds:
        parts += [embed.get("title", ""), embed.get("description", ""), str(embed.get("footer", ""))]
        parts += [f"{f['name']} {f['value']}" for f in embed.get("fields", [])]
    return "\n".join(parts)


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    async with FeedServer() as server:
        yield server


@pytest.fixture
def world_bot(fake_discord: FakeDiscord, bot_settings: Settings, analyzer: Analyzer):  # type: ignore[no-untyped-def]
    guild_b = fake_discord.create_guild("Server B")
    channel_b = next(iter(guild_b.channels.values()))
    member_b = fake_discord.create_user("bea")
    fake_discord.add_member(guild_b, member_b)
    world = World(fake_discord, guild_b, channel_b, member_b)

    @contextlib.asynccontextmanager
    async def run() -> AsyncIterator[tuple[NewsdeskBot, World]]:
        settings = bot_settings.replace(
            allowed_private_networks=("127.0.0.1",), feed_min_interval_minutes=0.01, feed_timeout_seconds=1.0
        )
        newsdesk = NewsdeskBot(settings, analyzer=analyzer)
        async with fake_discord.run_bot(newsdesk):
            await newsdesk.store.alerts.set_channel(fake_discord.guild.id, fake_discord.channel.id, 1)
            await newsdesk.store.alerts.set_channel(guild_b.id, channel_b.id, 1)
            yield newsdesk, world

    return run


async def _private_article(newsdesk: NewsdeskBot, world: World, feeds: FeedServer) -> int:
    """A adds the feed, then the distinctive story arrives in a later poll (so it is alerted)."""
    url = feeds.serve("/a.xml", rss_document([filler_item()]))
    added = await world.ask_a(f"!source add {url} {FAST}")
    assert "Only this server sees its articles." in added.content
    feeds.serve("/a.xml", rss_document([filler_item(), private_item()]))
    await polled_again(newsdesk, feeds, "/a.xml")
    [match] = await newsdesk.store.search.find(WORD)
    return match.article.id


async def test_a_server_feed_is_invisible_and_silent_elsewhere(world_bot, feeds: FeedServer) -> None:
    async with world_bot() as (newsdesk, world):
        fake = world.fake
        # Both servers follow the name before any article mentions it.
        for ask in (world.ask_a, world.ask_b):
            followed = await ask(f"!follow {NAME}")
            assert NAME in shown(followed)
        await fake.send_message("!sync", author=fake.owner)
        await fake.wait_for_message()
        before = len(fake.messages)
        article_id = await _private_article(newsdesk, world, feeds)
        await settled_outbox(newsdesk)

        # Pinged in A, not in B: nothing about the story reached B's channels.
        alerts = fake.messages[before:]
        in_a = [m for m in alerts if m.channel_id == fake.channel.id and NAME in shown(m)]
        assert any(fake.admin.id in m.mentions for m in in_a)
        assert not [m for m in alerts if m.channel_id == world.channel_b.id]

        # A sees it.
        assert NAME in shown(await world.ask_a(f"!who {NAME}"))
        assert NAME in shown(await world.ask_a(f"!search {WORD}"))
        assert NAME in shown(await world.ask_a("!latest 5"))
        typo = await world.ask_a("!who Tobias Wrenfeld")
        assert NAME in shown(typo)

        # B does not, whatever it asks.
        for question in (
            f"!who {NAME}",
            "!who Wrenfeld",  # a typo: not corrected to the hidden name, nor suggested
            f"!search {WORD}",
            "!search kelp observatory",
            f"!summary {NAME}",
            "!summary kelp observatory",
            "!summary latest",
            f"!summary {article_id}",
            f"!article {article_id}",
            f"!related {article_id}",
            f"!story {article_id}",
            "!latest 25",
            "!topics 25",
            "!topic kelp observatory",
            "!stats",
            "!who Javier Milei",  # the story mentions him: not in B's counts, sentences or company
        ):
            # What was asked may be echoed ("No one called …"); nothing else of the story may show.
            answer = shown(await world.ask_b(question)).lower().replace(question.partition(" ")[2].lower(), "")
            for revealing in (WORD, "kelp", "harbour master", "seagrass", f"#{article_id}"):
                assert revealing not in answer, (question, revealing)
        dm = await (await fake.send_dm(f"!search {WORD}", author=world.member_b)).reply(timeout=20)
        assert shown(dm).startswith(f"\nNot found\nNo article matches {WORD}.")
        assert NAME not in shown(dm)

        # Counts: B and DMs see the shared articles only, A sees one more (the story, and its feed's filler).
        shared = await newsdesk.store.articles.count(viewer=Viewer.dm())
        assert await newsdesk.store.articles.count(viewer=Viewer.server(world.guild_b.id)) == shared
        assert await newsdesk.store.articles.count(viewer=Viewer.server(fake.guild.id)) == shared + 2
        assert f"{shared:,}" in shown(await world.ask_b("!stats"))
        assert f"{shared + 2:,}" in shown(await world.ask_a("!stats"))

        milei_counts = [
            (await newsdesk.store.entities.by_key("javier milei", viewer=viewer)).article_count  # type: ignore[union-attr]
            for viewer in (Viewer.dm(), Viewer.server(world.guild_b.id), Viewer.server(fake.guild.id))
        ]
        assert milei_counts[0] == milei_counts[1] == milei_counts[2] - 1

        # Related, from the other side: a shared article the story is related to lists it in A only.
        async def related(to: int, viewer: Viewer) -> list[int]:
            return [r.article.id for r in await newsdesk.store.articles.related(to, 25, viewer=viewer)]

        shared_ids = [m.article.id for m in await newsdesk.store.search.find("Milei Musk", 25, viewer=Viewer.dm())]
        anchors = [x for x in shared_ids if article_id in await related(x, Viewer.everything())]
        assert anchors, "the story should be related to a shared article about Milei and Musk"
        assert article_id in await related(anchors[0], Viewer.server(fake.guild.id))
        assert article_id not in await related(anchors[0], Viewer.server(world.guild_b.id))

        # The pictures' data: mentions per day and the company a name keeps.
        wrenfield = await newsdesk.store.entities.by_key("tobias wrenfield")
        milei_ref = await newsdesk.store.entities.by_key("javier milei")
        assert wrenfield is not None and milei_ref is not None
        today = datetime.now(UTC).date()
        for viewer, seen in ((Viewer.server(fake.guild.id), True), (Viewer.server(world.guild_b.id), False)):
            days = await newsdesk.store.trends.per_day(
                "entity", wrenfield.id, today - timedelta(days=2), today, viewer=viewer
            )
            assert bool(days) is seen
            company, _ = await newsdesk.store.trends.co_mentions(milei_ref.id, 50, viewer=viewer)
            assert (NAME in [ref.name for ref, _ in company]) is seen

        # Autocomplete and typo suggestions, per server.
        async def completions(guild: FakeGuild, channel: FakeChannel, user: FakeUser, command: str, option: str) -> str:
            interaction = await fake.autocomplete(
                command, {option: "wrenf"}, focused=option, guild=guild, channel=channel, user=user
            )
            return " ".join(c["name"] for c in await interaction.choices())

        for viewer in (Viewer.server(fake.guild.id), Viewer.server(world.guild_b.id)):
            await newsdesk.answers.refresh_names(viewer)
        for command, option in (("who", "name"), ("summary", "target"), ("follow", "subject")):
            assert NAME in await completions(fake.guild, fake.channel, fake.admin, command, option)
            assert NAME not in await completions(world.guild_b, world.channel_b, world.member_b, command, option)
        kelp = await fake.autocomplete(
            "topic", {"phrase": "kelp obs"}, guild=world.guild_b, channel=world.channel_b, user=world.member_b
        )
        assert "kelp" not in " ".join(c["name"] for c in await kelp.choices()).lower()
        suggestions = await newsdesk.answers.search("wrenfeld", viewer=Viewer.server(world.guild_b.id))
        assert NAME not in str(suggestions)
        assert NAME in str(await newsdesk.answers.search("wrenfeld", viewer=Viewer.server(fake.guild.id)))

        # !why in B knows no such article.
        assert f"no article {article_id}" in shown(await world.ask_b(f"!why {article_id}")).lower()


async def test_a_story_also_in_a_shared_feed_is_seen_by_every_server(world_bot, feeds: FeedServer) -> None:
    async with world_bot() as (newsdesk, world):
        fake = world.fake
        article_id = await _private_article(newsdesk, world, feeds)
        b = Viewer.server(world.guild_b.id)
        assert await newsdesk.store.articles.get(article_id, viewer=b) is None

        # The bot's owner adds a shared feed carrying the same story (another address, same text).
        same_story = {**private_item(), "link": "https://wire.example/kelp", "guid": "wire-kelp"}
        shared_url = feeds.serve("/wire.xml", rss_document([same_story], title="Wire"))
        refused = await world.ask_a(f"!source add {shared_url} shared")
        assert "Only the bot's owner" in refused.content
        sent = await fake.send_message(f"!source add {shared_url} shared", author=fake.owner)
        added = await sent.reply(timeout=20)
        assert "Every server sees its articles." in added.content
        assert await newsdesk.store.articles.get(article_id, viewer=b) is not None
        assert NAME in shown(await world.ask_b(f"!who {NAME}"))
        assert WORD in shown(await world.ask_b(f"!search {WORD}")).lower()

        # The shared feed goes: B no longer sees the story; A still does.
        shared_feed = next(s for s in await newsdesk.store.sources.of_server(fake.guild.id) if s.shared)
        removed = await world.ask_a(f"!source remove {shared_feed.id}")
        assert removed.content.startswith(f"Removed feed #{shared_feed.id}")
        assert await newsdesk.store.articles.get(article_id, viewer=b) is None
        assert f"No article matches {WORD}." in shown(await world.ask_b(f"!search {WORD}"))
        assert f"No one called {NAME}" in shown(await world.ask_b(f"!who {NAME}"))
        assert NAME in shown(await world.ask_a(f"!who {NAME}"))

        # A's own feed goes: no source keeps the story, so it leaves the index.
        own = next(s for s in await newsdesk.store.sources.of_server(fake.guild.id) if not s.shared)
        removed = await world.ask_a(f"!source remove {own.id}")
        assert "2 articles no other source delivered went with it." in removed.content
        assert await newsdesk.store.articles.get(article_id) is None
        assert await newsdesk.store.entities.by_key("tobias wrenfield") is None
