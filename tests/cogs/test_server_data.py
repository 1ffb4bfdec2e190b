"""A server's own aliases, ``mydata`` and ``forget me``, and the deletion of a server's data after it
removes the bot: end to end, the real bot against the fake Discord with two servers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.app import NewsdeskBot
from bot.config import Settings
from bot.ingest.readers import content_hash
from bot.models import ArticleAnalysis, ArticleRecord, EntityInArticle, Follow, Keyphrase, Viewer
from bot.store import Store
from tests.fake_discord import FakeDiscord
from tests.fake_discord.models import FakeChannel, FakeGuild, FakeUser
from tests.fake_discord.records import RecordedMessage
from tests.settle import eventually


@pytest.fixture
def two_servers(fake_discord: FakeDiscord, bot_settings: Settings):  # type: ignore[no-untyped-def]
    guild_b = fake_discord.create_guild("Server B")
    channel_b = next(iter(guild_b.channels.values()))
    member_b = fake_discord.create_user("bea")
    fake_discord.add_member(guild_b, member_b)
    fake_discord.add_member(guild_b, fake_discord.member)  # the default member is in both servers

    @contextlib.asynccontextmanager
    async def run(**changes: Any) -> AsyncIterator[tuple[NewsdeskBot, FakeGuild, FakeChannel, FakeUser]]:
        newsdesk = NewsdeskBot(bot_settings.replace(**changes))
        async with fake_discord.run_bot(newsdesk):
            yield newsdesk, guild_b, channel_b, member_b

    return run


def shown(message: RecordedMessage) -> str:
    parts = [message.content or ""]
    for embed in message.embeds:
        parts += [embed.get("title", ""), embed.get("description", ""), str(embed.get("footer", ""))]
        parts += [f"{f['name']} {f['value']}" for f in embed.get("fields", [])]
    return "\n".join(parts)


async def _ask(fake: FakeDiscord, text: str, user: FakeUser, channel: FakeChannel | None = None) -> RecordedMessage:
    return await (await fake.send_message(text, author=user, channel=channel)).reply(timeout=20)


async def test_aliases_mean_their_name_in_their_server_only(two_servers, fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    async with two_servers() as (newsdesk, guild_b, channel_b, member_b):
        refused = await _ask(fake, "!alias add JM = Javier Milei", fake.member)
        assert "Manage Server" in refused.content
        added = await _ask(fake, "!alias add JM = javier milei", fake.admin)
        assert added.content == "In this server, **JM** now stands for **Javier Milei**."
        added = await _ask(fake, "!alias add El Loco = Milei", fake.admin)  # a surname is enough
        assert "**El Loco** now stands for **Javier Milei**" in added.content
        assert "Javier Milei" in shown(await _ask(fake, "!alias list", fake.member))

        # Here, the aliases are the name: who, summary, follow, and autocomplete.
        assert (await _ask(fake, "!who JM", fake.member)).embeds[0]["title"] == "Javier Milei"
        assert (await _ask(fake, "!who el loco", fake.member)).embeds[0]["title"] == "Javier Milei"
        assert "Javier Milei" in shown(await _ask(fake, "!summary JM", fake.member))
        assert "You now follow Javier Milei (entity)" in (await _ask(fake, "!follow JM", fake.member)).content
        await fake.send_message("!sync", author=fake.owner)
        await fake.wait_for_message()
        choices = await (await fake.autocomplete("who", {"name": "jm"}, focused="name")).choices()
        assert [c["name"] for c in choices][:1] == ["Javier Milei"]

        # In server B they mean nothing.
        assert "No one called JM" in shown(await _ask(fake, "!who JM", member_b, channel_b))
        elsewhere = await fake.autocomplete(
            "who", {"name": "jm"}, focused="name", guild=guild_b, channel=channel_b, user=member_b
        )
        assert "Javier Milei" not in [c["name"] for c in await elsewhere.choices()]
        assert await newsdesk.answers.resolve("JM", *_subject(), viewer=Viewer.server(guild_b.id)) != (
            await newsdesk.answers.resolve("JM", *_subject(), viewer=Viewer.server(fake.guild.id))
        )

        # A topic alias works for topic.
        topic = (await newsdesk.store.topics.top(1))[0]
        assert topic.name in (await _ask(fake, f"!alias add TT = {topic.name}", fake.admin)).content
        assert topic.name in shown(await _ask(fake, "!topic TT", fake.member))

        # Unknown names and typos are refused, with a suggestion.
        unknown = shown(await _ask(fake, "!alias add ZZ = Zorblax Quintavee", fake.admin))
        assert "I know no one and nothing called Zorblax Quintavee here, so ZZ cannot mean it." in unknown
        typo = shown(await _ask(fake, "!alias add JM2 = Javier Mileii", fake.admin))
        assert "cannot mean it" in typo and "Closest: **Javier Milei**" in typo
        assert "Write it as" in (await _ask(fake, "!alias add JM Javier Milei", fake.admin)).content

        removed = await _ask(fake, "!alias remove jm", fake.admin)
        assert removed.content == "**JM** no longer stands for Javier Milei here."
        assert "No one called JM" in shown(await _ask(fake, "!who JM", fake.member))


def _subject() -> tuple[Any, str]:
    from bot.answers import Wanted

    return Wanted.NAME, "who"


async def test_mydata_lists_and_forget_me_deletes_every_row_naming_the_user(
    two_servers, fake_discord: FakeDiscord
) -> None:
    fake = fake_discord
    async with two_servers() as (newsdesk, guild_b, channel_b, member_b):
        user = fake.member
        await _ask(fake, "!follow Milei", user)
        await _ask(fake, "!follow Elon Musk", user, channel_b)
        await _ask(fake, "!follow Milei", member_b, channel_b)  # someone else: stays
        # An alert still pinging them, and the setup they did as a manager elsewhere.
        await newsdesk.store.alerts.set_channel(guild_b.id, channel_b.id, user.id)
        await newsdesk.store.servers.add_alias(guild_b.id, "jm", "JM", "Javier Milei", user.id, limit=10)
        await _outbox_pinging(newsdesk.store, guild_b.id, channel_b.id, [member_b.id, user.id])

        # The slash form answers only them.
        response = await (await fake.invoke_slash("mydata", user=user)).response()
        assert response.ephemeral
        listing = shown(response)
        assert "follow **Javier Milei** (entity) in Newsdesk Test Guild" in listing
        assert "follow **Elon Musk** (entity) in Server B" in listing
        assert "added the alias **JM** in Server B" in listing
        assert "set up alerts, spikes or a digest in Server B" in listing
        assert "named in 1 alert" in listing
        # The prefix form in a server answers by DM: the list speaks of other servers.
        in_channel = await _ask(fake, "!mydata", user)
        assert in_channel.content == "I sent you a DM."
        dm = await fake.wait_for_message(channel_id=fake.dm_channel(user).id, timeout=10)
        assert "Elon Musk" in shown(dm)

        # Forget me: nothing happens until the button.
        prompt = await (await fake.invoke_slash("forget", {"who": "me"}, user=user)).response()
        assert prompt.ephemeral and "Forget you?" in shown(prompt) and "Elon Musk" not in shown(prompt)
        assert await _rows_naming(newsdesk.store, user.id)
        click = await fake.click_button(prompt, "newsdesk:confirm:yes", user=user)
        await click.callback()
        done = await eventually(lambda: (prompt.edits and prompt) or None, what="the prompt edited")
        assert "Done: Newsdesk no longer stores anything about you." in shown(done)
        assert await _rows_naming(newsdesk.store, user.id) == []
        # Others keep theirs, and what the user set up stays for its server.
        assert await newsdesk.store.alerts.follows_of(guild_b.id, member_b.id)
        assert await newsdesk.store.servers.alias(guild_b.id, "jm") == "Javier Milei"
        assert await newsdesk.store.alerts.channel(guild_b.id) == channel_b.id
        nothing = await (await fake.invoke_slash("forget", {"who": "me"}, user=user)).response()
        assert "Nothing to forget" in shown(nothing)


async def _outbox_pinging(store: Store, guild_id: int, channel_id: int, users: list[int]) -> None:
    article = (await store.articles.latest(1))[0].id
    async with store.db.write() as db:
        await db.execute(
            "INSERT INTO outbox (article_id, guild_id, channel_id, title_key, ping_user_ids, pings_left, reasons, "
            "nonce, next_attempt_at, created_at, status) VALUES (?, ?, ?, 't', ?, ?, '[]', 'n', ?, ?, 'sent')",
            (
                article,
                guild_id,
                channel_id,
                str(users),
                str(users[-1:]),
                "2024-01-01T00:00:00Z",
                "2024-01-01T00:00:00Z",
            ),
        )


async def _rows_naming(store: Store, user_id: int) -> list[str]:
    """Every table and column whose value holds the user's id (as a number, or in a JSON list)."""
    found = []
    if store.db.dialect == "postgresql":
        listed = await store.db.fetchall(
            "SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = 'public'"
        )
    else:
        listed = await store.db.fetchall(
            "SELECT m.name AS t, c.name AS c FROM sqlite_master m, pragma_table_info(m.name) c "
            "WHERE m.type = 'table' AND m.name NOT LIKE 'articles_fts%' AND m.name != 'sqlite_sequence'"
        )
    for table, column in [(r["t"], r["c"]) for r in listed]:
        row = await store.db.fetchone(
            f'SELECT COUNT(*) AS n FROM {table} WHERE CAST("{column}" AS TEXT) LIKE ?', (f"%{user_id}%",)
        )
        if row and row["n"]:
            found.append(f"{table}.{column}")
    return found


