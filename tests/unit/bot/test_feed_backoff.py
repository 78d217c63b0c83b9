"""A failing feed is polled less and less often, but never less than every six hours."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from bot.services.ingest import next_check

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
INTERVAL = timedelta(minutes=5)


@pytest.mark.parametrize("failures", [7, 12, 40, 1000])
def test_a_feed_failing_for_long_is_still_polled_every_six_hours(failures: int) -> None:
    delay = next_check(NOW, INTERVAL, failures, random.Random(failures)) - NOW
    assert timedelta(hours=6) * 0.9 <= delay <= timedelta(hours=6) * 1.1


def test_backoff_doubles_with_each_failure_below_the_cap() -> None:
    delays = [next_check(NOW, INTERVAL, n, random.Random(0)) - NOW for n in range(4)]
    assert [round(d / (INTERVAL * 1.0), 1) for d in delays] == [
        round(random.Random(0).uniform(0.9, 1.1) * 2**n, 1) for n in range(4)
    ]
