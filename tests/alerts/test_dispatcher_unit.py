"""Dispatcher rules that need no Discord: backoff, retry_after, ping text and splitting, allowed mentions."""

from __future__ import annotations

from unittest.mock import create_autospec

import aiohttp
import discord

from bot.alerts.dispatcher import (
    BACKOFF_MAX_SECONDS,
    MENTION_CHARS,
    allowed_pings,
    backoff,
    mentions,
    more_pings_text,
    outlets_line,
    ping_text,
    retry_after_of,
    split_pings,
)
from bot.models import DueAlert


def _alert(pings: list[int], reasons: list[dict[str, object]]) -> DueAlert:
    return DueAlert(1, 2, 3, 4, pings, reasons, "nonce", 0)


def test_backoff_doubles_and_honours_retry_after() -> None:
    assert [backoff(n) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]
    assert backoff(30) == BACKOFF_MAX_SECONDS
    assert backoff(1, retry_after=7.5) == 7.5


def test_ping_text_names_what_is_followed_and_escapes_it() -> None:
    alert = _alert([5, 6], [{"kind": "follow", "name": "Javier *Milei*"}, {"kind": "folder", "name": "x"}])
    assert ping_text(alert, alert.ping_user_ids) == "<@5> <@6> — new on Javier \\*Milei\\*"
    assert ping_text(_alert([], [{"kind": "folder", "name": "x"}]), []) is None


def test_only_followers_may_be_pinged() -> None:
    mentions = allowed_pings([5]).to_dict()
    assert mentions["parse"] == [] and mentions["users"] == [5]


def test_split_pings_keeps_each_message_within_discords_limits() -> None:
    snowflakes = [1_234_567_890_123_456_000 + n for n in range(250)]
    parts, rest = [], snowflakes
    while rest:
        part, rest = split_pings(rest)
        parts.append(part)
    assert [user for part in parts for user in part] == snowflakes  # everyone, once, in order
    assert all(len(part) <= 100 and len(mentions(part)) <= MENTION_CHARS for part in parts)
    assert len(split_pings(list(range(1, 151)))[0]) == 100  # short ids: the 100-user limit binds


def test_ping_texts_fit_a_message_and_keep_the_link() -> None:
    many = [1_234_567_890_123_456_000 + n for n in range(73)]
    alert = _alert(many, [{"kind": "follow", "name": "x" * 3000}])
    assert len(ping_text(alert, many) or "") <= 2000
    link = "https://discord.com/channels/1/2/3"
    more = more_pings_text(alert, many, link)
    assert len(more) <= 2000 and more.endswith(link) and more.startswith(mentions(many))


def test_retry_after_is_read_from_a_429s_headers() -> None:
    response = create_autospec(aiohttp.ClientResponse, instance=True)
    response.status, response.reason = 429, "Too Many Requests"
    response.headers = {"Retry-After": "60"}
    assert retry_after_of(discord.HTTPException(response, "rate limited")) == 60.0
    response.headers = {"Retry-After": "60", "X-RateLimit-Reset-After": "42.5"}
    assert retry_after_of(discord.HTTPException(response, "rate limited")) == 42.5
    response.headers = {"Retry-After": "soon"}
    assert retry_after_of(discord.HTTPException(response, "rate limited")) is None


def test_a_storys_outlets_line() -> None:
    assert outlets_line(["AP", "BBC", None, "AP", "Reuters"]) == "3 outlets: AP, BBC, Reuters"
    assert outlets_line(["AP", "AP"]) == "2 articles"
    assert outlets_line([None, None, None]) == "3 articles"
