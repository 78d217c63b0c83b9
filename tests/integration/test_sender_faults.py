"""The Sender when things go wrong after or around a send: failed writes, 401, 404, floods."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import datetime

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.delivery import MAX_UNKNOWN_ATTEMPTS
from bot.storage.outbox import OutboxRepo, Pending
from bot.telegram_limits import TOKEN_REJECTED
from tests.integration.sending import parts, queue, received, rows, sending
from tests.support.fake_telegram import ApiError, FakeTelegram

TICK = 0.05  # the event loop's clock and the sender's may read a scheduling step apart


class LockedOutbox(OutboxRepo):
    """The real outbox, whose first `failures` mark-sent writes fail as a locked SQLite does."""

    def __init__(self, engine: AsyncEngine, failures: int) -> None:
        super().__init__(engine)
        self.failures = failures
        self.tried: list[float] = []  # when each write was tried (the event loop's clock)

    async def mark_sent(self, message_id: int, now: datetime) -> None:
        """Fail while failures are left, then write for real."""
        self.tried.append(asyncio.get_running_loop().time())
        if self.failures:
            self.failures -= 1
            locked = sqlite3.OperationalError("database is locked")
            raise OperationalError("UPDATE outbox SET sent_at=?", (), locked)
        await super().mark_sent(message_id, now)


class WatchedOutbox(OutboxRepo):
    """The real outbox, saying when a message was given up."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.failed = asyncio.Event()

    async def mark_failed(self, message_id: int, error: str) -> None:
        """Write, then tell the test."""
        await super().mark_failed(message_id, error)
        self.failed.set()


