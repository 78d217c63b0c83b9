"""The group send budget (20 a minute), the 5-minute memory of who administers a chat, and
the command throttle for anonymous administrators."""

from __future__ import annotations

from typing import Any

from aiogram.types import Chat, Message, User

from bot.middlewares import Throttle
from bot.ratelimit import GROUP_PER_MINUTE, RateLimiter
from bot.services.places import Rights

GROUP, PERSON = -100777, 777


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def send(limiter: RateLimiter, clock: Clock, chat_id: int) -> float:
    """One send to the chat, started as soon as the limiter allows; returns when it started."""
    clock.now += limiter.ready_in(chat_id)  # the test's clock moves only when told to
    await limiter.acquire(chat_id)
    started = clock.now
    limiter.done(chat_id)
    return started


async def test_a_group_gets_at_most_twenty_messages_in_any_minute() -> None:
    clock = Clock()
    limiter = RateLimiter(30, clock)
    starts = [await send(limiter, clock, GROUP) for _ in range(45)]
    for i in range(len(starts) - GROUP_PER_MINUTE):
        assert starts[i + GROUP_PER_MINUTE] - starts[i] >= 60.0
    assert starts[GROUP_PER_MINUTE - 1] - starts[0] < 60.0  # a burst of 20 is not held back


async def test_a_private_chat_keeps_its_one_a_second() -> None:
    clock = Clock()
    limiter = RateLimiter(30, clock)
    starts = [await send(limiter, clock, PERSON) for _ in range(30)]
    assert starts[-1] - starts[0] < 31.0


async def test_an_admins_rights_are_asked_again_after_five_minutes() -> None:
    clock = Clock()
    rights = Rights(clock=clock)
    answers = iter(["administrator", "member"])
    asked = []

    async def lookup(chat_id: int, user_id: int) -> str:
        asked.append((chat_id, user_id))
        return next(answers)

    assert await rights.is_admin(GROUP, PERSON, lookup)
    clock.now += 299
    assert await rights.is_admin(GROUP, PERSON, lookup)
    assert len(asked) == 1
    clock.now += 2
    assert not await rights.is_admin(GROUP, PERSON, lookup)
    assert len(asked) == 2


async def test_anonymous_admins_of_two_groups_have_a_budget_each() -> None:
    clock = Clock()
    throttle = Throttle(limit=1, window=10.0, clock=clock)
    passed: list[int] = []

    async def handler(event: Message, data: dict[str, Any]) -> None:
        passed.append(event.chat.id)

    anonymous = User(id=1087968824, is_bot=True, first_name="Group", username="GroupAnonymousBot")
    for group in (-1001, -1002):
        chat = Chat(id=group, type="supergroup", title="g")
        message = Message(
            message_id=1, date=0, chat=chat, from_user=anonymous, sender_chat=chat, text="/digest"
        )
        await throttle(handler, message, {})  # type: ignore[arg-type]
    assert passed == [-1001, -1002]
