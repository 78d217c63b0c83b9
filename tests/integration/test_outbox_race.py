"""Two processes planning one chat's digest at once queue it once, on SQLite and PostgreSQL.

The bot and a CLI command (or two bot replicas on PostgreSQL) each have their own engine, so
no in-process lock orders them: the one that planned second must find the cursor moved.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.engine import make_engine
from bot.storage.items import ItemRow
from bot.storage.outbox import OutboxRepo, Plan
from bot.storage.subscribers import Subscriber, SubscriberRepo
from bot.storage.tables import items
from tests.integration.test_outbox import (
    NOW,
    Planner,
    news,
    pending_texts,
    plan,
    store,
    subscriber,
)

WAIT = 20.0  # seconds: only reached if planning hangs


def plan_in_another_process(
    url: str, reached: threading.Event, release: threading.Event
) -> int | None:
    """Plan chat 7 on an engine of its own, holding still after reading what to plan."""

    def planner(_sub: Subscriber, rows: list[ItemRow]) -> Plan:
        reached.set()
        release.wait(WAIT)  # the other planner runs its whole transaction now
        return Plan([f"<b>{r.title}</b>" for r in rows], None)

    async def run() -> int | None:
        engine = make_engine(url)
        try:
            return await plan(OutboxRepo(engine), 7, planner, NOW)
        finally:
            await engine.dispose()

    return asyncio.run(run())


async def test_a_plan_that_read_before_another_committed_queues_nothing(
    engine: AsyncEngine, db_url: str
) -> None:
    await SubscriberRepo(engine).create(subscriber(7), NOW)
    await store(engine, *(news(f"k{i}", f"Новость {i}") for i in range(5)))
    reached, release = threading.Event(), threading.Event()
    first = asyncio.create_task(
        asyncio.to_thread(plan_in_another_process, db_url, reached, release)
    )
    try:
        assert await asyncio.to_thread(reached.wait, WAIT)
        second = await plan(OutboxRepo(engine), 7, Planner(), NOW)
    finally:
        release.set()
    assert second == 5
    assert await first == 0  # it lost the race, read again and found nothing left to plan
    assert len(await pending_texts(OutboxRepo(engine), 7)) == 5


async def test_a_plan_waits_for_an_item_still_being_written_rather_than_skip_it(
    engine: AsyncEngine,
) -> None:
    """PostgreSQL hands out ids at insert, not at commit: with item 2 still being written and
    item 3 committed, a plan that read up to 3 would move the cursor past 2 for good."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: its ids commit in order")
    await SubscriberRepo(engine).create(subscriber(7), NOW)
    await store(engine, news("k1", "Первая новость"))
    writer = await engine.connect()
    await writer.begin()
    row = {
        "key": "k2", "url": "https://news.example.kz/k2", "title": "Вторая новость",
        "lang": "ru", "published_at": NOW, "first_seen_at": NOW, "pushable": True,
    }  # fmt: skip
    await writer.execute(insert(items).values(row))  # id 2, not committed yet
    await store(engine, news("k3", "Третья новость"))  # id 3, committed
    box = OutboxRepo(engine)
    planning = asyncio.create_task(box.snapshot(7))
    async with engine.connect() as watch:
        while not planning.done():  # until it finished, or waits on the writer's lock
            waiting = await watch.execute(
                text("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation IS NOT NULL")
            )
            if waiting.scalar_one():
                break
            await asyncio.sleep(0.01)
    await writer.commit()
    await writer.close()

    snap = await asyncio.wait_for(planning, WAIT)
    assert snap is not None
    assert [r.title for r in snap.items] == ["Первая новость", "Вторая новость", "Третья новость"]
