"""Subscriber repository: preferences, status and the delivery cursor of each place.

A place is a chat (thread 0) or one topic of a forum supergroup (its message_thread_id):
every subscription is addressed by the pair, and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, insert, literal, select, tuple_, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.engine import writing
from bot.storage.place import Place, as_place, at
from bot.storage.tables import items, outbox, subscribers

__all__ = ["Place", "Subscriber", "SubscriberRepo", "as_place", "at"]

ALL = "*"
# What a settings change may write: never the cursor, which only planning moves, forward.
TITLE_MAX = subscribers.c.title.type.length or 255  # a group's or channel's stored title

_SETTINGS = frozenset(
    {"ui_lang", "langs", "topics", "schedule", "times", "status", "next_digest_at", "keywords"}
)


def _pack(values: frozenset[str] | None) -> str:
    return ALL if values is None else ",".join(sorted(values))


def _unpack(value: str) -> frozenset[str] | None:
    return None if value == ALL else frozenset(v for v in value.split(",") if v)


def _stored(values: dict[str, object]) -> dict[str, object]:
    """Subscriber field values as their columns store them."""
    out = dict(values)
    for name in ("langs", "topics"):
        if name in out:
            out[name] = _pack(out[name])  # type: ignore[arg-type]
    if "times" in out:
        out["times"] = ",".join(out["times"])  # type: ignore[arg-type]
    if "keywords" in out:
        out["keywords"] = "\n".join(out["keywords"])  # type: ignore[arg-type]
    return out


def _same(name: str, value: object) -> ColumnElement[bool]:
    """The column still holds this stored value (NULL equal to NULL)."""
    return subscribers.c[name].is_not_distinct_from(value)


def forward(to: int) -> ColumnElement[int]:
    """The cursor moved to `to` unless it is past it already: a cursor never goes back."""
    cursor = subscribers.c.cursor_item_id
    return case((cursor < to, to), else_=cursor)


# What a digest plan checks is still as it read it before moving the cursor: every stored
# setting and the cursor itself (the schedule's next time is the plan's to set).
SEEN_BY_PLANS = (
    "ui_lang", "langs", "topics", "schedule", "times", "timezone", "status", "cursor_item_id",
    "keywords",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Subscriber:
    """One place's subscription; `None` languages or topics mean all of them."""

    chat_id: int
    ui_lang: str | None
    langs: frozenset[str] | None
    topics: frozenset[str] | None
    schedule: str  # instant | hourly | daily
    times: tuple[str, ...]  # "HH:MM" for daily
    timezone: str
    status: str  # active | paused | blocked
    cursor_item_id: int
    next_digest_at: datetime | None
    created_at: datetime
    keywords: tuple[str, ...] = ()  # alert terms as /keywords writes them
    thread_id: int = 0
    kind: str = "private"  # private | group | supergroup | channel | topic
    title: str = ""
    added_by: int | None = None

    @property
    def place(self) -> Place:
        """Where this subscription's digests go."""
        return Place(self.chat_id, self.thread_id)

    @classmethod
    def of(cls, m: RowMapping) -> Subscriber:
        """Build from a row of the subscribers table."""
        return cls(
            chat_id=m["chat_id"],
            ui_lang=m["ui_lang"],
            langs=_unpack(m["langs"]),
            topics=_unpack(m["topics"]),
            schedule=m["schedule"],
            times=tuple(t for t in m["times"].split(",") if t),
            timezone=m["timezone"],
            status=m["status"],
            cursor_item_id=m["cursor_item_id"],
            next_digest_at=m["next_digest_at"],
            created_at=m["created_at"],
            keywords=tuple(k for k in m["keywords"].split("\n") if k),
            thread_id=m["thread_id"],
            kind=m["kind"],
            title=m["title"],
            added_by=m["added_by"],
        )

    def columns(self) -> dict[str, object]:
        """The row values of this subscriber (without the key and timestamps)."""
        return {
            "ui_lang": self.ui_lang,
            "langs": _pack(self.langs),
            "topics": _pack(self.topics),
            "schedule": self.schedule,
            "times": ",".join(self.times),
            "timezone": self.timezone,
            "status": self.status,
            "cursor_item_id": self.cursor_item_id,
            "next_digest_at": self.next_digest_at,
            "keywords": "\n".join(self.keywords),
        }

    def but(self, **changes: object) -> Subscriber:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


