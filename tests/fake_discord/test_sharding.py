"""Sharding in the fake Discord, against plain discord.py clients: guilds split by shard, events routed to
the shard that holds their guild, ``GET /gateway/bot``'s recommendation, 4010 and 4011."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import discord
import pytest
from discord.ext import commands

from tests.fake_discord import FakeDiscord, FakeGuild


def sharded_bot(shard_ids: list[int] | None, shard_count: int | None) -> tuple[commands.AutoShardedBot, list[str]]:
    """An AutoShardedBot with a ``!ping`` command; the list records what reached it."""
    intents = discord.Intents.default()
    intents.message_content = True
    bot = commands.AutoShardedBot(
        command_prefix="!",
        intents=intents,
        guild_ready_timeout=0.05,
        help_command=None,
        shard_ids=shard_ids,
        shard_count=shard_count,
    )
    seen: list[str] = []

    @bot.command()
    async def ping(ctx: commands.Context) -> None:
        seen.append(f"ping {ctx.guild.id if ctx.guild else 'dm'}")
        await ctx.send("pong")

    @bot.event
    async def on_guild_join(guild: discord.Guild) -> None:
        seen.append(f"join {guild.id}")

    @bot.event
    async def on_guild_remove(guild: discord.Guild) -> None:
        seen.append(f"remove {guild.id}")

    async def no_wait(shard_id: int | None, *, initial: bool = False) -> None:
        """Identify every shard at once (discord.py waits 5 s between them, as Discord asks)."""

    bot.before_identify_hook = no_wait  # type: ignore[method-assign]
    return bot, seen


def guilds_on_both_shards(fake: FakeDiscord) -> dict[int, list[FakeGuild]]:
    """Two more guilds on each shard of two, besides the default one; each shard's guilds."""
    for shard_id in (0, 1, 0, 1):
        fake.create_guild(f"guild on shard {shard_id}", shard=(shard_id, 2))
    return {s: [g for g in fake.guilds.values() if g.shard(2) == s] for s in (0, 1)}


async def identify(fake: FakeDiscord, **fields: Any) -> tuple[int | None, list[dict[str, Any]]]:
    """IDENTIFY on a raw socket: the close code (None when the session started) and what came before."""
    payloads: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as http, http.ws_connect(fake.gateway_url + "?v=10&encoding=json") as ws:
        payloads.append(json.loads((await ws.receive()).data))  # HELLO
        d = {"token": fake.token, "intents": 1, "properties": {"os": "linux", "browser": "t", "device": "t"}}
        await ws.send_str(json.dumps({"op": 2, "d": {**d, **fields}}))
        while True:
            msg = await ws.receive(timeout=5)
            if msg.type != aiohttp.WSMsgType.TEXT:
                return ws.close_code, payloads
            payloads.append(json.loads(msg.data))
            ready = [p["d"] for p in payloads if p.get("t") == "READY"]
            if ready and len(guild_ids(payloads)) == len(ready[0]["guilds"]):
                await ws.close()
                return None, payloads


def guild_ids(payloads: list[dict[str, Any]]) -> set[int]:
    return {int(p["d"]["id"]) for p in payloads if p.get("t") == "GUILD_CREATE"}


