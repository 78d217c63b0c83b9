"""Digest schedules: what /schedule accepts and when the next digest goes out."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.services.errors import InputError
from bot.services.schedule import next_run, parse_schedule


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("instant", ("instant", ())),
        ("hourly", ("hourly", ())),
        ("daily", ("daily", ("09:00",))),
        ("daily 18:30 9:05", ("daily", ("09:05", "18:30"))),
        ("DAILY 07:00,07:00", ("daily", ("07:00",))),
        ("daily 8.15", ("daily", ("08:15",))),
    ],
)
def test_valid_schedules_are_normalized(args: str, expected: tuple[str, tuple[str, ...]]) -> None:
    assert parse_schedule(args) == expected


@pytest.mark.parametrize("args", ["", "weekly", "daily 25:99", "daily 9", "hourly 10:00"])
def test_bad_schedule_names_the_valid_forms(args: str) -> None:
    with pytest.raises(InputError) as err:
        parse_schedule(args)
    assert "daily HH:MM" in err.value.params["valid"]


def test_almaty_is_utc_plus_five_since_march_2024() -> None:
    # Kazakhstan moved to a single zone (UTC+5) on 1 March 2024; old tzdata says +6.
    assert datetime(2025, 6, 1, 12, tzinfo=ZoneInfo("Asia/Almaty")).utcoffset().seconds == 5 * 3600


def test_daily_runs_at_local_time_in_the_subscribers_zone() -> None:
    now = datetime(2026, 1, 10, 3, 0, tzinfo=UTC)  # 08:00 in Almaty
    when = next_run("daily", ("09:00",), "Asia/Almaty", now)
    assert when == datetime(2026, 1, 10, 4, 0, tzinfo=UTC)


def test_daily_after_the_last_time_moves_to_the_next_day() -> None:
    now = datetime(2026, 1, 10, 14, 0, tzinfo=UTC)  # 19:00 in Almaty
    when = next_run("daily", ("09:00", "18:00"), "Asia/Almaty", now)
    assert when == datetime(2026, 1, 11, 4, 0, tzinfo=UTC)


def test_hourly_runs_at_the_next_full_hour() -> None:
    now = datetime(2026, 1, 10, 3, 20, tzinfo=UTC)
    assert next_run("hourly", (), "Asia/Almaty", now) == datetime(2026, 1, 10, 4, 0, tzinfo=UTC)


def test_instant_has_no_scheduled_time() -> None:
    assert next_run("instant", (), "Asia/Almaty", datetime(2026, 1, 1, tzinfo=UTC)) is None


@pytest.mark.parametrize(
    ("tz", "expected_utc"),
    [
        ("Europe/London", datetime(2026, 1, 10, 9, 0, tzinfo=UTC)),  # UTC+0 in January
        ("America/New_York", datetime(2026, 1, 10, 14, 0, tzinfo=UTC)),  # UTC-5
        ("Asia/Tokyo", datetime(2026, 1, 11, 0, 0, tzinfo=UTC)),  # UTC+9: 09:00 passed there
    ],
)
def test_daily_nine_is_nine_in_each_subscribers_own_zone(tz: str, expected_utc: datetime) -> None:
    now = datetime(2026, 1, 10, 3, 0, tzinfo=UTC)
    assert next_run("daily", ("09:00",), tz, now) == expected_utc


def test_hourly_follows_the_full_hours_of_a_half_hour_zone() -> None:
    now = datetime(2026, 1, 10, 3, 10, tzinfo=UTC)  # 08:40 in Kolkata (UTC+5:30)
    assert next_run("hourly", (), "Asia/Kolkata", now) == datetime(2026, 1, 10, 3, 30, tzinfo=UTC)


def test_runs_fall_on_the_whole_minute_asked_for() -> None:
    now = datetime(2026, 1, 10, 3, 10, 25, 500_000, tzinfo=UTC)  # 08:10:25.5 in Almaty
    assert next_run("hourly", (), "Asia/Almaty", now) == datetime(2026, 1, 10, 4, 0, tzinfo=UTC)
    daily = next_run("daily", ("07:45", "09:30"), "Asia/Almaty", now)
    assert daily == datetime(2026, 1, 10, 4, 30, tzinfo=UTC)


@pytest.mark.parametrize("kind", ["daily", "hourly"])
def test_next_runs_are_utc_whatever_zone_the_machine_runs_in(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stored times are UTC: a server set to Almaty time must not shift them by five hours."""
    monkeypatch.setenv("TZ", "Asia/Almaty")
    time.tzset()
    try:
        run = next_run(kind, ("09:00",), "Asia/Almaty", datetime(2026, 1, 10, 3, 10, tzinfo=UTC))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert run is not None and run.utcoffset() == timedelta(0)
    assert run == datetime(2026, 1, 10, 4, 0, tzinfo=UTC)  # 09:00 in Almaty, both ways