def _analysis(name: str) -> ArticleAnalysis:
    entity = EntityInArticle(
        name=name,
        key=name.lower(),
        type="PERSON",
        label_counts={"PERSON": 1},
        mentions=1,
        salience=0.5,
        in_headline=False,
        in_lead=True,
        key_sentence=f"{name} spoke.",
    )
    return ArticleAnalysis(
        summary=["A sentence."], topics=[Keyphrase("pier", "pier", 1.0)], entities=[entity], word_count=3
    )


def _record(origin: str, text: str) -> ArticleRecord:
    return ArticleRecord(origin, text, text, content_hash(text), datetime(2024, 6, 1, tzinfo=UTC))


async def test_a_server_that_removes_the_bot_loses_exactly_its_data_after_the_grace_period(
    two_servers, fake_discord: FakeDiscord
) -> None:
    fake = fake_discord
    async with two_servers(server_grace_days=0.0001) as (newsdesk, guild_b, channel_b, member_b):  # about 9 s
        store = newsdesk.store
        for guild, channel in ((fake.guild, fake.channel), (guild_b, channel_b)):
            await store.servers.set_prefix(guild.id, "?")
            await store.alerts.set_channel(guild.id, channel.id, 1)
            await store.alerts.add_follow(Follow(guild.id, member_b.id, "entity", "ann", "Ann", channel.id))
            await store.servers.add_alias(guild.id, "jm", "JM", "Javier Milei", 1, limit=10)
        feed_a = await store.sources.add(fake.guild.id, fake.channel.id, "https://a.example/f", 60, 1)
        feed_b = await store.sources.add(guild_b.id, channel_b.id, "https://b.example/f", 60, 1)
        shared_in_b = await store.sources.add(guild_b.id, channel_b.id, "https://w.example/f", 60, 1, shared=True)
        assert feed_a and feed_b and shared_in_b
        [only_b] = await store.articles.write_batch(
            [(_record("https://b.example/1", "Zed left."), _analysis("Zed"))], source_id=feed_b.id
        )
        [both] = await store.articles.write_batch(
            [(_record("https://b.example/2", "Ann came."), _analysis("Ann"))], source_id=feed_b.id
        )
        await store.articles.write_batch([(_record("https://b.example/2", "Ann came."), None)], source_id=feed_a.id)
        [wire] = await store.articles.write_batch(
            [(_record("https://w.example/3", "Bo went."), _analysis("Bo"))], source_id=shared_in_b.id
        )
        before_a = await _server_rows(store, fake.guild.id)

        # Removed, then added back within the grace period: nothing goes.
        await fake.remove_bot(guild_b)
        await eventually(lambda: store.servers.departing(), what="the departure to be recorded")
        await fake.add_bot(guild_b)
        await eventually(lambda: _no_departures(store), what="the departure to be cancelled")
        assert await _server_rows(store, guild_b.id)

        # Removed for good: when the grace period ends, B's data goes and A's stays as it was.
        await fake.remove_bot(guild_b)
        await eventually(lambda: _gone(store, guild_b.id), timeout=30, what="server B's data to be deleted")
        assert await _server_rows(store, fake.guild.id) == before_a
        assert await store.articles.get(only_b.article_id) is None
        assert await store.entities.by_key("zed") is None
        assert await store.articles.get(both.article_id, viewer=Viewer.server(fake.guild.id)) is not None
        assert await store.articles.get(wire.article_id, viewer=Viewer.dm()) is not None  # the operator's shared feed
        assert [s.id for s in await store.sources.of_server(guild_b.id)] == [shared_in_b.id]


