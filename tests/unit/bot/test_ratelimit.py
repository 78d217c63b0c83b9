"""Which 429s pause one chat and which pause the bot; the per-user command throttle."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiogram.types import Chat, Message, User

from bot.middlewares import Throttle
from bot.ratelimit import RateLimiter
from bot.telegram_limits import TelegramLimits

A, B = 101, 202


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limits_at(clock: Clock) -> TelegramLimits:
    return TelegramLimits(RateLimiter(30, clock))


def test_a_429_for_a_chat_written_to_a_moment_ago_pauses_that_chat_only() -> None:
    clock = Clock()
    limits = limits_at(clock)
    limits.scope.accepted(A)
    clock.now += 2
    limits.retry_after(A, 30)
    assert limits.limiter.ready_in(A) == 30
    assert limits.limiter.ready_in(B) == 0
    assert limits.limiter.ready_in() == 0


def test_a_429_for_a_chat_not_written_to_within_a_minute_pauses_everyone() -> None:
    clock = Clock()
    limits = limits_at(clock)
    limits.scope.accepted(A)
    clock.now += 61
    limits.retry_after(A, 5)
    assert limits.limiter.ready_in(B) == 5
    assert limits.limiter.ready_in() == 5


def test_429s_for_two_chats_within_a_second_pause_everyone() -> None:
    clock = Clock()
    limits = limits_at(clock)
    limits.scope.accepted(A)
    limits.scope.accepted(B)
    limits.retry_after(A, 3)
    assert limits.limiter.ready_in(B) == 0  # one chat's flood so far
    clock.now += 0.5
    limits.retry_after(B, 3)
    assert limits.limiter.ready_in(303) == 3
    assert limits.limiter.ready_in() == 3


def test_repeated_429s_for_one_chat_stay_that_chats_own() -> None:
    clock = Clock()
    limits = limits_at(clock)
    limits.scope.accepted(A)
    limits.retry_after(A, 3)
    clock.now += 0.5
    limits.retry_after(A, 40)
    assert limits.limiter.ready_in(A) == 40
    assert limits.limiter.ready_in(B) == 0


def test_a_429_on_a_call_without_a_chat_pauses_everyone() -> None:
    clock = Clock()
    limits = limits_at(clock)
    limits.scope.accepted(A)
    limits.retry_after(None, 7)
    assert limits.limiter.ready_in(A) == 7
    assert limits.limiter.ready_in(B) == 7


def test_a_429_for_a_chat_the_bot_never_wrote_to_pauses_everyone() -> None:
    clock = Clock()
    limits = limits_at(clock)
    limits.retry_after(A, 4)
    assert limits.limiter.ready_in(B) == 4
    assert limits.limiter.ready_in() == 4


def test_a_shorter_retry_after_does_not_cut_a_chats_pause() -> None:
    clock = Clock()
    limits = limits_at(clock)
    limits.scope.accepted(A)
    limits.retry_after(A, 30)
    clock.now += 5
    limits.retry_after(A, 2)  # a send already on its way when the first 429 came
    assert limits.limiter.ready_in(A) == 25
    assert limits.limiter.ready_in(B) == 0


def test_the_boundaries_of_a_chats_own_429() -> None:
    """Written to exactly a minute ago: still the chat's limit; a second after another
    chat's 429: not a flood of several chats any more."""
    clock = Clock()
    limits = limits_at(clock)
    limits.scope.accepted(A)
    limits.scope.accepted(B)
    clock.now += 59.0
    limits.retry_after(B, 3)
    clock.now += 1.0
    limits.retry_after(A, 3)
    assert limits.limiter.ready_in(A) == 3
    assert limits.limiter.ready_in(303) == 0


async def started(task: asyncio.Task[None]) -> bool:
    """Whether the send got its turn once everything else ready to run has run."""
    for _ in range(10):
        await asyncio.sleep(0)
    return task.done()


async def test_sends_still_unanswered_hold_their_places_in_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(3, clock)
    for _ in range(3):
        await asyncio.wait_for(limiter.acquire(), 1)
        clock.now += 1 / 3
    clock.now += 10  # long after: only the three sends without an answer count now
    fourth = asyncio.create_task(limiter.acquire())
    assert not await started(fourth)
    limiter.done()  # one answered: its place frees a second later, not now
    assert not await started(fourth)
    clock.now += 1.0
    limiter.done()
    assert await started(fourth)


@pytest.mark.parametrize("answered", [1, 2])
async def test_a_send_counts_until_a_second_after_its_answer(answered: int) -> None:
    """Three a second: two sends answered late and one more in flight (or one answered and
    two in flight) fill the second after the first answer."""
    clock = Clock()
    limiter = RateLimiter(3, clock)
    start = clock.now
    await asyncio.wait_for(limiter.acquire(), 1)
    clock.now = start + 0.34
    await asyncio.wait_for(limiter.acquire(), 1)
    clock.now = start + 0.9
    limiter.done()  # the first send's answer came late
    if answered == 2:
        clock.now = start + 0.95
        limiter.done()
    clock.now = start + 0.96
    await asyncio.wait_for(limiter.acquire(), 1)  # three in the second: still within the rate
    clock.now = start + 1.85
    fourth = asyncio.create_task(limiter.acquire())
    assert not await started(fourth)
    clock.now = start + 1.9  # a second after the first answer
    await asyncio.wait_for(fourth, 1)


