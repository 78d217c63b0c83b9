"""The send limiter and leases shared through the real Redis: two instances, one bot's budget.

Each "instance" is its own Bot client, Redis connection and limiter, as in two processes;
the fake Telegram counts what the bot as a whole sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from redis.asyncio import Redis

from bot.redis_coordination import RedisLease, RedisRateLimiter
from bot.telegram_limits import TelegramLimits
from tests.integration.conftest import make_bot
from tests.support.fake_telegram import FakeTelegram


class Instance:
    """One instance's Telegram client, limited through Redis."""

    def __init__(self, fake: FakeTelegram, redis: Redis, rate: float) -> None:
        self.limiter = RedisRateLimiter(redis, rate)
        self.limits = TelegramLimits(self.limiter)  # type: ignore[arg-type]
        self.bot: Bot = make_bot(fake)
        self.bot.session.middleware(self.limits)

    async def send(self, chat_id: int, text: str) -> None:
        """Send one message through this instance's limits."""
        await self.bot.send_message(chat_id, text)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A client of the test's Redis database."""
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def two(fake: FakeTelegram, redis_url: str) -> AsyncIterator[list[Instance]]:
    """Two instances of one bot, each with its own Redis connection."""
    clients = [Redis.from_url(redis_url), Redis.from_url(redis_url)]
    instances = [Instance(fake, c, rate=8) for c in clients]
    yield instances
    for inst, client in zip(instances, clients, strict=True):
        await inst.bot.session.close()
        await client.aclose()


def most_in_one_second(times: list[float]) -> int:
    """The most messages accepted within any one second."""
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times))


async def test_two_instances_together_never_send_more_than_the_rate_in_any_second(
    fake: FakeTelegram, two: list[Instance]
) -> None:
    fake.rate_limit(8)  # Telegram's limit for the bot, as low as SEND_RATE_PER_SECOND
    chats = list(range(5000, 5024))
    for chat in chats:
        fake.register_chat(chat)

    await asyncio.gather(*(two[k % 2].send(c, f"news {c}") for k, c in enumerate(chats)))

    sent = [m for c in chats for m in fake.sent_to(c)]
    assert len(sent) == len(chats)
    assert fake.stats.too_many == 0
    assert most_in_one_second([m.at for m in sent]) <= 8


async def test_messages_to_one_chat_from_two_instances_keep_a_second_apart(
    fake: FakeTelegram, two: list[Instance]
) -> None:
    fake.register_chat(5100)  # Telegram's own limits: one message a second to a private chat

    await asyncio.gather(*(two[k % 2].send(5100, f"part {k}") for k in range(4)))

    assert len(fake.sent_to(5100)) == 4
    assert fake.stats.too_many == 0


async def test_two_instances_together_keep_to_20_messages_a_minute_in_a_group(
    redis_url: str,
) -> None:
    clients = [Redis.from_url(redis_url), Redis.from_url(redis_url)]
    # No per-chat spacing here, so the minute's budget is reached without waiting for it.
    limiters = [RedisRateLimiter(c, 100, per_chat=0.0) for c in clients]
    try:
        for k in range(20):
            async with limiters[k % 2].slot(-100500):
                pass
        code, wait = await limiters[0]._try("-100500", "the 21st")
        async with asyncio.timeout(5), limiters[1].slot(-100600):
            other = "sent"
    finally:
        for client in clients:
            await client.aclose()

    assert code == 1 and wait > 55  # the 21st waits until the first ages out of the minute
    assert other == "sent"  # another group has its own minute


async def test_a_send_counts_from_when_telegram_answered_not_from_the_report(
    redis: Redis,
) -> None:
    """An instance that reports an answer late (a busy loop, a slow Redis) loses no time: the
    chat's one-second spacing runs from the answer, which is no earlier than Telegram saw it."""
    limiter = RedisRateLimiter(redis, 30)
    token = await limiter.acquire(5400)
    answered = limiter.now() - 0.8  # Telegram answered 0.8 s before the report leaves

    await limiter.done(5400, token, answered)

    assert 0.05 < await limiter.ready_in(5400) <= 0.3  # not a whole second from now


async def test_a_429_one_instance_got_pauses_the_other_too(
    fake: FakeTelegram, two: list[Instance]
) -> None:
    first, other = two
    fake.register_chat(5200)
    fake.storm(1, retry_after=3)  # a chat never written to: the limit is the bot's own

    sending = asyncio.create_task(first.send(5200, "hello"))
    await fake.wait_until(lambda: fake.stats.too_many == 1, timeout=10)

    assert await other.limiter.ready_in() > 1.5
    assert await other.limiter.ready_in(5300) > 1.5
    await sending
    assert len(fake.sent_to(5200)) == 1


async def test_one_instance_at_a_time_holds_a_lease_and_a_clean_stop_hands_it_on(
    redis: Redis,
) -> None:
    a = RedisLease(redis, "habar:getupdates", "a", ttl=20)
    b = RedisLease(redis, "habar:getupdates", "b", ttl=20)

    assert await a.try_hold()
    assert not await b.try_hold()
    assert await a.try_hold()  # renewed by its holder
    await b.release()  # not b's to give up
    assert not await b.try_hold()
    await a.release()
    assert await b.try_hold()
    assert not await a.try_hold()


async def test_a_dead_holders_lease_is_taken_over_when_it_expires(redis: Redis) -> None:
    dead = RedisLease(redis, "habar:getupdates", "dead", ttl=20)
    standby = RedisLease(redis, "habar:getupdates", "standby", ttl=20)
    assert await dead.try_hold()
    ttl = await redis.pttl("habar:getupdates")
    assert 15_000 < ttl <= 20_000  # it ends by itself within the lease

    await redis.pexpireat("habar:getupdates", 1)  # its time is up: nobody renewed it

    assert await standby.try_hold()
