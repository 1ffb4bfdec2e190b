"""Digest periods in a server's time zone: daily and weekly, across a clock change, due once, late when
planned well after their end, never for a period that ended before the digest was set up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.digests import DigestSchedule, due_period, latest_period, next_run, parse_time, parse_weekday, zone_named

LONDON = zone_named("Europe/London")


def _schedule(cadence: str = "daily", weekday: int | None = None, **changes: object) -> DigestSchedule:
    fields: dict[str, object] = {
        "channel_id": 1,
        "guild_id": 2,
        "cadence": cadence,
        "weekday": weekday,
        "at_minute": 8 * 60,
        "created_at": "2024-06-01T00:00:00Z",
    }
    fields.update(changes)
    return DigestSchedule(**fields)  # type: ignore[arg-type]


def test_a_daily_period_is_the_local_day_to_its_time() -> None:
    period = latest_period(_schedule(), LONDON, datetime(2024, 6, 30, 7, 30, tzinfo=UTC))  # 08:30 in London
    assert (period.start, period.end) == (datetime(2024, 6, 29, 7, tzinfo=UTC), datetime(2024, 6, 30, 7, tzinfo=UTC))
    before = latest_period(_schedule(), LONDON, datetime(2024, 6, 30, 6, 59, tzinfo=UTC))  # 07:59 in London
    assert before.end == datetime(2024, 6, 29, 7, tzinfo=UTC)
    # The day the clocks go forward is 23 hours long.
    spring = latest_period(_schedule(), LONDON, datetime(2024, 3, 31, 12, tzinfo=UTC))
    assert spring.end - spring.start == timedelta(hours=23)


def test_a_weekly_period_ends_on_its_day() -> None:
    monday = 0
    period = latest_period(_schedule("weekly", monday), LONDON, datetime(2024, 7, 3, 12, tzinfo=UTC))  # a Wednesday
    assert period.end == datetime(2024, 7, 1, 7, tzinfo=UTC) and period.end - period.start == timedelta(days=7)
    upcoming = next_run(_schedule("weekly", monday), LONDON, datetime(2024, 7, 3, 12, tzinfo=UTC))
    assert (upcoming.date().isoformat(), upcoming.hour) == ("2024-07-08", 8)


def test_a_period_is_due_once_late_when_missed_and_never_before_the_digest_existed() -> None:
    now = datetime(2024, 6, 30, 7, 5, tzinfo=UTC)
    on_time = due_period(_schedule(), LONDON, now)
    assert on_time is not None and not on_time.late
    assert due_period(_schedule(last_period_end="2024-06-30T07:00:00Z"), LONDON, now) is None
    assert due_period(_schedule(created_at="2024-06-30T07:01:00Z"), LONDON, now) is None
    # Offline for two days: only the latest period, once, late.
    later = due_period(_schedule(last_period_end="2024-06-28T07:00:00Z"), LONDON, now + timedelta(days=2, hours=3))
    assert later is not None and later.late and later.end == datetime(2024, 7, 2, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "minutes"), [("08:00", 480), ("8:05", 485), ("23.59", 1439), ("24:00", None), ("8", None), ("8:5", None)]
)
def test_times_are_read_as_hours_and_minutes(text: str, minutes: int | None) -> None:
    assert parse_time(text) == minutes


def test_weekdays_are_read_from_three_letters_up() -> None:
    assert [parse_weekday(w) for w in ("mon", "Tuesday", "sun", "t", "xyz")] == [0, 1, 6, None, None]


def test_an_unknown_zone_is_an_error() -> None:
    with pytest.raises(ValueError):
        zone_named("Mars/Olympus")
    with pytest.raises(ValueError):
        zone_named("../../etc/passwd")