async def test_below_one_a_second_a_send_waits_for_the_one_before_to_be_answered() -> None:
    clock = Clock()
    limiter = RateLimiter(0.5, clock)
    await limiter.acquire()
    clock.now += 10
    second = asyncio.create_task(limiter.acquire())
    assert not await started(second)
    limiter.done()
    assert not await started(second)  # two seconds after the answer
    second.cancel()


async def test_sends_start_spaced_by_the_rate_and_each_chat_by_its_interval() -> None:
    clock = Clock()
    limiter = RateLimiter(20, clock, per_chat=0.2)
    await limiter.acquire(A)
    other = asyncio.create_task(limiter.acquire(B))
    assert not await started(other)  # a twentieth of a second after the one before
    clock.now += 0.05
    await asyncio.wait_for(other, 1)
    limiter.done(A)
    clock.now += 0.1  # the rate allows one more send; A's interval after its answer does not
    again = asyncio.create_task(limiter.acquire(A))
    assert not await started(again)
    clock.now += 0.1
    await asyncio.wait_for(again, 1)


async def test_one_message_at_a_time_per_chat() -> None:
    clock = Clock()
    limiter = RateLimiter(30, clock, per_chat=0.0)
    await limiter.acquire(A)
    waiting = [asyncio.create_task(limiter.acquire(A)) for _ in range(2)]
    assert [await started(t) for t in waiting] == [False, False]  # the first has no answer
    limiter.done(A)  # both go for the turn, where the first waits a thirtieth of a second
    assert [await started(t) for t in waiting] == [False, False]
    clock.now += 1
    first, rest = await asyncio.wait(waiting, timeout=1, return_when=asyncio.FIRST_COMPLETED)
    assert len(first) == 1
    [other] = rest
    clock.now += 1  # the rate lets the other through now; the chat does not
    with pytest.raises(TimeoutError):  # nothing to await for a send that must not start
        await asyncio.wait_for(asyncio.shield(other), 0.2)
    limiter.done(A)
    await asyncio.wait_for(other, 1)


async def test_a_retry_after_that_came_with_the_answer_outlasts_the_chats_interval() -> None:
    clock = Clock()
    limits = limits_at(clock)
    await limits.limiter.acquire(A)
    limits.limiter.pause_chat(A, 30)  # Telegram said 429 for A while the send was out
    limits.limiter.done(A)
    assert limits.limiter.ready_in(A) == 30


async def test_a_groups_budget_holds_for_sends_that_do_not_wait_for_ready_in() -> None:
    clock = Clock()
    limiter = RateLimiter(30, clock, per_chat=0.0)
    group = -100777
    for _ in range(20):
        await asyncio.wait_for(limiter.acquire(group), 1)
        limiter.done(group)
        clock.now += 0.5
    twenty_first = asyncio.create_task(limiter.acquire(group))
    assert not await started(twenty_first)
    twenty_first.cancel()


async def test_after_fifty_thousand_chats_recent_pauses_and_budgets_still_hold() -> None:
    """Past 50,000 chats the limiter forgets what is over, and only that."""
    clock = Clock()
    limits = TelegramLimits(RateLimiter(1_000_000, clock, per_chat=0.0))
    limiter, group = limits.limiter, -100777
    limits.scope.accepted(A)
    for _ in range(19):
        clock.now += 1e-6
        await limiter.acquire(group)
        limiter.done(group)
    for chat in range(-10, -50_012, -1):  # 50,001 more groups within the same minute
        clock.now += 1e-6
        await limiter.acquire(chat)
        limiter.done(chat)
        limits.scope.accepted(chat)
    clock.now += 1e-6
    await limiter.acquire(group)
    limiter.done(group)
    assert limiter.ready_in(group) > 0  # its twenty this minute are still counted
    limits.retry_after(A, 5)
    assert limiter.ready_in(A) == 5  # written to a moment ago: A's own 429
    assert limiter.ready_in(B) == 0


def command(user_id: int, text: str = "/digest") -> Message:
    chat = Chat(id=user_id, type="private")
    user = User(id=user_id, is_bot=False, first_name="U")
    return Message(message_id=1, date=0, chat=chat, from_user=user, text=text)  # type: ignore[arg-type]


class Replies:
    """Stands in for the rest of the dispatcher: counts what reached the handlers."""

    def __init__(self) -> None:
        self.handled: list[int] = []

    async def __call__(self, event: Any, data: dict[str, Any]) -> None:
        self.handled.append(event.from_user.id)


async def test_throttle_passes_ten_commands_in_ten_seconds_then_lets_the_user_in_again() -> None:
    clock = Clock()
    throttle = Throttle(limit=10, window=10.0, clock=clock)
    handlers = Replies()
    for _ in range(10):
        await throttle(handlers, command(A), {})
        clock.now += 0.5
    assert handlers.handled == [A] * 10
    assert throttle.admit(B)  # another user is not held back
    assert not throttle.admit(A)  # the eleventh within 10 s
    clock.now += 5.1  # the first command is now more than 10 s old
    assert throttle.admit(A)


async def test_throttle_lets_plain_text_and_other_users_through() -> None:
    clock = Clock()
    throttle = Throttle(limit=1, window=10.0, clock=clock)
    handlers = Replies()
    await throttle(handlers, command(A), {})
    await throttle(handlers, command(A, "hello"), {})
    await throttle(handlers, command(B), {})
    assert handlers.handled == [A, A, B]
