"""Forums and threads: ``alerts here`` asked in a forum's post gives a post per article tagged from its
topics, ``alerts here threads`` opens a thread on each alert, through a fake Discord that validates forum
posts and threads as Discord does."""

from __future__ import annotations

from pathlib import Path

import discord
import pytest

from bot.alerts.dispatcher import forum_tags, thread_name
from tests.alerts.conftest import LITHIUM, AlertBot, story, title_of
from tests.fake_discord import FakeDiscord, FakeUser
from tests.fake_discord.models import ChannelType, FakeChannel, Perm
from tests.fake_discord.records import RecordedMessage


async def _ask(fake: FakeDiscord, text: str, user: FakeUser, channel: FakeChannel | None = None) -> RecordedMessage:
    return await (await fake.send_message(text, author=user, channel=channel)).reply(timeout=20)


def test_thread_names_and_tags() -> None:
    assert thread_name("  Milei \n wins  ", 3) == "Milei wins"
    assert len(thread_name("x" * 300, 3)) == 100 and thread_name("   ", 3) == "Article #3"
    tags = [
        discord.ForumTag(name=name, moderated=moderated)
        for name, moderated in [("Lithium", False), ("Chile", False), ("Staff", True), ("Mining", False)]
    ]
    for n, tag in enumerate(tags):
        tag.id = n + 1
    chosen = forum_tags(tags, ["lithium mining", "Chile", "staff"], may_moderate=False)
    assert [t.name for t in chosen] == ["Lithium", "Mining", "Chile"]  # whole topic, then its words
    assert "Staff" in [t.name for t in forum_tags(tags, ["staff"], may_moderate=True)]
    many = [discord.ForumTag(name=f"t{n}") for n in range(8)]
    for n, tag in enumerate(many):
        tag.id = 100 + n
    assert len(forum_tags(many, [f"t{n}" for n in range(8)], may_moderate=True)) == 5


async def test_a_forum_gets_a_post_per_article_with_tags(
    alert_bot: AlertBot, fake_discord: FakeDiscord, news_folder: Path
) -> None:
    fake = fake_discord
    forum = fake.create_channel(name="news-forum", type=ChannelType.GUILD_FORUM, tags=["Lithium", "Chile", "Sport"])
    async with alert_bot(alerts_here=False) as bot:
        await fake.flush()
        # Nobody can type in a forum: a manager asks in one of its posts (a thread).
        post = await bot.get_channel(forum.id).create_thread(name="Setup", content="setting up")
        await fake.flush()
        thread = fake.channels[post.thread.id]
        done = await _ask(fake, "!alerts here", fake.admin, channel=thread)
        assert done.content == f"New articles will be posted in <#{forum.id}>, one post each, tagged from its topics."
        refused = await _ask(fake, "!alerts here threads", fake.admin, channel=thread)
        assert refused.content.startswith("Threads open on articles in a text channel")
        (news_folder / "lithium.txt").write_text(LITHIUM)
        (news_folder / "bridge.txt").write_text(story(2))
        await fake.wait_for(lambda: len(fake.threads_of(forum)) == 3, timeout=30)
    posts = {p.name: p for p in fake.threads_of(forum)[1:]}
    title = LITHIUM.split("\n")[0]
    assert set(posts) == {title, title_of(2)}
    by_name = {t["id"]: t["name"] for t in forum.available_tags}
    assert sorted(by_name[str(t)] for t in posts[title].applied_tags) == ["Chile", "Lithium"]
    assert posts[title_of(2)].applied_tags == []
    [first] = fake.channel_messages[posts[title].id]
    assert first.id == posts[title].id and first.embeds[0]["title"] == title  # the post's message is the alert
    assert not any(m.channel_id == forum.id for m in fake.messages)  # nothing sent to the forum itself


async def test_alerts_here_threads_opens_a_thread_on_each_alert_and_pings_the_rest_there(
    alert_bot: AlertBot, fake_discord: FakeDiscord, news_folder: Path
) -> None:
    fake = fake_discord
    readers = [fake.create_user(f"reader{n}").id for n in range(120)]
    async with alert_bot(alerts_here=False) as bot:
        done = await _ask(fake, "!alerts here threads", fake.admin)
        assert done.content.endswith("each with a thread for discussion.")
        for user_id in readers:
            await bot.alerts.follow(fake.guild.id, user_id, fake.channel.id, "lithium mining")
        (news_folder / "lithium.txt").write_text(LITHIUM)
        title = LITHIUM.split("\n")[0]
        alert = await fake.wait_for_message(
            predicate=lambda m: bool(m.embeds) and m.embeds[0].get("title") == title, timeout=30
        )
        await fake.wait_for(lambda: alert.id in fake.channels, timeout=10)
        thread = fake.channels[alert.id]
        assert thread.name == title and thread.parent_id == fake.channel.id
        more = await fake.wait_for_message(channel_id=thread.id, timeout=20)  # the followers one message missed
        assert str(alert.id) in more.content
        assert set(alert.mentions) | set(more.mentions) == set(readers)
        plain = await _ask(fake, "!alerts here", fake.admin)
        assert plain.content == f"New articles will be posted in <#{fake.channel.id}>."
        assert not (await bot.store.alerts.channel_settings([fake.channel.id]))[fake.channel.id].threads


async def test_threads_need_the_permission_to_open_them(alert_bot: AlertBot, fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    fake.set_permissions(fake.channel, fake.bot_role, deny=Perm.CREATE_PUBLIC_THREADS)
    async with alert_bot(alerts_here=False):
        refused = await _ask(fake, "!alerts here threads", fake.admin)
        assert refused.content.startswith("I need the Create Public Threads permission here")


async def test_the_fake_refuses_what_discord_refuses(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    forum = fake.create_channel(name="f", type=ChannelType.GUILD_FORUM, tags=["A", ("Staff", True)])
    intents = discord.Intents.default()
    client = discord.Client(intents=intents)
    async with fake.run_bot(client):
        channel = client.get_channel(forum.id)
        assert isinstance(channel, discord.ForumChannel)
        fake.expect_status(400)
        fake.expect_status(403)
        with pytest.raises(discord.HTTPException) as sent:
            await client.http.send_message(forum.id, params=discord.http.handle_message_parameters(content="hi"))
        assert sent.value.code == 50008
        with pytest.raises(discord.HTTPException) as long_name:
            await channel.create_thread(name="x" * 101, content="hi")
        assert long_name.value.code == 50035
        staff = next(t for t in channel.available_tags if t.name == "Staff")
        with pytest.raises(discord.Forbidden):  # a moderated tag needs Manage Threads
            await channel.create_thread(name="ok", content="hi", applied_tags=[staff])
        text = client.get_channel(fake.channel.id)
        message = await text.send("start")
        await message.create_thread(name="one")
        with pytest.raises(discord.HTTPException) as twice:
            await message.create_thread(name="two")
        assert twice.value.code == 160004
