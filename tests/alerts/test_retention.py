"""The running bot forgets old delivered alerts: once at start-up, then periodically."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.alerts.retention import OutboxRetention
from bot.config import Settings
from bot.ingest.indexer import Indexer
from bot.models import to_iso
from bot.store import Store
from tests.alerts.conftest import AlertBot
from tests.conftest import SEED_ARTICLE


async def _add_sent_alert(database: Path | str, article_id: int, channel_id: int, age: timedelta) -> None:
    when = to_iso(datetime.now(UTC) - age)
    async with Store.open(database) as store, store.db.write() as db:
        await db.execute(
            "INSERT INTO outbox (article_id, guild_id, channel_id, title_key, reasons, nonce, status, "
            "next_attempt_at, created_at, sent_at, message_id) VALUES (?, 1, ?, 'x', '[]', 'n', 'sent', ?, ?, ?, 7)",
            (article_id, channel_id, when, when, when),
        )


async def _channels_in_outbox(store: Store) -> set[int]:
    return {row[0] for row in await store.db.fetchall("SELECT channel_id FROM outbox")}


async def _until(check: Callable[[], Awaitable[bool]]) -> None:
    for _ in range(500):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the outbox was not pruned within 10 s")


async def test_the_bot_prunes_old_delivered_alerts_at_start(alert_bot: AlertBot, bot_settings: Settings) -> None:
    await _add_sent_alert(bot_settings.database, 1, 500, timedelta(days=45))
    await _add_sent_alert(bot_settings.database, 1, 600, timedelta(days=3))
    async with alert_bot(alerts_here=False, retention_days=30) as newsdesk:

        async def pruned() -> bool:
            return await _channels_in_outbox(newsdesk.store) == {600}

        await _until(pruned)


async def test_retention_prunes_again_every_period_and_stops(store: Store, indexer_for: Callable[..., Indexer]) -> None:
    await indexer_for(store).index_paths([SEED_ARTICLE])
    await _add_sent_alert(store.path, 1, 500, timedelta(days=45))
    retention = OutboxRetention(store, retention_days=30, every=timedelta(seconds=0.05))
    task = asyncio.create_task(retention.run())

    async def pruned() -> bool:
        return not await _channels_in_outbox(store)

    try:
        await _until(pruned)  # the pass at start
        await _add_sent_alert(store.path, 1, 600, timedelta(days=45))
        await _until(pruned)  # a later pass
    finally:
        retention.stop()
        await asyncio.wait_for(task, 2)
