"""``!prefix`` and ``!sync`` end to end."""

from __future__ import annotations

from bot.app import NewsdeskBot
from bot.config import Settings
from bot.store import Store
from tests.fake_discord import FakeDiscord


async def test_prefix_change_is_stored_and_used(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    reply = await (await fake_discord.send_message("!prefix ?", author=fake_discord.admin)).reply()
    assert reply.content.startswith("Done: commands here now start with ?")
    assert (await (await fake_discord.send_message("?who Milei")).reply()).embeds[0]["title"] == "Javier Milei"
    assert await bot.store.servers.prefixes() == {fake_discord.guild.id: "?"}
    reset = await (await fake_discord.send_message("?prefix reset", author=fake_discord.admin)).reply()
    assert reset.content == "The prefix is back to !."


async def test_prefix_refuses_spaces(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    reply = await (await fake_discord.send_message('!prefix "a b"', author=fake_discord.admin)).reply()
    assert reply.content == "A prefix is 1 to 5 visible characters, with no spaces, and cannot start with /."


async def test_prefix_refuses_empty_and_invisible_prefixes(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    for bad in ('""', "\u200b", "\u202e!", "\u3164"):
        reply = await (await fake_discord.send_message(f"!prefix {bad}", author=fake_discord.admin)).reply()
        assert reply.content.startswith("A prefix is 1 to 5 visible characters"), bad
    assert await bot.store.servers.prefixes() == {}
    assert (await (await fake_discord.send_message("!who Milei")).reply()).embeds[0]["title"] == "Javier Milei"


async def test_an_invalid_stored_prefix_is_ignored(fake_discord: FakeDiscord, bot_settings: Settings) -> None:
    async with Store.open(bot_settings.database) as store:
        await store.servers.set_prefix(fake_discord.guild.id, "")  # stored before prefixes were checked
    async with fake_discord.run_bot(NewsdeskBot(bot_settings)) as bot:
        assert bot.prefix_in(fake_discord.guild) == "!"
        reply = await (await fake_discord.send_message("!who Milei")).reply()
        assert reply.embeds[0]["title"] == "Javier Milei"


async def test_owner_sync_global_and_here(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    reply = await (await fake_discord.send_message("!sync", author=fake_discord.owner)).reply()
    assert reply.content.startswith("Synced ") and "every server" in reply.content
    [sync] = fake_discord.command_syncs
    assert sync.guild_id is None
    by_name = {c["name"]: c for c in sync.payload}
    assert {
        "who",
        "summary",
        "topics",
        "topic",
        "search",
        "latest",
        "article",
        "related",
        "stats",
        "help",
        "prefix",
    } <= set(by_name)
    assert "sync" not in by_name  # owner-only, prefix only
    assert by_name["who"]["description"] and by_name["who"]["options"][0]["description"]
    assert by_name["who"]["options"][0]["autocomplete"] is True
    here = await (await fake_discord.send_message("!sync here", author=fake_discord.owner)).reply()
    assert "this server" in here.content
    assert fake_discord.command_syncs[-1].guild_id == fake_discord.guild.id


async def test_sync_is_owner_only(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    reply = await (await fake_discord.send_message("!sync", author=fake_discord.admin)).reply()
    assert reply.content == "Only the bot's owner can do that."
    assert fake_discord.command_syncs == []


async def test_slash_prefix_show_set_and_reset(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    await fake_discord.send_message("!sync", author=fake_discord.owner)
    await fake_discord.wait_for_message(predicate=lambda m: m.content.startswith("Synced"))
    admin = fake_discord.admin
    shown = await (await fake_discord.invoke_slash("prefix", user=admin)).response()
    assert shown.content == "The prefix here is ! (slash commands always work)."
    changed = await (await fake_discord.invoke_slash("prefix", {"new_prefix": "?"}, user=admin)).response()
    assert changed.content == "Done: commands here now start with ?, e.g. ?who Milei."
    assert (await (await fake_discord.send_message("?who Milei")).reply()).embeds[0]["title"] == "Javier Milei"
    reset = await (await fake_discord.invoke_slash("prefix", {"new_prefix": "reset"}, user=admin)).response()
    assert reset.content == "The prefix is back to !."
    assert await bot.store.servers.prefixes() == {}
