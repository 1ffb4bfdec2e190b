"""Alerts once per story, on the real bot against the fake Discord: the first article of a story posts,
a later one from another outlet goes into a thread on that post (or, where no thread can be made, into
the post's footer), followers are pinged once per story, and nothing is posted twice across a lost
answer or a restart."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.alerts.conftest import AlertBot
from tests.cogs.test_sources import feed_bot, feeds  # noqa: F401  (the fixtures)
from tests.fake_discord import FakeDiscord, Fault, Perm
from tests.fake_discord.models import ChannelType
from tests.fake_discord.records import RecordedMessage
from tests.feed_server import FeedServer, rss_document
from tests.settle import eventually, settled_outbox
from tests.test_stories import BANK_RESULTS, NAVY_PAPER, NAVY_WIRE

DAY = datetime(2024, 6, 1, 8, tzinfo=UTC)


def feed_item(text: tuple[str, str], slug: str, hours: float) -> dict[str, Any]:
    title, body = text
    return {
        "title": title,
        "link": f"https://news.example/{slug}",
        "guid": slug,
        "content": f"<p>{body}</p>",
        "published": DAY + timedelta(hours=hours),
    }


def record(text: tuple[str, str], source: str, hours: float) -> str:
    title, body = text
    published = (DAY + timedelta(hours=hours)).isoformat()
    return json.dumps({"title": title, "text": body, "source": source, "published": published})


def posts(fake: FakeDiscord) -> list[RecordedMessage]:
    """The bot's alerts at the top of the alert channel."""
    return [m for m in fake.messages if m.channel_id == fake.channel.id and m.embeds and "footer" in m.embeds[0]]


def titles(messages: list[RecordedMessage]) -> list[str]:
    return [m.embeds[0]["title"] for m in messages]


def in_thread(fake: FakeDiscord, post: RecordedMessage) -> list[RecordedMessage]:
    return [m for m in fake.messages if m.channel_id == post.id]


async def test_the_same_event_from_two_feeds_posts_once_with_a_thread_entry(
    feed_bot, fake_discord: FakeDiscord, feeds: FeedServer  # noqa: F811
) -> None:
    wire = feeds.serve("/wire.xml", rss_document([], title="Wire News"))
    paper = feeds.serve("/paper.xml", rss_document([], title="The Paper"))
    async with feed_bot() as newsdesk:
        for url in (wire, paper):
            added = await fake_discord.send_message(f"!source add {url} 60", author=fake_discord.admin)
            await added.reply(timeout=20)
        await (await fake_discord.send_message("!follow INS Mysore", author=fake_discord.member)).reply(timeout=20)
        feeds.serve(
            "/wire.xml",
            rss_document([feed_item(NAVY_WIRE, "navy", 0), feed_item(BANK_RESULTS, "bank", 1)], title="Wire News"),
        )
        feeds.serve("/paper.xml", rss_document([feed_item(NAVY_PAPER, "mysore", 3)], title="The Paper"))
        for source in await newsdesk.store.sources.of_server(fake_discord.guild.id):
            assert (await newsdesk.feeds.poller.poll(source)).ok
            await settled_outbox(newsdesk)

        top = posts(fake_discord)
        assert titles(top) == [NAVY_WIRE[0], BANK_RESULTS[0]]  # the unrelated article is a post of its own
        navy = top[0]
        assert navy.mentions == [fake_discord.member.id]
        thread = fake_discord.channels[navy.id]
        assert thread.name == NAVY_WIRE[0] and thread.parent_id == fake_discord.channel.id
        (entry,) = in_thread(fake_discord, navy)
        assert entry.embeds[0]["title"] == NAVY_PAPER[0]
        assert entry.mentions == []  # the follower was pinged once, for the story's post
        assert in_thread(fake_discord, top[1]) == [] and top[1].id not in fake_discord.channels

        paper_id = int(entry.embeds[0]["footer"]["text"].split("#")[1].split(" ")[0])
        story = await newsdesk.store.stories.story_of(paper_id)
        why = await (await fake_discord.send_message(f"!why {paper_id}")).reply(timeout=20)
        assert "(sent with its story's post)" in why.embeds[0]["description"]
        (grouping,) = [f["value"] for f in why.embeds[0]["fields"] if f["name"] == "Story"]
        assert grouping.startswith(f"Joined story #{story}: shares ") and "INS Mysore" in grouping
        assert grouping.endswith(f"More: !story {paper_id}")

        told = await (await fake_discord.send_message(f"!story {paper_id}")).reply(timeout=20)
        assert told.embeds[0]["title"] == f"Story #{story}: {NAVY_WIRE[0]}"
        listing = told.embeds[0]["description"]
        assert listing.startswith("2 articles from 2 outlets")
        assert listing.index("Wire News — ") < listing.index("The Paper — ")  # in time order
        assert f"**{NAVY_PAPER[0]}**" in listing  # the article asked about stands out


