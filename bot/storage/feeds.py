"""Feed repository: the feeds admins added, their fetch state and schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, or_, select, true, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.engine import writing
from bot.storage.tables import feeds, items

SITE_URL_MAX = feeds.c.site_url.type.length or 2048
FEED_URL_MAX = feeds.c.url.type.length or 2048  # longer addresses cannot be stored


class DuplicateFeed(Exception):
    """The feed URL is already stored."""


@dataclass(frozen=True, slots=True)
class FeedRow:
    """A stored feed and its fetch state."""

    id: int
    url: str
    title: str
    site_url: str | None
    lang_hint: str | None
    etag: str | None
    last_modified: str | None
    created_at: datetime
    last_polled_at: datetime | None
    last_success_at: datetime | None
    last_error_kind: str | None
    last_error_detail: str | None
    last_error_at: datetime | None
    failure_count: int
    next_check_at: datetime
    lease_owner: str | None = None  # the instance polling it now (several instances)
    lease_until: datetime | None = None
    item_count: int = 0

    @classmethod
    def of(cls, row: RowMapping, item_count: int = 0) -> FeedRow:
        """Build from a row of the feeds table."""
        return cls(**{c.name: row[c.name] for c in feeds.c}, item_count=item_count)


# A poll's fetch gives up after FetchLimits.total_timeout (60 s); a dead instance's feeds are
# free again after two of those, and a live one's poll always ends before its lease does.
FEED_LEASE = timedelta(seconds=120)


class FeedRepo:
    """Reads and writes feeds; each method is one short transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(
        self,
        *,
        url: str,
        title: str,
        site_url: str | None,
        lang_hint: str | None,
        now: datetime,
        next_check_at: datetime | None = None,
    ) -> FeedRow:
        """Store a new feed, due for polling at `next_check_at` (at once by default);
        DuplicateFeed if the URL is known."""
        values = {
            "url": url,
            "title": title[:500],
            # A site link longer than the column is dropped: it is shown, never needed.
            "site_url": site_url if site_url and len(site_url) <= SITE_URL_MAX else None,
            "lang_hint": lang_hint,
            "created_at": now,
            "next_check_at": next_check_at or now,
            "failure_count": 0,
        }
        try:
            async with writing(self._engine) as conn:
                new_id = (await conn.execute(insert(feeds).values(values))).inserted_primary_key
                row = (await conn.execute(select(feeds).where(feeds.c.id == new_id[0]))).one()
        except IntegrityError:
            raise DuplicateFeed(url) from None
        return FeedRow.of(row._mapping)

    async def get(self, feed_id: int) -> FeedRow | None:
        """The feed with this id, or None."""
        return await self._one(feeds.c.id == feed_id)

    async def get_by_url(self, url: str) -> FeedRow | None:
        """The feed with this URL, or None."""
        return await self._one(feeds.c.url == url)

    async def _one(self, where: object) -> FeedRow | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(feeds).where(where))).first()  # type: ignore[arg-type]
        return FeedRow.of(row._mapping) if row else None

    async def list(self) -> list[FeedRow]:
        """Every feed with its stored item count, oldest first."""
        counts = (
            select(items.c.feed_id, func.count().label("n")).group_by(items.c.feed_id).subquery()
        )
        query = (
            select(feeds, func.coalesce(counts.c.n, 0).label("item_count"))
            .outerjoin(counts, counts.c.feed_id == feeds.c.id)
            .order_by(feeds.c.id)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [FeedRow.of(r._mapping, r.item_count) for r in rows]

    async def remove(self, feed_id: int) -> FeedRow | None:
        """Delete a feed (its items stay); returns what was removed, or None."""
        async with writing(self._engine) as conn:
            row = (await conn.execute(select(feeds).where(feeds.c.id == feed_id))).first()
            if row is None:
                return None
            await conn.execute(delete(feeds).where(feeds.c.id == feed_id))
        return FeedRow.of(row._mapping)

    async def due(self, now: datetime, limit: int = 10_000) -> list[FeedRow]:
        """Feeds whose next check time has come, most overdue first."""
        query = (
            select(feeds)
            .where(feeds.c.next_check_at <= now)
            .order_by(feeds.c.next_check_at)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [FeedRow.of(r._mapping) for r in rows]

    async def claim_due(
        self, owner: str, now: datetime, lease: timedelta, limit: int, *, every: bool = False
    ) -> list[FeedRow]:
        """Lease up to `limit` due feeds (`every`: due or not) that no live instance holds,
        most overdue first.

        Rows another instance is leasing at this moment are skipped, not waited for (FOR UPDATE
        SKIP LOCKED on PostgreSQL; SQLite has one writer), so no feed is polled by two instances
        at once. A poll's result clears the lease; a dead instance's lease simply expires.
        """
        free = or_(feeds.c.lease_until.is_(None), feeds.c.lease_until <= now)
        due = true() if every else feeds.c.next_check_at <= now
        picked = (
            select(feeds.c.id)
            .where(due, free)
            .order_by(feeds.c.next_check_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        query = (
            update(feeds)
            .where(feeds.c.id.in_(picked.scalar_subquery()))
            .values(lease_owner=owner, lease_until=now + lease)
            .returning(*feeds.c)
        )
        async with writing(self._engine) as conn:
            rows = [FeedRow.of(r._mapping) for r in await conn.execute(query)]
        return sorted(rows, key=lambda f: (f.next_check_at, f.id))

    async def free_leases(self, owner: str | None = None) -> None:
        """Give up the feed leases of `owner` (None: of every instance, when this one is alone)."""
        query = update(feeds).where(feeds.c.lease_owner.is_not(None))
        if owner is not None:
            query = query.where(feeds.c.lease_owner == owner)
        async with writing(self._engine) as conn:
            await conn.execute(query.values(lease_owner=None, lease_until=None))

    async def record_failure(
        self, feed_id: int, *, kind: str, detail: str, now: datetime, next_check_at: datetime
    ) -> None:
        """Store a classified failure and count it; the caller computed the backoff."""
        async with writing(self._engine) as conn:
            await conn.execute(
                update(feeds)
                .where(feeds.c.id == feed_id)
                .values(
                    last_polled_at=now,
                    last_error_kind=kind,
                    last_error_detail=detail[:500],
                    last_error_at=now,
                    failure_count=feeds.c.failure_count + 1,
                    next_check_at=next_check_at,
                    lease_owner=None,
                    lease_until=None,
                )
            )
