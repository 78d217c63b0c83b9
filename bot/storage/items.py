"""Item repository: every item seen, stored once, with its language and topics."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import String, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.storage.engine import writing
from bot.storage.tables import feeds, item_topics, items
from feeds.models import Item

_CHUNK = 400  # bound parameters per IN (...) query, well under SQLite's limit
# Column sizes PostgreSQL enforces (SQLite does not): longer values are cut or dropped before
# storing, so one hostile field never fails a whole poll on one database and not the other.
URL_MAX = items.c.url.type.length
TOPICS_MAX = items.c.topics.type.length
ETAG_MAX = feeds.c.etag.type.length
LAST_MODIFIED_MAX = feeds.c.last_modified.type.length


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


@dataclass(frozen=True, slots=True)
class Stored:
    """What storing one poll did: new items, and items skipped for a link too long to store."""

    new: int
    skipped: int = 0
    langs: tuple[str, ...] = field(default=(), compare=False)  # of each new item, for metrics


def fits(value: str | None, limit: int | None) -> str | None:
    """The value if its column can hold it, else None (a validator is dropped, never cut)."""
    return value if value is None or limit is None or len(value) <= limit else None


def _topics_text(topics: frozenset[str]) -> str:
    """The item's topics as stored for display: whole slugs, as many as the column holds."""
    text = ""
    for slug in sorted(topics):
        joined = f"{text},{slug}" if text else slug
        if TOPICS_MAX is not None and len(joined) > TOPICS_MAX:
            break
        text = joined
    return text


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def storable(batch: Sequence[Item]) -> tuple[list[Item], int]:
    """The items whose link the database can hold, and how many others were left out."""
    kept = [i for i in batch if URL_MAX is None or len(i.url) <= URL_MAX]
    return kept, len(batch) - len(kept)


def _unseen(
    poll: PollWrite, seen_keys: set[str], url_feeds: dict[str, set[int | None]]
) -> list[Item]:
    """The poll's storable items not stored yet, each once, oldest first so ids follow
    publication. Marks them seen, so later polls of the same transaction treat them as stored.
    """
    fresh: list[Item] = []
    taken_urls: set[str] = set()
    for item in storable(poll.batch)[0]:
        if item.key in seen_keys or item.url in taken_urls:
            continue
        if item.url and url_feeds.get(item.url, set()) - {poll.feed_id}:
            continue  # another feed brought this article already
        seen_keys.add(item.key)
        if item.url:
            taken_urls.add(item.url)
            url_feeds.setdefault(item.url, set()).add(poll.feed_id)
        fresh.append(item)
    fresh.sort(key=lambda i: i.published)
    return fresh


def _row(item: Item, poll: PollWrite) -> dict[str, object]:
    now = poll.success.now
    return {
        "key": item.key,
        "url": item.url or None,
        "feed_id": poll.feed_id,
        "source": poll.source[:500],
        "title": item.title,
        "summary": item.summary,
        "lang": item.lang.value,
        "topics": _topics_text(item.topics),
        "published_at": item.published,
        "first_seen_at": now,
        "pushable": item.published >= now - poll.backfill,
    }


def _feed_values(poll: PollWrite) -> dict[str, object]:
    success = poll.success
    return {
        "b_id": poll.feed_id,
        "b_etag": fits(success.etag, ETAG_MAX),
        "b_last_modified": fits(success.last_modified, LAST_MODIFIED_MAX),
        "b_now": success.now,
        "b_next_check_at": success.next_check_at,
        "b_title": success.title[:500] if success.title else None,
    }


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


@dataclass(frozen=True, slots=True)
class PollWrite:
    """One successful poll to store: its feed, its items and what changes on the feed."""

    feed_id: int
    batch: Sequence[Item]
    success: FeedSuccess
    source: str
    backfill: timedelta


# One topic's rows for the items with these keys, inserted earlier in the same transaction.
# One statement per topic and batch, not per item and topic: most items have a topic or two.
_INSERT_TOPIC = insert(item_topics).from_select(
    ["item_id", "topic"],
    select(items.c.id, bindparam("topic", type_=String)).where(
        items.c.key.in_(bindparam("keys", expanding=True))
    ),
)
# The feed's state after a successful poll; a poll that brought no title keeps the old one.
_FEED_POLLED = (
    update(feeds)
    .where(feeds.c.id == bindparam("b_id"))
    .values(
        etag=bindparam("b_etag"),
        last_modified=bindparam("b_last_modified"),
        last_polled_at=bindparam("b_now"),
        last_success_at=bindparam("b_now"),
        last_error_kind=None,
        last_error_detail=None,
        failure_count=0,
        next_check_at=bindparam("b_next_check_at"),
        lease_owner=None,  # polled: the feed is free for whichever instance is next
        lease_until=None,
        title=func.coalesce(bindparam("b_title", type_=String), feeds.c.title),
    )
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
        [stored] = await self.store_polls([PollWrite(feed_id, batch, success, source, backfill)])
        return stored.new

    async def store_polls(self, polls: Sequence[PollWrite]) -> list[Stored]:
        """Store several polls in one transaction, as if one after the other, in order.

        One transaction for many feeds costs the database far less than one per feed, which
        is what lets a cold cycle over a thousand feeds keep up. Returns what each poll stored.
        """
        async with writing(self._engine) as conn:
            seen_keys, url_feeds = await self._known(conn, polls)
            fresh = [_unseen(poll, seen_keys, url_feeds) for poll in polls]
            rows = [
                _row(item, poll) for poll, new in zip(polls, fresh, strict=True) for item in new
            ]
            if rows:
                await conn.execute(insert(items), rows)
                keys_by_topic: dict[str, list[str]] = {}
                for new in fresh:
                    for item in new:
                        for topic in item.topics:
                            keys_by_topic.setdefault(topic, []).append(item.key)
                for topic, keys in sorted(keys_by_topic.items()):
                    for part in _chunks(keys):
                        await conn.execute(_INSERT_TOPIC, {"topic": topic, "keys": part})
            await conn.execute(_FEED_POLLED, [_feed_values(poll) for poll in polls])
        return [
            Stored(len(new), storable(poll.batch)[1], tuple(str(i.lang) for i in new))
            for poll, new in zip(polls, fresh, strict=True)
        ]

    @staticmethod
    async def _known(
        conn: AsyncConnection, polls: Sequence[PollWrite]
    ) -> tuple[set[str], dict[str, set[int | None]]]:
        """Stored keys among the polls' items, and the feeds that brought each of their URLs."""
        keys = list({i.key for poll in polls for i in poll.batch})
        urls = list({i.url for poll in polls for i in poll.batch if i.url})
        seen_keys: set[str] = set()
        for part in _chunks(keys):
            rows = await conn.execute(select(items.c.key).where(items.c.key.in_(part)))
            seen_keys.update(r.key for r in rows)
        url_feeds: dict[str, set[int | None]] = {}
        for part in _chunks(urls):
            rows = await conn.execute(
                select(items.c.url, items.c.feed_id).where(items.c.url.in_(part)).distinct()
            )
            for r in rows:
                url_feeds.setdefault(r.url, set()).add(r.feed_id)
        return seen_keys, url_feeds

    async def latest(self, limit: int) -> list[ItemRow]:
        """The newest stored items, newest publication first."""
        query = select(items).order_by(items.c.published_at.desc(), items.c.id.desc()).limit(limit)
        async with self._engine.connect() as conn:
            return [to_row(r) for r in await conn.execute(query)]

    async def count(self) -> int:
        """How many items are stored."""
        async with self._engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(items))).scalar_one())
