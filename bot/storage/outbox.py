"""Outbox repository: digests planned atomically with the cursor, sent one row at a time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.storage.alerts import Marks, alert_clause, prefetch, read_into
from bot.storage.engine import writing
from bot.storage.items import ItemRow, to_row
from bot.storage.subscribers import Place, Subscriber, at, forward, unchanged
from bot.storage.tables import item_topics, items, muted_sources, outbox, subscribers
from feeds.keywords import ItemIndex


@dataclass(frozen=True, slots=True)
class Plan:
    """What a planner decided: the message parts to queue and the next scheduled time."""

    parts: list[str]
    next_digest_at: datetime | None
    keep_schedule: bool = False  # an extra digest (/digest, instant): next_digest_at untouched


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one digest covers, read in a short transaction before it is rendered."""

    sub: Subscriber
    items: list[ItemRow]  # the oldest pending matching items, at most the digest's limit
    upto: int  # where the cursor goes once this digest is queued
    more: int  # matching items left pending after these (the next digest's)
    marks: Marks = field(default_factory=dict)  # keyword matches: item id -> words to mark


@dataclass(frozen=True, slots=True)
class Pending:
    """A queued message."""

    id: int
    chat_id: int
    text: str
    attempts: int
    thread_id: int = 0


Planner = Callable[[Subscriber, list[ItemRow]], Plan]
SnapshotPlanner = Callable[[Snapshot], Plan]
# A plan whose subscriber changed between reading and queuing is read and rendered again.
PLAN_ATTEMPTS = 3


def pending_items_query(
    cursor: int,
    upto: int,
    langs: frozenset[str] | None,
    topics: frozenset[str] | None,
    place: Place | None = None,
) -> Select[Any]:
    """Pushable items after the cursor that match the languages and topics, oldest first,
    none of them from a source the place muted."""
    query = select(items).where(items.c.id > cursor, items.c.id <= upto, items.c.pushable)
    if place is not None:
        muted = select(muted_sources.c.feed_id).where(
            muted_sources.c.chat_id == place.chat_id,
            muted_sources.c.thread_id == place.thread_id,
        )
        query = query.where(items.c.feed_id.is_(None) | items.c.feed_id.not_in(muted))
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


async def _take(
    conn: AsyncConnection,
    cursor: int,
    upto: int,
    langs: frozenset[str] | None,
    topics: frozenset[str] | None,
    limit: int | None,
    where: ColumnElement[bool] | None = None,
    place: Place | None = None,
) -> tuple[list[ItemRow], int, int]:
    """The first `limit` pending items, the cursor after them, and how many more matched.

    When more matched, the cursor stops at the last item taken: the rest stay pending.
    `where` narrows the items further (keyword alerts).
    """
    query = pending_items_query(cursor, upto, langs, topics, place)
    if where is not None:
        query = query.where(where)
    if limit is None:
        return [to_row(r) for r in await conn.execute(query)], upto, 0
    rows = [to_row(r) for r in await conn.execute(query.limit(limit + 1))]
    if len(rows) <= limit:
        return rows, upto, 0
    rows = rows[:limit]
    rest_query = pending_items_query(rows[-1].id, upto, langs, topics, place)
    rest = (rest_query if where is None else rest_query.where(where)).subquery()
    more = (await conn.execute(select(func.count()).select_from(rest))).scalar_one()
    return rows, rows[-1].id, int(more)


async def _take_alerts(
    conn: AsyncConnection, sub: Subscriber, upto: int, limit: int | None, index: ItemIndex
) -> tuple[list[ItemRow], int, int, Marks]:
    """`_take` for a place with keywords, and the title words its keywords matched."""
    await read_into(conn, index, sub.cursor_item_id, upto)
    found = index.select(sub.keywords)
    where = alert_clause(sub.topics, found, sub.cursor_item_id, upto)
    rows, upto, more = await _take(
        conn, sub.cursor_item_id, upto, sub.langs, None, limit, where, sub.place
    )
    marks = {r.id: index.marks(r.id, found) for r in rows if r.id in found.included}
    return rows, upto, more, marks


