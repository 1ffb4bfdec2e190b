"""Several gateway processes on one index (``newsdesk run --shards``): two real bots serving shards 0 and 1 of
two against the fake Discord, each answering its own servers only; the per-server work done by the owner of
the server's shard; the shard settings; and the gateway refusing a shard as one line, never a traceback."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import discord
import pytest
from discord.ext import commands

from bot import cli
from bot.alerts.digests import DigestScheduler
from bot.alerts.spikes import SpikeWatch
from bot.answers import Answers
from bot.app import NewsdeskBot, ShardedNewsdeskBot, _run_until_stopped, make_bot, run_bot
from bot.config import ConfigError, Secrets, Settings, load_settings
from bot.digests import DigestSchedule
from bot.models import to_iso
from bot.nlp.analyzer import Analyzer
from bot.nlp.names import AliasTable
from bot.shards import ShardError, ShardPlan, parse_shard_ids, shard_of
from bot.store import Store
from tests.clock import TestClock
from tests.conftest import ROOT
from tests.coverage import NOW, analyse_texts, spike_coverage, write
from tests.fake_discord import FakeDiscord, FakeGuild
from tests.settle import eventually

ON_SHARD_0, ON_SHARD_1 = 4 << 22, 5 << 22  # server ids that two shards put on shard 0 and on shard 1


def spread_guilds(fake: FakeDiscord) -> dict[int, list[FakeGuild]]:
    """Two more servers on each of two shards, besides the default one: each shard's servers."""
    for shard_id in (0, 1, 0, 1):
        fake.create_guild(f"server on shard {shard_id}", shard=(shard_id, 2))
    return {s: [g for g in fake.guilds.values() if g.shard(2) == s] for s in (0, 1)}


def record_work(newsdesk: commands.Bot, log: list[tuple[str, int]]) -> None:
    """Note each command the bot completes and each server it joins or leaves, by server."""

    async def command_done(ctx: commands.Context[NewsdeskBot]) -> None:
        log.append(("prefix" if ctx.interaction is None else "slash", ctx.guild.id if ctx.guild else 0))

    async def joined(guild: discord.Guild) -> None:
        log.append(("join", guild.id))

    async def removed(guild: discord.Guild) -> None:
        log.append(("remove", guild.id))

    newsdesk.add_listener(command_done, "on_command_completion")
    newsdesk.add_listener(joined, "on_guild_join")
    newsdesk.add_listener(removed, "on_guild_remove")


@pytest.fixture
async def two_shards(
    fake_discord: FakeDiscord, bot_settings: Settings
) -> AsyncIterator[tuple[dict[int, list[FakeGuild]], list[ShardedNewsdeskBot], list[list[tuple[str, int]]]]]:
    """Servers on both shards, each holding data (its prefix), and two bots on one index serving shard 0
    and shard 1 of two; what each did."""
    by_shard = spread_guilds(fake_discord)
    async with Store.open(bot_settings.database) as store:
        for guild in fake_discord.guilds.values():
            await store.servers.set_prefix(guild.id, "!")
    # Many questions from one member: more than the cooldown lets through in ten seconds.
    bots = [make_bot(bot_settings.replace(shards=str(n), shard_count=2, cooldown_uses=100)) for n in (0, 1)]
    work: list[list[tuple[str, int]]] = [[], []]
    for newsdesk, done in zip(bots, work, strict=True):
        assert isinstance(newsdesk, ShardedNewsdeskBot)
        record_work(newsdesk, done)
    async with fake_discord.run_bot(bots[0]), fake_discord.run_bot(bots[1]):
        yield by_shard, bots, work  # type: ignore[misc]