class SubscriberRepo:
    """Reads and writes subscribers; each method is one short transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, place: Place | int) -> Subscriber | None:
        """The subscriber of this place, or None."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(subscribers).where(*at(place)))).first()
        return Subscriber.of(row._mapping) if row else None

    async def cursor_before(self, cutoff: datetime) -> int:
        """The newest item id first seen before `cutoff` (0 if none): a fresh cursor."""
        query = select(func.max(items.c.id)).where(items.c.first_seen_at < cutoff)
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one() or 0)

    async def create(self, sub: Subscriber, now: datetime) -> Subscriber:
        """Insert a new subscriber."""
        values = {
            "chat_id": sub.chat_id,
            "thread_id": sub.thread_id,
            "kind": sub.kind,
            "title": sub.title,
            "added_by": sub.added_by,
            "created_at": now,
            "updated_at": now,
            **sub.columns(),
        }
        async with writing(self._engine) as conn:
            await conn.execute(insert(subscribers).values(values))
        return sub

    async def update(
        self,
        place: Place | int,
        now: datetime,
        *,
        expect: dict[str, object] | None = None,
        **changes: object,
    ) -> Subscriber | None:
        """Change only the given settings and return the subscriber as stored afterwards.

        The cursor is never written here, so a settings change can never move it back. With
        `expect`, the change applies only if those settings still hold their expected values.
        Returns None when there is no such subscriber or an expectation failed.
        """
        unknown = set(changes) | set(expect or {})
        if unknown - _SETTINGS:
            raise ValueError(f"not a setting: {sorted(unknown - _SETTINGS)}")
        where = at(place)
        where += [_same(name, value) for name, value in _stored(expect or {}).items()]
        return await self._change(place, where, {"updated_at": now, **_stored(changes)})

    async def resume(
        self, place: Place | int, floor: int, next_digest_at: datetime | None, now: datetime
    ) -> Subscriber | None:
        """Make the subscription active again, its cursor raised to at least `floor`."""
        values = {
            "status": "active",
            "cursor_item_id": forward(floor),
            "next_digest_at": next_digest_at,
            "updated_at": now,
        }
        return await self._change(place, at(place), values)

    async def _change(
        self, place: Place | int, where: list[ColumnElement[bool]], values: dict[str, Any]
    ) -> Subscriber | None:
        """One UPDATE where `where` holds, then the row as stored; None if no row matched."""
        async with writing(self._engine) as conn:
            done = await conn.execute(update(subscribers).where(*where).values(**values))
            if done.rowcount != 1:
                return None
            row = (await conn.execute(select(subscribers).where(*at(place)))).one()
        return Subscriber.of(row._mapping)

    async def retitle(self, chat_id: int, title: str, now: datetime) -> int:
        """The group or channel was renamed: every place in it takes the new title."""
        title = title[:TITLE_MAX]
        async with writing(self._engine) as conn:
            done = await conn.execute(
                update(subscribers)
                .where(subscribers.c.chat_id == chat_id, subscribers.c.title != title)
                .values(title=title, updated_at=now)
            )
        return done.rowcount

    async def mark_blocked(
        self, chat_id: int, now: datetime, thread_id: int | None = None
    ) -> None:
        """Telegram refused the chat (or one topic) for good: skip it, drop its unsent messages."""
        where = [subscribers.c.chat_id == chat_id]
        pending = [outbox.c.chat_id == chat_id, outbox.c.sent_at.is_(None)]
        if thread_id is not None:
            where.append(subscribers.c.thread_id == thread_id)
            pending.append(outbox.c.thread_id == thread_id)
        async with writing(self._engine) as conn:
            await conn.execute(
                update(subscribers).where(*where).values(status="blocked", updated_at=now)
            )
            await conn.execute(outbox.delete().where(*pending))

    async def migrate(self, old_chat_id: int, new_chat_id: int, now: datetime) -> None:
        """A group became a supergroup: its subscription and pending messages follow it."""
        async with writing(self._engine) as conn:
            taken = (
                await conn.execute(
                    select(subscribers.c.chat_id).where(subscribers.c.chat_id == new_chat_id)
                )
            ).first()
            # The new chat keeps its own subscription if it has one; the old chat is gone.
            values = (
                {"chat_id": new_chat_id, "kind": "supergroup"}
                if taken is None
                else {"status": "blocked"}
            )
            await conn.execute(
                update(subscribers)
                .where(subscribers.c.chat_id == old_chat_id)
                .values(updated_at=now, **values)
            )
            pending = outbox.c.chat_id == old_chat_id
            if taken is None:
                await conn.execute(update(outbox).where(pending).values(chat_id=new_chat_id))
            else:  # the new chat's own subscription will bring the same news: drop ours
                await conn.execute(outbox.delete().where(pending, outbox.c.sent_at.is_(None)))

    async def due(self, now: datetime, limit: int = 1000) -> list[Subscriber]:
        """Active subscribers with a scheduled digest whose time has come."""
        query = (
            select(subscribers)
            .where(
                subscribers.c.status == "active",
                subscribers.c.schedule != "instant",
                subscribers.c.next_digest_at <= now,
            )
            .order_by(subscribers.c.next_digest_at)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [Subscriber.of(r._mapping) for r in await conn.execute(query)]

    async def instant_behind(self, max_item_id: int, after: Place, limit: int) -> list[Place]:
        """Active instant places after `after` whose cursor is behind `max_item_id`."""
        key = tuple_(subscribers.c.chat_id, subscribers.c.thread_id)
        query = (
            select(subscribers.c.chat_id, subscribers.c.thread_id)
            .where(
                subscribers.c.status == "active",
                subscribers.c.schedule == "instant",
                subscribers.c.cursor_item_id < max_item_id,
                key > tuple_(literal(after.chat_id), literal(after.thread_id)),
            )
            .order_by(subscribers.c.chat_id, subscribers.c.thread_id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [Place(r.chat_id, r.thread_id) for r in await conn.execute(query)]

    async def shared_places(self) -> list[Subscriber]:
        """Every group, topic and channel place, active or not, by chat and topic."""
        query = (
            select(subscribers)
            .where(subscribers.c.kind != "private")
            .order_by(subscribers.c.chat_id, subscribers.c.thread_id)
        )
        async with self._engine.connect() as conn:
            return [Subscriber.of(r._mapping) for r in await conn.execute(query)]

    async def counts(self) -> dict[str, int]:
        """Subscribers per status."""
        query = select(subscribers.c.status, func.count()).group_by(subscribers.c.status)
        async with self._engine.connect() as conn:
            return {status: n for status, n in (await conn.execute(query)).all()}
