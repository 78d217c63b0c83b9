"""Several `python -m bot` processes on one PostgreSQL and one Redis, one of them killed -9."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert

from bot.storage.engine import make_engine
from bot.storage.feeds import FeedRepo
from bot.storage.migrate import upgrade_to_head
from bot.storage.tables import subscribers
from tests.e2e.botprocess import BotProcess, bot_env
from tests.e2e.conftest import Chat
from tests.e2e.gated_telegram import GatedTelegram
from tests.e2e.news import digests, strikes
from tests.support.feed_server import FeedServer, rss

StartBot = Callable[..., Awaitable[BotProcess]]
CAP = 12  # SEND_RATE_PER_SECOND, and the most the fake accepts in any second
READERS = list(range(9000, 9072))
HOLDS = READERS[:4]  # their first send is accepted and its answer held back: in flight
TAKEOVER = 120  # outbox claims (30 s) and a dead sender's in-flight count (60 s) run out
STARTED = 180  # seconds for a cold start on a busy 2-core box (imports dominate)

pytestmark = [
    pytest.mark.parametrize("db_url", ["postgresql"], indirect=True),
    pytest.mark.timeout(420),
]


async def seed(db_url: str, feed_url: str) -> None:
    """A migrated database with instant-digest readers of every topic and one feed."""
    engine = make_engine(db_url)
    now = datetime.now(UTC)
    try:
        await upgrade_to_head(engine)
        rows = [
            {
                "chat_id": c,
                "ui_lang": "en",
                "schedule": "instant",
                "timezone": "Asia/Almaty",
                "created_at": now,
                "updated_at": now,
            }
            for c in READERS
        ]
        async with engine.begin() as conn:
            await conn.execute(insert(subscribers), rows)
        await FeedRepo(engine).add(url=feed_url, title="", site_url=None, lang_hint=None, now=now)
    finally:
        await engine.dispose()


async def started(start_bot: StartBot, env: dict[str, str]) -> BotProcess:
    """A bot process that has logged its start."""
    process = await start_bot(env, wait_for=None)
    await process.wait_log("Habar started", STARTED)
    return process


def cluster_env(fake: GatedTelegram, db_url: str, redis_url: str) -> dict[str, str]:
    """The environment of an instance sharing the database and Redis."""
    return {
        **bot_env(fake, db_url),
        "REDIS_URL": redis_url,
        "SEND_RATE_PER_SECOND": str(CAP),
    }


def most_in_one_second(times: list[float]) -> int:
    """The most messages accepted within any one second."""
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times))


async def test_three_instances_deliver_every_digest_once_at_the_cap_while_one_is_killed(
    start_bot: StartBot,
    fake_tg: GatedTelegram,
    feed_server: FeedServer,
    db_url: str,
    redis_url: str,
) -> None:
    await seed(db_url, feed_server.add("/strikes.xml", rss(strikes(5))))
    fake_tg.rate_limit(CAP, per_chat_per_second=1)
    for chat in READERS:
        fake_tg.register_chat(chat)
    for chat in HOLDS:
        fake_tg.hold(chat)
    env = cluster_env(fake_tg, db_url, redis_url)
    bots = await asyncio.gather(*(started(start_bot, env) for _ in range(3)))

    await fake_tg.wait_until(lambda: len(fake_tg.held) == len(HOLDS), timeout=60)
    killed = bots[0]
    killed.kill()
    assert await killed.exit_code() == -9
    for chat in HOLDS:  # answered: whoever still listens records them
        fake_tg.release(chat)

    def everyone_has_news() -> bool:
        return all(digests(fake_tg.sent_to(c)) for c in READERS)

    await fake_tg.wait_until(everyone_has_news, timeout=TAKEOVER)
    got = {c: [m.text for m in digests(fake_tg.sent_to(c))] for c in READERS}
    twice = {c for c, texts in got.items() if len(texts) > 1}
    assert twice <= set(HOLDS)  # repeated only if in flight when the instance died
    assert all(len(set(texts)) == 1 for texts in got.values())  # each digest planned once
    sent = [m for c in READERS for m in fake_tg.sent_to(c)]
    assert fake_tg.stats.too_many == 0
    assert most_in_one_second([m.at for m in sent]) <= CAP
    for bot in bots[1:]:
        bot.terminate()
        assert await bot.exit_code() == 0


async def test_another_instance_answers_within_30_s_when_the_one_polling_updates_dies(
    start_bot: StartBot, fake_tg: GatedTelegram, db_url: str, redis_url: str
) -> None:
    env = cluster_env(fake_tg, db_url, redis_url)
    first = await started(start_bot, env)
    await first.wait_log("now receives the updates", 30)
    second = await started(start_bot, env)
    user = Chat(fake_tg, 9500, language_code="en")
    await user.ask("/help", timeout=30)

    first.kill()
    assert await first.exit_code() == -9
    before = len(user.sent())
    await user.ask("/help", timeout=40)  # within the lease (20 s) and a dead send's hold (15 s)

    await second.wait_log("now receives the updates", 1)
    assert len(user.sent()) == before + 1  # the update was handled once
    second.terminate()
    assert await second.exit_code() == 0


async def test_a_second_instance_on_postgresql_without_redis_exits_2_saying_why(
    start_bot: StartBot, fake_tg: GatedTelegram, db_url: str
) -> None:
    env = bot_env(fake_tg, db_url)
    first = await started(start_bot, env)

    second = await start_bot(env, wait_for=None)

    assert await second.exit_code(STARTED) == 2
    assert "several instances need Redis" in second.text
    first.terminate()
    assert await first.exit_code() == 0
