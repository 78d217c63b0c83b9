"""Digests bounded in size, and planned without holding up polls, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import threading
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.engine import make_engine
from bot.storage.items import ItemRow
from bot.storage.outbox import OutboxRepo, Plan
from bot.storage.subscribers import Subscriber, SubscriberRepo
from tests.integration.test_digest_schedule import CREATED, make_bot
from tests.integration.test_outbox import NOW, news, plan, store, subscriber

MORE = re.compile(r"(\d+) more items? matched your filters: /digest sends the next ones\.")
LINK = re.compile(r'href="https://tengrinews\.kz/news/(p\d+)/"')


async def test_a_digest_carries_at_most_a_hundred_items_and_the_next_ones_follow(
    engine: AsyncEngine,
) -> None:
    bot = make_bot(engine, CREATED)
    await bot.subs.start(1, "en")
    published = CREATED - timedelta(minutes=30)
    await store(
        engine,
        *(news(f"p{n:03}", f"Жаңалық {n}", published=published) for n in range(250)),
        now=CREATED,
    )

    counts, footers, seen = [], [], []
    for _ in range(4):
        counts.append(await bot.digests.plan(1))
        parts = await bot.queued(1)
        digest = "\n".join(parts)
        footers.append([int(n) for n in MORE.findall(digest)])
        seen += LINK.findall(digest)
        for message in await OutboxRepo(engine).pending(1000):
            await OutboxRepo(engine).mark_sent(message.id, CREATED)
        if parts:
            assert MORE.search(parts[-1]) or not footers[-1]  # the line ends the last message

    assert counts == [100, 100, 50, 0]
    assert footers == [[150], [50], [], []]
    assert sorted(seen) == [f"p{n:03}" for n in range(250)]  # every item once, none twice


def _store_from_another_process(db_url: str, stored: threading.Event) -> None:
    """A poll through an engine of its own, as another process (`poll --once`) would do it."""

    async def poll() -> None:
        other = make_engine(db_url)
        try:
            await store(other, news("late", "Поздняя новость"))
        finally:
            await other.dispose()
        stored.set()

    asyncio.run(poll())


async def test_a_poll_is_stored_while_a_digest_is_being_rendered(
    engine: AsyncEngine, db_url: str
) -> None:
    subs, box = SubscriberRepo(engine), OutboxRepo(engine)
    await subs.create(subscriber(1), NOW)
    await store(engine, news("early", "Ранняя новость"))
    stored = threading.Event()
    poll = threading.Thread(target=_store_from_another_process, args=(db_url, stored))
    polled_meanwhile = []

    def slow_planner(_sub: Subscriber, rows: list[ItemRow]) -> Plan:
        # Rendering lasts until the poll is stored: the poll must not wait for the plan.
        poll.start()
        polled_meanwhile.append(stored.wait(timeout=20))
        return Plan([f"<b>{r.title}</b>" for r in rows], None)

    assert await plan(box, 1, slow_planner, NOW) == 1
    poll.join()  # (a poll that waited for the plan is stored only now)
    assert polled_meanwhile == [True]
    assert await plan(box, 1, lambda _s, rows: Plan([r.title for r in rows], None), NOW) == 1
    assert [p.text for p in await box.pending(10)] == ["<b>Ранняя новость</b>", "Поздняя новость"]