async def test_each_process_answers_the_servers_of_its_shard_exactly_once(
    two_shards: tuple[dict[int, list[FakeGuild]], list[ShardedNewsdeskBot], list[list[tuple[str, int]]]],
    fake_discord: FakeDiscord,
) -> None:
    fake = fake_discord
    by_shard, bots, work = two_shards
    for shard_id, newsdesk in enumerate(bots):
        assert {g.id for g in newsdesk.guilds} == {g.id for g in by_shard[shard_id]}
        assert newsdesk.shard_plan == ShardPlan(2, (shard_id,))
    # Neither took the other's servers (which hold data) for servers that removed the bot.
    assert await bots[0].store.servers.departing() == []
    for shard_id, guilds in by_shard.items():
        for guild in guilds:
            channel = next(iter(guild.channels.values()))
            reply = await (await fake.send_message("!who Milei", guild=guild, author=fake.owner)).reply()
            assert reply.embeds[0]["title"] == "Javier Milei"
            asked = await fake.invoke_slash("who", {"name": "Javier Milei"}, user=fake.owner, channel=channel)
            slash = await asked.response()
            assert slash.embeds[0]["title"] == "Javier Milei"
            await eventually(lambda g=guild, s=shard_id: ("slash", g.id) in work[s], what="the slash command done")
            done_here = [entry for entry in work[shard_id] if entry[1] == guild.id]
            assert done_here == [("prefix", guild.id), ("slash", guild.id)]
            assert not [entry for entry in work[1 - shard_id] if entry[1] == guild.id]
    for guild in fake.guilds.values():  # each question answered once, whatever else happened meanwhile
        assert len([m for m in fake.messages if m.channel_id in guild.channels]) == 2


async def test_the_development_server_is_synced_by_the_process_of_its_shard(
    fake_discord: FakeDiscord, bot_settings: Settings
) -> None:
    settings = bot_settings.replace(shard_count=2, dev_guild_id=fake_discord.guild.id)
    first, second = make_bot(settings.replace(shards="0")), make_bot(settings.replace(shards="1"))
    async with fake_discord.run_bot(first), fake_discord.run_bot(second):
        [sync] = fake_discord.command_syncs
        assert sync.guild_id == fake_discord.guild.id
        owner = first if first.owns_guild(fake_discord.guild.id) else second
        assert owner.get_guild(fake_discord.guild.id) is not None


async def test_a_server_leaving_and_coming_back_reaches_only_the_process_of_its_shard(
    two_shards: tuple[dict[int, list[FakeGuild]], list[ShardedNewsdeskBot], list[list[tuple[str, int]]]],
    fake_discord: FakeDiscord,
) -> None:
    by_shard, bots, work = two_shards
    leaving = by_shard[1][-1]
    await fake_discord.remove_bot(leaving)
    await eventually(bots[1].store.servers.departing, what="the departure to be recorded")
    assert await bots[0].store.servers.departing() == [leaving.id]
    await fake_discord.add_bot(leaving)
    await eventually(lambda: ("join", leaving.id) in work[1], what="the process of shard 1 to see the server back")
    await eventually(lambda: _none_departing(bots[0]), what="the departure to be cancelled")
    assert work[1] == [("remove", leaving.id), ("join", leaving.id)] and work[0] == []


async def _none_departing(newsdesk: NewsdeskBot) -> bool:
    return not await newsdesk.store.servers.departing()


async def test_a_process_plans_the_spikes_and_digests_of_its_own_servers_only(
    store: Store, analyzer: Analyzer
) -> None:
    clock = TestClock(NOW)
    await write(store, spike_coverage(analyse_texts(analyzer)))
    answers = Answers(store, AliasTable(), clock=clock)
    owners = [ShardPlan(2, (0,)).owns, ShardPlan(2, (1,)).owns]
    for guild_id in (ON_SHARD_0, ON_SHARD_1):
        await store.alerts.set_trending_channel(guild_id, guild_id + 1, 1)
        created = to_iso(NOW - timedelta(days=2))
        await store.digests.set(DigestSchedule(guild_id + 2, guild_id, "daily", None, 8 * 60, created), 1)
    every = timedelta(minutes=10)
    watches = [SpikeWatch(store, answers, every=every, clock=clock, owns=owns) for owns in owners]
    schedulers = [DigestScheduler(store, answers, every=every, clock=clock, owns=owns) for owns in owners]

    assert await watches[0].check() == 1
    assert await schedulers[0].check() == 1
    assert await _posts(store) == [(ON_SHARD_0, "digest"), (ON_SHARD_0, "spike")]
    # The other process then plans the other server's, and its own only: each post is planned once.
    assert await watches[1].check() == 1
    assert await schedulers[1].check() == 1
    assert await _posts(store) == [
        (ON_SHARD_0, "digest"),
        (ON_SHARD_0, "spike"),
        (ON_SHARD_1, "digest"),
        (ON_SHARD_1, "spike"),
    ]


