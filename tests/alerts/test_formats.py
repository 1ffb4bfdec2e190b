"""``alerts format`` end to end: compact, card and full alerts through the fake Discord (which refuses what
Discord refuses), and every format within Discord's limits for a hostile, very long article — with 150
followers and a role to ping as well."""

from __future__ import annotations

import json
from pathlib import Path

import discord
import pytest

from bot.alerts.dispatcher import MAX_PINGS_PER_MESSAGE
from bot.app import NewsdeskBot
from bot.models import ALERT_FORMATS, Article, ArticleEntity, ArticleTopic, Follow, RoleFollow
from bot.nlp.names import name_key
from bot.render import CONTENT_LIMIT, alert_message
from tests.alerts.conftest import AlertBot, story, title_of
from tests.fake_discord import FakeDiscord, FakeUser
from tests.fake_discord.records import RecordedMessage

HOSTILE_TITLE = "@everyone **Breaking** [click](https://evil.example) <@&1> " + "Milei " * 100


def _limits_kept(content: str | None, embed: discord.Embed | None) -> None:
    assert content is None or len(content) <= CONTENT_LIMIT
    if embed is None:
        return
    data = embed.to_dict()
    assert len(embed) <= 6000 and len(data.get("title", "")) <= 256 and len(data.get("description", "")) <= 4096
    assert len(data.get("fields", [])) <= 25
    for field in data.get("fields", []):
        assert len(field["name"]) <= 256 and 1 <= len(field["value"]) <= 1024
    assert len(data.get("footer", {}).get("text", "")) <= 2048


def hostile_article() -> Article:
    return Article(
        id=7,
        title=HOSTILE_TITLE,
        source="Wire ~~struck~~ " * 40,
        url="https://example.com/" + "a" * 1990,
        published="2024-05-01T12:00:00Z",
        ingested_at="2024-05-01T12:00:00Z",
        summary=["A sentence that never ends, with `code` and > quotes " * 60] * 12,
        word_count=90_000,
        origins=["x"],
        entities=[ArticleEntity(n, f"Name {n} " * 30, "PERSON", 3, 0.9, ["role " * 50]) for n in range(300)],
        topics=[ArticleTopic(n, f"topic {n} " * 30, f"t{n}", 1.0) for n in range(60)],
    )


@pytest.mark.parametrize("alert_format", ALERT_FORMATS)
def test_every_format_keeps_discords_limits_for_a_hostile_article(alert_format: str) -> None:
    content, embed = alert_message(hostile_article(), alert_format)
    _limits_kept(content, embed)
    shown = content if content is not None else embed.title
    assert "@everyone" not in shown and "@\u200beveryone" in shown  # escaped: it can never ping
    if alert_format == "compact":
        assert embed is None and content.startswith("`#7` **") and "\\*\\*Breaking\\*\\*" in content
        assert "https://example.com" not in content  # a link this long would not fit: left out, not cut
    else:
        assert content is None and embed.description
        assert [f.name for f in embed.fields] == ([] if alert_format == "card" else ["Main names", "Topics"])


async def _ask(fake: FakeDiscord, text: str, user: FakeUser) -> RecordedMessage:
    return await (await fake.send_message(text, author=user)).reply(timeout=20)


def _about(title: str):  # type: ignore[no-untyped-def]
    return lambda m: (m.embeds and m.embeds[0].get("title", "").startswith(title[:40])) or title[:40] in m.content


async def test_each_format_through_discord(alert_bot: AlertBot, fake_discord: FakeDiscord, news_folder: Path) -> None:
    fake = fake_discord
    async with alert_bot():
        denied = await _ask(fake, "!alerts format compact", fake.member)
        assert denied.content == "You need the Manage Server permission for that."
        shown = await _ask(fake, "!alerts format", fake.admin)
        assert shown.content.startswith(f"Alerts in <#{fake.channel.id}> look full (the summary with the names")
        bad = await _ask(fake, "!alerts format poster", fake.admin)
        assert bad.content.startswith("The format is compact (a link), card (the summary) or full")

        sent: dict[str, RecordedMessage] = {}
        for n, alert_format in enumerate(ALERT_FORMATS):
            done = await _ask(fake, f"!alerts format {alert_format}", fake.admin)
            assert done.content.startswith(f"Alerts in <#{fake.channel.id}> will now look {alert_format} (")
            (news_folder / f"{n}.txt").write_text(story(n))
            sent[alert_format] = await fake.wait_for_message(predicate=_about(title_of(n)), timeout=30)

    compact, card, full = sent["compact"], sent["card"], sent["full"]
    assert not compact.embeds and compact.content.startswith("`#") and f"**{title_of(0)}**" in compact.content
    assert [f["name"] for f in card.embeds[0].get("fields", [])] == [] and card.embeds[0]["description"]
    assert [f["name"] for f in full.embeds[0]["fields"]][:1] == ["Main names"]


