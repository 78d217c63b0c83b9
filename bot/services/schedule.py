"""Digest schedules: parsing `/schedule` arguments and computing the next run in a time zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.services.errors import InputError

KINDS = ("instant", "hourly", "daily")
DEFAULT_TIME = "09:00"
MAX_TIMES = 6
_TIME = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")
VALID_HINT = "instant | hourly | daily HH:MM [HH:MM ...]"


def parse_schedule(args: str) -> tuple[str, tuple[str, ...]]:
    """`instant`, `hourly` or `daily HH:MM [HH:MM ...]` -> (kind, times); InputError otherwise."""
    words = args.replace(",", " ").lower().split()
    if not words or words[0] not in KINDS:
        raise InputError("bad_schedule", valid=VALID_HINT)
    kind, rest = words[0], words[1:]
    if kind != "daily":
        if rest:
            raise InputError("bad_schedule", valid=VALID_HINT)
        return kind, ()
    times: set[str] = set()
    for word in rest or [DEFAULT_TIME]:
        match = _TIME.match(word)
        if match is None:
            raise InputError("bad_time", value=word, valid=VALID_HINT)
        times.add(f"{int(match[1]):02d}:{match[2]}")
    if len(times) > MAX_TIMES:
        raise InputError("too_many_times", limit=str(MAX_TIMES))
    return kind, tuple(sorted(times))


def next_run(kind: str, times: tuple[str, ...], tz: str, now: datetime) -> datetime | None:
    """The next scheduled digest after `now` (aware UTC), or None for instant delivery."""
    if kind == "instant":
        return None
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    if kind == "hourly":
        start = local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        return start.astimezone(UTC)
    best: datetime | None = None
    for text in times or (DEFAULT_TIME,):
        hour, minute = (int(p) for p in text.split(":"))
        for days in (0, 1):
            day = local.date() + timedelta(days=days)
            moment = datetime.combine(day, time(hour, minute), zone).astimezone(UTC)
            if moment > now:
                best = moment if best is None or moment < best else best
                break
    return best
