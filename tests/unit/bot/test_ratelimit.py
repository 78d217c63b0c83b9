"""Which 429s pause one chat and which pause the bot; the per-user command throttle."""

from __future__ import annotations

from typing import Any

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
