"""Alerts end to end: watched folder → outbox → the fake Discord; pings, retries, restarts, floods."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from bot.ingest.indexer import Indexer
from bot.ingest.sources.folders import FolderWatcher
from bot.models import AlertPolicy
from bot.nlp.analyzer import Analyzer
from bot.store import Store
from tests.alerts.conftest import PASSING, SALIENT, AlertBot, story, title_of
from tests.fake_discord import FakeDiscord, Fault
from tests.fake_discord.records import RecordedMessage
from tests.settle import eventually, settled_outbox


def _titled(title: str):  # type: ignore[no-untyped-def]
    return lambda m: bool(m.embeds) and m.embeds[0].get("title") == title


def _alerts_titled(fake: FakeDiscord, title: str) -> list[RecordedMessage]:
    return [m for m in fake.messages if m.embeds and m.embeds[0].get("title") == title]


async def test_a_file_dropped_in_a_watched_folder_is_alerted(
    alert_bot: AlertBot, fake_discord: FakeDiscord, news_folder: Path
) -> None:
    async with alert_bot():
        (news_folder / "bridge.txt").write_text(story(1))
        alert = await fake_discord.wait_for_message(
            channel_id=fake_discord.channel.id, predicate=_titled(title_of(1)), timeout=30
        )
    embed = alert.embeds[0]
    assert "•" in embed["description"]  # the summary
    assert embed["footer"]["text"].startswith("Article #")
    assert alert.content in (None, "") and alert.mentions == [] and not alert.mention_everyone


async def test_followers_are_pinged_when_central_not_when_passing(
    alert_bot: AlertBot, fake_discord: FakeDiscord, news_folder: Path
) -> None:
    async with alert_bot():
        follow = await (await fake_discord.send_message("!follow milei", author=fake_discord.member)).reply()
        assert follow.content.startswith("You now follow Javier Milei (entity)")
        (news_folder / "passing.txt").write_text(PASSING)
        passing = await fake_discord.wait_for_message(predicate=_titled("Chile copper exports climb"), timeout=30)
        (news_folder / "salient.txt").write_text(SALIENT)
        salient = await fake_discord.wait_for_message(predicate=_titled("Milei unveils budget cuts"), timeout=30)
    assert passing.mentions == [] and not passing.content
    assert salient.mentions == [fake_discord.member.id]
    assert salient.content.startswith(f"<@{fake_discord.member.id}>") and "Javier Milei" in salient.content
    assert salient.allowed_mentions["users"] == [fake_discord.member.id]
    assert not salient.allowed_mentions.get("parse")


async def test_outbox_written_before_a_crash_is_delivered_once_after_restart(
    alert_bot: AlertBot, fake_discord: FakeDiscord, bot_settings: Settings, analyzer: Analyzer, tmp_path: Path
) -> None:
    # The "crash": articles and their alerts were committed, and no process was left to send them.
    async with Store.open(bot_settings.database) as store:
        await store.alerts.set_channel(fake_discord.guild.id, fake_discord.channel.id, 1)
        path = tmp_path / "before-crash.txt"
        path.write_text(story(2))
        await Indexer(store, analyzer, max_file_bytes=100_000).index_paths([path], alerts=AlertPolicy(0.35))
        assert await store.alerts.counts() == {"pending": 1}
    title = title_of(2)
    async with alert_bot(alerts_here=False):
        await fake_discord.wait_for_message(predicate=_titled(title), timeout=15)
    async with alert_bot(alerts_here=False) as again:
        await eventually(lambda: again.alerts.dispatcher.passes >= 1, what="a delivery pass after the restart")
        assert await again.store.alerts.counts() == {"sent": 1}
    assert len(_alerts_titled(fake_discord, title)) == 1


async def test_a_lost_answer_is_retried_without_a_duplicate(
    alert_bot: AlertBot, fake_discord: FakeDiscord, news_folder: Path
) -> None:
    async with alert_bot() as newsdesk:
        # Discord creates the message but the bot never hears back: the retry must not post it again.
        fake_discord.inject("POST", f"/channels/{fake_discord.channel.id}/messages", Fault.dropped(process=True))
        (news_folder / "lost.txt").write_text(story(3))
        title = title_of(3)
        await fake_discord.wait_for_message(predicate=_titled(title), timeout=30)
        assert await settled_outbox(newsdesk) == {"sent": 1}  # the retry found it in the channel
    assert len(_alerts_titled(fake_discord, title)) == 1


async def test_rate_limited_send_is_retried(alert_bot: AlertBot, fake_discord: FakeDiscord, news_folder: Path) -> None:
    async with alert_bot():
        fake_discord.inject("POST", f"/channels/{fake_discord.channel.id}/messages", Fault.rate_limited(0.2))
        (news_folder / "limited.txt").write_text(story(4))
        await fake_discord.wait_for_message(predicate=_titled(title_of(4)), timeout=30)
    posts = fake_discord.requests_to("POST", f"/channels/{fake_discord.channel.id}/messages")
    assert [p.status for p in posts][:2] == [429, 200]


async def test_forbidden_channel_switches_alerts_off_with_a_notice(
    alert_bot: AlertBot, fake_discord: FakeDiscord, news_folder: Path
) -> None:
    alerts_channel = fake_discord.create_channel(name="news-alerts")
    async with alert_bot(alerts_here=False) as newsdesk:
        await newsdesk.store.alerts.set_channel(fake_discord.guild.id, alerts_channel.id, 1)
        fake_discord.inject("POST", f"/channels/{alerts_channel.id}/messages", Fault.forbidden(), times=None)
        (news_folder / "forbidden.txt").write_text(story(5))
        notice = await fake_discord.wait_for_message(
            predicate=lambda m: "News alerts are switched off" in (m.content or ""), timeout=30
        )
        assert notice.channel_id != alerts_channel.id
        assert "no longer allowed to post" in notice.content
        assert await newsdesk.store.alerts.channel(fake_discord.guild.id) is None
        assert await newsdesk.store.alerts.counts() == {"dropped": 1}


async def test_flood_control_sends_a_digest(alert_bot: AlertBot, fake_discord: FakeDiscord, tmp_path: Path) -> None:
    async with alert_bot(alerts_per_minute=2) as newsdesk:
        burst = tmp_path / "burst"
        burst.mkdir()
        for n in range(10, 16):
            (burst / f"story-{n}.txt").write_text(story(n))
        await newsdesk.ingestion.source(FolderWatcher).on_files(sorted(burst.iterdir()))
        digest = await fake_discord.wait_for(
            lambda: next((m for m in fake_discord.messages if "flood control" in (m.content or "")), None), timeout=30
        )
        assert digest.content.startswith("4 more new articles (flood control).")
        assert digest.content.count("`#") == 4
        individual = [m for m in fake_discord.messages if m.embeds and " number " in m.embeds[0]["title"]]
        assert len(individual) == 2
        assert await settled_outbox(newsdesk) == {"sent": 2, "digested": 4}


async def test_alert_commands(alert_bot: AlertBot, fake_discord: FakeDiscord, news_folder: Path) -> None:
    async with alert_bot(alerts_here=False) as newsdesk:
        off = await (await fake_discord.send_message("!alerts", author=fake_discord.member)).reply()
        assert off.content.startswith("Alerts are off here")
        denied = await (await fake_discord.send_message("!alerts here", author=fake_discord.member)).reply()
        assert denied.content == "You need the Manage Server permission for that."
        here = await (await fake_discord.send_message("!alerts here", author=fake_discord.admin)).reply()
        assert here.content == f"New articles will be posted in <#{fake_discord.channel.id}>."
        await (await fake_discord.send_message("!follow Javier Milei", author=fake_discord.member)).reply()
        listing = await (await fake_discord.send_message("!following", author=fake_discord.member)).reply()
        assert "Javier Milei" in listing.embeds[0]["description"]
        (news_folder / "salient.txt").write_text(SALIENT)
        alert = await fake_discord.wait_for_message(predicate=_titled("Milei unveils budget cuts"), timeout=30)
        article_id = alert.embeds[0]["footer"]["text"].split("#")[1].split(" ")[0]
        why = await (await fake_discord.send_message(f"!why {article_id}")).reply()
        assert "a watched folder" in why.embeds[0]["description"]
        assert "following Javier Milei" in why.embeds[0]["description"]
        gone = await (await fake_discord.send_message("!unfollow milei", author=fake_discord.member)).reply()
        assert gone.content == "You no longer follow Javier Milei."
        stopped = await (await fake_discord.send_message("!alerts off", author=fake_discord.admin)).reply()
        assert stopped.content.startswith("Alerts are off")
        assert await newsdesk.store.alerts.channel(fake_discord.guild.id) is None


async def test_alerts_under_discord_rate_limits_wait_for_the_bucket(
    alert_bot: AlertBot, fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake_discord.enable_rate_limits(routes={"POST /channels/{channel_id}/messages": (2, 0.4)})
    async with alert_bot(alerts_per_minute=10) as newsdesk:
        burst = tmp_path / "burst"
        burst.mkdir()
        for n in range(20, 25):
            (burst / f"story-{n}.txt").write_text(story(n))
        await newsdesk.ingestion.source(FolderWatcher).on_files(sorted(burst.iterdir()))
        assert await settled_outbox(newsdesk) == {"sent": 5}
    posts = fake_discord.requests_to("POST", f"/channels/{fake_discord.channel.id}/messages")
    assert [p.status for p in posts] == [200] * 5  # never beyond the bucket, so never a 429
    assert posts[-1].at - posts[0].at >= 0.8  # five at two per window: three windows
