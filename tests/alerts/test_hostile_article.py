"""One oversized, hostile article end to end: dropped in a watched folder, alerted, then asked about.

Everything the bot sends about it goes through the fake Discord's validator (which answers 400 as
Discord would) and is checked here against Discord's own limits, written out as numbers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.alerts.conftest import AlertBot
from tests.fake_discord import FakeDiscord
from tests.fake_discord.records import RecordedMessage

NASTY = (
    "@everyone @here **bold** __under__ `code` ||spoiler|| <@123456789012345678> <@&234567890123456789> "
    "[click](https://evil.example) # heading > quote "
)
# The article's markup, unless a backslash escapes it.
UNESCAPED_MARKUP = re.compile(r"(?<!\\)(\*\*bold|__under|\|\|spoiler|`code|\[click\])")
FIRST = ["Anna", "Brian", "Carla", "Daniel", "Elena", "Farid", "Greta", "Hugo", "Irene", "Jonas", "Katja", "Luis"]
FIRST += ["Marta", "Nikolai", "Olga", "Pedro", "Quentin", "Rosa", "Stefan", "Tamara", "Ulrich", "Vera", "Walter"]
LAST = ["Hughes", "Okafor", "Lindqvist", "Moreau", "Kowalski", "Tanaka", "Brennan", "Castillo", "Fischer", "Novak"]
LAST += ["Petrov", "Silva", "Andersen", "Dubois", "Rossi", "Schmidt", "Haddad", "Nakamura", "Oliveira", "Jensen"]
CITIES = ["Leeds", "Bristol", "Cardiff", "Glasgow", "Belfast", "York", "Lisbon", "Porto", "Madrid", "Seville"]
CITIES += ["Lyon", "Marseille", "Hamburg", "Munich", "Vienna", "Prague", "Krakow", "Oslo", "Helsinki", "Dublin"]


def hostile_article() -> dict[str, Any]:
    """A 3,700-character title and a markdown- and mention-laden body naming well over 100 people and places."""
    paragraphs = []
    for i in range(60):
        host = f"{FIRST[i % len(FIRST)]} {LAST[i % len(LAST)]}"
        guest = f"{FIRST[(i * 7 + 3) % len(FIRST)]} {LAST[(i * 3 + 5) % len(LAST)]}"
        city = CITIES[i % len(CITIES)]
        paragraphs.append(
            f"{NASTY}{host} met {guest} in {city} on Monday, officials said. "
            f"{host} told reporters in {city} that the talks with {guest} went well. **@here** `x`"
        )
    return {
        "title": NASTY * 30,
        "text": "\n\n".join(paragraphs),
        "source": NASTY * 5,
        "url": "javascript:alert(1)",
        "published": "2024-06-01T09:00:00Z",
    }


def assert_within_discord_limits(message: RecordedMessage) -> None:
    """Discord's limits as Discord states them (not the product's constants), and nothing that pings."""
    assert len(message.content or "") <= 2000
    assert len(message.embeds) <= 10
    total = 0
    for embed in message.embeds:
        title, description = embed.get("title") or "", embed.get("description") or ""
        footer = (embed.get("footer") or {}).get("text") or ""
        assert len(title) <= 256 and len(description) <= 4096 and len(footer) <= 2048
        fields = embed.get("fields") or []
        assert len(fields) <= 25
        for field in fields:
            assert 0 < len(field["name"]) <= 256 and 0 < len(field["value"]) <= 1024
        total += len(title) + len(description) + len(footer) + sum(len(f["name"]) + len(f["value"]) for f in fields)
        for text in (title, description, *(f["value"] for f in fields)):
            assert "@everyone" not in text and "<@123456789012345678>" not in text and "<@&" not in text
            assert UNESCAPED_MARKUP.search(text) is None, text  # the article's markdown stays text
    assert total <= 6000
    assert message.mentions == [] and not message.mention_everyone and message.mention_roles == []


async def _ask(fake: FakeDiscord, text: str) -> RecordedMessage:
    reply = await (await fake.send_message(text, author=fake.member)).reply(timeout=20)
    assert reply.embeds, (text, reply.content)
    assert_within_discord_limits(reply)
    return reply


async def _every_page(fake: FakeDiscord, reply: RecordedMessage) -> int:
    """Turn every page of a paged answer (each page is an edit Discord validates too); how many there were."""
    pages = 1
    while "newsdesk:pages:next" in reply.custom_ids and not _disabled(reply, "newsdesk:pages:next"):
        turned = await (await fake.click_button(reply, "newsdesk:pages:next", user=fake.member)).response(timeout=15)
        assert_within_discord_limits(turned)
        reply, pages = turned, pages + 1
    return pages


def _disabled(message: RecordedMessage, custom_id: str) -> bool:
    buttons = [c for row in message.components for c in row["components"]]
    return any(c.get("custom_id") == custom_id and c.get("disabled") for c in buttons)


async def test_an_oversized_hostile_article_is_alerted_and_answered_within_discord_limits(
    alert_bot: AlertBot, fake_discord: FakeDiscord, news_folder: Path
) -> None:
    async with alert_bot(cooldown_uses=100) as newsdesk:  # many costly questions in a row
        (news_folder / "hostile.json").write_text(json.dumps(hostile_article()), encoding="utf-8")
        alert = await fake_discord.wait_for_message(
            channel_id=fake_discord.channel.id, predicate=lambda m: bool(m.embeds), timeout=30
        )
        assert_within_discord_limits(alert)
        article_id = int(alert.embeds[0]["footer"]["text"].split("#")[1].split(" ")[0])
        assert len((await newsdesk.store.articles.get(article_id)).entities) > 100  # type: ignore[union-attr]

        article = await _ask(fake_discord, f"!article {article_id}")
        assert article.embeds[0]["title"].startswith("@\u200beveryone") and "url" not in article.embeds[0]
        who = await _ask(fake_discord, "!who Anna Hughes")
        assert who.embeds[0]["title"] == "Anna Hughes"
        for command in (f"!summary {article_id}", "!latest 25"):
            await _every_page(fake_discord, await _ask(fake_discord, command))
        assert await _every_page(fake_discord, await _ask(fake_discord, "!topics 25")) >= 2  # its topics among them
        await _every_page(fake_discord, await _ask(fake_discord, "!search officials said talks"))
        await _every_page(fake_discord, await _ask(fake_discord, "!summary Anna Hughes"))

        await fake_discord.send_message("!sync", author=fake_discord.owner)
        await fake_discord.wait_for_message(predicate=lambda m: m.content.startswith("Synced"), timeout=15)
        for name, options in (("article", {"article_id": str(article_id)}), ("who", {"name": "Anna Hughes"})):
            interaction = await fake_discord.invoke_slash(name, options, user=fake_discord.member)
            response = await interaction.response(timeout=15)
            assert response.embeds
            assert_within_discord_limits(response)
    assert fake_discord.unexpected_errors == []  # every message above was accepted


