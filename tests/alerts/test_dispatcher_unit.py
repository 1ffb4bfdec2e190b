"""Dispatcher rules that need no Discord: backoff, ping text and allowed mentions."""

from __future__ import annotations

from bot.alerts.dispatcher import BACKOFF_MAX_SECONDS, allowed_pings, backoff, ping_text
from bot.store.models import DueAlert


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
