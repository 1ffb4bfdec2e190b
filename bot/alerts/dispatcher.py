"""The outbox dispatcher: sends planned alerts to Discord, exactly once, within Discord's limits.

Each message is sent with a nonce fixed by what it delivers (discord.py then asks Discord to enforce
it), so a retry soon after an unknown outcome — the request went out, the answer never came back —
returns the first message instead of posting a second. Discord forgets nonces after a few minutes, so
the outbox row also records that an outcome was unknown, and the retry first looks for the message
among the channel's recent messages (it is marked sent if it is there).

One message may ping at most 100 users (Discord refuses more in ``allowed_mentions``) and hold 2000
characters: an alert with a larger following pings the rest in further messages that link to it. The
users still to ping are stored on the alert, so a retry after a partial send goes on where it stopped —
nobody is left out and nobody is pinged twice.

Outcomes of a send:

- sent → marked sent with the message id;
- 429 → retried when Discord says (:class:`discord.RateLimited`, raised by discord.py instead of sleeping
  longer than the client's ``max_ratelimit_timeout``, or the headers of a 429 it gave up on); a rate
  limit is not a failed attempt;
- 5xx, timeouts, dropped connections → retried with exponential backoff, up to :data:`MAX_ATTEMPTS`;
- 403 / 404 → the channel is gone or closed to the bot: its pending alerts are dropped, the server's
  alerts are switched off, and the server gets one notice;
- any other 4xx → dropped and logged (the payload itself is wrong; retrying cannot help).

Flood control: at most ``per_minute`` messages per channel per minute; what is due beyond that goes
out as one digest message listing the rest. Spike and scheduled-digest posts (outbox rows of their own
kind, with their embed planned in the row) go out first and are never folded into that digest.

Several dispatchers (one per gateway process) share one outbox: each pass claims the due alerts of a
few channels no other dispatcher holds (:data:`CHANNELS_PER_PASS`), with a lease (:mod:`bot.leases`)
renewed while it sends, and gives them back at its end; so each channel's flood control is one
dispatcher's at a time, and no alert is sent by two. A dispatcher that dies mid-pass holds its alerts
until the lease runs out; the one that takes them over treats each as an attempt with an unknown outcome
(the nonce, then the channel's recent messages), so an alert posted just before the crash is not posted
again. A gateway process serving some shards claims the alerts of its shards' servers only: the others'
channels are not in its cache.

Stories: an alert planned as an entry of its story's post (``thread_of``) is never a post of its own. It
goes into a thread on that post — made once, at the first entry; Discord gives a thread made on a message
the message's id, and answers a second attempt "already created", so a retry after an unknown outcome
finds the same thread. Where no thread can be made (no permission, a channel without threads, a locked
thread), the post's footer is edited to count the story's outlets ("3 outlets: AP, BBC, Reuters"); an
edit says the same however often it is repeated. Its pings, if any, go into the thread, or else in a
message that links to the post. An entry whose post is gone (deleted, or only listed in a flood-control
digest) posts on its own and becomes the story's post.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial

import aiohttp
import discord

from bot.leases import DEFAULT_LEASE_SECONDS, Lease, lease_owner
from bot.models import ChannelSettings, DueAlert, StoryPost, from_iso, to_iso
from bot.render import CONTENT_LIMIT, DISCORD, FOOTER_LIMIT, alert_message, message_text, truncate
from bot.store import Store
from bot.store.alerts import ShardFilter
from bot.wording import plural

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 600.0
DIGEST_LINES = 20
WINDOW = timedelta(minutes=1)
MAX_PINGS_PER_MESSAGE = 100  # Discord refuses a message whose allowed_mentions name more users
THREAD_NAME_LIMIT = 100
THREAD_ARCHIVE_MINUTES = 1440  # a day without messages, and a thread leaves the channel's list
MAX_FORUM_TAGS = 5
MAX_ROLE_PINGS = 20  # roles one alert pings: a role follow is a manager's choice, a handful per story
MENTION_CHARS = 1700  # of a message's 2000 characters, what its mentions may fill; the rest says why
DIGEST_MENTION_CHARS = 1000  # a digest keeps more room for its list
# Channels one delivery pass claims: the rest wait for the next pass (at once) or another dispatcher.
CHANNELS_PER_PASS = 10
HISTORY_LIMIT = 100  # recent messages searched for one whose send had an unknown outcome
CLOCK_SLACK = timedelta(minutes=1)  # our clock against Discord's, when searching from a time
THREAD_ALREADY_CREATED = 160004  # Discord's code: this message already has a thread
WAIT_FOR_POST = timedelta(seconds=2)  # an entry whose story's post is not out yet looks again after this
_OUTLETS_LINE = re.compile(r"\n-# \d+ (?:outlets|articles)\b[^\n]*$")  # a compact post's count, to replace

Notify = Callable[[int, str], Awaitable[None]]


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Seconds to wait before the next attempt: doubling from 2 s, capped at 10 min."""
    delay = min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)
    return max(delay, retry_after or 0.0)


