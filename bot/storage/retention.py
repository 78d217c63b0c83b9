"""Retention: old items deleted in short batches, never one a subscriber's cursor still needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.storage.engine import writing
from bot.storage.subscribers import Subscriber
from bot.storage.tables import item_topics, items, metadata, subscribers

RETENTION_LOCK = 0x4861626152  # advisory lock key: one instance deletes at a time on PostgreSQL


@dataclass(frozen=True, slots=True)
class ItemChild:
    """A column of another table that points at items.id, and what deleting the item does."""

    column: Column[Any]
    ondelete: str  # "CASCADE": the row goes with the item; "SET NULL": it stays, unlinked


def item_children() -> list[ItemChild]:
    """Every column referencing items.id, read from the schema, so new tables are covered.

    A reference without ON DELETE CASCADE or SET NULL is refused: retention must not guess
    whether such a row may go, and the database would refuse the delete anyway.
    """
    found = []
    for table in metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column is not items.c.id:
                continue
            rule = (fk.ondelete or "").upper()
            if rule not in ("CASCADE", "SET NULL"):
                raise ValueError(f"{fk.parent}: a reference to items needs ON DELETE rules")
            found.append(ItemChild(fk.parent, rule))
    return found


@dataclass(frozen=True, slots=True)
class Candidate:
    """An item old enough to go, with what decides whether a subscriber still wants it."""

    id: int
    lang: str
    pushable: bool


@dataclass(frozen=True, slots=True)
class Batch:
    """What one batch did: items deleted, items kept for a subscriber, where the next starts."""

    deleted: int
    kept: int
    next_after: int | None  # None: no old item is left after this one


def wants(sub: Subscriber, item: Candidate, topics: frozenset[str]) -> bool:
    """Whether `sub`'s next digest would take this item: the digest query's rule, in Python."""
    if not item.pushable or item.id <= sub.cursor_item_id:
        return False
    if sub.langs is not None and item.lang not in sub.langs:
        return False
    return sub.topics is None or bool(sub.topics & topics)


def _needed(
    found: Sequence[Candidate], behind: Sequence[Subscriber], topics: dict[int, frozenset[str]]
) -> set[int]:
    """Ids of the candidates some active subscriber has yet to get.

    Every item id <= a cursor is delivered or skipped, so only subscribers whose cursor is
    below a candidate count, and only for items their digest would take. Paused and blocked
    subscribers do not: /start raises their cursor past everything first seen before the
    backfill window, which the cutoff never enters. Queued messages hold their rendered text
    and need no item. A future reference that means "still to be sent" is checked here.
    """
    lowest: dict[tuple[object, object], Subscriber] = {}
    for sub in behind:  # of subscribers with the same filters, the lowest cursor needs most
        same = lowest.setdefault((sub.langs, sub.topics), sub)
        if sub.cursor_item_id < same.cursor_item_id:
            lowest[(sub.langs, sub.topics)] = sub
    readers = list(lowest.values())
    empty: frozenset[str] = frozenset()
    return {c.id for c in found if any(wants(s, c, topics.get(c.id, empty)) for s in readers)}


class RetentionRepo:
    """Deletes items first seen before a cutoff, one short transaction per batch."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._children = item_children()

    async def last_id(self, cutoff: datetime) -> int:
        """The highest id a run may delete: the last item first seen before `cutoff`.

        Never the newest item: SQLite gives a new row the largest id plus one, so deleting
        it would hand its id out again, below cursors that already passed it. Read once per
        run, it bounds every batch to the old end of the table.
        """
        async with self._engine.connect() as conn:
            newest = (await conn.execute(select(func.max(items.c.id)))).scalar_one() or 0
            last_old = (
                await conn.execute(
                    select(func.max(items.c.id)).where(items.c.first_seen_at < cutoff)
                )
            ).scalar_one() or 0
        return min(last_old, newest - 1)

    async def delete_items(
        self, cutoff: datetime, after: int, upto: int, limit: int
    ) -> Batch | None:
        """Delete up to `limit` items with `after` < id <= `upto` first seen before `cutoff`.

        Returns None when another instance is deleting (PostgreSQL): it will do the work.
        """
        async with writing(self._engine) as conn:
            if not await self._exclusive(conn):
                return None
            found = await self._candidates(conn, cutoff, after, upto, limit)
            if not found:
                return Batch(0, 0, None)
            behind = await self._behind(conn, found[-1].id)
            topics = await self._topics(conn, found) if behind else {}
            keep = _needed(found, behind, topics)
            doomed = [c.id for c in found if c.id not in keep]
            if doomed:
                await self._delete(conn, doomed)
        return Batch(len(doomed), len(keep), found[-1].id)

    @staticmethod
    async def _exclusive(conn: AsyncConnection) -> bool:
        """Take the write lock now (SQLite) or the retention lock if free (PostgreSQL)."""
        if conn.dialect.name == "sqlite":
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
            return True
        taken = await conn.execute(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": RETENTION_LOCK}
        )
        return bool(taken.scalar_one())

    @staticmethod
    async def _candidates(
        conn: AsyncConnection, cutoff: datetime, after: int, upto: int, limit: int
    ) -> list[Candidate]:
        query = (
            select(items.c.id, items.c.lang, items.c.pushable)
            .where(items.c.id > after, items.c.id <= upto, items.c.first_seen_at < cutoff)
            .order_by(items.c.id)
            .limit(limit)
        )
        return [Candidate(r.id, r.lang, r.pushable) for r in await conn.execute(query)]

    @staticmethod
    async def _behind(conn: AsyncConnection, below: int) -> list[Subscriber]:
        """Active subscribers whose cursor is below `below`, their rows held until commit.

        FOR SHARE makes a settings change wait for this batch, so what was judged is what
        holds when the items go (SQLite: the write lock already keeps every writer out).
        """
        query = (
            select(subscribers)
            .where(subscribers.c.status == "active", subscribers.c.cursor_item_id < below)
            .with_for_update(read=True)
        )
        return [Subscriber.of(r._mapping) for r in await conn.execute(query)]

    @staticmethod
    async def _topics(
        conn: AsyncConnection, found: Sequence[Candidate]
    ) -> dict[int, frozenset[str]]:
        query = select(item_topics.c.item_id, item_topics.c.topic).where(
            item_topics.c.item_id.between(found[0].id, found[-1].id)
        )
        out: dict[int, set[str]] = {}
        for r in await conn.execute(query):
            out.setdefault(r.item_id, set()).add(r.topic)
        return {k: frozenset(v) for k, v in out.items()}

    async def _delete(self, conn: AsyncConnection, doomed: list[int]) -> None:
        """Children first (explicitly, so it holds whatever the database enforces), then items."""
        for child in self._children:
            table = child.column.table
            if child.ondelete == "CASCADE":
                await conn.execute(delete(table).where(child.column.in_(doomed)))
            else:
                await conn.execute(
                    update(table).where(child.column.in_(doomed)).values({child.column.name: None})
                )
        await conn.execute(delete(items).where(items.c.id.in_(doomed)))