async def test_a_hostile_long_article_with_many_pings_in_every_format(
    alert_bot: AlertBot, fake_discord: FakeDiscord, news_folder: Path
) -> None:
    fake = fake_discord
    readers = [fake.create_user(f"reader{n}").id for n in range(150)]
    role = fake.create_role(name="Desk", mentionable=True)
    body = (
        "Argentine President Javier Milei spoke in Buenos Aires on Monday about budget plan {n}. "
        "Milei said @everyone would gain, and <@&1> too. " * 120
    )
    async with alert_bot() as bot:
        for user_id in readers:
            await bot.store.alerts.add_follow(
                Follow(fake.guild.id, user_id, "entity", name_key("Javier Milei"), "Javier Milei", fake.channel.id)
            )
        role_follow = RoleFollow(fake.guild.id, role.id, "entity", "javier milei", "Javier Milei", fake.channel.id)
        await bot.store.alerts.add_role_follow(role_follow, fake.admin.id)
        for n, alert_format in enumerate(ALERT_FORMATS):
            await bot.store.alerts.set_format(fake.guild.id, fake.channel.id, alert_format, fake.admin.id)
            title = f"Milei budget story number {n} " + "[very] *long* _headline_ " * 40
            # Months apart, so that each is a story of its own (a story's later article pings no one again).
            published = f"2024-{1 + 3 * n:02d}-01T09:00:00Z"
            (news_folder / f"hostile{n}.md").write_text(
                f"---\ntitle: {json.dumps(title)}\npublished: {published}\n---\n\n{body.format(n=n)}"
            )
            first = await fake.wait_for_message(predicate=lambda m, n=n: f"story number {n}" in str(m.data), timeout=60)
            assert first.mention_roles == [role.id] and not first.mention_everyone
            assert len(first.mentions) <= MAX_PINGS_PER_MESSAGE and len(first.content) <= CONTENT_LIMIT
            if alert_format == "compact":
                assert not first.embeds and f"story number {n}" in first.content
            pinged = set(first.mentions)
            while len(pinged) < len(readers):  # the rest of the followers, in messages linking to it
                more = await fake.wait_for_message(timeout=30)
                assert str(first.id) in more.content and not more.mention_roles
                pinged |= set(more.mentions)
            assert pinged == set(readers)


async def test_slash_forms_of_format_filter_and_source_filter(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    await fake.send_message("!sync", author=fake.owner)
    await fake.wait_for_message(predicate=lambda m: m.content.startswith("Synced"))
    admin = fake.admin
    shown = await (await fake.invoke_slash("alerts format", {"format": "compact"}, user=admin)).response()
    assert shown.content.startswith(f"Alerts in <#{fake.channel.id}> will now look compact (")
    added = await (await fake.invoke_slash("alerts filter", {"rule": "-football"}, user=admin)).response()
    assert added.embeds[0]["description"].startswith("Added filter `#1` not words: football.")
    source = await bot.store.sources.add(fake.guild.id, fake.channel.id, "https://example.com/feed.xml", 10.0, 1)
    assert source is not None
    feed = await (
        await fake.invoke_slash("source filter", {"source_id": source.id, "rule": "topic:lithium mining"}, user=admin)
    ).response()
    assert "`#2` topic: lithium mining" in feed.embeds[0]["description"]
    listing = await (await fake.invoke_slash("source filter", {"source_id": source.id}, user=admin)).response()
    assert listing.embeds[0]["title"].startswith(f"Filters of feed #{source.id}")
    await (await fake.invoke_slash("alerts here", {"mode": "threads"}, user=admin)).response()
    status = await (await fake.invoke_slash("alerts status", user=admin)).response()
    assert status.content == (
        f"New articles go to <#{fake.channel.id}>: compact format, a thread on each, "
        "1 filter (/alerts filter there lists them)."
    )
