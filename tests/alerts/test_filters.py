"""Alert filters: rules as typed, matching on real articles (linear, RE2 for patterns), planning that keeps
follows, a feed's and a channel's filters on a real index, and the commands through the fake Discord with
``why`` naming the filter that kept an article out."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.alerts.filters import (
    ArticleFacts,
    FilterRule,
    RuleError,
    blocking_rule,
    regex_rule,
    sections_of,
    split_rule,
    words_rule,
)
from bot.alerts.planning import PlannedAlert, apply_filters
from bot.app import NewsdeskBot
from bot.ingest.indexer import Indexer
from bot.ingest.readers import content_hash
from bot.models import AlertPolicy, ArticleRecord, Follow
from bot.nlp.analyzer import Analyzer
from bot.store import Store
from tests.alerts.conftest import LITHIUM, SALIENT, AlertBot, story, title_of
from tests.fake_discord import FakeDiscord, FakeUser
from tests.fake_discord.records import RecordedMessage

# google-re2 is a dependency; an environment installed before it was declared runs the rest.


def facts(text: str, url: str | None = None, names: tuple[str, ...] = (), topics: tuple[str, ...] = ()) -> ArticleFacts:
    title, _, body = text.partition("\n")
    return ArticleFacts.of(title, body, url, names, topics)


# ---- rules as typed ------------------------------------------------------------------------------
def test_rules_are_read_as_typed() -> None:
    assert split_rule("lithium, copper ,lithium") == split_rule("words: lithium, copper")
    assert split_rule("-football").negate and split_rule("not football").values == ("football",)
    assert split_rule("has:Javier Milei").kind == "has" and split_rule("-has: Elon Musk").negate
    assert split_rule("topic:lithium mining").values == ("lithium mining",)
    assert split_rule("re:^(a|b),c{2}").values == ("^(a|b),c{2}",)  # a pattern is never split at commas
    assert split_rule("Note: this is a phrase").kind == "words"  # an unknown prefix is just words
    for bad in ("", "-", "has:", "re:", "x" * 101, ", ,", ",".join(f"w{n}" for n in range(11))):
        with pytest.raises(RuleError):
            split_rule(bad)
    with pytest.raises(RuleError):
        words_rule(split_rule("-!!!"))
    with pytest.raises(RuleError, match="RE2"):
        regex_rule(split_rule("re:(unclosed"))
    with pytest.raises(RuleError, match="RE2"):
        regex_rule(split_rule(r"re:(\w+)\1"))  # a backreference: RE2 refuses what cannot run in linear time


def test_words_names_topics_sections_and_patterns_match() -> None:
    milei = facts(
        "Milei's budget\nArgentine President Javier Milei cut spending. Football clubs protested.",
        url="https://example.com/news/politics/milei-123",
        names=("javier milei", "argentina"),
        topics=("public spending",),
    )
    rule = words_rule(split_rule("Football  CLUBS"))  # a phrase: whole words in order, any case
    assert blocking_rule([rule], milei) is None
    assert blocking_rule([words_rule(split_rule("foot"))], milei) is not None  # part of a word is not a word
    excluded = words_rule(split_rule("-FOOTBALL"))
    assert blocking_rule([excluded], milei) == excluded
    has = FilterRule("has", False, ("javier milei",), ("Javier Milei",), 4)
    assert blocking_rule([has], milei) is None and blocking_rule([has], facts("Rain\nIt rained.")) == has
    assert blocking_rule([FilterRule("topic", True, ("public spending",), ("public spending",))], milei)
    assert sections_of("https://example.com/news/politics/milei-123") == {"news", "politics", "milei-123"}
    assert blocking_rule([words_rule(split_rule("section:/Politics/"))], milei) is None
    assert blocking_rule([regex_rule(split_rule("re:^milei's"))], milei) is None  # case-insensitive
    assert blocking_rule([regex_rule(split_rule("-re:protest(ed|s)"))], milei) is not None
    # Every rule must hold: the first that fails is the one reported.
    assert blocking_rule([has, excluded, rule], milei) == excluded


def test_a_catastrophic_pattern_runs_in_linear_time_on_a_long_text() -> None:
    hostile = facts("Headline\n" + "a" * 200_000 + "!")
    rule = regex_rule(split_rule("re:(a+)+$"))  # exponential in a backtracking engine
    started = time.perf_counter()
    assert blocking_rule([rule], hostile) == rule
    assert time.perf_counter() - started < 1.0


def test_planning_filters_what_is_posted_and_keeps_follows() -> None:
    rule = FilterRule("words", True, (" football ",), ("football",), 9)
    sport = facts("Cup final\nThe football final was played.")
    feed_alert = PlannedAlert(1, 10, [{"kind": "source", "id": 3, "name": "Wire"}])
    followed = PlannedAlert(
        1, 11, [{"kind": "folder", "name": "watched folders"}, {"kind": "follow", "name": "Cup", "of": "topic"}], [7]
    )
    kept, filtered = apply_filters(
        [feed_alert, followed], sport, source_id=3, source_rules=[], channel_rules={10: [rule], 11: [rule]}
    )
    assert [(a.channel_id, [r["kind"] for r in a.reasons], a.pings) for a in kept] == [(11, ["follow"], [7])]
    assert [(f.channel_id, f.rule, f.scope, f.scope_id) for f in filtered] == [
        (10, "#9 not words: football", "channel", 10),
        (11, "#9 not words: football", "channel", 11),
    ]
    kept, filtered = apply_filters(
        [PlannedAlert(1, 10, [{"kind": "source", "id": 3, "name": "Wire"}])],
        sport,
        source_id=3,
        source_rules=[rule],
        channel_rules={},
    )
    assert kept == [] and filtered[0].scope == "source" and filtered[0].scope_id == 3


# ---- a feed's filters on a real index ------------------------------------------------------------
async def test_a_feeds_filter_keeps_its_items_out_but_not_follows(store: Store, analyzer: Analyzer) -> None:
    source = await store.sources.add(1, 100, "https://example.com/feed.xml", 10.0, 9)
    assert source is not None
    await store.alerts.add_filter(1, "source", source.id, words_rule(split_rule("-lithium")), 9)
    await store.alerts.add_follow(Follow(1, 42, "topic", "lithium mining", "lithium mining", 100))
    indexer = Indexer(store, analyzer, max_file_bytes=1_000_000)

    def record(n: int, text: str) -> ArticleRecord:
        title, _, body = text.partition("\n\n")
        return ArticleRecord(f"{source.url}#{n}", title, body, content_hash(body), datetime.now(UTC), source="Wire")

    policy = AlertPolicy(0.2, source_id=source.id)
    await indexer.index_records([record(1, LITHIUM), record(2, story(1))], alerts=policy)
    due = {d.article_id: d for d in await store.alerts.due("9999")}
    lithium_id, bridge_id = sorted(due) if len(due) == 2 else (None, None)
    assert lithium_id is not None and bridge_id is not None
    assert [r["kind"] for r in due[lithium_id].reasons] == ["follow"] and due[lithium_id].ping_user_ids == [42]
    assert [r["kind"] for r in due[bridge_id].reasons] == ["source"]
    [kept_out] = await store.alerts.filtered_for_article(1, lithium_id)
    assert (kept_out.scope, kept_out.scope_id, kept_out.rule) == ("source", source.id, "#1 not words: lithium")
    assert (await store.alerts.filters("source", [source.id]))[source.id][0].describe() == "not words: lithium"
    await store.sources.remove(1, source.id)
    assert await store.alerts.filters("source", [source.id]) == {}  # a removed feed's filters go with it


# ---- the commands through the fake Discord -------------------------------------------------------
async def _ask(fake: FakeDiscord, text: str, user: FakeUser) -> RecordedMessage:
    return await (await fake.send_message(text, author=user)).reply(timeout=20)


async def test_a_channel_filter_through_discord_and_why(
    alert_bot: AlertBot, fake_discord: FakeDiscord, news_folder: Path
) -> None:
    fake = fake_discord
    async with alert_bot() as bot:
        denied = await _ask(fake, "!alerts filter -Leeds", fake.member)
        assert denied.content == "You need the Manage Server permission for that."
        empty = await _ask(fake, "!alerts filter", fake.admin)
        assert empty.embeds[0]["description"].startswith("No filters: every new article is posted.")
        added = await _ask(fake, "!alerts filter -Leeds", fake.admin)
        assert added.embeds[0]["description"].startswith("Added filter `#1` not words: Leeds.")
        named = await _ask(fake, "!alerts filter -has:Milei", fake.admin)
        assert "not has: Javier Milei" in named.embeds[0]["description"]  # resolved as follow resolves it
        bad = await _ask(fake, "!alerts filter re:(x", fake.admin)
        assert bad.content.startswith("That pattern is not one RE2 accepts")

        (news_folder / "leeds.txt").write_text(story(0))  # Leeds: kept out
        (news_folder / "milei.txt").write_text(SALIENT)  # names Milei: kept out
        (news_folder / "bristol.txt").write_text(story(1))  # passes
        posted = await fake.wait_for_message(
            predicate=lambda m: bool(m.embeds) and m.embeds[0].get("title") == title_of(1), timeout=30
        )
        await bot.alerts.dispatcher.deliver_due()
        titles = [m.embeds[0].get("title") for m in fake.messages if m.embeds and m.id != posted.id]
        assert title_of(0) not in titles and SALIENT.split("\n")[0] not in titles

        leeds = (await bot.store.search.find("Leeds bridge"))[0].article.id
        why = await _ask(fake, f"!why {leeds}", fake.member)
        text = why.embeds[0]["description"]
        assert f"<#{fake.channel.id}> (not posted): a watched folder — kept out by the filter of" in text
        assert "`#1 not words: Leeds`" in text
        milei = (await bot.store.search.find("Milei unveils budget cuts"))[0].article.id
        why = await _ask(fake, f"!why {milei}", fake.member)
        assert "`#2 not has: Javier Milei`" in why.embeds[0]["description"]

        removed = await _ask(fake, "!alerts filter remove 1", fake.admin)
        assert removed.embeds[0]["description"].startswith("Removed filter #1.")
        cleared = await _ask(fake, "!alerts filter clear", fake.admin)
        assert cleared.embeds[0]["description"].startswith("Removed 1 filter.")


async def test_source_filter_is_shown_in_source_list(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    source = await bot.store.sources.add(fake.guild.id, fake.channel.id, "https://example.com/feed.xml", 10.0, 1)
    assert source is not None
    missing = await _ask(fake, "!source filter 99 -football", fake.admin)
    assert missing.content == "This server has no feed #99; see source list."
    added = await _ask(fake, f"!source filter {source.id} has:Javier Milei, Elon Musk", fake.admin)
    assert added.embeds[0]["title"] == f"Filters of feed #{source.id} (https://example.com/feed.xml)"
    listing = await _ask(fake, "!source list", fake.admin)
    assert "filters: `#1` has: Javier Milei, Elon Musk" in listing.embeds[0]["description"]
