"""Alerts in the running bot: the outbox dispatcher, retention, the spike watch, the digest scheduler,
notices to servers, and the alert commands (alerts, spikes, follows, digests, the time zone).

:class:`AlertService` is created and started by the bot's ``setup_hook`` and stopped by its ``close``,
from explicit parts (the store, the settings, the answers that resolve names, the Discord client and the
prefix of each server): it knows nothing of the bot class. The alerts cog only parses input and calls the
methods here. Each command method is catalogued
(:mod:`bot.catalogue`) and returns an answer object (:mod:`bot.alerts.answers`) that :mod:`bot.render`
formats: no Discord markup is made here.
"""

from __future__ import annotations

import asyncio
import logging
import re
import zoneinfo
from collections.abc import Callable
from datetime import datetime, timedelta

import discord

from bot.alerts.answers import (
    AlertsFormat,
    AlertsOff,
    AlertsOn,
    AlertsStatus,
    DigestOff,
    DigestSet,
    DigestStatus,
    FiltersAnswer,
    Followed,
    FollowingAnswer,
    TimezoneAnswer,
    TrendingAlertsOff,
    TrendingAlertsOn,
    Unfollowed,
    WhyAnswer,
)
from bot.alerts.digests import DigestScheduler
from bot.alerts.dispatcher import AlertDispatcher, pingable_roles
from bot.alerts.filters import MAX_RULES, FilterRule, RuleError, regex_rule, split_rule, words_rule
from bot.alerts.retention import OutboxRetention
from bot.alerts.spikes import SpikeWatch
from bot.answers import Answers, Choices, NotFound, Resolved, UserError, Wanted, is_number, parse_article_id
from bot.catalogue import command
from bot.config import Settings
from bot.digests import DigestSchedule, next_run, parse_time, parse_weekday, zone_named
from bot.ingest.fetch import redact_url
from bot.models import ALERT_FORMATS, EVERYTHING, Clock, Follow, RoleFollow, Viewer, to_iso, utc_now
from bot.nlp.names import name_key
from bot.nlp.topics import topic_key
from bot.render import message_text
from bot.replies import NO_PINGS
from bot.store import Store

log = logging.getLogger(__name__)

_ROLE_AT_END = re.compile(r"\s*<@&([0-9]{1,20})>(\s+spikes)?\s*$", re.IGNORECASE)


def split_role(text: str) -> tuple[str, int | None]:
    """``"Milei <@&42>"`` → ``("Milei", 42)``: what to follow, and the role mentioned after it, if any. A
    trailing ``spikes`` stays with what to follow (``"Milei <@&42> spikes"`` → ``("Milei spikes", 42)``),
    so that ``follow`` can say a role is not pinged for spikes only."""
    match = _ROLE_AT_END.search(text)
    if match is None:
        return text, None
    return text[: match.start()] + (" spikes" if match.group(2) else ""), int(match.group(1))


async def build_rule(
    answers: Answers, text: str, command: str, *, viewer: Viewer = EVERYTHING
) -> FilterRule | Choices | NotFound:
    """A filter rule from what a manager typed (see :mod:`bot.alerts.filters`): names and topics are
    resolved as ``follow`` resolves them, among what ``viewer`` (the manager's server) sees (one not in the
    index yet is kept as typed); ``command`` is the one to ask again with when a name is ambiguous."""
    try:
        parsed = split_rule(text)
        if parsed.kind in ("words", "section"):
            return words_rule(parsed)
        if parsed.kind == "regex":
            return regex_rule(parsed)
    except RuleError as exc:
        raise UserError(str(exc)) from None
    keys: list[str] = []
    labels: list[str] = []
    for value in parsed.values:
        if parsed.kind == "has":
            found = await answers.resolve(value, Wanted.NAME, command, viewer=viewer)
            if isinstance(found, NotFound) and name_key(value):
                found = Resolved("entity", name_key(value), value)  # named by no article yet
        else:
            found = await answers.resolve(value, Wanted.TOPIC, command, viewer=viewer)
            if isinstance(found, NotFound) and topic_key(value):
                found = Resolved("topic", topic_key(value), value)
        if not isinstance(found, Resolved):
            return found
        keys.append(found.key)
        labels.append(found.name)
    if not keys:
        raise UserError("Say what the filter looks for, like: has:Javier Milei.")
    return FilterRule(parsed.kind, parsed.negate, tuple(keys), tuple(labels))


