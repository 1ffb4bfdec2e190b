"""Scheduled digests: when a channel's digest periods end, in its server's time zone, and which one is due.

A daily digest at 08:00 covers the day to 08:00 local time; a weekly one on Monday at 08:00, the week to
then. A period is due once it has ended, if it ended after the digest was set up and after the last period
planned; when the bot was offline for several, only the latest is due (one digest on return, not a
backlog), and it is *late* when it is planned more than :data:`LATE_AFTER` after its end. Pure functions
of the schedule, the zone and the time: the scheduler (:mod:`bot.alerts.digests`) asks them every minute.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LATE_AFTER = timedelta(minutes=15)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME = re.compile(r"([01]?\d|2[0-3])[:.h]([0-5]\d)")


@dataclass(frozen=True, slots=True)
class DigestSchedule:
    """One channel's digest: ``cadence`` "daily" or "weekly" (on ``weekday``, 0 = Monday), at
    ``at_minute`` after local midnight, about everything or one subject (``subject_kind`` "entity" or
    "topic", its key and name); ``created_at`` and ``last_period_end`` are UTC times as the store writes them."""

    channel_id: int
    guild_id: int
    cadence: str
    weekday: int | None
    at_minute: int
    created_at: str
    subject_kind: str | None = None
    subject_key: str | None = None
    subject_name: str | None = None
    last_period_end: str | None = None

    @property
    def at(self) -> str:
        """The time of day, as "08:00"."""
        return f"{self.at_minute // 60:02d}:{self.at_minute % 60:02d}"


@dataclass(frozen=True, slots=True)
class Period:
    """A digest's period, ``[start, end)`` in UTC, and whether it is sent late."""

    start: datetime
    end: datetime
    late: bool = False


def zone_named(name: str | None) -> ZoneInfo:
    """The zone called ``name`` (UTC for ``None``); ``ValueError`` when there is no such zone."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:  # ValueError: a malformed key such as "../x"
        raise ValueError(name) from exc


def parse_time(text: str) -> int | None:
    """Minutes after midnight from "08:00" (or "8:00", "8.00", "8h00"); ``None`` if it is not a time."""
    match = _TIME.fullmatch(text.strip().lower())
    return int(match.group(1)) * 60 + int(match.group(2)) if match else None


def parse_weekday(text: str) -> int | None:
    """0 (Monday) to 6 from "mon", "Monday" …; ``None`` if it is not a day."""
    word = text.strip().lower()
    if len(word) < 3:
        return None
    found = [i for i, day in enumerate(WEEKDAYS) if day.startswith(word)]
    return found[0] if len(found) == 1 else None


def _local(day: date, minute: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)


def latest_period(schedule: DigestSchedule, zone: ZoneInfo, now: datetime) -> Period:
    """The latest period of ``schedule`` that has ended by ``now``."""
    today = now.astimezone(zone).date()
    if schedule.cadence == "daily":
        day, length = today, 1
    else:
        day, length = today - timedelta(days=(today.weekday() - (schedule.weekday or 0)) % 7), 7
    if _local(day, schedule.at_minute, zone) > now:
        day -= timedelta(days=length)
    end = _local(day, schedule.at_minute, zone)
    start = _local(day - timedelta(days=length), schedule.at_minute, zone)
    return Period(start.astimezone(UTC), end.astimezone(UTC))


def next_run(schedule: DigestSchedule, zone: ZoneInfo, now: datetime) -> datetime:
    """When the next period ends, in the schedule's zone."""
    last = latest_period(schedule, zone, now).end.astimezone(zone)
    days = 1 if schedule.cadence == "daily" else 7
    return _local(last.date() + timedelta(days=days), schedule.at_minute, zone)


def due_period(schedule: DigestSchedule, zone: ZoneInfo, now: datetime) -> Period | None:
    """The period to post now, if any (see the module docstring)."""
    period = latest_period(schedule, zone, now)
    created = datetime.strptime(schedule.created_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    if period.end <= created:
        return None
    if schedule.last_period_end is not None:
        done = datetime.strptime(schedule.last_period_end, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        if period.end <= done:
            return None
    return Period(period.start, period.end, late=now - period.end > LATE_AFTER)
