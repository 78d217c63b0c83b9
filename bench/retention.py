"""Retention benchmark: a day's deletion on a big database, on SQLite and PostgreSQL.

    python bench/retention.py [--items 200000] [--subscribers 10000] [--pg URL]

The database holds `--items` items first seen 100 days ago (1-2 topics each, as the
classifier gives) plus one fresh item, and `--subscribers` subscribers, all caught up except
1% whose cursor is behind every item and who read only Kazakh economy news (so retention has
to judge each old item against them). Prints how long the run took, items deleted per second,
what was kept, and the longest batch, which is how long a poll or a send may wait for it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services.retention import BATCH, Retention
from bot.storage.engine import make_engine
from bot.storage.migrate import upgrade_to_head
from bot.storage.outbox import OutboxRepo
from bot.storage.retention import RetentionRepo
from bot.storage.tables import item_topics, items, subscribers

NOW = datetime.now(UTC)
TOPICS = ["politics", "unions", "education", "health", "economy", "social", "youth", "culture"]
LANGS = ["kk", "ru", "ru", "en"]


async def fill(engine: AsyncEngine, n_items: int, n_subs: int) -> None:
    """Old items with topics, one fresh item, and subscribers (1% of them behind)."""
    rng = random.Random(7)
    old = NOW - timedelta(days=100)
    async with engine.begin() as conn:
        for start in range(0, n_items, 5000):
            rows = [
                {
                    "key": f"k{i}",
                    "url": f"https://example.kz/news/{i}",
                    "title": f"Новость {i}",
                    "lang": rng.choice(LANGS),
                    "topics": "",
                    "published_at": old,
                    "first_seen_at": old,
                    "pushable": True,
                }
                for i in range(start, min(start + 5000, n_items))
            ]
            await conn.execute(insert(items), rows)
        await conn.execute(
            insert(items),
            [{**rows[0], "key": "fresh", "url": None, "first_seen_at": NOW, "published_at": NOW}],
        )
        ids = list((await conn.execute(select(items.c.id).order_by(items.c.id))).scalars())
        pairs = [
            {"item_id": i, "topic": t} for i in ids for t in rng.sample(TOPICS, rng.randint(1, 2))
        ]
        for start in range(0, len(pairs), 10000):
            await conn.execute(insert(item_topics), pairs[start : start + 10000])
        subs = [
            {
                "chat_id": c,
                "langs": "kk" if c % 100 == 0 else "*",
                "topics": "economy" if c % 100 == 0 else "*",
                "timezone": "Asia/Almaty",
                "cursor_item_id": 0 if c % 100 == 0 else ids[-1],
                "created_at": old,
                "updated_at": old,
            }
            for c in range(1, n_subs + 1)
        ]
        await conn.execute(insert(subscribers), subs)


class TimedRepo(RetentionRepo):
    """The real repository, timing each batch."""

    longest = 0.0

    async def delete_items(self, cutoff, after, upto, limit):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return await super().delete_items(cutoff, after, upto, limit)
        finally:
            TimedRepo.longest = max(TimedRepo.longest, time.perf_counter() - started)


async def bench(url: str, n_items: int, n_subs: int) -> None:
    engine = make_engine(url)
    await upgrade_to_head(engine)
    await fill(engine, n_items, n_subs)
    TimedRepo.longest = 0.0
    retention = Retention(
        repo=TimedRepo(engine), outbox=OutboxRepo(engine), days=90, backfill=timedelta(hours=24)
    )
    started = time.perf_counter()
    swept = await retention.run()
    took = time.perf_counter() - started
    async with engine.connect() as conn:
        left = (await conn.execute(select(func.count()).select_from(items))).scalar_one()
    await engine.dispose()
    print(
        f"{engine.dialect.name}: deleted {swept.items} items in {took:.1f} s "
        f"({swept.items / took:,.0f} items/s, {BATCH} a batch), kept {swept.kept} still due, "
        f"{left} left; longest batch {TimedRepo.longest * 1000:.0f} ms"
    )


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--items", type=int, default=200_000)
    p.add_argument("--subscribers", type=int, default=10_000)
    p.add_argument("--pg", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        await bench(f"sqlite+aiosqlite:///{tmp}/bench.db", args.items, args.subscribers)
    name = f"habar_bench_{random.randrange(1 << 30)}"
    admin = make_engine(args.pg, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        await bench(args.pg.rsplit("/", 1)[0] + f"/{name}", args.items, args.subscribers)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()


if __name__ == "__main__":
    asyncio.run(main())
