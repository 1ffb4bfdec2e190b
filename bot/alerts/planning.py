"""Who gets what when an article arrives: pure functions of what the store gathers in the article's
own transaction (:meth:`bot.store.alerts.AlertQueries.plan` gathers, calls these, and writes the outbox).

A new article from a file or a shared feed goes to every enabled alert channel; from a server's own
feed, to the alert channel of that server (or the channel the feed was added in). Nothing is planned
in a server that may not see the article (see ``article_scopes``): a server's own feed never alerts,
nor pings, anyone elsewhere. Followers of an entity that is salient in a
new article, or of one of its topics, are pinged in their server's alert channel (or where they
followed); so are the roles a manager set to follow it. A text already indexed that arrives through a
feed is planned for that feed's server only. An article posts once per channel, and not at all where a
story with a near-identical title was posted in the last two days. Filters (:mod:`bot.alerts.filters`)
on the feed and on the channel keep an article's post out of a channel; follows still ping.

Stories (:mod:`bot.stories`): the first article of a story posts in a channel; each later one in that
channel is planned as an entry of that post (``thread_of``, delivered into a thread on it, or counted in
its footer), never as a second post; and a member is pinged once per story in a server.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from rapidfuzz import fuzz

from bot.alerts.filters import ArticleFacts, FilterRule, blocking_rule
from bot.models import OPERATOR_SERVER, SHARED_SCOPE, AlertPolicy

# Two alerts in one channel whose titles are this similar (0–100) are one story told twice.
NEAR_DUPLICATE_TITLE = 92
NEAR_DUPLICATE_WINDOW = timedelta(days=2)
_TITLE_NOISE = re.compile(r"[^\w\s]+")
_NUMBERS = re.compile(r"\d+")


def title_key(title: str) -> str:
    """A title reduced to its words, for near-duplicate comparison."""
    return " ".join(_TITLE_NOISE.sub(" ", title.casefold()).split())


def same_story(title_a: str, title_b: str) -> bool:
    """Whether two title keys tell one story: nearly the same words and exactly the same numbers
    ("Man Utd 2-1 Chelsea" and "Man Utd 1-2 Chelsea" are two stories)."""
    return (
        _NUMBERS.findall(title_a) == _NUMBERS.findall(title_b) and fuzz.ratio(title_a, title_b) >= NEAR_DUPLICATE_TITLE
    )


def alert_nonce(article_id: int, channel_id: int) -> str:
    """A nonce fixed by the alert itself, so a retried send returns the first message, not a second."""
    return hashlib.sha256(f"newsdesk:{article_id}:{channel_id}".encode()).hexdigest()[:25]


def post_nonce(post_key: str) -> str:
    """The nonce of a spike or digest post, fixed by its key as :func:`alert_nonce` is by the alert."""
    return hashlib.sha256(f"newsdesk:post:{post_key}".encode()).hexdigest()[:25]


@dataclass(frozen=True, slots=True)
class FeedOrigin:
    """The feed an article came through: its server, the channel it was added in, its name, and whether
    the bot's owner shared it with every server."""

    id: int
    guild_id: int
    channel_id: int
    name: str
    shared: bool = False


@dataclass(frozen=True, slots=True)
class FollowMatch:
    """A member's follow (or, with ``role_id``, a role's) that an article matches: an entity salient in
    it, or one of its topics."""

    guild_id: int
    user_id: int | None
    kind: str
    name: str
    channel_id: int  # where they followed: their pings go there when the server has no alert channel
    role_id: int | None = None


@dataclass(slots=True)
class PlannedAlert:
    """An article's alert in one channel: the server, why (for ``!why``), and whom it pings."""

    guild_id: int
    channel_id: int
    reasons: list[dict[str, Any]] = field(default_factory=list)
    pings: list[int] = field(default_factory=list)
    role_pings: list[int] = field(default_factory=list)
    thread_of: int | None = None  # the outbox id of its story's post in this channel


def plan_alerts(
    policy: AlertPolicy,
    *,
    is_new: bool,
    feed: FeedOrigin | None,
    alert_channels: Mapping[int, int],
    follows: Sequence[FollowMatch],
    scopes: Collection[int],
) -> list[PlannedAlert]:
    """The channels an article's alert goes to, each once, with its reasons and pings (see the module
    docstring). ``feed`` is the feed of ``policy.source_id`` (``None`` when it was removed meanwhile);
    ``alert_channels`` maps a server to its enabled alert channel (every server's, for a new article from
    a file or a shared feed); ``follows`` are the follows the article matches, oldest first in each
    server; ``scopes`` are the article's (``{0}``: every server sees it, else the servers that do)."""
    planned: dict[int, PlannedAlert] = {}

    def add(
        guild_id: int, channel_id: int, reason: dict[str, Any], user_id: int | None = None, role_id: int | None = None
    ) -> None:
        if SHARED_SCOPE not in scopes and guild_id not in scopes:
            return
        alert = planned.setdefault(channel_id, PlannedAlert(guild_id, channel_id))
        if reason not in alert.reasons:
            alert.reasons.append(reason)
        if user_id is not None and user_id not in alert.pings:
            alert.pings.append(user_id)
        if role_id is not None and role_id not in alert.role_pings:
            alert.role_pings.append(role_id)

    if policy.source_id is not None:
        if feed is not None and feed.shared and is_new:
            for guild_id, channel_id in alert_channels.items():
                add(guild_id, channel_id, {"kind": "source", "id": feed.id, "name": feed.name})
        elif feed is not None and feed.guild_id != OPERATOR_SERVER:  # the settings' feeds are in no server
            add(
                feed.guild_id,
                alert_channels.get(feed.guild_id, feed.channel_id),
                {"kind": "source", "id": feed.id, "name": feed.name},
            )
    elif is_new:
        for guild_id, channel_id in alert_channels.items():
            add(guild_id, channel_id, {"kind": "folder", "name": "watched folders"})
    if is_new:
        for follow in follows:
            reason: dict[str, Any] = {"kind": "follow", "name": follow.name, "of": follow.kind}
            if follow.role_id is not None:
                reason["role"] = follow.role_id
            add(
                follow.guild_id,
                alert_channels.get(follow.guild_id, follow.channel_id),
                reason,
                follow.user_id,
                follow.role_id,
            )
    return list(planned.values())


