"""The ``feeds`` source: the RSS and Atom feeds servers added, each polled on its own interval, with
conditional requests, backoff and pausing (parsing and fetching are :mod:`bot.ingest.feeds` and
:mod:`bot.ingest.fetch`; the commands that add and remove feeds, :mod:`bot.ingest.sources.feed_commands`).

A feed that fails — for any reason, an unexpected error included — is retried later and later (its
interval doubled per failure, up to a day); after ``max_failures`` failures in a row it is paused and
its server is told once, with the reason. A feed's first poll indexes its items without alerting them,
so adding a feed never floods a channel. Due feeds are taken in turns across servers (see
:meth:`~bot.store.sources.SourceQueries.due`), so one server's many feeds cannot delay another's.

Several processes may poll one index's feeds (the bot, or ``newsdesk worker`` processes): each claims
the due feeds it has room for with a lease (:mod:`bot.leases`), renews the lease while it polls and gives
it back when done. A poller that dies loses nothing: its feeds are taken over when their leases run out,
and the poll is done again — which neither loses nor repeats an article or an alert, as every batch of
a poll is one transaction (the articles and their alerts together) and an item already indexed is not
indexed or alerted again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.ingest.feeds import MAX_ITEM_CHARS, FeedError, read_feed
from bot.ingest.fetch import FetchError, SafeFetcher, redact_url
from bot.ingest.sources.base import Ingest, SourceContext
from bot.leases import DEFAULT_LEASE_SECONDS, Lease, lease_owner
from bot.models import OPERATOR_SERVER, AlertPolicy, FeedSource, from_iso, to_iso
from bot.store import Store
from bot.wording import plural

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(days=1)
CONCURRENT_POLLS = 4
MAX_INTERVAL_MINUTES = 7 * 24 * 60
UNEXPECTED_ERROR = "Something went wrong on my side while reading the feed; it has been logged."

Notify = Callable[[FeedSource, str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """What one poll of one feed did."""

    ok: bool
    items: int = 0
    not_modified: bool = False
    error: str | None = None
    paused: bool = False
    title: str | None = None


def next_poll_after_failure(source: FeedSource, failures: int, now: datetime) -> datetime:
    """Exponential backoff: the interval doubled for each failure in a row, at most a day."""
    delay = timedelta(minutes=source.interval_minutes) * (2 ** max(failures - 1, 0))
    return now + min(delay, MAX_BACKOFF)


class FeedPoller:
    """Polls due feeds and hands their items to ``ingest``; :meth:`run` loops until :meth:`stop`."""

    def __init__(
        self,
        store: Store,
        ingest: Ingest,
        fetcher: SafeFetcher,
        *,
        follow_salience: float,
        max_failures: int,
        fetch_full_text: bool,
        notify: Notify,
        idle_seconds: float = 30.0,
        max_chars: int = MAX_ITEM_CHARS,
        operator_feeds: Sequence[str] = (),
        operator_interval_minutes: float = 10.0,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        polls_due: bool = True,
    ) -> None:
        self.store = store
        self.ingest = ingest
        self.fetcher = fetcher
        self.max_chars = max_chars  # of an item's text: nothing past max_article_chars is indexed
        self.follow_salience = follow_salience
        self.max_failures = max_failures
        self.fetch_full_text = fetch_full_text
        self.notify = notify
        self.idle_seconds = idle_seconds
        self.operator_feeds = operator_feeds  # from the settings: shared with every server
        self.operator_interval_minutes = operator_interval_minutes
        # False in a bot whose feeds `newsdesk worker` processes poll: it only polls a feed being added.
        self.polls_due = polls_due
        self.wake = asyncio.Event()
        # Passes of the loop that ended with no poll in flight: every poll claimed before has finished
        # (tests wait on it before asserting nothing more was polled).
        self.passes = 0
        self.lease = Lease(lease_owner("feeds"), lease_seconds, store.sources.renew)
        self._stop = asyncio.Event()
        self._locks: dict[int, asyncio.Lock] = {}

    def stop(self) -> None:
        """Return from :meth:`run` after the current polls."""
        self._stop.set()
        self.wake.set()

    async def will_index(self) -> bool:
        """Whether any feed will be polled here."""
        return self.polls_due and (bool(self.operator_feeds) or await self.store.sources.next_due() is not None)

    async def sync_operator_feeds(self) -> None:
        """Register the feeds listed in the settings (shared with every server), and drop those no longer
        listed; an address the fetcher refuses is logged and left out."""
        urls = []
        for url in self.operator_feeds:
            try:
                urls.append(str(self.fetcher.check_url(url)))
            except FetchError as exc:
                log.error("the feed %s in the settings is left out: %s", redact_url(url), exc)
        added, removed = await self.store.sources.sync_operator_feeds(urls, self.operator_interval_minutes)
        if added or removed:
            log.info("the operator's feeds: %d added, %d removed", added, removed)

    async def run(self) -> None:
        """Claim due feeds as polls finish (at most :data:`CONCURRENT_POLLS` at a time) and poll them;
        sleep until the next feed is due (or a feed is added). When stopped, the polls under way finish
        and every lease is given back. Returns at once where workers poll the feeds (``polls_due`` off)."""
        if not self.polls_due:
            return
        try:
            await self.sync_operator_feeds()
        except Exception:
            log.exception("the operator's feeds could not be registered")
        renewing = asyncio.create_task(self.lease.run(), name="feed-leases")
        polling: set[asyncio.Task[None]] = set()
        try:
            while not self._stop.is_set():
                self.wake.clear()
                try:
                    if len(polling) < CONCURRENT_POLLS:
                        room = CONCURRENT_POLLS - len(polling)
                        now = to_iso(datetime.now(UTC))
                        claimed = await self.store.sources.claim(self.lease.owner, now, self.lease.until(), room)
                        polling.update(asyncio.create_task(self._poll_claimed(s)) for s in claimed)
                    next_due = await self.store.sources.next_due()
                except Exception:
                    log.exception("feed polling pass failed; retrying shortly")
                    next_due = None
                wait: float | None = self.idle_seconds
                if len(polling) >= CONCURRENT_POLLS:
                    wait = None  # no room for another feed until a poll finishes
                elif next_due is not None:
                    wait = min(self.idle_seconds, max((from_iso(next_due) - datetime.now(UTC)).total_seconds(), 0.05))
                if not polling:
                    self.passes += 1
                woken = asyncio.create_task(self.wake.wait())
                await asyncio.wait({woken, *polling}, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
                woken.cancel()
                polling = {task for task in polling if not task.done()}
        finally:
            # Stopping: the polls under way finish (a stop must not cost a half-read feed), then every
            # lease goes back — shielded, so that a stop that runs out of patience still gives them back.
            await asyncio.shield(self._finish(polling, renewing))

    async def _finish(self, polling: set[asyncio.Task[None]], renewing: asyncio.Task[None]) -> None:
        if polling:
            await asyncio.wait(polling)
        self.lease.stop()
        await renewing
        try:
            await self.store.sources.release(self.lease.owner)
        except Exception:  # they run out on their own
            log.exception("the feed leases could not be given back")

    async def _poll_claimed(self, source: FeedSource) -> None:
        """Poll a feed this poller claimed, then give its lease back."""
        try:
            await self.poll(source)
        except Exception:  # recording the failure failed too (the database): the loop goes on
            log.exception("feed %s (#%d): the poll could not be recorded", redact_url(source.url), source.id)
        finally:
            try:
                await self.store.sources.release(self.lease.owner, [source.id])
            except Exception:
                log.exception("feed #%d: its lease could not be given back; it runs out", source.id)

    async def poll(self, source: FeedSource, *, adding: bool = False) -> PollOutcome:
        """Poll one feed now (one poll of a feed at a time).

        Until a poll of the feed has succeeded, a poll is its first: its items are indexed without
        alerting them, whoever polls. Any error is a failed poll, counted (see the module docstring);
        with ``adding`` (the poll of ``source add``, whose caller removes the feed when it fails) it is
        only reported.
        """
        lock = self._locks.setdefault(source.id, asyncio.Lock())
        async with lock:
            # As it is now: another poll of this feed may have finished while this one waited.
            current = await self.store.sources.get(source.id)
            if current is None:
                return PollOutcome(ok=False, error="The feed was removed.")
            return await self._poll(current, adding=adding)

    async def _poll(self, source: FeedSource, *, adding: bool) -> PollOutcome:
        now = datetime.now(UTC)
        first = source.last_polled_at is None
        try:
            feed = await read_feed(
                self.fetcher,
                source.url,
                etag=None if first else source.etag,
                last_modified=None if first else source.last_modified,
                fetch_full_text=self.fetch_full_text,
                known_origins=self.store.articles.origin_hashes,
                max_chars=self.max_chars,
            )
            report = await self.ingest.index_records(
                feed.records,
                alerts=AlertPolicy(self.follow_salience, source_id=source.id, suppress=first),
                source_id=source.id,
            )
            await self.store.sources.polled(
                source.id,
                title=feed.title,
                etag=feed.etag,
                last_modified=feed.last_modified,
                next_poll_at=to_iso(now + timedelta(minutes=source.interval_minutes)),
            )
        except (FetchError, FeedError) as exc:
            return await self._failed(source, str(exc), now, adding=adding)
        except Exception:
            log.exception("feed %s (#%d): the poll failed", source.url, source.id)
            return await self._failed(source, UNEXPECTED_ERROR, now, adding=adding)
        if report.indexed:
            log.info("feed %s (#%d): %s", redact_url(source.url), source.id, plural(report.indexed, "new article"))
        for failure in feed.page_failures:
            log.info("feed %s: %s", redact_url(source.url), redact_url(failure))
        return PollOutcome(
            ok=True,
            items=len(feed.records),
            not_modified=feed.not_modified,
            title=feed.title,
        )

    async def _failed(self, source: FeedSource, error: str, now: datetime, *, adding: bool) -> PollOutcome:
        if adding:
            return PollOutcome(ok=False, error=error)
        failures = source.failures + 1
        pause = failures >= self.max_failures
        await self.store.sources.failed(
            source.id, error, next_poll_at=to_iso(next_poll_after_failure(source, failures, now)), pause=pause
        )
        log.warning(
            "feed %s (#%d) failed %s in a row: %s", redact_url(source.url), source.id, plural(failures, "time"), error
        )
        if pause and await self.store.sources.mark_pause_notified(source.id):
            await self.notify(
                source,
                f"Feed #{source.id} ({source.title or redact_url(source.url)}) is paused after "
                f"{plural(failures, 'failure')} in a row. "
                f"Last error: {error}",
            )
        return PollOutcome(ok=False, error=error, paused=pause)


def make(context: SourceContext, *, polls_due: bool | None = None, idle_seconds: float = 30.0) -> FeedPoller:
    """The poller of every server's feeds; a feed that pauses is told to its server where it was added.
    It polls the feeds that fall due where the settings say ``ingest = "here"`` (or ``polls_due``: a
    `newsdesk worker` always does), and looks for feeds added or resumed elsewhere every ``idle_seconds``."""
    settings = context.settings

    async def notify(source: FeedSource, text: str) -> None:
        if source.guild_id == OPERATOR_SERVER:  # a feed from the settings: the operator reads the log
            log.warning("%s", text)
            return
        await context.notify(source.guild_id, source.channel_id, text)

    return FeedPoller(
        context.store,
        context.ingest,
        context.fetcher,
        follow_salience=settings.follow_salience,
        max_failures=settings.feed_max_failures,
        fetch_full_text=settings.fetch_full_text,
        notify=notify,
        idle_seconds=idle_seconds,
        max_chars=settings.max_article_chars,
        operator_feeds=settings.feeds,
        operator_interval_minutes=settings.feed_interval_minutes,
        lease_seconds=settings.lease_seconds,
        polls_due=settings.ingest == "here" if polls_due is None else polls_due,
    )