class OutboxRepo:
    """Plans digests and tracks every queued message until Telegram confirms it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self.keyword_index = ItemIndex()  # item stems shared by every place's keywords

    async def max_item_id(self) -> int:
        """The newest item id (0 when there are none)."""
        async with self._engine.connect() as conn:
            return await _max_item_id(conn)

    async def pending_items(
        self,
        cursor: int,
        langs: frozenset[str] | None,
        topics: frozenset[str] | None,
        limit: int | None = None,
    ) -> tuple[list[ItemRow], int]:
        """Items after `cursor` matching these filters, as a digest would take them now,
        and how many more matched beyond `limit`."""
        async with self._engine.connect() as conn:
            upto = await _max_item_id(conn)
            rows, _upto, more = await _take(conn, cursor, upto, langs, topics, limit)
        return rows, more

    async def snapshot(self, place: Place | int, limit: int | None = None) -> Snapshot | None:
        """The subscriber and its next digest's items; None when it is not subscribed.

        A short read: on PostgreSQL the lock that keeps ids in commit order is held while the
        items are read, never while they are rendered, so polls wait for a moment at most.
        A place with keywords indexes the new items before the lock (once a round, see
        bot/storage/alerts.py), so the lock is not held while they are indexed either.
        """
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(subscribers).where(*at(place)))).first()
            if row is None:
                return None
            sub = Subscriber.of(row._mapping)
            if sub.keywords:
                await prefetch(conn, self.keyword_index, sub.cursor_item_id)
            newest = await _committed_max_item_id(conn)
            upto = max(newest, sub.cursor_item_id)
            if sub.keywords:
                found, upto, more, marks = await _take_alerts(
                    conn, sub, upto, limit, self.keyword_index
                )
                return Snapshot(sub, found, upto, more, marks)
            found, upto, more = await _take(
                conn, sub.cursor_item_id, upto, sub.langs, sub.topics, limit, place=sub.place
            )
        return Snapshot(sub, found, upto, more)

    async def commit(self, snap: Snapshot, plan: Plan, now: datetime) -> bool:
        """Queue a rendered digest and move the cursor past it, in one transaction.

        Only if the subscriber is as the snapshot read it (cursor and settings): otherwise
        another planner took these items or the settings changed, and False is returned.
        """
        values: dict[str, object] = {"cursor_item_id": forward(snap.upto), "updated_at": now}
        if not plan.keep_schedule:
            values["next_digest_at"] = plan.next_digest_at
        async with writing(self._engine) as conn:
            moved = await conn.execute(
                update(subscribers).where(*unchanged(snap.sub)).values(**values)
            )
            if moved.rowcount != 1:
                await conn.rollback()
                return False
            await self._queue(conn, snap.sub.place, plan.parts, now)
        return True

    async def plan(
        self, place: Place | int, planner: Planner, now: datetime, *, limit: int | None = None
    ) -> int | None:
        """Queue the next digest of at most `limit` items and move the cursor past it.

        Returns how many items the digest holds, or None when the chat is not subscribed or
        kept changing under us: nothing is ever queued twice, and no item is skipped.
        """
        return await self.plan_snapshot(
            place, lambda snap: planner(snap.sub, snap.items), now, limit=limit
        )

    async def plan_snapshot(
        self,
        place: Place | int,
        planner: SnapshotPlanner,
        now: datetime,
        *,
        limit: int | None = None,
    ) -> int | None:
        """As `plan`, with a planner that also sees how many items are left for later."""
        for _ in range(PLAN_ATTEMPTS):
            snap = await self.snapshot(place, limit)
            if snap is None:
                return None
            if await self.commit(snap, planner(snap), now):
                return len(snap.items)
        return None

    @staticmethod
    async def _queue(conn: AsyncConnection, place: Place, parts: list[str], now: datetime) -> None:
        if parts:
            rows = [
                {
                    "chat_id": place.chat_id,
                    "thread_id": place.thread_id,
                    "text": p,
                    "created_at": now,
                }
                for p in parts
            ]
            await conn.execute(insert(outbox), rows)

    async def pending(self, limit: int, after_id: int = 0) -> list[Pending]:
        """Unsent messages to active subscribers, in the order they were planned."""
        query = (
            select(
                outbox.c.id, outbox.c.chat_id, outbox.c.text, outbox.c.attempts, outbox.c.thread_id
            )
            .join(
                subscribers,
                (subscribers.c.chat_id == outbox.c.chat_id)
                & (subscribers.c.thread_id == outbox.c.thread_id),
            )
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
                Pending(r.id, r.chat_id, r.text, r.attempts, r.thread_id)
                for r in await conn.execute(query)
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

    async def purge(
        self, now: datetime, keep: timedelta = timedelta(days=2), limit: int | None = None
    ) -> int:
        """Forget sent and refused messages older than `keep` (at most `limit`); how many went.

        Unsent messages are never touched, however old.
        """
        old = now - keep
        done = (outbox.c.sent_at < old) | (
            outbox.c.error.is_not(None) & (outbox.c.created_at < old)
        )
        doomed = select(outbox.c.id).where(done).order_by(outbox.c.id)
        if limit is not None:
            doomed = doomed.limit(limit)
        async with writing(self._engine) as conn:
            gone = await conn.execute(
                outbox.delete().where(outbox.c.id.in_(doomed.scalar_subquery()))
            )
        return int(gone.rowcount)