async def change_filters(
    store: Store,
    answers: Answers,
    *,
    guild_id: int,
    user_id: int,
    scope: str,
    scope_id: int,
    text: str | None,
    command: str,
    name: str | None = None,
) -> FiltersAnswer | Choices | NotFound:
    """Show, add (a rule), remove (``remove <number>``) or clear (``clear``) the filters of a feed or a
    channel: what ``alerts filter`` and ``source filter`` share."""
    words = " ".join((text or "").split())
    kind = "channel" if scope == "channel" else "source"

    async def rules() -> list[FilterRule]:
        return (await store.alerts.filters(scope, [scope_id])).get(scope_id, [])

    if not words:
        return FiltersAnswer(kind, scope_id, await rules(), name=name)
    if words.lower() == "clear":
        count = await store.alerts.remove_filters(guild_id, scope, scope_id)
        return FiltersAnswer(kind, scope_id, [], "cleared", count=count, name=name)
    head, _, rest = words.partition(" ")
    if head.lower() == "remove" and is_number(rest.strip().lstrip("#")):
        number = int(rest.strip().lstrip("#"))
        if not await store.alerts.remove_filters(guild_id, scope, scope_id, number):
            raise UserError(f"There is no filter {number} here; the list shows their numbers.")
        return FiltersAnswer(kind, scope_id, await rules(), "removed", count=number, name=name)
    if len(await rules()) >= MAX_RULES:
        raise UserError(f"There are {MAX_RULES} filters here already; remove one first.")
    rule = await build_rule(answers, words, command, viewer=Viewer.server(guild_id))
    if not isinstance(rule, FilterRule):
        return rule
    number = await store.alerts.add_filter(guild_id, scope, scope_id, rule, user_id)
    added = FilterRule(rule.kind, rule.negate, rule.values, rule.labels, number)
    return FiltersAnswer(kind, scope_id, await rules(), "added", added, name=name)


def _when(moment: datetime) -> str:
    """A local time as a digest announces it: "Mon 8 Dec 08:00"."""
    return f"{moment:%a} {moment.day} {moment:%b %H:%M}"


def known_zone(name: str) -> str | None:
    """The IANA name of the zone ``name`` stands for, whatever its case ("europe/london" → Europe/London)."""
    try:
        zone_named(name)
        return name
    except ValueError:
        pass
    folded = name.casefold()
    matches = [zone for zone in zoneinfo.available_timezones() if zone.casefold() == folded]
    return matches[0] if matches else None


