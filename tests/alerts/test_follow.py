"""``follow`` and ``unfollow`` end to end, by prefix and slash: topics, names not indexed yet, ambiguous
names, what is not followed, and autocomplete."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import NewsdeskBot
from tests.alerts.conftest import LITHIUM, OSLO, AlertBot
from tests.fake_discord import FakeDiscord, FakeUser
from tests.fake_discord.records import RecordedMessage


async def _ask(fake: FakeDiscord, text: str, user: FakeUser) -> RecordedMessage:
    return await (await fake.send_message(text, author=user)).reply(timeout=20)


def _titled(title: str):  # type: ignore[no-untyped-def]
    return lambda m: bool(m.embeds) and m.embeds[0].get("title") == title


async def _sync(fake: FakeDiscord) -> None:
    await fake.send_message("!sync", author=fake.owner)
    await fake.wait_for_message(predicate=lambda m: m.content.startswith("Synced"))


async def test_a_topic_and_a_name_not_indexed_yet_can_be_followed_and_ping(
    alert_bot: AlertBot, fake_discord: FakeDiscord, news_folder: Path
) -> None:
    member, admin = fake_discord.member, fake_discord.admin
    async with alert_bot():
        topic = await _ask(fake_discord, "!follow lithium mining", member)
        assert topic.content.startswith("You now follow lithium mining (topic).")
        unknown = await _ask(fake_discord, "!follow Marta Lindqvist", admin)  # in no article yet
        assert unknown.content.startswith("You now follow Marta Lindqvist (entity).")
        (news_folder / "lithium.txt").write_text(LITHIUM)
        lithium = await fake_discord.wait_for_message(predicate=_titled(LITHIUM.split("\n")[0]), timeout=30)
        (news_folder / "oslo.txt").write_text(OSLO)
        oslo = await fake_discord.wait_for_message(predicate=_titled(OSLO.split("\n")[0]), timeout=30)
    assert lithium.mentions == [member.id] and "new on lithium mining" in lithium.content
    assert oslo.mentions == [admin.id] and "new on Marta Lindqvist" in oslo.content


async def test_an_ambiguous_follow_offers_a_choice_and_follows_nothing(
    bot: NewsdeskBot, fake_discord: FakeDiscord
) -> None:
    choice = await _ask(fake_discord, "!follow argentin", fake_discord.member)  # Argentina? Argentine?
    [embed] = choice.embeds
    assert embed["title"] == "Which one did you mean?"
    assert "**Argentina**" in embed["description"] and "**Argentine**" in embed["description"]
    assert embed["footer"]["text"].startswith("Ask again with the full name, e.g. !follow ")
    assert await bot.store.alerts.follows_of(fake_discord.guild.id, fake_discord.member.id) == []


async def test_unfollowing_what_is_not_followed_says_so(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    reply = await _ask(fake_discord, "!unfollow Elon Musk", fake_discord.member)
    assert reply.content == "You do not follow Elon Musk; see following for what you do."


async def test_slash_follow_autocomplete_following_and_unfollow(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    await _sync(fake_discord)
    names = await (await fake_discord.autocomplete("follow", {"subject": "mil"}, focused="subject")).choices()
    assert [c["name"] for c in names][:2] == ["Javier Milei", "Karina Milei"]
    topics = await (await fake_discord.autocomplete("follow", {"subject": "lith"}, focused="subject")).choices()
    assert {"lithium reserves", "lithium mining"} <= {c["value"] for c in topics}
    assert len(await (await fake_discord.autocomplete("follow", {"subject": ""}, focused="subject")).choices()) == 25

    followed = await (await fake_discord.invoke_slash("follow", {"subject": "Javier Milei"})).response()
    assert followed.ephemeral and followed.content.startswith("You now follow Javier Milei (entity).")
    again = await (await fake_discord.invoke_slash("follow", {"subject": "milei"})).response()
    assert again.content == "You already follow Javier Milei."
    choice = await (await fake_discord.invoke_slash("follow", {"subject": "argentin"})).response()
    assert choice.embeds[0]["title"] == "Which one did you mean?"
    listing = await (await fake_discord.invoke_slash("following")).response()
    assert "Javier Milei" in listing.embeds[0]["description"]
    missing = await (await fake_discord.invoke_slash("unfollow", {"subject": "Elon Musk"})).response()
    assert missing.ephemeral and missing.content == "You do not follow Elon Musk; see following for what you do."
    gone = await (await fake_discord.invoke_slash("unfollow", {"subject": "Javier Milei"})).response()
    assert gone.ephemeral and gone.content == "You no longer follow Javier Milei."
    assert await bot.store.alerts.follows_of(fake_discord.guild.id, fake_discord.member.id) == []


async def test_slash_alerts_status_here_and_off(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    await _sync(fake_discord)
    with pytest.raises(PermissionError):  # Manage Server: Discord does not even offer it to a member
        await fake_discord.invoke_slash("alerts here", user=fake_discord.member)
    admin = fake_discord.admin
    status = await (await fake_discord.invoke_slash("alerts status", user=admin)).response()
    assert status.content == "Alerts are off here; a manager can turn them on with /alerts here."
    by_prefix = await _ask(fake_discord, "!alerts", fake_discord.member)  # anyone may ask where alerts go
    assert by_prefix.content == "Alerts are off here; a manager can turn them on with !alerts here."
    here = await (await fake_discord.invoke_slash("alerts here", user=admin)).response()
    assert here.content == f"New articles will be posted in <#{fake_discord.channel.id}>."
    assert await bot.store.alerts.channel(fake_discord.guild.id) == fake_discord.channel.id
    status = await (await fake_discord.invoke_slash("alerts status", user=admin)).response()
    assert status.content == f"New articles go to <#{fake_discord.channel.id}>."
    off = await (await fake_discord.invoke_slash("alerts off", user=admin)).response()
    assert off.content.startswith(f"Alerts are off (they were going to <#{fake_discord.channel.id}>).")
    assert await bot.store.alerts.channel(fake_discord.guild.id) is None


async def test_slash_summary_autocomplete(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    await _sync(fake_discord)

    async def choices(typed: str) -> list[str]:
        found = await (await fake_discord.autocomplete("summary", {"target": typed}, focused="target")).choices()
        assert len(found) <= 25 and all(1 <= len(c["name"]) <= 100 for c in found)
        return [c["value"] for c in found]

    empty = await choices("")
    assert empty[0] == "latest" and len(empty) == 25
    assert await choices("12") == ["12"]  # an article id is taken as typed
    assert (await choices("musk"))[0] == "Elon Musk"
    assert "lithium reserves" in await choices("lith")
    summary = await (await fake_discord.invoke_slash("summary", {"target": "lithium reserves"})).response()
    assert summary.embeds[0]["title"] == "lithium reserves: the latest"
