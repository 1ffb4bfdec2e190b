"""``!who`` and ``/who`` end to end: embeds, autocomplete, typos, DMs."""

from __future__ import annotations

from bot.app import NewsdeskBot
from tests.fake_discord import FakeDiscord


def _field(embed: dict, name: str) -> str:
    return next(f["value"] for f in embed["fields"] if f["name"] == name)


async def test_who_milei(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    reply = await (await fake_discord.send_message("!who Milei", author=fake_discord.member)).reply()
    [embed] = reply.embeds
    assert embed["title"] == "Javier Milei"
    assert embed["description"].startswith("**Person** · Argentine President")
    assert "Elon Musk" in _field(embed, "Appears with")
    assert reply.allowed_mentions == {"parse": []}


async def test_slash_who_with_autocomplete(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    await fake_discord.send_message("!sync", author=fake_discord.owner)
    await fake_discord.wait_for_message()
    choices = await (await fake_discord.autocomplete("who", {"name": "mil"}, focused="name")).choices()
    assert [c["name"] for c in choices][:1] == ["Javier Milei"]
    assert len(choices) <= 25
    response = await (await fake_discord.invoke_slash("who", {"name": "Javier Milei"})).response()
    assert response.embeds[0]["title"] == "Javier Milei"
    assert not response.ephemeral


async def test_who_typo_and_dm(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    reply = await (await fake_discord.send_message("!who Mllei")).reply()
    assert reply.embeds[0]["title"] == "Javier Milei"
    assert "you typed Mllei" in reply.embeds[0]["description"]
    dm = await (await fake_discord.send_dm("!who musk", author=fake_discord.member)).reply()
    assert dm.embeds[0]["title"] == "Elon Musk"


async def test_who_nobody(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    reply = await (await fake_discord.send_message("!who Zebedee Quuxworth")).reply()
    assert reply.embeds[0]["title"] == "Not found"
    assert "No one called Zebedee Quuxworth in 4 indexed articles." in reply.embeds[0]["description"]
