"""Outbox repository: digests planned atomically with the cursor, sent one row at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    exists,
    func,
    insert,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.storage.alerts import Marks, alert_clause, prefetch, read_into
from bot.storage.engine import writing
from bot.storage.items import ItemRow, to_row
from bot.storage.subscribers import SEEN_BY_PLANS, Place, Subscriber, as_place, forward
from bot.storage.tables import item_topics, items, muted_sources, outbox, subscribers
from feeds.keywords import ItemIndex, Selection


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


SnapshotPlanner = Callable[[Snapshot], Plan]
# A plan whose subscriber changed between reading and queuing is read and rendered again.
PLAN_ATTEMPTS = 3
# A planning round keeps the items of its places in memory, at most this many ids back from the
# newest; a place further behind (rare: a long-stopped subscriber) is read on its own in SQL.
ROUND_WINDOW = 20_000


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


# Move a place's cursor forward (and set its next digest) only while the place is as its
# snapshot read it: one statement compiled once, however many places a round queues.
_MOVE = (
    update(subscribers)
    .where(
        subscribers.c.chat_id == bindparam("p_chat"),
        subscribers.c.thread_id == bindparam("p_thread"),
        *(
            subscribers.c[name].is_not_distinct_from(
                bindparam(f"was_{name}", type_=subscribers.c[name].type)
            )
            for name in SEEN_BY_PLANS
        ),
    )
    .values(cursor_item_id=forward(bindparam("p_upto")), updated_at=bindparam("p_now"))
)
_MOVE_AND_RESCHEDULE = _MOVE.values(next_digest_at=bindparam("p_next"))


def _move_params(snap: Snapshot, plan: Plan, now: datetime) -> dict[str, object]:
    was = snap.sub.columns()
    return {
        "p_chat": snap.sub.chat_id,
        "p_thread": snap.sub.thread_id,
        "p_upto": snap.upto,
        "p_now": now,
        "p_next": plan.next_digest_at,
        **{f"was_{name}": was[name] for name in SEEN_BY_PLANS},
    }


class _SomeStale(Exception):
    """A place changed since its snapshot: the batch is rolled back and queued one by one."""


async def _queue(
    conn: AsyncConnection, plans: Sequence[tuple[Snapshot, Plan]], now: datetime
) -> None:
    """Insert the planned messages, place after place, in the order given."""
    rows = [
        {"chat_id": snap.sub.chat_id, "thread_id": snap.sub.thread_id, "text": part,
         "created_at": now}
        for snap, plan in plans
        for part in plan.parts
    ]  # fmt: skip
    if rows:
        await conn.execute(insert(outbox), rows)


def _subscriber(row: object) -> Subscriber:
    return Subscriber.of(row._mapping)  # type: ignore[attr-defined]


class ItemWindow:
    """The pushable items of one planning round, read once and shared by all its places.

    Ten thousand places each asking SQL for their items is ten thousand queries; here the round
    reads the new items once and every place's filters (languages, topics, keywords, muted
    sources) are set operations over ids, with the same meaning as `pending_items_query` plus
    `alert_clause` (tests/integration/test_planning_rounds.py holds the two to one answer).
    """

    def __init__(self) -> None:
        self._rows: dict[int, ItemRow] = {}
        self._span: tuple[int, int] | None = None  # ids (low, high] read
        self._by_lang: dict[str, set[int]] = {}
        self._by_topic: dict[str, set[int]] = {}
        self._by_feed: dict[int, set[int]] = {}
        self._base: dict[tuple[frozenset[str] | None, frozenset[str] | None], frozenset[int]] = {}

    async def read(self, conn: AsyncConnection, after: int, upto: int) -> None:
        """Read the pushable items in (after, upto] this window lacks."""
        if self._span is None:
            gaps = [(after, upto)] if upto > after else []
        else:
            low, high = self._span
            gaps = [(a, b) for a, b in ((after, low), (high, upto)) if b > a]
        for low, high in gaps:
            query = select(items).where(items.c.id > low, items.c.id <= high, items.c.pushable)
            for row in map(to_row, await conn.execute(query)):
                self._add(row)
        if gaps:
            self._base.clear()
            low, high = self._span or (after, upto)
            self._span = (min(low, after), max(high, upto))

    def _add(self, row: ItemRow) -> None:
        self._rows[row.id] = row
        self._by_lang.setdefault(row.lang, set()).add(row.id)
        for topic in row.topics:
            self._by_topic.setdefault(topic, set()).add(row.id)
        if row.feed_id is not None:
            self._by_feed.setdefault(row.feed_id, set()).add(row.id)

    def _in_langs(self, langs: frozenset[str] | None) -> frozenset[int]:
        """Ids in the chosen languages (all read ids when every language is chosen)."""
        return self._matching(langs, None)

    def _matching(
        self, langs: frozenset[str] | None, topics: frozenset[str] | None
    ) -> frozenset[int]:
        """Ids in the chosen languages and (when topics are chosen) in one of those topics."""
        key = (langs, topics)
        if key not in self._base:
            if langs is None:
                ids = frozenset(self._rows)
            else:
                ids = frozenset().union(*(self._by_lang.get(x, ()) for x in langs))
            if topics is not None:
                ids &= frozenset().union(*(self._by_topic.get(t, ()) for t in topics))
            self._base[key] = ids
        return self._base[key]

    def choose(
        self,
        sub: Subscriber,
        upto: int,
        limit: int | None,
        muted: Iterable[int] = (),
        found: Selection | None = None,
    ) -> tuple[list[ItemRow], int, int]:
        """As `_take` (with `alert_clause` when `found`): items, the cursor after them, more."""
        ids = self._matching(sub.langs, sub.topics)
        if found is not None:
            if sub.topics is not None and found.included:
                ids = ids | (found.included & self._in_langs(sub.langs))
            if found.excluded:
                ids = ids - found.excluded
        for feed_id in muted:
            ids = ids - self._by_feed.get(feed_id, set())
        after = sub.cursor_item_id
        chosen = sorted(i for i in ids if after < i <= upto)
        if limit is None or len(chosen) <= limit:
            return [self._rows[i] for i in chosen], upto, 0
        return [self._rows[i] for i in chosen[:limit]], chosen[limit - 1], len(chosen) - limit

    def __len__(self) -> int:
        return len(self._rows)


async def _muted(conn: AsyncConnection, places: Sequence[Place]) -> dict[Place, list[int]]:
    """The feeds each of these places muted."""
    key = tuple_(muted_sources.c.chat_id, muted_sources.c.thread_id)
    query = select(muted_sources).where(key.in_([(p.chat_id, p.thread_id) for p in places]))
    out: dict[Place, list[int]] = {}
    for row in await conn.execute(query):
        out.setdefault(Place(row.chat_id, row.thread_id), []).append(row.feed_id)
    return out


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
        """The subscriber and its next digest's items; None when it is not subscribed."""
        snaps = await self.snapshots([as_place(place)], limit)
        return snaps[0] if snaps else None

    async def snapshots(
        self, places: Sequence[Place], limit: int | None = None, window: ItemWindow | None = None
    ) -> list[Snapshot]:
        """Each subscribed place's next digest, in one short read for all of them.

        On PostgreSQL the lock that keeps ids in commit order is held while the items are read,
        never while they are chosen or rendered, so polls wait for a moment at most. Keyword
        places index the new items before the lock (once a round, see bot/storage/alerts.py).
        With a `window`, the places within ROUND_WINDOW ids of the newest item choose from
        the items the round read once; without one (a single /digest), each is read in SQL.
        """
        if not places:
            return []
        key = tuple_(subscribers.c.chat_id, subscribers.c.thread_id)
        wanted = [(p.chat_id, p.thread_id) for p in places]
        async with self._engine.connect() as conn:
            rows = await conn.execute(select(subscribers).where(key.in_(wanted)))
            found_subs = {(s.chat_id, s.thread_id): s for s in map(_subscriber, rows)}
            subs = [found_subs[w] for w in wanted if w in found_subs]
            if not subs:
                return []
            keyed = [s for s in subs if s.keywords]
            if keyed:
                await prefetch(conn, self.keyword_index, min(s.cursor_item_id for s in keyed))
            newest = await _committed_max_item_id(conn)
            if keyed:
                low = min(s.cursor_item_id for s in keyed)
                await read_into(conn, self.keyword_index, low, newest)
            floor = newest - ROUND_WINDOW
            alone = [s for s in subs if window is None or s.cursor_item_id < floor]
            together = [s for s in subs if window is not None and s.cursor_item_id >= floor]
            if together and window is not None:
                await window.read(conn, min(s.cursor_item_id for s in together), newest)
                muted = await _muted(conn, [s.place for s in together])
            snaps = {s.place: await self._read_alone(conn, s, newest, limit) for s in alone}
        for sub in together:
            assert window is not None
            upto = max(newest, sub.cursor_item_id)
            found = self.keyword_index.select(sub.keywords) if sub.keywords else None
            chosen, upto, more = window.choose(sub, upto, limit, muted.get(sub.place, ()), found)
            snaps[sub.place] = Snapshot(sub, chosen, upto, more, self._marks(chosen, found))
        return [snaps[s.place] for s in subs]

    async def _read_alone(
        self, conn: AsyncConnection, sub: Subscriber, newest: int, limit: int | None
    ) -> Snapshot:
        upto = max(newest, sub.cursor_item_id)
        if sub.keywords:
            found = self.keyword_index.select(sub.keywords)
            where = alert_clause(sub.topics, found, sub.cursor_item_id, upto)
            rows, upto, more = await _take(
                conn, sub.cursor_item_id, upto, sub.langs, None, limit, where, sub.place
            )
            return Snapshot(sub, rows, upto, more, self._marks(rows, found))
        rows, upto, more = await _take(
            conn, sub.cursor_item_id, upto, sub.langs, sub.topics, limit, place=sub.place
        )
        return Snapshot(sub, rows, upto, more)

    def _marks(self, rows: list[ItemRow], found: Selection | None) -> Marks:
        """The title words each keyword-matched item shows in bold."""
        if found is None:
            return {}
        return self.keyword_index.marks_of((r.id for r in rows), found)

    async def commit(self, snap: Snapshot, plan: Plan, now: datetime) -> bool:
        """Queue a rendered digest and move the cursor past it, in one transaction.

        Only if the subscriber is as the snapshot read it (cursor and settings): otherwise
        another planner took these items or the settings changed, and False is returned.
        """
        return not await self.commit_all([(snap, plan)], now)

    async def commit_all(
        self, plans: Sequence[tuple[Snapshot, Plan]], now: datetime
    ) -> list[Snapshot]:
        """`commit` for many places in one transaction; returns the snapshots that went stale.

        A stale one (its subscriber changed since the snapshot) queues nothing and moves
        nothing; the others are queued, in the order given.
        """
        if len(plans) > 1 and self._engine.dialect.supports_sane_multi_rowcount:
            try:
                async with writing(self._engine) as conn:
                    await self._commit_together(conn, plans, now)
                return []
            except _SomeStale:
                pass  # rolled back: find which ones, one by one
        stale: list[Snapshot] = []
        async with writing(self._engine) as conn:
            for snap, plan in plans:
                moved = await conn.execute(
                    _MOVE if plan.keep_schedule else _MOVE_AND_RESCHEDULE,
                    _move_params(snap, plan, now),
                )
                if moved.rowcount != 1:
                    stale.append(snap)
            gone = {id(snap) for snap in stale}
            await _queue(conn, [(s, p) for s, p in plans if id(s) not in gone], now)
        return stale

    @staticmethod
    async def _commit_together(
        conn: AsyncConnection, plans: Sequence[tuple[Snapshot, Plan]], now: datetime
    ) -> None:
        """Every move in one executemany (SQLite counts the rows it changed in all)."""
        for statement, keep in ((_MOVE, True), (_MOVE_AND_RESCHEDULE, False)):
            params = [_move_params(s, p, now) for s, p in plans if p.keep_schedule == keep]
            if params and (await conn.execute(statement, params)).rowcount != len(params):
                raise _SomeStale
        await _queue(conn, plans, now)

    async def plan_snapshot(
        self,
        place: Place | int,
        planner: SnapshotPlanner,
        now: datetime,
        *,
        limit: int | None = None,
    ) -> int | None:
        """Queue the next digest of at most `limit` items and move the cursor past it; the
        planner sees the subscriber, the items and how many are left for later.

        Returns how many items the digest holds, or None when the chat is not subscribed or
        kept changing under us: nothing is ever queued twice, and no item is skipped.
        """
        for _ in range(PLAN_ATTEMPTS):
            snap = await self.snapshot(place, limit)
            if snap is None:
                return None
            if await self.commit(snap, planner(snap), now):
                return len(snap.items)
        return None

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