class AlertService:
    """Owns the background alert tasks (delivery, retention, spikes, digests) and answers the alert, digest
    and time zone commands."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        answers: Answers,
        client: discord.Client,
        prefix_for: Callable[[int], str],
        clock: Clock = utc_now,
        owns_guild: Callable[[int], bool] = lambda guild_id: True,
    ) -> None:
        """``owns_guild`` tells the servers whose spikes and digests this process plans: all of them, unless
        several gateway processes share the index (:mod:`bot.shards`)."""
        self.store = store
        self.settings = settings
        self.answers = answers
        self.client = client
        self.dispatcher = AlertDispatcher(
            client,
            store,
            per_minute=settings.alerts_per_minute,
            prefix_for=prefix_for,
            notify_guild=self.notify_guild,
            lease_seconds=settings.lease_seconds,
        )
        self.retention = OutboxRetention(self.store, retention_days=self.settings.retention_days)
        self.spikes = SpikeWatch(
            store, answers, every=timedelta(minutes=settings.spike_check_minutes), clock=clock, owns=owns_guild
        )
        self.digests = DigestScheduler(
            store, answers, every=timedelta(minutes=settings.digest_check_minutes), clock=clock, owns=owns_guild
        )
        self.clock = clock
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start delivering, pruning, looking for spikes and planning digests."""
        for name, runner in (
            ("alerts-dispatcher", self.dispatcher.run),
            ("alerts-retention", self.retention.run),
            ("alerts-spikes", self.spikes.run),
            ("alerts-digests", self.digests.run),
        ):
            self._tasks.append(asyncio.create_task(runner(), name=name))

    async def stop(self) -> None:
        """Let in-flight sends finish, then stop the tasks."""
        self.dispatcher.stop()
        self.retention.stop()
        self.spikes.stop()
        self.digests.stop()
        done, pending = await asyncio.wait(self._tasks, timeout=10) if self._tasks else (set(), set())
        for task in pending:
            task.cancel()
        for task in done:
            if not task.cancelled() and task.exception():
                log.error("alert task %s ended with an error", task.get_name(), exc_info=task.exception())

    # ------------------------------------------------------------------------------------ notices

    async def notify_guild(self, guild_id: int, text: str) -> None:
        """Tell a server something (its system channel, else the first channel the bot may post in)."""
        guild = self.client.get_guild(guild_id)
        if guild is None:
            log.warning("notice for unknown server %s: %s", guild_id, redact_url(text))
            return
        candidates = [guild.system_channel, *guild.text_channels]
        for channel in candidates:
            if channel is not None and channel.permissions_for(guild.me).send_messages:
                try:
                    await channel.send(text, allowed_mentions=NO_PINGS)
                    return
                except discord.HTTPException:
                    continue
        log.warning("no channel to tell server %s: %s", guild_id, redact_url(text))

    async def notify_channel(self, guild_id: int, channel_id: int, text: str) -> None:
        """Tell a server something in one of its channels (where a feed was added), else as :meth:`notify_guild`."""
        try:
            await self.client.get_partial_messageable(channel_id, guild_id=guild_id).send(
                message_text(text), allowed_mentions=NO_PINGS
            )
        except discord.HTTPException:
            await self.notify_guild(guild_id, message_text(text))

    # ----------------------------------------------------------------------------------- commands

    @command(
        "alerts",
        "alerts [here [threads] | off | format <format> | filter <rule> | trending <here | off>]",
        "Where and how new articles and spikes are posted here: here, off, format, filter, trending.",
        "alerts here",
        where="server",
    )
    async def alerts_status(self, guild_id: int) -> AlertsStatus:
        """Where this server's new articles are posted and how, and where its spikes are."""
        alerts = self.store.alerts
        channel_id = await alerts.channel(guild_id)
        trending_channel_id = await alerts.trending_channel(guild_id)
        if channel_id is None:
            return AlertsStatus(None, trending_channel_id=trending_channel_id)
        settings = (await alerts.channel_settings([channel_id]))[channel_id]
        rules = (await alerts.filters("channel", [channel_id])).get(channel_id, [])
        return AlertsStatus(channel_id, settings.format, settings.threads, len(rules), trending_channel_id)

    @command(
        "alerts here",
        "alerts here [threads]",
        "Post every new article here: a post each in a forum; with threads, a thread each (Manage Server).",
        "alerts here threads",
        where="server",
    )
    async def alerts_here(
        self, guild_id: int, channel_id: int, user_id: int, mode: str | None = None, *, forum: bool = False
    ) -> AlertsOn:
        """Make this channel the server's alert channel; ``forum`` (asked in a post of a forum): the forum
        gets one post per article, tagged from its topics; ``mode`` ``threads`` (a text channel): each
        alert opens a thread for discussion."""
        threads = (mode or "").strip().lower()
        if threads not in ("", "threads"):
            raise UserError("Say alerts here, or alerts here threads for a thread on each article.")
        channel = self.client.get_channel(channel_id)
        guild = self.client.get_guild(guild_id)
        me = guild.me if guild is not None else None
        if threads and (forum or not isinstance(channel, discord.TextChannel)):
            raise UserError("Threads open on articles in a text channel; in a forum every article is a post already.")
        if forum and isinstance(channel, discord.ForumChannel) and me is not None:
            allowed = channel.permissions_for(me)
            if not (allowed.send_messages and allowed.embed_links):
                raise UserError("I need the Create Posts and Embed Links permissions in this forum for that.")
        if (
            threads
            and isinstance(channel, discord.TextChannel)
            and me is not None
            and not channel.permissions_for(me).create_public_threads
        ):
            raise UserError("I need the Create Public Threads permission here to open a thread on each article.")
        await self.store.alerts.set_channel(guild_id, channel_id, user_id)
        await self.store.alerts.set_threads(guild_id, channel_id, bool(threads), user_id)
        return AlertsOn(channel_id, threads=bool(threads), forum=forum)

    @command(
        "alerts off",
        "alerts off",
        "Stop posting every new article in this server (Manage Server).",
        "alerts off",
        where="server",
    )
    async def alerts_off(self, guild_id: int) -> AlertsOff:
        """Stop posting every new article in this server (follows still ping where they were made)."""
        return AlertsOff(await self.store.alerts.disable(guild_id))

    @command(
        "alerts format",
        "alerts format [compact | card | full]",
        "How alerts look in this channel: a link, the summary, or summary, names and topics (Manage Server).",
        "alerts format compact",
        where="server",
    )
    async def alerts_format(
        self, guild_id: int, channel_id: int, user_id: int, alert_format: str | None = None
    ) -> AlertsFormat:
        """Show or set how alerts look in this channel: ``compact`` (a link and the title), ``card`` (an
        embed with the summary) or ``full`` (the summary, the names and the topics; the default)."""
        if not alert_format or not alert_format.strip():
            current = (await self.store.alerts.channel_settings([channel_id]))[channel_id].format
            return AlertsFormat(channel_id, current)
        wanted = alert_format.strip().lower()
        if wanted not in ALERT_FORMATS:
            raise UserError("The format is compact (a link), card (the summary) or full (summary, names and topics).")
        await self.store.alerts.set_format(guild_id, channel_id, wanted, user_id)
        return AlertsFormat(channel_id, wanted, changed=True)

    @command(
        "alerts filter",
        "alerts filter [rule | remove <number> | clear]",
        "What this channel posts: -football, has:Milei, topic:lithium, section:sport, re:… (Manage Server).",
        "alerts filter -football",
        where="server",
    )
    async def alerts_filter(
        self, guild_id: int, channel_id: int, user_id: int, text: str | None = None
    ) -> FiltersAnswer | Choices | NotFound:
        """Show, add, remove or clear this channel's filters: words (``lithium, copper``; ``-football``),
        names (``has:Javier Milei``), topics (``topic:lithium mining``), sections (``section:politics``)
        and RE2 regular expressions (``re:^Breaking``); an article is posted when it passes every one."""
        return await change_filters(
            self.store,
            self.answers,
            guild_id=guild_id,
            user_id=user_id,
            scope="channel",
            scope_id=channel_id,
            text=text,
            command="alerts filter",
        )

    @command(
        "alerts trending",
        "alerts trending <setting>",
        "Post names and topics that suddenly spike in this channel: here, or off (Manage Server).",
        "alerts trending here",
        where="server",
    )
    async def alerts_trending(
        self, guild_id: int, channel_id: int, user_id: int, setting: str
    ) -> TrendingAlertsOn | TrendingAlertsOff:
        """Post this server's spikes in this channel (``here``), or stop (``off``)."""
        match setting.strip().lower():
            case "here":
                await self.store.alerts.set_trending_channel(guild_id, channel_id, user_id)
                return TrendingAlertsOn(channel_id)
            case "off":
                return TrendingAlertsOff(await self.store.alerts.disable_trending(guild_id))
        raise UserError("Say here or off, like: alerts trending here.")

    async def _subject(self, guild_id: int, text: str) -> Resolved | Choices | NotFound:
        """What to follow, resolved like ``summary`` among what the server sees (a name not indexed yet
        is followed as typed)."""
        text = " ".join(text.split())
        if len(text) > self.settings.max_query_chars:
            raise UserError(f"That is too long: keep it under {self.settings.max_query_chars} characters.")
        if not name_key(text):
            raise UserError("Tell me a name or topic to follow, like: follow Milei.")
        return await self.answers.resolve(text, Wanted.SUBJECT_OR_NEW_NAME, "follow", viewer=Viewer.server(guild_id))

    async def _check_role(self, guild_id: int, channel_id: int, role_id: int) -> None:
        """Refuse, in one sentence, a role that cannot be pinged about news: not of this server, @everyone,
        an app's own role, or one the bot may not mention (neither mentionable nor Mention Everyone)."""
        guild = self.client.get_guild(guild_id)
        role = guild.get_role(role_id) if guild is not None else None
        if role is None or guild is None:
            raise UserError("That role is not one of this server's.")
        if role.is_default():
            raise UserError("I will not ping everyone about news: mention a role instead.")
        if role.managed:
            raise UserError(f"{role.name} belongs to an app; pick a role that members hold.")
        # Where its pings will go: the alert channel, else here (checked again at every send).
        where = await self.store.alerts.channel(guild_id) or channel_id
        if not pingable_roles(guild, where, [role_id]):
            raise UserError(
                f"I cannot ping {role.name}: make it mentionable in Server Settings → Roles, "
                "or give me the Mention Everyone permission."
            )

    @command(
        "follow",
        "follow <name or topic> [@role | spikes]",
        "Get pinged when a name or topic is central to a new article (or, with spikes, when it spikes).",
        "follow Milei",
        where="server",
    )
    async def follow(
        self, guild_id: int, user_id: int, channel_id: int, text: str, *, role_id: int | None = None
    ) -> Followed | Choices | NotFound:
        """Follow an entity or topic in this server: every new article about it, or (``<name> spikes``)
        only when its coverage spikes; following it again the other way switches. With ``role_id`` (a
        manager's), that role is pinged about every new article instead of the asker."""
        words = text.split()
        spikes = len(words) > 1 and words[-1].lower() == "spikes"
        if spikes and role_id is not None:
            raise UserError("A role is pinged about every new article on what it follows; spikes are for members.")
        if role_id is not None:
            await self._check_role(guild_id, channel_id, role_id)
        subject = await self._subject(guild_id, " ".join(words[:-1]) if spikes else text)
        if not isinstance(subject, Resolved):
            return subject
        if role_id is None:
            added = await self.store.alerts.add_follow(
                Follow(guild_id, user_id, subject.kind, subject.key, subject.name, channel_id, spikes=spikes)
            )
        else:
            added = await self.store.alerts.add_role_follow(
                RoleFollow(guild_id, role_id, subject.kind, subject.key, subject.name, channel_id), user_id
            )
        # Where the pings will go, as planning chooses: spikes in the spike channel first.
        where = await self.store.alerts.channel(guild_id) or channel_id
        if spikes:
            where = await self.store.alerts.trending_channel(guild_id) or where
        return Followed(subject.name, subject.kind, where, already=not added, role_id=role_id, spikes=spikes)

    @command(
        "unfollow",
        "unfollow <name or topic> [@role]",
        "Stop being pinged about a name or topic; a manager can stop a role's pings.",
        "unfollow Milei",
        where="server",
    )
    async def unfollow(self, guild_id: int, user_id: int, text: str, *, role_id: int | None = None) -> Unfollowed:
        """Stop following something (``<name> spikes`` too: it is the same follow); with ``role_id`` (a
        manager's), stop pinging that role about it."""
        follows: list[Follow] | list[RoleFollow]
        if role_id is None:
            follows = await self.store.alerts.follows_of(guild_id, user_id)
        else:
            follows = [f for f in await self.store.alerts.role_follows_of(guild_id) if f.role_id == role_id]
        words = text.split()
        if len(words) > 1 and words[-1].lower() == "spikes" and not any(
            name_key(f.name) == name_key(text) for f in follows
        ):
            text = " ".join(words[:-1])
        wanted = {name_key(text), topic_key(text)}
        match = [f for f in follows if f.target_key in wanted or name_key(f.name) == name_key(text)]
        if not match:
            subject = await self._subject(guild_id, text)
            if isinstance(subject, Resolved):
                match = [f for f in follows if (f.kind, f.target_key) == (subject.kind, subject.key)]
        if not match:
            return Unfollowed(text, followed=False, role_id=role_id)
        for follow in match:
            if role_id is None:
                await self.store.alerts.remove_follow(guild_id, user_id, follow.kind, follow.target_key)
            else:
                await self.store.alerts.remove_role_follow(guild_id, role_id, follow.kind, follow.target_key)
        return Unfollowed(match[0].name, role_id=role_id)

    @command(
        "digest",
        "digest [schedule]",
        "A digest of the news in this channel: daily 08:00, weekly mon 08:00 (a name after), or off.",
        "digest daily 08:00",
        where="server",
    )
    async def digest(
        self, guild_id: int, channel_id: int, user_id: int, text: str | None = None
    ) -> DigestStatus | DigestSet | DigestOff | Choices | NotFound:
        """Show this channel's digest, or set it (``daily 08:00``, ``weekly mon 08:00``, each optionally
        followed by a name or topic), or stop it (``off``). Times are in the server's time zone."""
        zone_name = await self.store.servers.timezone(guild_id) or "UTC"
        now = self.clock()
        words = (text or "").split()
        if not words:
            schedule = await self.store.digests.of_channel(channel_id)
            if schedule is None:
                return DigestStatus(None, zone_name)
            return DigestStatus(schedule, zone_name, _when(next_run(schedule, zone_named(zone_name), now)))
        cadence = words[0].lower()
        if cadence == "off":
            return DigestOff(await self.store.digests.remove(channel_id) is not None)
        weekday = parse_weekday(words[1]) if cadence == "weekly" and len(words) > 2 else None
        at_word = 1 if cadence == "daily" else 2
        at = parse_time(words[at_word]) if len(words) > at_word else None
        if cadence not in {"daily", "weekly"} or at is None or (cadence == "weekly" and weekday is None):
            raise UserError("Say when, like: digest daily 08:00, digest weekly mon 08:00, or digest off.")
        subject: Resolved | None = None
        if words[at_word + 1 :]:
            wanted = " ".join(words[at_word + 1 :])
            found = await self.answers.resolve(wanted, Wanted.SUBJECT, "digest", viewer=Viewer.server(guild_id))
            if not isinstance(found, Resolved):
                return found
            subject = found
        schedule = DigestSchedule(
            channel_id,
            guild_id,
            cadence,
            weekday,
            at,
            to_iso(now),
            subject.kind if subject else None,
            subject.key if subject else None,
            subject.name if subject else None,
        )
        await self.store.digests.set(schedule, user_id)
        return DigestSet(schedule, zone_name, _when(next_run(schedule, zone_named(zone_name), now)))

    @command(
        "timezone",
        "timezone [zone]",
        "Show or set this server's time zone for digests (setting it needs Manage Server).",
        "timezone Europe/London",
        where="server",
    )
    async def timezone(self, guild_id: int, zone: str | None = None) -> TimezoneAnswer:
        """Show the server's time zone, set it (an IANA name such as Europe/London), or ``reset`` it to UTC."""
        if zone is None or not zone.strip():
            return TimezoneAnswer(await self.store.servers.timezone(guild_id) or "UTC")
        zone = zone.strip()
        if zone.lower() == "reset":
            await self.store.servers.set_timezone(guild_id, None)
            return TimezoneAnswer("UTC", "reset")
        name = known_zone(zone)
        if name is None:
            raise UserError(f"I do not know the time zone {zone[:60]}; use a name like Europe/London or UTC.")
        await self.store.servers.set_timezone(guild_id, name)
        return TimezoneAnswer(name, "set")

    @command(
        "following",
        "following",
        "What you follow in this server, and the roles pinged here.",
        "following",
        where="server",
    )
    async def following(self, guild_id: int, user_id: int) -> FollowingAnswer:
        """What a member follows here, and every role follow of the server."""
        return FollowingAnswer(
            await self.store.alerts.follows_of(guild_id, user_id),
            self.settings.follow_salience,
            await self.store.alerts.role_follows_of(guild_id),
        )

    @command(
        "why",
        "why <id>",
        "Which follows and feeds made an article alert here, and why it joined its story.",
        "why 1",
        where="server",
    )
    async def why(self, guild_id: int, article_text: str | int) -> WhyAnswer | NotFound:
        """Which follows and sources made an article alert in this server, and how it was grouped."""
        article_id = parse_article_id(article_text)
        article = await self.store.articles.get(article_id, viewer=Viewer.server(guild_id))
        if article is None:
            return NotFound(f"There is no article {article_id}.")
        alerts = await self.store.alerts.for_article(guild_id, article_id)
        filtered = await self.store.alerts.filtered_for_article(guild_id, article_id)
        decision = await self.store.stories.decision(article_id)
        return WhyAnswer(article_id, article.title, alerts, filtered, story=decision)