def retry_after_of(exc: discord.HTTPException) -> float | None:
    """The wait a 429 asked for, from its headers (discord.py keeps no ``retry_after`` on the exception)."""
    headers = getattr(exc.response, "headers", None) or {}
    for name in ("X-RateLimit-Reset-After", "Retry-After"):
        try:
            seconds = float(headers[name])
        except (KeyError, TypeError, ValueError):
            continue
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    return None


def split_pings(user_ids: Sequence[int], max_chars: int = MENTION_CHARS) -> tuple[list[int], list[int]]:
    """The users one message pings — at most 100, their mentions within ``max_chars`` — and the rest."""
    length = -1
    for count, user_id in enumerate(user_ids):
        length += len(f" <@{user_id}>")
        if count == MAX_PINGS_PER_MESSAGE or length > max_chars:
            return list(user_ids[:count]), list(user_ids[count:])
    return list(user_ids), []


def mentions(user_ids: Sequence[int], role_ids: Sequence[int] = ()) -> str:
    """The mentions that ping ``role_ids`` and ``user_ids``."""
    return " ".join([*(f"<@&{role_id}>" for role_id in role_ids), *(f"<@{user_id}>" for user_id in user_ids)])


def followed_names(alert: DueAlert) -> str:
    """What the pinged users follow, as inert text."""
    names = [str(r["name"]) for r in alert.reasons if r.get("kind") == "follow"]
    return DISCORD.text(", ".join(dict.fromkeys(names)))


def ping_text(
    alert: DueAlert, user_ids: Sequence[int], role_ids: Sequence[int] = (), limit: int = 2000
) -> str | None:
    """The content of an alert's message, pinging ``role_ids`` and ``user_ids`` (one message's worth of
    its followers), within ``limit`` characters (the mentions must fit: the rest is cut)."""
    if not user_ids and not role_ids:
        return None
    pings = mentions(user_ids, role_ids)
    about = followed_names(alert)
    room = limit - len(pings)
    return pings + truncate(f" — new on {about}", room) if about and room > 12 else pings


def more_pings_text(alert: DueAlert, user_ids: Sequence[int], link: str) -> str:
    """A message pinging more followers of an alert already posted at ``link``."""
    pings = mentions(user_ids)
    about = (alert.status != "digested" and followed_names(alert)) or "what you follow"
    tail = f": {link}"
    return pings + truncate(f" — new on {about}", 2000 - len(pings) - len(tail)) + tail


def part_nonce(nonce: str, pings_left: int) -> str:
    """The nonce of the message that pings the next of an alert's ``pings_left`` users."""
    return hashlib.sha256(f"{nonce}:{pings_left}".encode()).hexdigest()[:25]


def allowed_pings(user_ids: Sequence[int], role_ids: Sequence[int] = ()) -> discord.AllowedMentions:
    """Only the followers may be pinged — the users, and the roles set to follow, each by id: never
    everyone, another role, or anyone the article text names."""
    return discord.AllowedMentions(
        everyone=False,
        roles=[discord.Object(id=r) for r in role_ids],
        replied_user=False,
        users=[discord.Object(id=u) for u in user_ids],
    )


def thread_name(title: str, article_id: int) -> str:
    """A forum post's or thread's name: the headline on one line, within Discord's 100 characters."""
    line = " ".join(title.split())
    return truncate(line, THREAD_NAME_LIMIT) if line else f"Article #{article_id}"


def forum_tags(
    available: Sequence[discord.ForumTag], wanted: Sequence[str], *, may_moderate: bool
) -> list[discord.ForumTag]:
    """The forum's tags for an article (at most 5, Discord's limit): those named like one of its topics or
    names, or like a word of one ("Lithium" for "lithium mining"), in the order of ``wanted``; moderated
    tags only when the bot may manage threads."""
    by_name = {tag.name.casefold(): tag for tag in available if may_moderate or not tag.moderated}
    chosen: dict[int, discord.ForumTag] = {}
    for text in wanted:
        folded = " ".join(text.casefold().split())
        for candidate in (folded, *folded.split(" ")):
            tag = by_name.get(candidate)
            if tag is not None and len(chosen) < MAX_FORUM_TAGS:
                chosen.setdefault(tag.id, tag)
    return list(chosen.values())