async def _posts(store: Store) -> list[tuple[int, str]]:
    return sorted((post.guild_id, post.kind) for post in await store.alerts.due(to_iso(NOW + timedelta(hours=1))))


async def test_the_retirement_of_servers_is_the_owning_process_s(store: Store) -> None:
    from bot.privacy import ServerRetirement

    for guild_id in (ON_SHARD_0, ON_SHARD_1):
        await store.servers.set_prefix(guild_id, "?")
    shard_0 = ServerRetirement(store, grace=timedelta(0), owns=ShardPlan(2, (0,)).owns)
    await shard_0.present([])  # connected in no server of its shard: its server with data left meanwhile
    assert await store.servers.departing() == [ON_SHARD_0]
    await store.servers.departed(ON_SHARD_1, timedelta(0))  # recorded by shard 1's process
    assert await shard_0.delete_due() == [ON_SHARD_0]
    assert await store.servers.departing() == [ON_SHARD_1]  # left to its own process


async def test_an_invalid_shard_is_one_line_and_an_exit(
    fake_discord: FakeDiscord,
    bot_settings: Settings,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The settings refuse such a shard; Discord is the last line of defence, and the bot must say so plainly.
    newsdesk = make_bot(bot_settings.replace(shard_count=2), shard_ids=[2])
    assert await _run_until_stopped(newsdesk, fake_discord.token, asyncio.Event()) == 1
    assert capsys.readouterr().out == (
        "newsdesk: Discord refused shard 2 of 2 as invalid (4010); check --shards and --shard-count.\n"
    )
    assert fake_discord.gateway.closes == [(4010, "Invalid shard.")]
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert newsdesk.is_closed()


async def test_sharding_required_is_one_line_and_an_exit(
    fake_discord: FakeDiscord,
    bot_settings: Settings,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_discord.max_guilds_per_session = 0
    assert await run_bot(bot_settings, Secrets(discord_token=fake_discord.token)) == 1
    assert await run_bot(bot_settings.replace(shard_count=1), Secrets(discord_token=fake_discord.token)) == 1
    assert capsys.readouterr().out.splitlines() == [
        "newsdesk: Discord requires sharding for this many servers (4011): run with --shard-count N, "
        "N the number of shards Discord recommends for the bot.",
        "newsdesk: Discord requires more shards for this many servers (4011): raise --shard-count, "
        "and start processes for the new shards.",
    ]
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_run_serves_the_shards_it_is_given_until_sigterm(
    fake_discord: FakeDiscord, bot_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    by_shard = spread_guilds(fake_discord)
    caplog.set_level(logging.INFO, logger="bot.app")
    task = asyncio.create_task(run_bot(bot_settings.replace(shards="1", shard_count=2), Secrets(fake_discord.token)))
    session = await fake_discord.wait_until_connected(timeout=10)
    assert session.shard == (1, 2) and len(fake_discord.sessions) == 1
    servers = f"{len(by_shard[1])} servers (shard 1 of 2)"
    await eventually(lambda: servers in caplog.text, what="the bot to say it is ready, with its shard")
    reply = await (await fake_discord.send_message("!stats", guild=by_shard[1][0], author=fake_discord.owner)).reply()
    assert reply.embeds
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(task, 10) == 0


# ---- the settings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "count", "ids"),
    [("0-1", 4, (0, 1)), ("2", 4, (2,)), ("0,2", 4, (0, 2)), ("3, 0-1", 4, (0, 1, 3)), ("", 3, (0, 1, 2))],
)
def test_shard_lists(text: str, count: int, ids: tuple[int, ...]) -> None:
    assert parse_shard_ids(text, count) == ids


@pytest.mark.parametrize(
    ("text", "count", "error"),
    [
        ("4", 4, "shard 4 does not exist: with 4 shards they run from 0 to 3"),
        ("2-1", 4, "the range 2-1 runs backwards"),
        ("0-1,1", 4, "shard 1 is named twice"),
        ("one", 4, "'one' is not a shard number or a range like 0-3"),
        ("-1", 4, "'-1' is not a shard number or a range like 0-3"),
        ("0", 0, "the shard count must be 1 to 65536, not 0"),
    ],
)
def test_bad_shard_lists_say_what_is_wrong(text: str, count: int, error: str) -> None:
    with pytest.raises(ShardError) as refused:
        parse_shard_ids(text, count)
    assert str(refused.value) == error


def test_ownership_follows_discords_rule() -> None:
    assert [shard_of(guild_id, 2) for guild_id in (ON_SHARD_0, ON_SHARD_1)] == [0, 1]
    assert ShardPlan(4, (0, 1)).owns(4 << 22) and not ShardPlan(4, (0, 1)).owns(6 << 22)
    assert ShardPlan().owns(ON_SHARD_1)  # unsharded: every server
    assert ShardPlan(8, (0, 1, 2, 5, 7)).describe() == "shards 0-2,5,7 of 8"
    assert ShardPlan(2, (1,)).describe() == "shard 1 of 2"


def test_shards_come_from_the_file_or_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "newsdesk.toml"
    config.write_text('shard_count = 4\nshards = "0-1"\n', encoding="utf-8")
    assert load_settings(config, environ={}).shard_plan == ShardPlan(4, (0, 1))
    environ = {"NEWSDESK_SHARDS": "3", "NEWSDESK_SHARD_COUNT": "6"}
    assert load_settings(config, environ=environ).shard_plan == ShardPlan(6, (3,))
    assert load_settings(tmp_path / "absent.toml", environ={}).shard_plan == ShardPlan()
    assert not load_settings(tmp_path / "absent.toml", environ={}).sharded
    with pytest.raises(ConfigError, match=r"^shards: give shard_count \(--shard-count\) too"):
        Settings(shards="0")
    with pytest.raises(ConfigError, match=r"^shards: shard 4 does not exist"):
        load_settings(config, environ={"NEWSDESK_SHARDS": "4"})


def test_without_shards_the_bot_is_the_unsharded_one(bot_settings: Settings) -> None:
    newsdesk = make_bot(bot_settings)
    assert type(newsdesk) is NewsdeskBot and newsdesk.owns_guild(ON_SHARD_1)
    sharded = make_bot(bot_settings.replace(shard_count=4, shards="0-1"))
    assert isinstance(sharded, commands.AutoShardedBot)
    assert (sharded.shard_ids, sharded.shard_count) == ([0, 1], 4)
    assert sharded.owns_guild(4 << 22) and not sharded.owns_guild(6 << 22)


def test_the_run_command_takes_shards(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    started: list[Settings] = []

    async def fake_run(settings: Settings, secrets: Secrets) -> int:
        started.append(settings)
        return 0

    monkeypatch.setattr(cli, "run_bot", fake_run)
    config = ["--config", str(ROOT / "config" / "newsdesk.toml")]
    assert cli.main([*config, "run", "--shards", "0-1", "--shard-count", "4"]) == 0
    assert cli.main([*config, "run", "--shard-count", "2"]) == 0
    assert cli.main([*config, "run"]) == 0
    assert [s.shard_plan for s in started] == [ShardPlan(4, (0, 1)), ShardPlan(2, (0, 1)), ShardPlan()]
    assert cli.main([*config, "run", "--shards", "4", "--shard-count", "4"]) == 2
    assert cli.main([*config, "run", "--shards", "0"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "newsdesk: configuration error: shards: shard 4 does not exist: with 4 shards they run from 0 to 3",
        "newsdesk: configuration error: shards: give shard_count (--shard-count) too, the number of shards the bot "
        "runs in all",
    ]

