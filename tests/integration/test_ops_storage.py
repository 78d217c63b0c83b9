"""What the operator's endpoints and the webhook store and read, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.ops import OpsRepo, UpdateLog
from bot.storage.tables import feeds, outbox, subscribers

NOW = datetime(2026, 3, 3, 4, 0, tzinfo=UTC)


async def test_an_update_id_is_claimed_once_even_by_racing_instances(engine: AsyncEngine) -> None:
    log = UpdateLog(engine)

    claims = await asyncio.gather(*(log.claim(7001, NOW) for _ in range(5)))

    assert sorted(claims) == [False, False, False, False, True]
    assert await log.claim(7001, NOW + timedelta(minutes=5)) is False
    assert await log.claim(7002, NOW) is True


async def test_update_ids_older_than_a_day_are_forgotten(engine: AsyncEngine) -> None:
    log = UpdateLog(engine)
    await log.claim(1, NOW - timedelta(days=1, minutes=1))
    await log.claim(2, NOW - timedelta(hours=23))

    assert await log.prune(NOW) == 1

    assert await log.claim(1, NOW) is True  # forgotten: Telegram never re-sends that late
    assert await log.claim(2, NOW) is False


async def test_gauges_count_pending_messages_their_age_subscribers_and_failing_feeds(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            insert(subscribers),
            [
                {
                    "chat_id": c,
                    "timezone": "UTC",
                    "status": s,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for c, s in ((1, "active"), (2, "active"), (3, "blocked"))
            ],
        )
        # (text, age, sent, refused): two pending, one sent, one given up
        rows = [("a", 7, None, None), ("b", 3, None, None), ("c", 60, NOW, None)]
        rows.append(("d", 120, None, "Bad Request"))
        await conn.execute(
            insert(outbox),
            [
                {
                    "chat_id": 1,
                    "text": text,
                    "created_at": NOW - timedelta(minutes=age),
                    "sent_at": sent,
                    "error": error,
                }
                for text, age, sent, error in rows
            ],
        )
        await conn.execute(
            insert(feeds),
            [
                {
                    "url": f"https://e.kz/{n}",
                    "created_at": NOW,
                    "next_check_at": NOW,
                    "failure_count": n,
                }
                for n in (0, 2, 5)
            ],
        )
    ops = OpsRepo(engine)
    await ops.ping()

    g = await ops.gauges()

    assert g.outbox_pending == 2
    assert g.outbox_oldest == NOW - timedelta(minutes=7)
    assert g.subscribers == {"active": 2, "blocked": 1}
    assert g.failing_feeds == 2