async def test_each_shard_holds_its_guilds_and_gets_only_their_events(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    by_shard = guilds_on_both_shards(fake)
    first, first_seen = sharded_bot([0], 2)
    second, second_seen = sharded_bot([1], 2)
    seen = {0: first_seen, 1: second_seen}
    async with fake.run_bot(first), fake.run_bot(second):
        assert {g.id for g in first.guilds} == {g.id for g in by_shard[0]}
        assert {g.id for g in second.guilds} == {g.id for g in by_shard[1]}
        for shard_id, guilds in by_shard.items():
            for guild in guilds:
                sent = await fake.send_message("!ping", guild=guild, author=fake.owner)
                assert (await sent.reply()).content == "pong"
                assert f"ping {guild.id}" in seen[shard_id] and f"ping {guild.id}" not in seen[1 - shard_id]
        await fake.send_dm("!ping")  # a DM goes to shard 0, as on Discord
        assert (await fake.wait_for_message(channel_id=fake.dm_channel(fake.member).id)).content == "pong"

        joined = fake.create_guild("joins later", shard=(1, 2))
        await fake.flush()
        await fake.wait_for(lambda: f"join {joined.id}" in second_seen, what="the join on shard 1")
        await fake.remove_bot(by_shard[0][0])
        await fake.wait_for(lambda: f"remove {by_shard[0][0].id}" in first_seen, what="the removal on shard 0")
        await fake.send_message("!ping", guild=joined, author=fake.owner)
        await fake.wait_for_message(channel_id=next(iter(joined.channels)))
    pings = len(by_shard[0]) + len(by_shard[1]) + 1
    assert len([m for m in fake.messages if m.content == "pong"]) == pings + 1  # each once, DM included
    assert first_seen.count("ping dm") == 1 and "ping dm" not in second_seen
    assert [e for e in first_seen if not e.startswith("ping")] == [f"remove {by_shard[0][0].id}"]
    assert [e for e in second_seen if not e.startswith("ping")] == [f"join {joined.id}"]
    assert [s.shard for s in fake.sessions] == []  # both bots' sessions ended


async def test_gateway_bot_recommends_a_shard_count_that_a_bot_without_one_uses(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    fake.guilds_per_recommended_shard = 2
    for shard_id in (0, 1, 2, 0):
        fake.create_guild(f"guild {shard_id}", shard=(shard_id, 3))
    bot, _ = sharded_bot(None, None)
    async with fake.run_bot(bot):
        assert bot.shard_count == 3  # five guilds, two per shard recommended
        assert sorted(s.shard for s in fake.sessions) == [(0, 3), (1, 3), (2, 3)]
        assert {g.id for g in bot.guilds} == set(fake.guilds)
    [request] = fake.requests_to("GET", "/gateway/bot")
    limit = request.response["session_start_limit"]
    assert (request.response["shards"], limit["total"], limit["remaining"]) == (3, 1000, 1000)
    assert fake.gateway.identifies == 3


@pytest.mark.parametrize("shard", [[2, 2], [0, 0], [-1, 2], [1], ["0", "2"], [True, 2]])
async def test_an_invalid_shard_is_closed_with_4010(fake_discord: FakeDiscord, shard: list[Any]) -> None:
    code, payloads = await identify(fake_discord, shard=shard)
    assert code == 4010
    assert [p["op"] for p in payloads] == [10]  # HELLO, then nothing
    assert fake_discord.gateway.closes == [(4010, "Invalid shard.")] and fake_discord.sessions == []


async def test_a_session_over_the_guild_limit_must_shard_4011(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    fake.max_guilds_per_session = 2
    other = 1 - fake.guild.shard(2)
    extra = [fake.create_guild(f"extra {n}", shard=(other, 2)).id for n in range(2)]
    code, _ = await identify(fake)  # unsharded: all three guilds in one session
    assert code == 4011 and fake.gateway.closes == [(4011, "Sharding required.")]
    code, payloads = await identify(fake, shard=[other, 2])
    assert code is None and guild_ids(payloads) == set(extra)
    code, payloads = await identify(fake, shard=[1 - other, 2])
    assert code is None and guild_ids(payloads) == {fake.guild.id}
    ready = next(p["d"] for p in payloads if p.get("t") == "READY")
    assert ready["shard"] == [1 - other, 2] and [g["id"] for g in ready["guilds"]] == [str(fake.guild.id)]


async def test_an_unsharded_bot_still_gets_every_guild_and_event(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    by_shard = guilds_on_both_shards(fake)
    intents = discord.Intents.default()
    intents.message_content = True
    bot = commands.Bot(command_prefix="!", intents=intents, guild_ready_timeout=0.05, help_command=None)
    answered: list[int] = []

    @bot.command()
    async def ping(ctx: commands.Context) -> None:
        answered.append(ctx.guild.id)
        await ctx.send("pong")

    async with fake.run_bot(bot):
        assert {g.id for g in bot.guilds} == set(fake.guilds)
        for guild in [*by_shard[0], *by_shard[1]]:
            await (await fake.send_message("!ping", guild=guild, author=fake.owner)).reply()
    assert sorted(answered) == sorted(fake.guilds)
    assert "shard" not in next(p for p in fake.gateway.received if p["op"] == 2)["d"]

