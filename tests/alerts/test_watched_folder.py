"""What the watched folder brings in reaches the running bot's answers, and indexing never stalls it."""

from __future__ import annotations

from pathlib import Path

from bot.ingest.sources.folders import FolderWatcher
from tests.alerts.conftest import OSLO, AlertBot, story
from tests.fake_discord import FakeDiscord
from tests.settle import eventually


async def _sync(fake: FakeDiscord) -> None:
    await fake.send_message("!sync", author=fake.owner)
    await fake.wait_for_message(predicate=lambda m: m.content.startswith("Synced"))


async def test_names_from_a_watched_file_reach_autocomplete_and_typo_corrections(
    alert_bot: AlertBot, fake_discord: FakeDiscord, news_folder: Path
) -> None:
    async def names(typed: str) -> list[str]:
        found = await (await fake_discord.autocomplete("who", {"name": typed}, focused="name")).choices()
        return [c["value"] for c in found]

    async with alert_bot(alerts_here=False) as newsdesk:
        await _sync(fake_discord)
        assert await names("lindq") == []  # the name index is built, without her
        missing = await (await fake_discord.send_message("!who Lindqvst")).reply()
        assert missing.embeds[0]["title"] == "Not found"
        (news_folder / "oslo.txt").write_text(OSLO)
        watcher = newsdesk.ingestion.source(FolderWatcher)
        await eventually(lambda: watcher.batches >= 1, what="the watcher to index oslo.txt")
        assert await eventually(lambda: names("lindq"), what="her name in autocomplete") == ["Marta Lindqvist"]
        corrected = await (await fake_discord.send_message("!who Lindqvst")).reply()
        assert corrected.embeds[0]["title"] == "Marta Lindqvist"
        assert "you typed Lindqvst" in corrected.embeds[0]["description"]


async def test_slash_commands_are_acknowledged_in_time_while_a_large_batch_is_indexed(
    alert_bot: AlertBot, fake_discord: FakeDiscord, news_folder: Path
) -> None:
    stories = 48
    async with alert_bot(alerts_here=False, batch_size=8) as newsdesk:
        await _sync(fake_discord)
        before = await newsdesk.store.articles.count()
        for n in range(stories):
            (news_folder / f"story-{n}.txt").write_text(story(100 + n))

        async def first_batch_written() -> bool:
            return await newsdesk.store.articles.count() >= before + 8

        await eventually(first_batch_written, what="the first batch to be written")
        for name, options in (("who", {"name": "Javier Milei"}), ("latest", {"count": "3"}), ("stats", {})):
            interaction = await fake_discord.invoke_slash(name, options)
            response = await interaction.response(timeout=10)  # a late answer is refused: 404 10062
            assert response.embeds, name
            assert interaction.callbacks[0].request.at - interaction.created < 3  # Discord's deadline
        # The batch was still being indexed all along (else this test would prove nothing).
        assert await newsdesk.store.articles.count() < before + stories
        await eventually(lambda: newsdesk.ingestion.source(FolderWatcher).batches >= 1, what="the batch to finish")