async def _no_departures(store: Store) -> bool:
    return not await store.servers.departing()


async def _server_rows(store: Store, guild_id: int) -> dict[str, int]:
    counts = {}
    for table in ("guild_settings", "alert_channels", "follows", "server_aliases", "sources"):
        row = await store.db.fetchone(f"SELECT COUNT(*) AS n FROM {table} WHERE guild_id = ?", (guild_id,))
        counts[table] = row["n"] if row else 0
    return counts


async def _gone(store: Store, guild_id: int) -> bool:
    rows = await _server_rows(store, guild_id)
    return rows == {"guild_settings": 0, "alert_channels": 0, "follows": 0, "server_aliases": 0, "sources": 1}


async def test_a_server_that_removed_the_bot_while_it_was_away_is_scheduled_at_start(
    fake_discord: FakeDiscord, bot_settings: Settings
) -> None:
    gone = 987_654_321  # a server the bot is no longer in
    async with Store.open(bot_settings.database) as store:
        await store.servers.set_prefix(gone, "?")
        await store.servers.set_prefix(fake_discord.guild.id, "?")
        await store.servers.departed(fake_discord.guild.id, timedelta(days=7))  # it left, then came back
    newsdesk = NewsdeskBot(bot_settings)
    async with fake_discord.run_bot(newsdesk):
        await eventually(
            lambda: _departing_is(newsdesk.store, [gone]), what="the absent server scheduled, the present one kept"
        )


async def _departing_is(store: Store, expected: list[int]) -> bool:
    return await store.servers.departing() == expected
