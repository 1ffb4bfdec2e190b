"""Rendering: console text, and Discord embeds that stay within every limit and never ping."""

from __future__ import annotations

import re

import discord
import pytest

from bot.alerts.answers import AlertsOff, AlertsStatus, Followed
from bot.answers import Answers, ArticleAnswer, HelpAnswer, LatestAnswer, NotFound, SearchAnswer, TopicsAnswer
from bot.catalogue import entries
from bot.ingest.sources.feed_answers import FeedAdded
from bot.models import Article, ArticleBrief, ArticleEntity, ArticleTopic, SearchHit, TopicRef
from bot.nlp.names import AliasTable
from bot.render import DISCORD, safe_url, to_embeds, to_message, to_text, truncate
from bot.store import Store
from bot.wording import plural


def _hostile_article(size: int) -> Article:
    nasty = "@everyone <@123456789012345678> **bold** `code` [link](https://evil.example) ||spoiler|| "
    return Article(
        id=7,
        title=nasty * 20,
        source=nasty,
        url="javascript:alert(1)",
        published="2024-04-12T18:00:00Z",
        ingested_at="2024-04-12T18:00:00Z",
        summary=[nasty * size for _ in range(3)],
        word_count=10,
        origins=["x"],
        entities=[ArticleEntity(i, nasty, "PERSON", 3, 0.9, [nasty]) for i in range(40)],
        topics=[ArticleTopic(i, nasty, "k", 0.5) for i in range(40)],
    )


def _within_limits(embed: discord.Embed) -> None:
    """Discord's own numbers, written out: a test importing the product's constants could not catch a wrong one."""
    assert len(embed.title or "") <= 256
    assert len(embed.description or "") <= 4096
    assert len(embed.fields) <= 25
    assert all(len(f.name or "") <= 256 and len(f.value or "") <= 1024 for f in embed.fields)
    assert len(embed.footer.text or "") <= 2048
    assert len(embed) <= 6000  # title, description, fields, footer and author together


@pytest.mark.parametrize("size", [1, 50, 500])
def test_embeds_respect_every_limit(size: int) -> None:
    for summary_only in (True, False):
        for embed in to_embeds(ArticleAnswer(_hostile_article(size), summary_only=summary_only)):
            _within_limits(embed)


def test_untrusted_text_is_escaped() -> None:
    [embed] = to_embeds(ArticleAnswer(_hostile_article(1)))
    text = embed.description or ""
    assert "@everyone" not in text and "<@123456789012345678>" not in text
    assert "\\*\\*bold\\*\\*" in text
    assert embed.url is None  # not an http(s) link


def test_markup_after_a_masked_link_is_escaped_too() -> None:
    # discord.py's escape_markdown lets "[..](..)" swallow everything up to the line's last ")".
    text = DISCORD.text("[a](https://x.example) **bold** ||spoiler|| `code` [b](https://y.example)\n> quote\n# big")
    assert re.search(r"(?<!\\)(\*\*|\|\||`|\[)", text) is None, text
    assert "\n\\> quote\n\\# big" in text
    assert DISCORD.text("a\\*b") == "a\\\\\\*b"  # a backslash in the text cannot un-escape what follows


def test_long_lists_are_paged() -> None:
    briefs = [ArticleBrief(i, f"Story {i} " + "x" * 300, "AP", None, "2024-04-12T18:00:00Z") for i in range(25)]
    embeds = to_embeds(LatestAnswer(briefs))
    assert len(embeds) == 3  # ten per page
    assert (embeds[0].footer.text or "").startswith("Page 1/3")
    for embed in embeds:
        _within_limits(embed)


def test_search_snippet_marks_matches_safely() -> None:
    hit = SearchHit(ArticleBrief(1, "T", None, None, "2024-04-12T18:00:00Z"), "a \x02lithium\x03 *mine*", -1.0)
    [embed] = to_embeds(SearchAnswer("lithium", [hit]))
    assert "**lithium**" in (embed.description or "") and "\\*mine\\*" in (embed.description or "")
    assert "a lithium *mine*" in to_text(SearchAnswer("lithium", [hit]))


async def test_console_text_of_who(seeded_store: Store, aliases: AliasTable) -> None:
    text = to_text(await Answers(seeded_store, aliases).who("Milei"))
    assert text.startswith("Javier Milei\n")
    assert "Person · Argentine President" in text
    assert "Elon Musk" in text


def test_help_lists_every_command_with_an_example() -> None:
    text = to_text(HelpAnswer(tuple(c for c in entries() if c.where == "anywhere"), "!"))
    shown = ("!who", "!timeline", "!summary", "!topics", "!topic", "!search", "!latest", "!article", "!related")
    shown += ("!story", "!trending", "!stats", "!trend", "!graph")
    for command in shown:
        assert command in text
    assert text.count("Example:") == 15


def test_not_found_offers_the_closest_names() -> None:
    text = to_text(NotFound("No one called Mlei in 3 indexed articles.", ["Javier Milei"]))
    assert "Closest: Javier Milei" in text


def test_truncate_and_safe_url() -> None:
    assert truncate("abcdef", 6) == "abcdef"
    assert truncate("abcdefg", 6) == "abcde…"
    assert truncate("abcd\\*x", 6) == "abcd…"  # never ends on a lone escape
    assert safe_url("https://example.com/a") == "https://example.com/a"
    assert safe_url("javascript:x") is None and safe_url("https://a b") is None


def test_alert_answers_carry_no_discord_markup_and_render_for_both() -> None:
    followed = Followed("**Ana** @everyone", "entity", 42)
    assert to_text(followed) == (
        "You now follow **Ana** @everyone (entity). You will be pinged in channel 42 when it is central to a new "
        "article.\n"
    )
    message = to_message(followed)
    assert "\\*\\*Ana\\*\\*" in message and "@everyone" not in message and "<#42>" in message
    added = FeedAdded(3, "[x](https://evil.example) " * 200, 1, 42, 1.0)
    text = to_message(added)
    assert len(text) <= 2000 and text.endswith("Only this server sees its articles.")  # the title is cut, not this
    assert "— 1 item indexed, not alerted." in text
    assert to_text(FeedAdded(3, "News", 2, 42, 0.5)).startswith("Added feed #3: News — 2 items indexed")
    assert to_text(AlertsOff(None)) == "Alerts were not on in this server.\n"
    assert to_message(AlertsStatus(None), "/") == "Alerts are off here; a manager can turn them on with /alerts here."


def test_counts_read_in_the_singular_and_plural() -> None:
    assert [plural(n, "article") for n in (0, 1, 2, 1204)] == [
        "0 articles",
        "1 article",
        "2 articles",
        "1,204 articles",
    ]
    assert plural(0.5, "minute") == "0.5 minutes" and plural(1.0, "minute") == "1 minute"
    topics = TopicsAnswer([TopicRef(1, "lithium", "lithium", 1, None), TopicRef(2, "tesla", "tesla", 3, None)], 1)
    text = to_text(topics)
    assert "lithium — 1 article\n" in text and "tesla — 3 articles" in text and "Across 1 indexed article." in text