def pingable_roles(guild: discord.Guild | None, channel_id: int, role_ids: Sequence[int]) -> list[int]:
    """The roles of ``role_ids`` that a message from the bot in ``channel_id`` would ping: roles that still
    exist, not @everyone, and mentionable by anyone — or by the bot, where it has Mention Everyone there.
    Checked at each send: a role can be made unmentionable after it was set to follow something."""
    if guild is None or guild.me is None or not role_ids:
        return []
    channel = guild.get_channel_or_thread(channel_id)
    permissions = channel.permissions_for(guild.me) if channel is not None else guild.me.guild_permissions
    kept: list[int] = []
    for role_id in dict.fromkeys(role_ids):
        if len(kept) == MAX_ROLE_PINGS:
            break
        role = guild.get_role(role_id)
        if role is not None and not role.is_default() and (role.mentionable or permissions.mention_everyone):
            kept.append(role_id)
    return kept


def outlets_line(sources: Sequence[str | None]) -> str:
    """What a story's post holds, for its footer: "3 outlets: AP, BBC, Reuters" (or "2 articles")."""
    named = list(dict.fromkeys(s.strip() for s in sources if s and s.strip()))
    if len(named) < 2:
        return plural(len(sources), "article")
    return f"{len(named)} outlets: {', '.join(named)}"


def _shows_article(article_id: int, message: discord.Message) -> bool:
    """Whether ``message`` is the alert of ``article_id``: its embed's footer, or a compact alert's line
    (a digest lists ids too, but without the bold headline)."""
    compact = f"`#{article_id}` **"
    return any(line.startswith(compact) for line in message.content.splitlines()) or any(
        (embed.footer.text or "").startswith(f"Article #{article_id} ") for embed in message.embeds
    )


def _shows_title(title: str, message: discord.Message) -> bool:
    return any(embed.title == title for embed in message.embeds)


def _links_to(link: str, message: discord.Message) -> bool:
    return link in message.content


