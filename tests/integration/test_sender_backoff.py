"""Retries after Telegram's server errors back off: a failing Telegram is not hammered."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.outbox import OutboxRepo
from tests.integration.test_sender import parts, queue, received, sending
from tests.support.fake_telegram import FakeTelegram

TICK = 0.05  # the event loop's clock and the fake's may read a scheduling step apart


def announced_waits(caplog: pytest.LogCaptureFixture) -> list[int]:
    """The waits, in seconds, the sender's warnings announced before each retry."""
    found = (re.search(r"retried in (\d+)s", r.getMessage()) for r in caplog.records)
    return [int(m[1]) for m in found if m]


async def test_server_errors_are_retried_after_growing_pauses(
    engine: AsyncEngine, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.delivery")
    await queue(engine, 8, parts(8, 1))
    fake.fail_next(2, 502)

    async with sending(engine, fake):
        [delivered] = await fake.wait_sent(count=1, timeout=20)

    assert received(fake, 8) == parts(8, 1)
    first, second = fake.error_at
    assert second - first >= 1.0 - TICK  # a second (one chat's spacing would give that too)
    assert delivered.at - second >= 2.0 - TICK  # then twice as long: the backoff grows
    assert announced_waits(caplog) == [1, 2]  # the log says so, and the spacing hides nothing


async def test_a_message_that_failed_many_times_waits_at_most_256_seconds(
    sqlite: AsyncEngine, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.delivery")
    await queue(sqlite, 8, parts(8, 1))
    box = OutboxRepo(sqlite)
    [message] = await box.pending(1)
    for _ in range(20):  # Telegram failed for hours: 20 attempts so far
        await box.count_attempt(message.id)
    fake.fail_next(1, 502)

    async with sending(sqlite, fake, outbox=box):
        await fake.wait_until(lambda: len(fake.errors) == 1)

    assert announced_waits(caplog) == [256]  # 2**8 s, and no longer however many failed
    [again] = await box.pending(1)
    assert again.attempts == 21
