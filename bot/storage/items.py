"""Item repository: every item seen, stored once, with its language and topics."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.storage.engine import writing
from bot.storage.tables import feeds, item_topics, items
from feeds.models import Item

_CHUNK = 400  # bound parameters per IN (...) query, well under SQLite's limit


@dataclass(frozen=True, slots=True)
class ItemRow:
    """A stored item as the CLI and digests read it."""

    id: int
    url: str
    title: str
    summary: str
    lang: str
    topics: tuple[str, ...]
    published_at: datetime
    first_seen_at: datetime
    source: str
    feed_id: int | None
    pushable: bool


@dataclass(frozen=True, slots=True)
class FeedSuccess:
    """What a successful poll changes on its feed."""

    etag: str | None
    last_modified: str | None
    title: str | None
    now: datetime
    next_check_at: datetime


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def to_row(r: object) -> ItemRow:
    """Build an ItemRow from a selected items row."""
    m = r._mapping  # type: ignore[attr-defined]
    return ItemRow(
        id=m["id"],
        url=m["url"] or "",
        title=m["title"],
        summary=m["summary"],
        lang=m["lang"],
        topics=tuple(t for t in m["topics"].split(",") if t),
        published_at=m["published_at"],
        first_seen_at=m["first_seen_at"],
        source=m["source"],
        feed_id=m["feed_id"],
        pushable=m["pushable"],
    )


class ItemRepo:
    """Stores poll results atomically and reads items back."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def store_poll(
        self,
        feed_id: int,
        batch: Sequence[Item],
        success: FeedSuccess,
        *,
        source: str,
        backfill: timedelta,
    ) -> int:
        """Insert the items not seen before and mark the feed polled, in one transaction.

        An item is known when its key is stored, or when another feed already brought its URL.
        Returns how many items were new.
        """
        async with writing(self._engine) as conn:
            fresh = await self._unseen(conn, feed_id, batch)
            if fresh:
                await self._insert(conn, feed_id, fresh, success.now, source, backfill)
            values: dict[str, object] = {
                "etag": success.etag,
                "last_modified": success.last_modified,
                "last_polled_at": success.now,
                "last_success_at": success.now,
                "last_error_kind": None,
                "last_error_detail": None,
                "failure_count": 0,
                "next_check_at": success.next_check_at,
            }
            if success.title:
                values["title"] = success.title[:500]
            await conn.execute(update(feeds).where(feeds.c.id == feed_id).values(values))
        return len(fresh)

    async def _unseen(
        self, conn: AsyncConnection, feed_id: int, batch: Sequence[Item]
    ) -> list[Item]:
        keys = list({i.key for i in batch})
        urls = list({i.url for i in batch if i.url})
        seen_keys: set[str] = set()
        for part in _chunks(keys):
            rows = await conn.execute(select(items.c.key).where(items.c.key.in_(part)))
            seen_keys.update(r.key for r in rows)
        seen_urls: set[str] = set()
        for part in _chunks(urls):
            rows = await conn.execute(
                select(items.c.url).where(items.c.url.in_(part), items.c.feed_id != feed_id)
            )
            seen_urls.update(r.url for r in rows)
        fresh: list[Item] = []
        for item in batch:
            if item.key in seen_keys or (item.url and item.url in seen_urls):
                continue
            seen_keys.add(item.key)
            if item.url:
                seen_urls.add(item.url)
            fresh.append(item)
        return fresh

    async def _insert(
        self,
        conn: AsyncConnection,
        feed_id: int,
        fresh: Sequence[Item],
        now: datetime,
        source: str,
        backfill: timedelta,
    ) -> None:
        # Oldest first, so item ids follow publication order within a poll.
        ordered = sorted(fresh, key=lambda i: i.published)
        rows = [
            {
                "key": i.key,
                "url": i.url or None,
                "feed_id": feed_id,
                "source": source[:500],
                "title": i.title,
                "summary": i.summary,
                "lang": i.lang.value,
                "topics": ",".join(sorted(i.topics)),
                "published_at": i.published,
                "first_seen_at": now,
                "pushable": i.published >= now - backfill,
            }
            for i in ordered
        ]
        result = await conn.execute(insert(items).returning(items.c.id, items.c.key), rows)
        ids = {r.key: r.id for r in result}
        topic_rows = [{"item_id": ids[i.key], "topic": t} for i in ordered for t in i.topics]
        if topic_rows:
            await conn.execute(insert(item_topics), topic_rows)

    async def latest(self, limit: int) -> list[ItemRow]:
        """The newest stored items, newest publication first."""
        query = select(items).order_by(items.c.published_at.desc(), items.c.id.desc()).limit(limit)
        async with self._engine.connect() as conn:
            return [to_row(r) for r in await conn.execute(query)]

    async def count(self) -> int:
        """How many items are stored."""
        async with self._engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(items))).scalar_one())