async def test_where_no_thread_can_be_made_the_post_counts_the_outlets(
    alert_bot: AlertBot, fake_discord: FakeDiscord, news_folder: Path
) -> None:
    fake_discord.set_permissions(fake_discord.channel, fake_discord.guild, deny=Perm.CREATE_PUBLIC_THREADS)
    fake_discord.expect_status(403, "POST", "/channels/*/messages/*/threads", code=50013)
    async with alert_bot() as newsdesk:
        (news_folder / "wire.json").write_text(record(NAVY_WIRE, "Wire News", 0))
        post = await fake_discord.wait_for_message(predicate=lambda m: bool(m.embeds), timeout=30)
        await settled_outbox(newsdesk)
        (news_folder / "paper.json").write_text(record(NAVY_PAPER, "The Paper", 3))
        edited = await fake_discord.wait_for_edit(post, timeout=30)
        await settled_outbox(newsdesk)
    assert edited.embeds[0]["footer"]["text"].endswith(" · 2 outlets: Wire News, The Paper")
    assert edited.embeds[0]["title"] == NAVY_WIRE[0]
    assert len([m for m in fake_discord.messages if m.embeds]) == 1  # never a second post
    assert fake_discord.threads_of(fake_discord.channel) == []


async def test_a_lost_answer_and_a_restart_post_nothing_twice(
    alert_bot: AlertBot, fake_discord: FakeDiscord, news_folder: Path
) -> None:
    fake_discord.nonce_ttl = 0  # Discord has forgotten every nonce by the time of a retry
    fake_discord.inject("POST", "/channels/*/messages/*/threads", Fault.dropped(process=True))
    fake_discord.expect_status(400, "POST", "/channels/*/messages/*/threads", code=160004)
    async with alert_bot() as newsdesk:
        (news_folder / "wire.json").write_text(record(NAVY_WIRE, "Wire News", 0))
        post = await fake_discord.wait_for_message(predicate=lambda m: bool(m.embeds), timeout=30)
        await settled_outbox(newsdesk)
        # The thread is made but its answer is lost; the entry's own post is made and its answer lost too.
        fake_discord.inject("POST", f"/channels/{post.id}/messages", Fault.dropped(process=True))
        (news_folder / "paper.json").write_text(record(NAVY_PAPER, "The Paper", 3))
        await eventually(lambda: len(in_thread(fake_discord, post)), timeout=40, what="the entry in the thread")
        assert await settled_outbox(newsdesk, timeout=40) == {"sent": 2}
    async with alert_bot():
        await eventually(lambda: fake_discord.sessions, what="the bot to reconnect")
    assert len(in_thread(fake_discord, post)) == 1
    assert len(posts(fake_discord)) == 1
    assert [r.status for r in fake_discord.requests_to("POST", "/channels/*/messages/*/threads")] == [201, 400]


async def test_when_the_storys_post_was_deleted_the_next_article_posts_on_its_own(
    alert_bot: AlertBot, fake_discord: FakeDiscord, news_folder: Path
) -> None:
    fake_discord.expect_status(404, "POST", "/channels/*/messages/*/threads", code=10008)
    async with alert_bot() as newsdesk:
        (news_folder / "wire.json").write_text(record(NAVY_WIRE, "Wire News", 0))
        post = await fake_discord.wait_for_message(predicate=lambda m: bool(m.embeds), timeout=30)
        await settled_outbox(newsdesk)
        post.deleted = True  # a moderator removed it
        (news_folder / "paper.json").write_text(record(NAVY_PAPER, "The Paper", 3))
        again = await fake_discord.wait_for_message(predicate=lambda m: bool(m.embeds), timeout=30)
        assert await settled_outbox(newsdesk) == {"sent": 2}
    assert again.channel_id == fake_discord.channel.id and again.embeds[0]["title"] == NAVY_PAPER[0]
    assert fake_discord.threads_of(fake_discord.channel) == []


