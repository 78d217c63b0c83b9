"""Retention on SQLite and PostgreSQL: old items and sent messages go, what is still due stays."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services.retention import Retention
from bot.storage.items import ItemRow
from bot.storage.outbox import OutboxRepo, Plan
from bot.storage.retention import RETENTION_LOCK, RetentionRepo, item_children
from bot.storage.subscribers import Subscriber, SubscriberRepo
from bot.storage.tables import item_topics, items
from feeds.models import Lang
from tests.integration.test_outbox import (
    BACKFILL,
    NOW,
    Planner,
    news,
    pending_texts,
    plan,
    store,
    subscriber,
    table_sizes,
)

LONG_AGO = NOW - timedelta(days=100)


def retention(engine: AsyncEngine, *, now: datetime = NOW, days: int = 90, batch: int = 2):
    """Retention as the bot builds it, on a fixed clock, with small batches to cross them."""
    return Retention(
        repo=RetentionRepo(engine),
        outbox=OutboxRepo(engine),
        days=days,
        backfill=BACKFILL,
        batch=batch,
        clock=lambda: now,
    )


async def titles(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(items.c.title).order_by(items.c.id))).scalars())


async def topic_rows(engine: AsyncEngine) -> list[tuple[str, str]]:
    query = (
        select(items.c.title, item_topics.c.topic)
        .join(items, items.c.id == item_topics.c.item_id)
        .order_by(items.c.id)
    )
    async with engine.connect() as conn:
        return [(r.title, r.topic) for r in await conn.execute(query)]


async def test_items_first_seen_before_the_retention_window_go_with_their_topics(
    engine: AsyncEngine,
) -> None:
    old = [news(f"o{i}", f"Старая {i}", topics=frozenset({"economy"})) for i in range(5)]
    await store(engine, *old, now=LONG_AGO)
    await store(
        engine, news("d89", "89 дней", topics=frozenset({"economy"})), now=NOW - timedelta(days=89)
    )
    await store(engine, news("new", "Сегодня"), now=NOW)

    swept = await retention(engine).run()

    assert (swept.items, swept.kept) == (5, 0)
    assert await titles(engine) == ["89 дней", "Сегодня"]
    assert await topic_rows(engine) == [("89 дней", "economy")]


async def test_old_items_a_subscriber_has_yet_to_get_stay_and_reach_its_digest(
    engine: AsyncEngine,
) -> None:
    subs, box = SubscriberRepo(engine), OutboxRepo(engine)
    await store(
        engine,
        news("kk", "Қазақша ескі", lang=Lang.KK),
        news("ru", "Русская старая", lang=Lang.RU),
        news("eco", "Экономика, старая", lang=Lang.RU, topics=frozenset({"economy"})),
        news("spo", "Спорт, старый", lang=Lang.RU, topics=frozenset({"sport"})),
        news("arc", "Архив", lang=Lang.KK, published=LONG_AGO - timedelta(days=30)),
        now=LONG_AGO,
    )
    await store(engine, news("today", "Сегодня", lang=Lang.EN), now=NOW)
    # Behind every item: a Kazakh reader, an economy reader, and a paused reader of all.
    await subs.create(subscriber(1, langs=frozenset({"kk"})), LONG_AGO)
    await subs.create(subscriber(2, topics=frozenset({"economy"})), LONG_AGO)
    await subs.create(subscriber(3).but(status="paused"), LONG_AGO)

    swept = await retention(engine).run()

    assert (swept.items, swept.kept) == (3, 2)
    assert await titles(engine) == ["Қазақша ескі", "Экономика, старая", "Сегодня"]
    kazakh, economy = Planner(), Planner()
    await plan(box, 1, kazakh, NOW)
    await plan(box, 2, economy, NOW)
    assert kazakh.seen == [["Қазақша ескі"]]
    assert economy.seen == [["Экономика, старая"]]


async def test_the_newest_item_stays_so_ids_are_never_handed_out_again(
    engine: AsyncEngine,
) -> None:
    subs, box = SubscriberRepo(engine), OutboxRepo(engine)
    await subs.create(subscriber(1), LONG_AGO)
    await store(engine, *(news(f"o{i}", f"Старая {i}") for i in range(3)), now=LONG_AGO)
    await plan(box, 1, Planner(), LONG_AGO)  # the cursor is at the newest item

    swept = await retention(engine).run()
    await store(engine, news("fresh", "Свежая"), now=NOW)
    later = Planner()
    await plan(box, 1, later, NOW)

    assert swept.items == 2
    assert await titles(engine) == ["Старая 2", "Свежая"]
    assert later.seen == [["Свежая"]]  # a reused id would sit below the cursor: never sent


async def test_sent_and_refused_messages_go_after_a_week_and_unsent_ones_never(
    engine: AsyncEngine,
) -> None:
    subs, box = SubscriberRepo(engine), OutboxRepo(engine)
    await subs.create(subscriber(1), NOW)
    await store(engine, *(news(f"m{i}", f"Новость {i}") for i in range(6)))
    week_ago = NOW - timedelta(days=7, minutes=1)
    await plan(box, 1, Planner(), week_ago)
    rows = await box.pending(10)
    for row in rows[:3]:
        await box.mark_sent(row.id, week_ago)
    await box.mark_sent(rows[3].id, NOW - timedelta(days=6))
    await box.mark_failed(rows[4].id, "Bad Request: message is too long")

    swept = await retention(engine, batch=2).run()

    assert swept.messages == 4
    assert await box.sent_since(NOW - timedelta(days=30)) == 1
    assert await pending_texts(box) == ["<b>Новость 5</b>"]


class OnePart:
    """A digest as one message part, so a day is one row per subscriber."""

    def __call__(self, sub: Subscriber, rows: list[ItemRow]) -> Plan:
        return Plan([" ".join(r.title for r in rows)] if rows else [], None)


async def test_a_bot_running_for_months_keeps_its_tables_at_a_fixed_size(
    engine: AsyncEngine,
) -> None:
    subs, box = SubscriberRepo(engine), OutboxRepo(engine)
    start = NOW - timedelta(days=120)
    await subs.create(subscriber(1), start)
    await subs.create(subscriber(2, topics=frozenset({"nothing-ever"})), start)
    await subs.create(subscriber(3).but(status="paused"), start)  # its cursor stays at 0
    sizes = []
    for day in range(120):
        now = start + timedelta(days=day)
        daily = [news(f"{day}-{i}", f"День {day}", published=now) for i in range(3)]
        await store(engine, *daily, now=now)
        for chat in (1, 2):
            await plan(box, chat, OnePart(), now)
        for message in await box.pending(100):
            await box.mark_sent(message.id, now)
        await retention(engine, now=now, days=30, batch=50).run()
        sizes.append(await table_sizes(engine))

    # 31 days of items (3 a day) and 8 days of one message a day, from day 31 on, for good.
    assert sizes[29]["items"] == 90
    assert {s["items"] for s in sizes[31:]} == {93}
    assert {s["outbox"] for s in sizes[31:]} == {8}
    assert sizes[-1] == sizes[31]


def test_every_table_that_references_items_says_what_retention_does_to_its_rows() -> None:
    children = {(c.column.table.name, c.ondelete) for c in item_children()}

    assert ("item_topics", "CASCADE") in children


async def test_an_instance_leaves_the_batch_to_another_one_already_deleting(
    engine: AsyncEngine,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("one SQLite file has one instance (the start-up guard)")
    await store(engine, news("o", "Старая"), now=LONG_AGO)
    await store(engine, news("n", "Новая"), now=NOW)
    async with engine.connect() as other:
        await other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": RETENTION_LOCK})
        busy = await retention(engine).run()
        await other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": RETENTION_LOCK})
    done = await retention(engine).run()

    assert (busy.items, done.items) == (0, 1)
    assert await titles(engine) == ["Новая"]


async def test_of_two_readers_with_the_same_filters_the_one_further_behind_decides(
    engine: AsyncEngine,
) -> None:
    subs, box = SubscriberRepo(engine), OutboxRepo(engine)
    await store(engine, news("a", "Первая старая"), now=LONG_AGO)
    await subs.create(subscriber(2), LONG_AGO)
    await plan(box, 2, Planner(), LONG_AGO)  # reader 2 got the first item
    await store(engine, news("b", "Вторая старая"), now=LONG_AGO + timedelta(hours=1))
    await subs.create(subscriber(1), LONG_AGO)  # reader 1 got nothing yet
    await store(engine, news("new", "Сегодня"), now=NOW)

    swept = await retention(engine).run()
    first = Planner()
    await plan(box, 1, first, NOW)

    assert (swept.items, swept.kept) == (0, 2)
    assert first.seen == [["Первая старая", "Вторая старая", "Сегодня"]]