def _digest_lists(article_id: int, message: discord.Message) -> bool:
    return "(flood control)" in message.content and f"`#{article_id}`" in message.content


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to post for one alert (or a digest of several)."""

    content: str | None
    embed: discord.Embed | None
    pings: list[int]
    nonce: str
    looks_like: Callable[[discord.Message], bool]  # recognises it, posted, among the channel's messages
    role_pings: list[int] = field(default_factory=list)
    thread_name: str | None = None  # its forum post's name, or its thread's
    tags: list[str] = field(default_factory=list)  # what forum tags may match: topics and names


class AlertDispatcher:
    """Delivers the outbox. :meth:`run` loops until :meth:`stop`; :meth:`deliver_due` is one pass."""

    def __init__(
        self,
        client: discord.Client,
        store: Store,
        *,
        per_minute: int,
        prefix_for: Callable[[int], str],
        notify_guild: Notify,
        poll_seconds: float = 2.0,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        self.client = client
        self.store = store
        self.per_minute = per_minute
        self.prefix_for = prefix_for
        self.notify_guild = notify_guild
        self.poll_seconds = poll_seconds
        self.passes = 0  # delivery passes completed (tests wait on it before asserting nothing more was sent)
        self.lease = Lease(lease_owner("alerts"), lease_seconds, store.alerts.renew)
        self._stopping = asyncio.Event()
        self._pass = asyncio.Lock()  # one pass at a time: a pass gives back every lease of this dispatcher

    def stop(self) -> None:
        """Finish the current pass and return from :meth:`run`."""
        self._stopping.set()
        self.store.alerts.planned.set()

    def shards(self) -> ShardFilter | None:
        """The shards whose servers' alerts this dispatcher sends (``None``: every server's): those its
        client serves, when it serves some of several."""
        count = self.client.shard_count
        ids = getattr(self.client, "shard_ids", None)
        if ids is None and self.client.shard_id is not None:
            ids = [self.client.shard_id]
        return (tuple(ids), count) if ids is not None and count is not None and count > 1 else None

    async def run(self) -> None:
        """Deliver due alerts, then sleep until new ones are planned or a retry falls due; renew the
        leases of a pass under way meanwhile."""
        renewing = asyncio.create_task(self.lease.run(), name="alert-leases")
        try:
            while not self._stopping.is_set():
                self.store.alerts.planned.clear()
                try:
                    await self.deliver_due()
                except Exception:
                    log.exception("alert delivery pass failed; retrying shortly")
                self.passes += 1
                await self._sleep()
        finally:
            self.lease.stop()
            await renewing

    async def _sleep(self) -> None:
        timeout = self.poll_seconds  # another process (a worker, newsdesk index) may write the outbox too
        due = await self.store.alerts.next_due(self.lease.owner, shards=self.shards())
        if due is not None:
            wait = from_iso(due) - datetime.now(UTC)
            timeout = min(timeout, max(wait.total_seconds(), 0.05))
        try:
            await asyncio.wait_for(self.store.alerts.planned.wait(), timeout)
        except TimeoutError:
            pass

    async def deliver_due(self) -> int:
        """Send every alert that is due now (that this dispatcher could claim); returns how many were
        delivered (digested ones included). The alerts are given back at the end, whatever happened."""
        async with self._pass:
            now = datetime.now(UTC)
            owner = self.lease.owner
            due = await self.store.alerts.claim(
                owner, to_iso(now), self.lease.until(), channels=CHANNELS_PER_PASS, shards=self.shards()
            )
            if not due:
                return 0
            try:
                by_channel: dict[int, list[DueAlert]] = defaultdict(list)
                for alert in due:
                    by_channel[alert.channel_id].append(alert)
                delivered = 0
                for channel_id, alerts in by_channel.items():
                    delivered += await self._deliver_channel(channel_id, alerts, now)
                return delivered
            finally:
                # Shielded: a pass cancelled at shutdown still gives its alerts back to the next dispatcher.
                await asyncio.shield(self.store.alerts.release(owner))

    async def _deliver_channel(self, channel_id: int, alerts: list[DueAlert], now: datetime) -> int:
        for alert in alerts:
            if alert.message_id is not None and await self._send_more_pings(alert) == "channel lost":
                return 0
        delivered = 0
        settings = (await self.store.alerts.channel_settings([channel_id]))[channel_id]
        # Spikes and digests are few (one per story or period) and never folded into a flood digest.
        for post in [alert for alert in alerts if alert.message_id is None and alert.kind != "article"]:
            outcome = await self._send_post(post, settings)
            if outcome == "channel lost":
                return delivered
            delivered += outcome == "sent"
        posts = [a for a in alerts if a.message_id is None and a.kind == "article" and a.thread_of is None]
        posted = await self._deliver_posts(channel_id, posts, now, settings)
        if posted < 0:
            return delivered
        delivered += posted
        for alert in alerts:
            if alert.message_id is None and alert.thread_of is not None:
                outcome = await self._send_entry(alert, settings)
                if outcome == "channel lost":
                    break
                delivered += outcome == "sent"
        return delivered

    async def _deliver_posts(
        self, channel_id: int, fresh: list[DueAlert], now: datetime, settings: ChannelSettings
    ) -> int:
        """Post articles' alerts of their own, within flood control; -1 when the channel was lost."""
        sent_recently = await self.store.alerts.sent_since(channel_id, to_iso(now - WINDOW))
        room = self.per_minute - sent_recently
        delivered = 0
        for position, alert in enumerate(fresh):
            if room <= 0:
                rest = fresh[position:]
                if room == 0:  # one digest per window, on top of the individual alerts
                    delivered += await self._send_digest(rest)
                return delivered
            outcome = await self._send_one(alert, settings)
            if outcome == "channel lost":
                return -1
            if outcome == "sent":
                delivered += 1
                room -= 1
        return delivered

    async def _send_post(self, alert: DueAlert, settings: ChannelSettings | None = None) -> str:
        """Send a spike or a digest: its embed as planned, pinging its followers. In a forum it is a post
        of its own, tagged like its reasons ("trending", a followed name); in a channel with ``alerts here
        threads`` it opens a thread, as an article's alert does. The channel's format is for articles."""
        settings = settings or ChannelSettings()
        payload = alert.payload or {}
        embed = discord.Embed.from_dict(payload["embed"])
        pings, rest = split_pings(alert.ping_user_ids)
        name = " ".join((embed.title or "").split()) or " ".join(str(payload.get("about", "")).split()) or "News"
        about = DISCORD.text(str(payload.get("about", "")))
        content = mentions(pings) + truncate(f" — {about}", 2000 - len(mentions(pings))) if pings else None
        outgoing = Outgoing(
            content=content,
            embed=embed,
            pings=pings,
            nonce=alert.nonce,
            looks_like=partial(_shows_title, embed.title or ""),
            thread_name=truncate(name, THREAD_NAME_LIMIT),
            tags=[str(r["name"]) for r in alert.reasons if r.get("name")],
        )
        return await self._deliver(alert, outgoing, rest, settings)

    async def _send_one(self, alert: DueAlert, settings: ChannelSettings | None = None) -> str:
        assert alert.article_id is not None  # an article's alert
        settings = settings or ChannelSettings()
        article = await self.store.articles.get(alert.article_id)
        if article is None:
            await self.store.alerts.mark_dropped(alert.id, "the article was removed before it could be sent")
            return "dropped"
        line, embed = alert_message(article, settings.format, self.prefix_for(alert.guild_id))
        below = f"\n{line}" if line else ""  # a compact alert's line, under its pings
        roles = pingable_roles(self.client.get_guild(alert.guild_id), alert.channel_id, alert.ping_role_ids)
        # Role mentions come first and take room from the users' (a few hundred characters at most); the
        # users this message cannot hold are pinged in the messages that follow it.
        pings, rest = split_pings(alert.ping_user_ids, max(0, MENTION_CHARS - len(below) - len(mentions((), roles))))
        ping_line = ping_text(alert, pings, roles, limit=CONTENT_LIMIT - len(below))
        outgoing = Outgoing(
            content=f"{ping_line}{below}" if ping_line else line,
            embed=embed,
            pings=pings,
            nonce=alert.nonce,
            looks_like=partial(_shows_article, alert.article_id),
            role_pings=roles,
            thread_name=thread_name(article.title, article.id),
            tags=[t.name for t in article.topics] + [e.name for e in article.entities if e.salience >= 0.2],
        )
        return await self._deliver(alert, outgoing, rest, settings)

    async def _deliver(self, alert: DueAlert, outgoing: Outgoing, rest: list[int], settings: ChannelSettings) -> str:
        """Post one alert's message (a thread on it when the channel asks), record it as sent, then ping the
        users ``rest`` that its message could not hold."""
        message = await self._post([alert], outgoing)
        if isinstance(message, str):
            return message
        thread_id = await self._thread_of(message, outgoing.thread_name, open_one=settings.threads)
        await self.store.alerts.mark_sent([alert.id], message.id, pings_left=rest, thread_id=thread_id)
        if rest:
            sent = replace(
                alert,
                status="sent",
                message_id=message.id,
                thread_id=thread_id,
                pings_left=rest,
                unknown_since=None,
                attempts=0,
            )
            if await self._send_more_pings(sent) == "channel lost":
                return "channel lost"
        return "sent"

    async def _send_entry(self, alert: DueAlert, settings: ChannelSettings) -> str:
        """Add an alert to its story's post: into the post's thread, or else into its footer."""
        post = await self.store.alerts.story_post(alert.thread_of) if alert.thread_of is not None else None
        if post is None or post.status not in ("pending", "sent"):
            await self.store.alerts.promote(alert.id)
            return "promoted"
        if post.message_id is None:
            later = max(from_iso(post.next_attempt_at), datetime.now(UTC) + WAIT_FOR_POST)
            await self.store.alerts.mark_retry(alert.id, "waiting for its story's post", to_iso(later), counts=False)
            return "waiting"
        thread_id = post.thread_id
        if thread_id is None:
            opened = await self._open_thread(alert, post)
            if isinstance(opened, str):
                return opened
            thread_id = opened
        if thread_id:
            outcome = await self._send_in_thread(alert, thread_id, settings)
            if outcome != "no thread":
                return outcome
            await self.store.alerts.set_thread(post.id, 0)
        return await self._count_in_footer(alert, post, settings)

    async def _open_thread(self, alert: DueAlert, post: StoryPost) -> int | str:
        """Make the thread on a story's post: its id, 0 when none can be made there, or what became of
        the alert when it cannot be known yet."""
        assert post.message_id is not None
        article = await self.store.articles.get(post.article_id)
        name = thread_name(article.title if article else "", post.article_id)
        try:
            await self.client.http.start_thread_with_message(
                post.channel_id, post.message_id, name=name, auto_archive_duration=THREAD_ARCHIVE_MINUTES
            )
            thread_id = post.message_id
        except discord.NotFound:  # the post was deleted: this article posts on its own
            await self.store.alerts.promote(alert.id)
            return "promoted"
        except discord.Forbidden:
            thread_id = 0
        except discord.RateLimited as exc:
            return await self._failed([alert], exc, 429, exc.retry_after)
        except discord.HTTPException as exc:
            if exc.status == 429:  # a rate limit discord.py gave up waiting for: not a refusal
                return await self._failed([alert], exc, 429, retry_after_of(exc))
            if exc.status >= 500:
                return await self._failed([alert], exc, exc.status, retry_after_of(exc), to_iso(datetime.now(UTC)))
            # "Already created" is our own earlier attempt, whose answer was lost; any other refusal (a
            # channel type without threads) means the footer will do.
            thread_id = post.message_id if exc.code == THREAD_ALREADY_CREATED else 0
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return await self._failed([alert], exc, None, None, to_iso(datetime.now(UTC)))
        await self.store.alerts.set_thread(post.id, thread_id)
        return thread_id

    async def _send_in_thread(self, alert: DueAlert, thread_id: int, settings: ChannelSettings) -> str:
        """Post an entry in its story's thread (a forum post's, or the one on the story's message), in the
        channel's format; "no thread" when the thread refuses it."""
        assert alert.article_id is not None  # an article's alert
        article = await self.store.articles.get(alert.article_id)
        if article is None:
            await self.store.alerts.mark_dropped(alert.id, "the article was removed before it could be sent")
            return "dropped"
        line, embed = alert_message(article, settings.format, self.prefix_for(alert.guild_id))
        below = f"\n{line}" if line else ""
        roles = pingable_roles(self.client.get_guild(alert.guild_id), alert.channel_id, alert.ping_role_ids)
        pings, rest = split_pings(alert.ping_user_ids, max(0, MENTION_CHARS - len(below) - len(mentions((), roles))))
        ping_line = ping_text(alert, pings, roles, limit=CONTENT_LIMIT - len(below))
        outgoing = Outgoing(
            content=f"{ping_line}{below}" if ping_line else line,
            embed=embed,
            pings=pings,
            nonce=alert.nonce,
            looks_like=partial(_shows_article, alert.article_id),
            role_pings=roles,
        )
        message = await self._post([alert], outgoing, channel_id=thread_id, in_thread=True)
        if isinstance(message, str):
            return message
        await self.store.alerts.mark_sent([alert.id], message.id, pings_left=rest, thread_id=thread_id)
        if rest:
            sent = replace(
                alert,
                status="sent",
                message_id=message.id,
                thread_id=thread_id,
                pings_left=rest,
                unknown_since=None,
                attempts=0,
            )
            if await self._send_more_pings(sent) == "channel lost":
                return "channel lost"
        return "sent"

    async def _count_in_footer(self, alert: DueAlert, post: StoryPost, settings: ChannelSettings) -> str:
        """Count an entry on its story's post (where no thread can be made): in its embed's footer, or
        under a compact post's line; its pings follow in messages that link to the post."""
        assert post.message_id is not None and alert.article_id is not None
        article = await self.store.articles.get(alert.article_id)
        if article is None:
            await self.store.alerts.mark_dropped(alert.id, "the article was removed before it could be sent")
            return "dropped"
        first = await self.store.articles.get(post.article_id)
        if first is None:  # the post's own article left the index: nothing to count it in
            await self.store.alerts.promote(alert.id)
            return "promoted"
        outlets = outlets_line([*await self.store.alerts.story_outlets(post.id), article.source])
        _, embed = alert_message(first, settings.format, self.prefix_for(post.guild_id))
        message = self.client.get_partial_messageable(post.channel_id, guild_id=post.guild_id).get_partial_message(
            post.message_id
        )
        try:
            if embed is not None:
                embed.set_footer(text=truncate(f"{embed.footer.text} · {outlets}", FOOTER_LIMIT))
                await message.edit(embed=embed)
            else:  # a compact post: its content, with the count on a line of its own
                content = _OUTLETS_LINE.sub("", (await message.fetch()).content)
                await message.edit(
                    content=truncate(content, CONTENT_LIMIT - len(outlets) - 4) + f"\n-# {outlets}",
                    allowed_mentions=discord.AllowedMentions.none(),
                )
        except discord.NotFound:
            await self.store.alerts.promote(alert.id)
            return "promoted"
        except discord.Forbidden as exc:
            await self._channel_lost(alert, exc)
            return "channel lost"
        except discord.RateLimited as exc:
            return await self._failed([alert], exc, 429, exc.retry_after)
        except discord.HTTPException as exc:
            return await self._failed([alert], exc, exc.status, retry_after_of(exc))
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return await self._failed([alert], exc, None, None)
        await self.store.alerts.mark_sent([alert.id], post.message_id, pings_left=alert.ping_user_ids)
        if alert.ping_user_ids:
            sent = replace(
                alert,
                status="sent",
                message_id=post.message_id,
                pings_left=alert.ping_user_ids,
                unknown_since=None,
                attempts=0,
            )
            if await self._send_more_pings(sent) == "channel lost":
                return "channel lost"
        return "sent"

    async def _send_more_pings(self, alert: DueAlert) -> str:
        """Ping the followers an alert's own message could not, one message of them at a time."""
        where = alert.thread_id or alert.channel_id
        link = f"https://discord.com/channels/{alert.guild_id}/{where}/{alert.message_id}"
        while alert.pings_left:
            pings, rest = split_pings(alert.pings_left)
            outgoing = Outgoing(
                content=more_pings_text(alert, pings, link),
                embed=None,
                pings=pings,
                nonce=part_nonce(alert.nonce, len(alert.pings_left)),
                looks_like=partial(_links_to, link),
            )
            message = await self._post([alert], outgoing, channel_id=alert.thread_id)
            if isinstance(message, str):
                return message
            await self.store.alerts.mark_pinged(alert.id, rest)
            alert = replace(alert, pings_left=rest, unknown_since=None, attempts=0)
        return "sent"

    async def _send_digest(self, alerts: list[DueAlert]) -> int:
        lines = []
        for alert in alerts[:DIGEST_LINES]:
            article = await self.store.articles.get(alert.article_id) if alert.article_id is not None else None
            title = DISCORD.text(article.title) if article else "(removed)"
            lines.append(f"`#{alert.article_id}` {truncate(title, 150)}")
        more = len(alerts) - DIGEST_LINES
        if more > 0:
            lines.append(f"…and {more} more.")
        prefix = self.prefix_for(alerts[0].guild_id)
        wanted_roles = [r for a in alerts for r in a.ping_role_ids]
        roles = pingable_roles(self.client.get_guild(alerts[0].guild_id), alerts[0].channel_id, wanted_roles)
        users = list(dict.fromkeys(u for a in alerts for u in a.ping_user_ids))
        pings, rest = split_pings(users, DIGEST_MENTION_CHARS - len(mentions((), roles)))
        header = f"{len(alerts)} more new articles (flood control). Use {prefix}summary <id> for any of them."
        listing = "\n".join([header, *lines])
        ping_line = mentions(pings, roles)
        content = f"{truncate(listing, 1999 - len(ping_line))}\n{ping_line}" if ping_line else listing
        outgoing = Outgoing(
            content=truncate(content, 2000),
            embed=None,
            pings=pings,
            nonce=f"digest{alerts[0].id}",
            looks_like=partial(_digest_lists, alerts[0].article_id or 0),
            role_pings=roles,
            thread_name=f"{len(alerts)} more new articles",
        )
        message = await self._post(alerts, outgoing)
        if isinstance(message, str):
            return 0
        thread_id = await self._thread_of(message, outgoing.thread_name, open_one=False)
        await self.store.alerts.mark_sent(
            [a.id for a in alerts], message.id, status="digested", pings_left=rest, thread_id=thread_id
        )
        if rest:
            first = replace(
                alerts[0],
                status="digested",
                message_id=message.id,
                thread_id=thread_id,
                pings_left=rest,
                unknown_since=None,
                attempts=0,
            )
            await self._send_more_pings(first)
        return len(alerts)

    async def _post(
        self, alerts: list[DueAlert], outgoing: Outgoing, *, channel_id: int | None = None, in_thread: bool = False
    ) -> discord.Message | str:
        """Post one message for ``alerts`` in their channel (or in ``channel_id``, a thread of it) — unless
        an earlier attempt whose outcome was unknown did. In a forum channel the message is a new post.

        Returns the message, or what became of the alerts when it could not be posted ("no thread" when
        the thread refused it: the channel itself may be fine).
        """
        first = alerts[0]
        target = channel_id or first.channel_id
        forum = self.client.get_channel(target)
        channel = self.client.get_partial_messageable(target, guild_id=first.guild_id)
        attempted_at = to_iso(datetime.now(UTC))
        unknown_since = [a.unknown_since for a in alerts if a.unknown_since]
        try:
            if isinstance(forum, discord.ForumChannel):
                return await self._post_in_forum(forum, outgoing, unknown_since)
            if unknown_since:
                posted = await self._find_posted(channel, from_iso(min(unknown_since)), outgoing)
                if posted is not None:
                    log.info("alert %s was posted by an earlier attempt (message %s)", first.id, posted.id)
                    return posted
            return await channel.send(
                content=outgoing.content,
                embed=outgoing.embed,
                nonce=outgoing.nonce,
                allowed_mentions=allowed_pings(outgoing.pings, outgoing.role_pings),
            )
        except (discord.Forbidden, discord.NotFound) as exc:
            if in_thread:  # a story's thread refused it (locked, deleted): the channel itself may be fine
                return "no thread"
            await self._channel_lost(first, exc)
            return "channel lost"
        except discord.RateLimited as exc:
            return await self._failed(alerts, exc, 429, exc.retry_after)
        except discord.HTTPException as exc:
            unknown = attempted_at if exc.status >= 500 else None  # Discord may have posted it before failing
            return await self._failed(alerts, exc, exc.status, retry_after_of(exc), unknown)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return await self._failed(alerts, exc, None, None, attempted_at)

    async def _post_in_forum(
        self, forum: discord.ForumChannel, outgoing: Outgoing, unknown_since: list[str]
    ) -> discord.Message:
        """One post in a forum: the alert's message opens it, named after the article and tagged with
        the forum's tags that match its topics and names. Creating a thread takes no nonce: after an
        unknown outcome, the bot's posts since then are searched for it first."""
        me = self.client.user
        if unknown_since and me is not None:
            since = from_iso(min(unknown_since)) - CLOCK_SLACK
            for thread in forum.threads:
                created = thread.created_at or discord.utils.snowflake_time(thread.id)
                if thread.owner_id == me.id and thread.name == outgoing.thread_name and created >= since:
                    log.info("forum post %s was made by an earlier attempt", thread.id)
                    return await thread.fetch_message(thread.id)
        may_moderate = forum.permissions_for(forum.guild.me).manage_threads
        tags = forum_tags(forum.available_tags, outgoing.tags, may_moderate=may_moderate)
        posted = await forum.create_thread(
            name=outgoing.thread_name or "News",
            content=outgoing.content,
            embed=outgoing.embed or discord.utils.MISSING,
            applied_tags=tags,
            allowed_mentions=allowed_pings(outgoing.pings, outgoing.role_pings),
            auto_archive_duration=THREAD_ARCHIVE_MINUTES,
        )
        return posted.message

    async def _thread_of(self, message: discord.Message, name: str | None, *, open_one: bool) -> int | None:
        """The thread an alert's message lives in (a forum post) or, with ``open_one`` (``alerts here
        threads``), the thread opened on it for discussion; a thread that cannot be opened leaves the alert
        posted without one (logged), as the article itself reached the channel."""
        if isinstance(message.channel, discord.Thread):
            return message.channel.id
        if not open_one:
            return None
        try:
            thread = await message.create_thread(name=name or "News", auto_archive_duration=THREAD_ARCHIVE_MINUTES)
        except discord.HTTPException as exc:
            log.warning("no thread opened on alert message %s: %s", message.id, exc)
            return None
        return thread.id

    async def _find_posted(
        self, channel: discord.PartialMessageable, since: datetime, outgoing: Outgoing
    ) -> discord.Message | None:
        """The bot's message in ``channel`` that is ``outgoing``, posted since ``since``, if any."""
        me = self.client.user
        wanted = set(outgoing.pings)
        wanted_roles = set(outgoing.role_pings)
        async for message in channel.history(limit=HISTORY_LIMIT, after=since - CLOCK_SLACK, oldest_first=True):
            if (
                me is not None
                and message.author.id == me.id
                and message.interaction_metadata is None
                and message.reference is None
                and set(message.raw_mentions) == wanted
                and set(message.raw_role_mentions) == wanted_roles
                and outgoing.looks_like(message)
            ):
                return message
        return None

    async def _failed(
        self,
        alerts: list[DueAlert],
        exc: BaseException,
        status: int | None,
        retry_after: float | None,
        unknown_since: str | None = None,
    ) -> str:
        description = f"{type(exc).__name__}: {exc}"[:300]
        rate_limited = status == 429
        retryable = status is None or status >= 500 or rate_limited
        outcome = "retry"
        for alert in alerts:
            attempts = alert.attempts + (not rate_limited)
            if not retryable or attempts >= MAX_ATTEMPTS:
                log.error(
                    "alert %s for article %s %s after %s: %s",
                    alert.id,
                    alert.article_id,
                    "dropped" if alert.message_id is None else "posted, but the rest of its pings dropped",
                    plural(attempts, "attempt"),
                    description,
                )
                await self.store.alerts.mark_dropped(alert.id, description)
                outcome = "dropped"
                continue
            delay = backoff(attempts, retry_after)
            log.warning("alert %s failed (%s); retrying in %.0f s", alert.id, description, delay)
            await self.store.alerts.mark_retry(
                alert.id,
                description,
                to_iso(datetime.now(UTC) + timedelta(seconds=delay)),
                counts=not rate_limited,
                unknown_since=unknown_since,
            )
        return outcome

    async def _channel_lost(self, alert: DueAlert, exc: discord.HTTPException) -> None:
        reason = (
            "the channel no longer exists"
            if isinstance(exc, discord.NotFound)
            else ("I am no longer allowed to post there")
        )
        log.warning("alerts for channel %s switched off: %s (%s)", alert.channel_id, reason, exc.text)
        guilds = await self.store.alerts.channel_lost(alert.channel_id, reason)
        for guild_id in guilds or [alert.guild_id]:
            await self.notify_guild(
                guild_id,
                message_text(
                    f"News alerts are switched off: {reason} (channel {alert.channel_id}). "
                    f"A manager can pick a channel again with {self.prefix_for(guild_id)}alerts here."
                ),
            )
