"""Outbox repository: digests planned atomically with the cursor, sent one row at a time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.storage.engine import writing
from bot.storage.items import ItemRow, to_row
from bot.storage.subscribers import Subscriber
from bot.storage.tables import item_topics, items, outbox, subscribers


@dataclass(frozen=True, slots=True)
class Plan:
    """What a planner decided: the message parts to queue and the next scheduled time."""

    parts: list[str]
    next_digest_at: datetime | None


@dataclass(frozen=True, slots=True)
class Pending:
    """A queued message."""

    id: int
    chat_id: int
    text: str
    attempts: int


Planner = Callable[[Subscriber, list[ItemRow]], Plan]


def pending_items_query(
    cursor: int, upto: int, langs: frozenset[str] | None, topics: frozenset[str] | None
) -> object:
    """Pushable items after the cursor that match the languages and topics, oldest first."""
    query = select(items).where(items.c.id > cursor, items.c.id <= upto, items.c.pushable)
    if langs is not None:
        query = query.where(items.c.lang.in_(sorted(langs)))
    if topics is not None:
        query = query.where(
            exists().where(
                and_(item_topics.c.item_id == items.c.id, item_topics.c.topic.in_(sorted(topics)))
            )
        )
    return query.order_by(items.c.id)


async def _max_item_id(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.max(items.c.id)))).scalar_one() or 0)


async def _committed_max_item_id(conn: AsyncConnection) -> int:
    """The newest item id, with every smaller id committed, so a cursor never skips one.

    PostgreSQL hands out ids when rows are inserted, not when they commit: a poll still
    writing id 7 while another committed id 8 would let a cursor move past 7 for good.
    SHARE mode waits for such writers and holds new ones off until this transaction ends.
    SQLite has one writer at a time, so its ids are committed in order already.
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(text("LOCK TABLE items IN SHARE MODE"))
    return await _max_item_id(conn)


class OutboxRepo:
    """Plans digests and tracks every queued message until Telegram confirms it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def max_item_id(self) -> int:
        """The newest item id (0 when there are none)."""
        async with self._engine.connect() as conn:
            return await _max_item_id(conn)

    async def pending_items(
        self, cursor: int, langs: frozenset[str] | None, topics: frozenset[str] | None
    ) -> list[ItemRow]:
        """Items after `cursor` matching these filters, as a digest would take them now."""
        async with self._engine.connect() as conn:
            upto = await _max_item_id(conn)
            query = pending_items_query(cursor, upto, langs, topics)
            return [to_row(r) for r in await conn.execute(query)]  # type: ignore[call-overload]

    async def plan(self, chat_id: int, planner: Planner, now: datetime) -> int | None:
        """Queue a digest and move the cursor past what it covered, in one transaction.

        Returns how many items the digest holds, or None when the subscriber changed under us
        (another planner got there first: nothing is queued twice).
        """
        async with writing(self._engine) as conn:
            row = (
                await conn.execute(select(subscribers).where(subscribers.c.chat_id == chat_id))
            ).first()
            if row is None:
                return None
            sub = Subscriber.of(row._mapping)
            upto = await _committed_max_item_id(conn)
            query = pending_items_query(sub.cursor_item_id, upto, sub.langs, sub.topics)
            found = [to_row(r) for r in await conn.execute(query)]  # type: ignore[call-overload]
            plan = planner(sub, found)
            moved = await conn.execute(
                update(subscribers)
                .where(
                    subscribers.c.chat_id == chat_id,
                    subscribers.c.cursor_item_id == sub.cursor_item_id,
                )
                .values(
                    cursor_item_id=max(upto, sub.cursor_item_id),
                    next_digest_at=plan.next_digest_at,
                    updated_at=now,
                )
            )
            if moved.rowcount != 1:
                await conn.rollback()
                return None
            await self._queue(conn, chat_id, plan.parts, now)
        return len(found)

    @staticmethod
    async def _queue(conn: AsyncConnection, chat_id: int, parts: list[str], now: datetime) -> None:
        if parts:
            rows = [{"chat_id": chat_id, "text": p, "created_at": now} for p in parts]
            await conn.execute(insert(outbox), rows)

    async def pending(self, limit: int, after_id: int = 0) -> list[Pending]:
        """Unsent messages to active subscribers, in the order they were planned."""
        query = (
            select(outbox.c.id, outbox.c.chat_id, outbox.c.text, outbox.c.attempts)
            .join(subscribers, subscribers.c.chat_id == outbox.c.chat_id)
            .where(
                outbox.c.sent_at.is_(None),
                outbox.c.error.is_(None),
                outbox.c.id > after_id,
                subscribers.c.status == "active",
            )
            .order_by(outbox.c.id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [
                Pending(r.id, r.chat_id, r.text, r.attempts) for r in await conn.execute(query)
            ]

    async def mark_sent(self, message_id: int, now: datetime) -> None:
        """Telegram accepted the message."""
        await self._set(message_id, sent_at=now)

    async def mark_failed(self, message_id: int, error: str) -> None:
        """Telegram refused the message for good; it is not retried."""
        await self._set(message_id, error=error[:300])

    async def count_attempt(self, message_id: int) -> None:
        """A send failed in a way worth retrying."""
        await self._set(message_id, attempts=outbox.c.attempts + 1)

    async def _set(self, message_id: int, **values: object) -> None:
        async with writing(self._engine) as conn:
            await conn.execute(update(outbox).where(outbox.c.id == message_id).values(**values))

    async def sent_since(self, cutoff: datetime) -> int:
        """Messages Telegram accepted since `cutoff`."""
        query = select(func.count()).select_from(outbox).where(outbox.c.sent_at >= cutoff)
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def purge(self, now: datetime, keep: timedelta = timedelta(days=2)) -> None:
        """Forget sent and refused messages older than `keep`, so the table stays small."""
        old = now - keep
        async with writing(self._engine) as conn:
            await conn.execute(
                outbox.delete().where(
                    (outbox.c.sent_at < old)
                    | (outbox.c.error.is_not(None) & (outbox.c.created_at < old))
                )
            )
