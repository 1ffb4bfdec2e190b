"""Feeds end to end: ``!source`` commands, new items alerted once, failures, pausing, unsafe URLs.

A real feed server on 127.0.0.1 serves RSS; the bot may reach 127.0.0.1 only (the config allows it),
never other private or metadata addresses.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.app import NewsdeskBot
from bot.config import Settings
from bot.models import from_iso
from bot.nlp.analyzer import Analyzer
from tests.fake_discord import FakeDiscord
from tests.fake_discord.records import RecordedMessage
from tests.feed_server import FeedServer, rss_document
from tests.settle import eventually, polled_again, settled_outbox

FAST = 0.02  # minutes between polls in these tests (1.2 s)


def item(n: int, *, guid: str | None = None, link: str | None = None, hours: int = 0) -> dict[str, Any]:
    """A feed item with full text (no page fetch needed)."""
    towns = ["Lisbon", "Porto", "Faro", "Braga", "Coimbra", "Evora"]
    town = towns[n % len(towns)]
    text = (
        f"<p>The mayor of {town} opened a new tram line number {n} on Monday, city officials said. "
        f"The line links the harbour of {town} with its university and will carry {n * 1000 + 500} "
        f"passengers a day.</p><p>Residents of {town} welcomed the tram, and shop owners said the works "
        "had hurt trade for two years.</p>"
    )
    return {
        "title": f"{town} opens tram line {n}",
        "link": link or f"https://news.example/{town.lower()}/tram-{n}",
        "guid": guid or f"tram-{n}",
        "content": text,
        "description": f"{town} opens a tram line.",
        "published": datetime(2024, 6, 1, tzinfo=UTC) + timedelta(hours=hours or n),
    }


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    async with FeedServer() as server:
        yield server


@pytest.fixture
def feed_bot(fake_discord: FakeDiscord, bot_settings: Settings, analyzer: Analyzer):  # type: ignore[no-untyped-def]
    @contextlib.asynccontextmanager
    async def run(**changes: Any) -> AsyncIterator[NewsdeskBot]:
        settings = bot_settings.replace(
            **{
                "allowed_private_networks": ("127.0.0.1",),
                "feed_min_interval_minutes": 0.01,
                "feed_timeout_seconds": 1.0,
                "feed_max_bytes": 1_000_000,
                **changes,
            }
        )
        newsdesk = NewsdeskBot(settings, analyzer=analyzer)
        async with fake_discord.run_bot(newsdesk):
            await newsdesk.store.alerts.set_channel(fake_discord.guild.id, fake_discord.channel.id, 1)
            yield newsdesk

    return run


async def _ask(fake: FakeDiscord, text: str) -> RecordedMessage:
    return await (await fake.send_message(text, author=fake.admin)).reply(timeout=20)


def _alerts(fake: FakeDiscord) -> list[str]:
    return [m.embeds[0]["title"] for m in fake.messages if m.embeds and "tram line" in m.embeds[0].get("title", "")]


async def test_new_items_alert_once_and_adding_a_feed_does_not_flood(
    feed_bot, fake_discord: FakeDiscord, feeds: FeedServer
) -> None:
    url = feeds.serve("/a.xml", rss_document([item(1), item(2)]), etag='"v1"')
    async with feed_bot() as newsdesk:
        added = await _ask(fake_discord, f"!source add {url} {FAST}")
        assert added.content.startswith("Added feed #1: Test News — 2 items indexed, not alerted.")
        assert _alerts(fake_discord) == []
        feeds.serve("/a.xml", rss_document([item(1), item(2), item(3)]), etag='"v2"')
        await fake_discord.wait_for(lambda: _alerts(fake_discord) or None, timeout=20)
        assert _alerts(fake_discord) == [item(3)["title"]]
        await polled_again(newsdesk, feeds, "/a.xml")  # 304s and unchanged items: nothing reposted
        assert _alerts(fake_discord) == [item(3)["title"]]
        assert any(r.get("If-None-Match") == '"v2"' for r in feeds.requests["/a.xml"])
        listing = await _ask(fake_discord, "!source list")
        assert "Test News" in listing.embeds[0]["description"]
        why_id = (await newsdesk.store.search.find("tram line 3"))[0].article.id
        why = await _ask(fake_discord, f"!why {why_id}")
        assert "feed #1" in why.embeds[0]["description"]


async def test_the_same_story_through_two_feeds_alerts_once(
    feed_bot, fake_discord: FakeDiscord, feeds: FeedServer
) -> None:
    a = feeds.serve("/a.xml", rss_document([item(1)]))
    b = feeds.serve("/b.xml", rss_document([item(2)], title="Other News"))
    async with feed_bot() as newsdesk:
        # Hourly feeds, polled here one after the other: this is about the story, not the schedule.
        await _ask(fake_discord, f"!source add {a} 60")
        await _ask(fake_discord, f"!source add {b} 60")
        story = item(4)
        feeds.serve("/a.xml", rss_document([item(1), story]))
        feeds.serve(
            "/b.xml",
            rss_document([item(2), {**story, "guid": "other-guid", "link": "https://b.example/x"}], title="Other News"),
        )
        sources = await newsdesk.store.sources.of_server(fake_discord.guild.id)
        for _ in range(2):  # new items, then the same items again
            for source in sources:
                assert (await newsdesk.feeds.poller.poll(source)).ok
            await settled_outbox(newsdesk)
            assert _alerts(fake_discord) == [story["title"]]


async def test_rewritten_guids_and_dates_do_not_repost(feed_bot, fake_discord: FakeDiscord, feeds: FeedServer) -> None:
    url = feeds.serve("/a.xml", rss_document([item(1), item(2)]))
    async with feed_bot() as newsdesk:
        await _ask(fake_discord, f"!source add {url} {FAST}")
        rewritten = [item(1, guid="new-1", hours=50), item(2, guid="new-2", hours=60)]
        feeds.serve("/a.xml", rss_document(rewritten))
        await polled_again(newsdesk, feeds, "/a.xml")
        assert _alerts(fake_discord) == []


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda s: s.malformed("/bad.xml"), "I could not add that feed: "),
        (lambda s: s.fail("/bad.xml", 500), "The server answered 500"),
        (lambda s: s.slow("/bad.xml", 5), "did not answer within"),
        (lambda s: s.huge("/bad.xml"), "larger than"),
        (lambda s: s.redirect("/bad.xml", "http://169.254.169.254/latest/meta-data"), "metadata"),
        (lambda s: s.redirect("/bad.xml", "http://10.0.0.1/feed"), "private network"),
    ],
    ids=["malformed", "500", "timeout", "50MB", "redirect-metadata", "redirect-private"],
)
async def test_a_bad_feed_is_refused_with_one_sentence(
    feed_bot, fake_discord: FakeDiscord, feeds: FeedServer, setup, message: str
) -> None:
    url = setup(feeds)
    async with feed_bot() as newsdesk:
        reply = await _ask(fake_discord, f"!source add {url}")
        assert reply.content.startswith("I could not add that feed: ")
        assert message in reply.content and "\n" not in reply.content and "Traceback" not in reply.content
        assert await newsdesk.store.sources.of_server(fake_discord.guild.id) == []
        again = await _ask(fake_discord, "!who Milei")  # the bot is fine
        assert again.embeds


async def test_unsafe_urls_are_refused(feed_bot, fake_discord: FakeDiscord) -> None:
    async with feed_bot():
        for url, expected in [
            ("ftp://example.com/feed", "Only http and https links can be used."),
            ("file:///etc/passwd", "Only http and https links can be used."),
            ("http://10.1.2.3/feed.xml", "private network"),
        ]:
            reply = await _ask(fake_discord, f"!source add {url}")
            assert expected in reply.content, url


async def test_a_failing_feed_backs_off_then_pauses_and_tells_the_server_once(
    feed_bot, fake_discord: FakeDiscord, feeds: FeedServer
) -> None:
    url = feeds.serve("/a.xml", rss_document([item(1)]))
    async with feed_bot(feed_max_failures=2) as newsdesk:
        await _ask(fake_discord, f"!source add {url} {FAST}")
        feeds.fail("/a.xml", 500)
        notice = await fake_discord.wait_for_message(predicate=lambda m: "is paused" in (m.content or ""), timeout=30)
        assert notice.content.startswith("Feed #1 (Test News) is paused after 2 failures in a row.")
        assert "The server answered 500" in notice.content
        [source] = await newsdesk.store.sources.of_server(fake_discord.guild.id)
        assert source.paused and source.failures == 2
        polls = len(feeds.requests["/a.xml"])
        # Once the time it would have been due has passed, a polling pass leaves the paused feed alone.
        due = from_iso(source.next_poll_at)
        await eventually(lambda: datetime.now(UTC) > due, what="the paused feed's next poll time")
        poller = newsdesk.feeds.poller
        before = poller.passes
        poller.wake.set()
        await eventually(lambda: poller.passes > before, what="a polling pass")
        assert len(feeds.requests["/a.xml"]) == polls  # paused: not polled any more
        assert sum("is paused" in (m.content or "") for m in fake_discord.messages) == 1
        feeds.serve("/a.xml", rss_document([item(1), item(5)]))
        resumed = await _ask(fake_discord, "!source resume 1")
        assert resumed.content == "Feed #1 is active again and will be checked now."
        await fake_discord.wait_for(lambda: _alerts(fake_discord) or None, timeout=20)


async def test_source_commands_need_manage_server(feed_bot, fake_discord: FakeDiscord, feeds: FeedServer) -> None:
    async with feed_bot():
        reply = await (await fake_discord.send_message("!source list", author=fake_discord.member)).reply()
        assert reply.content == "You need the Manage Server permission for that."
        removed = await _ask(fake_discord, "!source remove 99")
        assert removed.content == "This server has no feed #99; see source list."


INTERVAL_SENTENCE = "A feed can be checked every 0.01 to 10080 minutes (7 days); give a number in that range."


async def test_intervals_must_be_finite_and_at_most_seven_days(
    feed_bot, fake_discord: FakeDiscord, feeds: FeedServer
) -> None:
    url = feeds.serve("/a.xml", rss_document([item(1)]))
    async with feed_bot(source_add_per_minute=100) as newsdesk:
        for minutes in ["nan", "NaN", "inf", "-inf", "1e10", "-5", "0.001", "10081"]:
            reply = await _ask(fake_discord, f"!source add {url} {minutes}")
            assert reply.content == INTERVAL_SENTENCE, minutes
        assert await newsdesk.store.sources.of_server(fake_discord.guild.id) == []
        await fake_discord.send_message("!sync", author=fake_discord.owner)
        await fake_discord.wait_for_message()
        [source] = [c for c in fake_discord.global_commands if c["name"] == "source"]
        [add] = [o for o in source["options"] if o["name"] == "add"]
        [minutes_option] = [o for o in add["options"] if o["name"] == "minutes"]
        assert (minutes_option["type"], minutes_option["min_value"], minutes_option["max_value"]) == (10, 0, 10080)
        # Discord keeps the slash form within those bounds; the exact range is checked as for the prefix.
        for minutes in [1e10, 0.001]:
            slash = await fake_discord.invoke_slash(
                "source add", {"url": url, "minutes": minutes}, user=fake_discord.admin
            )
            assert (await slash.response()).content == INTERVAL_SENTENCE
        assert await newsdesk.store.sources.of_server(fake_discord.guild.id) == []
        added = await _ask(fake_discord, f"!source add {url} 10080")
        assert added.content.startswith("Added feed #")


async def test_a_server_may_have_only_so_many_feeds(feed_bot, fake_discord: FakeDiscord, feeds: FeedServer) -> None:
    a = feeds.serve("/a.xml", rss_document([item(1)]))
    b = feeds.serve("/b.xml", rss_document([item(2)], title="Other News"))
    async with feed_bot(feed_max_per_server=1) as newsdesk:
        assert (await _ask(fake_discord, f"!source add {a}")).content.startswith("Added feed #1")
        refused = await _ask(fake_discord, f"!source add {b}")
        assert refused.content == "This server already has 1 feed, the most it may have; remove one first."
        assert [s.url for s in await newsdesk.store.sources.of_server(fake_discord.guild.id)] == [a]
        assert feeds.hits["/b.xml"] == 0


async def test_source_add_follow_and_unfollow_have_cooldowns(
    feed_bot, fake_discord: FakeDiscord, feeds: FeedServer
) -> None:
    url = feeds.serve("/a.xml", rss_document([item(1)]))
    async with feed_bot(source_add_per_minute=1, follow_per_minute=1):
        assert (await _ask(fake_discord, f"!source add {url}")).content.startswith("Added feed #1")
        again = await _ask(fake_discord, "!source add https://other.example/rss")
        assert again.content.startswith("Slow down: try that again in ")
        for command in ("follow", "unfollow"):
            first = await (await fake_discord.send_message(f"!{command} Milei")).reply()
            assert not first.content.startswith("Slow down"), command
            second = await (await fake_discord.send_message(f"!{command} Milei")).reply()
            assert second.content.startswith("Slow down: try that again in "), command


async def test_an_unexpected_error_in_the_first_poll_removes_the_feed(
    feed_bot, fake_discord: FakeDiscord, feeds: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = feeds.serve("/a.xml", rss_document([item(1)]))
    async with feed_bot() as newsdesk:

        async def broken(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("indexing is broken")

        monkeypatch.setattr(await newsdesk.ingestion.indexer(), "index_records", broken)
        reply = await _ask(fake_discord, f"!source add {url}")
        assert reply.content == (
            "I could not add that feed: Something went wrong on my side while reading the feed; it has been logged."
        )
        assert await newsdesk.store.sources.of_server(fake_discord.guild.id) == []


async def test_a_cancelled_source_add_leaves_no_feed_behind(
    feed_bot, fake_discord: FakeDiscord, feeds: FeedServer
) -> None:
    url = feeds.slow("/slow.xml", 5, rss_document([item(1)]))
    async with feed_bot(feed_timeout_seconds=10.0) as newsdesk:
        guild, channel = fake_discord.guild.id, fake_discord.channel.id
        adding = asyncio.create_task(newsdesk.feeds.add_source(guild, channel, fake_discord.admin.id, url, None))
        await fake_discord.wait_for(lambda: feeds.hits["/slow.xml"] or None, timeout=10)
        assert await newsdesk.store.sources.of_server(guild) != []  # the row exists while its first poll runs…
        adding.cancel()
        with pytest.raises(asyncio.CancelledError):
            await adding
        assert await newsdesk.store.sources.of_server(guild) == []  # …and not after it was cancelled


async def test_slash_source_add_list_and_remove(feed_bot, fake_discord: FakeDiscord, feeds: FeedServer) -> None:
    # A feed whose title is long and full of markup: the answer stays one escaped message within 2,000 characters.
    title = "**Breaking** [news](https://evil.example) @everyone " * 80
    url = feeds.serve("/s.xml", rss_document([item(1), item(2)], title=title))
    async with feed_bot() as newsdesk:
        await fake_discord.send_message("!sync", author=fake_discord.owner)
        await fake_discord.wait_for_message(predicate=lambda m: m.content.startswith("Synced"))
        admin = fake_discord.admin
        with pytest.raises(PermissionError):  # Manage Server: not offered to a plain member
            await fake_discord.invoke_slash("source add", {"url": url}, user=fake_discord.member)
        adding = await fake_discord.invoke_slash("source add", {"url": url, "minutes": 60.0}, user=admin)
        added = await adding.response(timeout=20)
        assert added.content.startswith("Added feed #1: \\*\\*Breaking\\*\\* \\[news\\]")
        assert len(added.content) <= 2000 and "@everyone" not in added.content and added.mentions == []
        [source] = await newsdesk.store.sources.of_server(fake_discord.guild.id)
        assert source.interval_minutes == 60.0 and source.added_by == admin.id
        listing = await (await fake_discord.invoke_slash("source list", user=admin)).response()
        assert listing.embeds[0]["description"].startswith("`#1` **\\*\\*Breaking")
        removed = await (await fake_discord.invoke_slash("source remove", {"source_id": "1"}, user=admin)).response()
        assert removed.content.startswith("Removed feed #1 (")
        assert await newsdesk.store.sources.of_server(fake_discord.guild.id) == []


async def test_a_feed_id_gets_a_feed_id_sentence(feed_bot, fake_discord: FakeDiscord) -> None:
    async with feed_bot():
        for command in ("remove", "resume"):
            reply = await _ask(fake_discord, f"!source {command} abc")
            assert reply.content == "Feed ids are whole numbers, like 3 (see this server's feeds with source list)."
        assert (await _ask(fake_discord, "!source remove #7")).content == "This server has no feed #7; see source list."


async def test_manage_server_is_one_check_with_one_sentence_for_prefix_and_slash(
    feed_bot, fake_discord: FakeDiscord
) -> None:
    # Not synced, so the fake offers every command to everyone, as Discord does when a server's admins
    # open a command to all members: the bot's own check must refuse with the same sentence.
    sentence = "You need the Manage Server permission for that."
    async with feed_bot() as newsdesk:
        for name in ("source list", "source remove", "alerts here", "alerts off"):
            options = {"source_id": 1} if name == "source remove" else None
            slash = await fake_discord.invoke_slash(name, options, user=fake_discord.member)
            response = await slash.response()
            assert response.ephemeral and response.content == sentence, name
            typed = await (await fake_discord.send_message(f"!{name} 1", author=fake_discord.member)).reply()
            assert typed.content == sentence, name
        assert await newsdesk.store.alerts.channel(fake_discord.guild.id) == fake_discord.channel.id
        dm = await (await fake_discord.send_dm("!source list", author=fake_discord.admin)).reply()
        assert dm.content == "That command only works in a server, not in direct messages."