async def test_in_a_forum_a_story_is_one_post_and_its_later_articles_are_replies(
    alert_bot: AlertBot, fake_discord: FakeDiscord, news_folder: Path
) -> None:
    fake = fake_discord
    forum = fake.create_channel(name="news-forum", type=ChannelType.GUILD_FORUM)
    async with alert_bot(alerts_here=False) as newsdesk:
        await fake.flush()
        setup = await newsdesk.get_channel(forum.id).create_thread(name="Setup", content="setting up")
        await fake.flush()
        asked = await fake.send_message("!alerts here", author=fake.admin, channel=fake.channels[setup.thread.id])
        await asked.reply()
        (news_folder / "wire.json").write_text(record(NAVY_WIRE, "Wire News", 0))
        await fake.wait_for(lambda: len(fake.threads_of(forum)) == 2, timeout=30)
        await settled_outbox(newsdesk)
        (news_folder / "paper.json").write_text(record(NAVY_PAPER, "The Paper", 3))
        post = fake.threads_of(forum)[1]
        await fake.wait_for(lambda: len(fake.channel_messages[post.id]) == 2 or None, timeout=30)
        assert await settled_outbox(newsdesk) == {"sent": 2}
    assert [p.name for p in fake.threads_of(forum)[1:]] == [NAVY_WIRE[0]]  # one post for the story
    first, reply = fake.channel_messages[post.id]
    assert first.embeds[0]["title"] == NAVY_WIRE[0] and reply.embeds[0]["title"] == NAVY_PAPER[0]


async def test_a_thread_the_post_opened_is_the_storys_thread_and_a_compact_post_counts_outlets(
    alert_bot: AlertBot, fake_discord: FakeDiscord, news_folder: Path
) -> None:
    fake = fake_discord
    async with alert_bot(alerts_here=False) as newsdesk:
        await (await fake.send_message("!alerts here threads", author=fake.admin)).reply()
        (news_folder / "wire.json").write_text(record(NAVY_WIRE, "Wire News", 0))
        post = await fake.wait_for_message(predicate=lambda m: bool(m.embeds), timeout=30)
        await settled_outbox(newsdesk)
        (news_folder / "paper.json").write_text(record(NAVY_PAPER, "The Paper", 3))
        await eventually(lambda: len(in_thread(fake, post)), timeout=30, what="the entry in the thread")
        assert await settled_outbox(newsdesk) == {"sent": 2}
    # The thread the post opened for discussion took the entry: no second thread was asked for.
    assert len(fake.requests_to("POST", "/channels/*/messages/*/threads")) == 1
    assert [m.embeds[0]["title"] for m in in_thread(fake, post)] == [NAVY_PAPER[0]]


async def test_a_compact_post_counts_its_outlets_under_its_line(
    alert_bot: AlertBot, fake_discord: FakeDiscord, news_folder: Path
) -> None:
    fake = fake_discord
    fake.set_permissions(fake.channel, fake.guild, deny=Perm.CREATE_PUBLIC_THREADS)
    fake.expect_status(403, "POST", "/channels/*/messages/*/threads", code=50013)
    async with alert_bot() as newsdesk:
        await (await fake.send_message("!alerts format compact", author=fake.admin)).reply()
        (news_folder / "wire.json").write_text(record(NAVY_WIRE, "Wire News", 0))
        post = await fake.wait_for_message(predicate=lambda m: NAVY_WIRE[0] in m.content, timeout=30)
        await settled_outbox(newsdesk)
        (news_folder / "paper.json").write_text(record(NAVY_PAPER, "The Paper", 3))
        edited = await fake.wait_for_edit(post, timeout=30)
        await settled_outbox(newsdesk)
    assert edited.content.startswith(post.content) and edited.content.endswith("\n-# 2 outlets: Wire News, The Paper")
    assert len([m for m in fake.messages if NAVY_PAPER[0] in m.content]) == 0  # never a second post