async def test_a_message_telegram_accepted_is_sent_once_when_recording_it_fails(
    engine: AsyncEngine, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.delivery")
    first, second = parts(21, 2)
    await queue(engine, 21, [first, second])
    box = LockedOutbox(engine, failures=2)

    async with sending(engine, fake, outbox=box):
        # Two messages arrive: the second part, or (before the fix) the first one again.
        await fake.wait_sent(chat_id=21, count=2, timeout=15)

    assert received(fake, 21) == [first, second]
    assert box.failures == 0  # the write was refused twice before it went through
    first_try, second_try, third_try = box.tried[:3]
    assert second_try - first_try >= 1.0 - TICK  # the write is retried after a second,
    assert third_try - second_try >= 2.0 - TICK  # then after two: the database gets air
    waits = [r.getMessage() for r in caplog.records if "the write is retried in" in r.getMessage()]
    assert [w.split("retried in ")[1].split("s,")[0] for w in waits] == ["1.0", "2.0"]
    assert [(sent, attempts) for _c, _t, sent, _e, attempts in await rows(engine)] == [
        (True, 0),
        (True, 0),
    ]


async def test_a_rejected_token_stops_sending_says_so_once_and_keeps_the_queue(
    sqlite: AsyncEngine, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    for chat in (1, 2, 3):
        await queue(sqlite, chat, parts(chat, 2))
    rejected = asyncio.Event()

    async with sending(sqlite, fake, token="42:REVOKED", on_token_rejected=rejected.set):
        await asyncio.wait_for(rejected.wait(), 10)

    said = [r.getMessage() for r in caplog.records if "BOT_TOKEN" in r.getMessage()]
    assert said == [TOKEN_REJECTED]
    assert "BOT_TOKEN was rejected by Telegram" in TOKEN_REJECTED
    assert fake.stats.requests <= 3  # at most one try per chat, and no retries
    assert fake.sent == []
    # Nothing counted against the messages: they go out once a valid token is set.
    assert {(sent, error, attempts) for *_ct, sent, error, attempts in await rows(sqlite)} == {
        (False, None, 0)
    }


@pytest.mark.parametrize(
    "refusal",
    [ApiError(404, "Not Found"), ApiError(418, "I'm a teapot")],
    ids=["404", "unknown-code"],
)
async def test_an_error_we_cannot_place_is_retried_a_bounded_number_of_times_then_given_up(
    sqlite: AsyncEngine, fake: FakeTelegram, caplog: pytest.LogCaptureFixture, refusal: ApiError
) -> None:
    await queue(sqlite, 7, parts(7, 1))
    fake.faults.chats[7] = refusal

    box = WatchedOutbox(sqlite)

    async with sending(sqlite, fake, outbox=box, retry_base=0.01):
        await asyncio.wait_for(box.failed.wait(), 30)  # eight attempts, a second apart

    assert len(fake.errors) == MAX_UNKNOWN_ATTEMPTS  # given up: never tried again
    [(_chat, _text, sent, error, _attempts)] = await rows(sqlite)
    assert not sent
    assert error is not None
    assert error.startswith(f"gave up after {MAX_UNKNOWN_ATTEMPTS} attempts: ")
    assert refusal.description in error
    [given_up] = [r for r in caplog.records if "giving up" in r.getMessage()]
    assert given_up.levelno == logging.ERROR
    assert refusal.description in given_up.getMessage()


async def test_a_429_for_one_chat_does_not_delay_another_chats_digest(
    sqlite: AsyncEngine, fake: FakeTelegram
) -> None:
    fake.rate_limit(per_chat_per_second=1 / 3)  # one message per chat in any 3 seconds
    a, b = 31, 32
    await queue(sqlite, a, parts(a, 2))

    async with sending(sqlite, fake) as sender:
        await fake.wait_until(lambda: len(fake.errors) == 1)  # A's second part: 429
        [(_method, code, description)] = fake.errors
        flooded_at, retry_after = fake.error_at[0], int(description.rsplit(" ", 1)[1])
        assert code == 429
        fake.register_chat(b)  # B pressed Start before
        await queue(sqlite, b, parts(b, 1))
        sender.wake()
        [to_b] = await fake.wait_sent(chat_id=b)
        [_first, second] = await fake.wait_sent(chat_id=a, count=2)

    assert to_b.at < flooded_at + retry_after  # B did not wait out A's pause
    assert second.at >= flooded_at + retry_after - 0.01  # A did
    assert len(fake.errors) == 1  # A was not tried again inside its pause
    assert received(fake, a) == parts(a, 2)


class FlakyCounting(OutboxRepo):
    """The real outbox, whose first count of a failed attempt fails (a database error)."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.failed_at: float | None = None

    async def count_attempt(self, message_id: int) -> None:
        """Fail once, then count for real."""
        if self.failed_at is None:
            self.failed_at = asyncio.get_running_loop().time()
            broken = sqlite3.OperationalError("disk I/O error")
            raise OperationalError("UPDATE outbox SET attempts=?", (), broken)
        await super().count_attempt(message_id)


async def test_an_unexpected_error_makes_the_chat_wait_then_its_message_goes(
    sqlite: AsyncEngine, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 502 whose retry cannot even be counted: the chat waits UNEXPECTED_RETRY, then the
    message is sent, once (longer than the chat's own one second between sends)."""
    monkeypatch.setattr("bot.delivery.UNEXPECTED_RETRY", 2.0)
    await queue(sqlite, 31, parts(31, 1))
    fake.fail_next(1, 502)
    box = FlakyCounting(sqlite)

    async with sending(sqlite, fake, outbox=box):
        [message] = await fake.wait_sent(chat_id=31, count=1, timeout=15)

    assert box.failed_at is not None and message.at - box.failed_at >= 2.0 - TICK
    assert received(fake, 31) == parts(31, 1)


class CountedReads(OutboxRepo):
    """The real outbox, counting how often the sender reads what is pending."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.reads = 0

    async def pending(self, limit: int, after_id: int = 0) -> list[Pending]:
        """Count, then read."""
        self.reads += 1
        return await super().pending(limit, after_id)


async def test_while_every_chat_with_messages_is_busy_the_sender_waits_instead_of_rereading(
    sqlite: AsyncEngine, fake: FakeTelegram
) -> None:
    """A two-part digest: the second part waits a second for its chat (Telegram's one
    message a second to a chat). Meanwhile the outbox is not read over and over."""
    await queue(sqlite, 41, parts(41, 2))
    box = CountedReads(sqlite)

    async with sending(sqlite, fake, outbox=box):
        await fake.wait_sent(chat_id=41, count=2, timeout=15)

    assert received(fake, 41) == parts(41, 2)
    assert box.reads < 20  # a handful, not one per event-loop turn for a whole second
