"""What the operator's endpoints read (readiness, gauges) and the webhook's update log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.engine import writing
from bot.storage.tables import feeds, outbox, subscribers, webhook_updates


@dataclass(frozen=True, slots=True)
class Gauges:
    """Shared state as /metrics shows it."""

    outbox_pending: int
    outbox_oldest: datetime | None
    subscribers: dict[str, int]
    failing_feeds: int


class OpsRepo:
    """Cheap reads for /readyz and /metrics."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def ping(self) -> None:
        """One round trip to the database; raises if it does not answer."""
        async with self._engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def gauges(self) -> Gauges:
        """Pending outbox rows and the oldest one's age, subscribers by status, failing feeds."""
        pending = select(func.count(), func.min(outbox.c.created_at)).where(
            outbox.c.sent_at.is_(None), outbox.c.error.is_(None)
        )
        by_status = select(subscribers.c.status, func.count()).group_by(subscribers.c.status)
        failing = select(func.count()).select_from(feeds).where(feeds.c.failure_count > 0)
        async with self._engine.connect() as conn:
            count, oldest = (await conn.execute(pending)).one()
            statuses = {s: n for s, n in (await conn.execute(by_status)).all()}
            failing_count = (await conn.execute(failing)).scalar_one()
        return Gauges(int(count), oldest, statuses, int(failing_count))


class UpdateLog:
    """Update ids taken from the webhook: the first instance to record one handles it."""

    def __init__(self, engine: AsyncEngine, keep: timedelta = timedelta(days=1)) -> None:
        self._engine = engine
        self._keep = keep

    async def claim(self, update_id: int, now: datetime) -> bool:
        """Record an update id; False if it was recorded before (by any instance)."""
        try:
            async with writing(self._engine) as conn:
                await conn.execute(
                    insert(webhook_updates).values(update_id=update_id, received_at=now)
                )
        except IntegrityError:
            return False
        return True

    async def prune(self, now: datetime) -> int:
        """Forget ids older than a day (Telegram re-sends for far less); returns how many."""
        cutoff = now - self._keep
        async with writing(self._engine) as conn:
            result = await conn.execute(
                webhook_updates.delete().where(webhook_updates.c.received_at < cutoff)
            )
        return int(result.rowcount or 0)
