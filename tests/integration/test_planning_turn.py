"""Several instances plan a digest round one at a time (a lease in the real Redis)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.catalogues import GettextLocalizer, load_catalogues
from bot.coordination import SharedCoordination
from bot.services.digest import Digests
from bot.storage.outbox import OutboxRepo
from bot.storage.subscribers import SubscriberRepo
from bot.storage.tables import outbox
from feeds.topics import Taxonomy
from tests.integration.test_outbox import NOW, news, store, subscriber


def digests_of(engine: AsyncEngine, coordination: SharedCoordination) -> Digests:
    taxonomy = Taxonomy.load(None)
    return Digests(
        subscribers=SubscriberRepo(engine),
        outbox=OutboxRepo(engine),
        topic_order=taxonomy.slugs,
        localizer=GettextLocalizer(load_catalogues(), taxonomy),
        backfill=timedelta(hours=24),
        clock=lambda: NOW,
        turn=coordination.planning_turn,
    )


async def queued(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(outbox))).scalar_one())


async def test_an_instance_skips_the_round_while_another_plans_it(
    engine: AsyncEngine, redis_url: str
) -> None:
    due = subscriber(1)
    due = type(due)(**{**{k: getattr(due, k) for k in due.__slots__},
                       "next_digest_at": NOW - timedelta(minutes=1)})  # fmt: skip
    await SubscriberRepo(engine).create(due, NOW)
    await store(engine, news("a", "Шахтёры вышли на работу"))
    res = SimpleNamespace(engine=engine)
    first = Redis.from_url(redis_url)
    second = Redis.from_url(redis_url)
    try:
        one = SharedCoordination(res, None, None, first)  # type: ignore[arg-type]
        other = SharedCoordination(res, None, None, second)  # type: ignore[arg-type]
        digests = digests_of(engine, other)

        async with one.planning_turn() as mine:
            assert mine
            assert await digests.plan_due() == 0  # the first instance is planning
            assert await digests.plan_instant() == 0
            assert await queued(engine) == 0

        assert await digests.plan_due() == 1  # its turn was given back
        assert await queued(engine) == 1
    finally:
        await first.aclose()
        await second.aclose()
