"""Retries after Telegram's server errors back off: a failing Telegram is not hammered."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.test_sender import parts, queue, received, sending
from tests.support.fake_telegram import FakeTelegram

TICK = 0.05  # the event loop's clock and the fake's may read a scheduling step apart


async def test_server_errors_are_retried_after_growing_pauses(
    engine: AsyncEngine, fake: FakeTelegram
) -> None:
    await queue(engine, 8, parts(8, 1))
    fake.fail_next(2, 502)

    async with sending(engine, fake):
        [delivered] = await fake.wait_sent(count=1, timeout=20)

    assert received(fake, 8) == parts(8, 1)
    first, second = fake.error_at
    assert second - first >= 1.0 - TICK  # a second (one chat's spacing would give that too)
    assert delivered.at - second >= 2.0 - TICK  # then twice as long: the backoff grows
