"""``!summary`` end to end, and article text that tries to ping."""

from __future__ import annotations

from pathlib import Path

from bot.app import NewsdeskBot
from bot.config import Settings
from bot.ingest.indexer import Indexer
from bot.nlp.analyzer import Analyzer
from bot.store import Store
from tests.fake_discord import FakeDiscord


async def test_summary_latest(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    reply = await (await fake_discord.send_message("!summary latest")).reply()
    [embed] = reply.embeds
    assert embed["title"] == "Hewitt backs call centre workers"
    assert embed["description"].count("\n• ") == 3
    assert embed["footer"]["text"].startswith("Article #")


async def test_summary_of_a_name_lists_article_ids(bot: NewsdeskBot, fake_discord: FakeDiscord) -> None:
    reply = await (await fake_discord.send_message("!summary Milei")).reply()
    [embed] = reply.embeds
    assert embed["title"] == "Javier Milei: the latest"
    assert embed["description"].count("`#") >= 2


async def test_article_text_never_pings(
    fake_discord: FakeDiscord, bot_settings: Settings, analyzer: Analyzer, tmp_path: Path
) -> None:
    hostile = tmp_path / "hostile.txt"
    hostile.write_text(
        "Everyone gets pinged\n\n@everyone and @here should not ring. <@123456789012345678> neither, "
        "nor <@&234567890123456789>. The council of Leeds met on Monday to discuss the bins.\n"
    )
    async with Store.open(bot_settings.database) as store:
        report = await Indexer(store, analyzer, max_file_bytes=10_000).index_paths([hostile])
    article_id = report.articles[0].article_id
    newsdesk = NewsdeskBot(bot_settings)
    async with fake_discord.run_bot(newsdesk):
        reply = await (await fake_discord.send_message(f"!summary {article_id}")).reply()
        assert reply.allowed_mentions == {"parse": []}
        assert reply.mentions == [] and not reply.mention_everyone
        text = reply.embeds[0]["description"]
        assert "@everyone" not in text and "<@123456789012345678>" not in text
        search = await (await fake_discord.send_message("!search everyone pinged")).reply()
        assert search.mentions == [] and not search.mention_everyone