def within_stories(
    planned: Iterable[PlannedAlert],
    story_posts: Mapping[int, int],
    pinged: Mapping[int, Iterable[int]],
    pinged_roles: Mapping[int, Iterable[int]] | None = None,
) -> list[PlannedAlert]:
    """The planned alerts of an article whose story was alerted before: in a channel where the story has
    a post (``story_posts`` maps a channel to the post's outbox id) the alert becomes an entry of that
    post, and the members and roles already pinged about the story in a server (``pinged`` and
    ``pinged_roles``, by server) are not pinged again."""
    result = []
    for alert in planned:
        users = set(pinged.get(alert.guild_id, ()))
        roles = set((pinged_roles or {}).get(alert.guild_id, ()))
        result.append(
            replace(
                alert,
                thread_of=story_posts.get(alert.channel_id),
                pings=[user for user in alert.pings if user not in users],
                role_pings=[role for role in alert.role_pings if role not in roles],
                reasons=list(alert.reasons),
            )
        )
    return result


def without_repeats(
    planned: Iterable[PlannedAlert], key: str, recent_keys: Mapping[int, Sequence[str]]
) -> list[PlannedAlert]:
    """The planned alerts whose channel has not posted the same story lately: ``key`` is the article's
    :func:`title_key`, ``recent_keys`` each channel's title keys of the last :data:`NEAR_DUPLICATE_WINDOW`.
    An entry of its story's post (``thread_of``) is kept: it repeats nothing at the top of the channel."""
    return [
        alert
        for alert in planned
        if alert.thread_of is not None
        or not (key and any(same_story(key, other) for other in recent_keys.get(alert.channel_id, ())))
    ]


@dataclass(frozen=True, slots=True)
class FilteredAlert:
    """What a filter kept out of a channel: the reasons it would have been posted for, and the rule
    (in words, with its number) on the feed or channel (``scope``, ``scope_id``) that stopped it."""

    guild_id: int
    channel_id: int
    reasons: list[dict[str, Any]]
    rule: str
    scope: str
    scope_id: int


def apply_filters(
    planned: Iterable[PlannedAlert],
    facts: ArticleFacts,
    *,
    source_id: int | None,
    source_rules: Sequence[FilterRule],
    channel_rules: Mapping[int, Sequence[FilterRule]],
) -> tuple[list[PlannedAlert], list[FilteredAlert]]:
    """The planned alerts that pass the filters, and what the filters kept out. A feed's rules decide
    its own reason ("source"); a channel's rules decide every reason to post there but follows. An
    alert left with no reason is not posted; one with follows left is posted for them."""
    source_block = blocking_rule(source_rules, facts) if source_rules and source_id is not None else None
    kept: list[PlannedAlert] = []
    filtered: list[FilteredAlert] = []
    for alert in planned:
        rules = channel_rules.get(alert.channel_id, ())
        channel_block = blocking_rule(rules, facts) if rules else None
        remaining: list[dict[str, Any]] = []
        blocked: list[dict[str, Any]] = []
        first: tuple[FilterRule, str, int] | None = None
        for reason in alert.reasons:
            kind = reason.get("kind")
            if kind == "source" and source_block is not None and source_id is not None:
                blocked.append(reason)
                first = first or (source_block, "source", source_id)
            elif kind in ("source", "folder") and channel_block is not None:
                blocked.append(reason)
                first = first or (channel_block, "channel", alert.channel_id)
            else:
                remaining.append(reason)
        if first is not None:
            rule, scope, scope_id = first
            text = f"#{rule.id} {rule.describe()}"
            filtered.append(FilteredAlert(alert.guild_id, alert.channel_id, blocked, text, scope, scope_id))
        if remaining:
            alert.reasons = remaining
            kept.append(alert)
    return kept, filtered


def plan_spike_posts(
    *,
    trending_channels: Mapping[int, int],
    alert_channels: Mapping[int, int],
    followers: Sequence[FollowMatch],
    ongoing: set[int],
) -> list[PlannedAlert]:
    """Where a spike that has just started is posted: the spike channel of every server that has one, and
    for members following one of its subjects for spikes, their server's spike channel, else its alert
    channel, else where they followed — each channel once, pinging its followers. Servers in ``ongoing``
    announced it already (it is still the same spike there) and get nothing."""
    planned: dict[int, PlannedAlert] = {}
    for guild_id, channel_id in trending_channels.items():
        if guild_id not in ongoing:
            planned.setdefault(channel_id, PlannedAlert(guild_id, channel_id, [{"kind": "spike", "name": "trending"}]))
    for follow in followers:
        if follow.guild_id in ongoing:
            continue
        channel_id = trending_channels.get(follow.guild_id) or alert_channels.get(follow.guild_id, follow.channel_id)
        alert = planned.setdefault(channel_id, PlannedAlert(follow.guild_id, channel_id))
        reason = {"kind": "follow", "name": follow.name, "of": follow.kind}
        if reason not in alert.reasons:
            alert.reasons.append(reason)
        if follow.user_id is not None and follow.user_id not in alert.pings:
            alert.pings.append(follow.user_id)
    return list(planned.values())
