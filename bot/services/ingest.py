"""Polling one feed: fetch, process off the event loop, store atomically, record the status."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TypeVar

from bot.storage.feeds import FeedRepo, FeedRow
from bot.storage.items import FeedSuccess, ItemRepo
from feeds.fetch import Fetcher
from feeds.models import FetchError, FetchErrorKind
from feeds.pipeline import ProcessedFeed, process_document

MAX_BACKOFF = timedelta(hours=6)
T = TypeVar("T")


def utcnow() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """What one poll of one feed did."""

    feed_id: int
    url: str
    title: str
    new_items: int
    status: str  # "ok", "not_modified" or a FetchErrorKind value
    detail: str = ""

    @property
    def ok(self) -> bool:
        """Whether the poll succeeded (new items or not)."""
        return self.status in ("ok", "not_modified")


@dataclass(frozen=True, slots=True)
class Fetched:
    """What the network half of a poll brought: a processed document, a 304, or an error."""

    etag: str | None = None
    last_modified: str | None = None
    processed: ProcessedFeed | None = None  # None with no error: not modified
    error: tuple[str, str] | None = None  # (FetchErrorKind value, detail)


def next_check(now: datetime, interval: timedelta, failures: int, rng: random.Random) -> datetime:
    """When to poll again: the interval after success, capped exponential backoff after failures,
    with +-10% jitter so that feeds added together do not stay in lockstep."""
    delay = interval if failures <= 0 else min(interval * (2 ** min(failures, 20)), MAX_BACKOFF)
    delay = max(delay, interval)
    return now + delay * rng.uniform(0.9, 1.1)


class Ingest:
    """The use case behind every poll: the scheduler, `poll --once` and the bench call it."""

    def __init__(
        self,
        *,
        fetcher: Fetcher,
        feeds: FeedRepo,
        items: ItemRepo,
        executor: Executor | None,
        interval: timedelta,
        backfill: timedelta,
        taxonomy_path: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._fetcher = fetcher
        self._feeds = feeds
        self._items = items
        self._executor = executor
        self._interval = interval
        self._backfill = backfill
        self._taxonomy_path = taxonomy_path
        self._clock = clock
        self._rng = random.Random()
        self._writes: set[asyncio.Future[object]] = set()

    async def _write(self, coro: Awaitable[T]) -> T:
        """Run a storage write to its end even if the poll is cancelled meanwhile.

        Fetching may be cut short at shutdown; a started transaction is not, so the
        connection is returned cleanly and `settle()` can wait for it.
        """
        task = asyncio.ensure_future(coro)
        self._writes.add(task)  # type: ignore[arg-type]
        task.add_done_callback(self._writes.discard)  # type: ignore[arg-type]
        return await asyncio.shield(task)

    async def settle(self) -> None:
        """Wait for writes that outlived their cancelled polls."""
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    async def process(
        self, raw: bytes, headers: dict[str, str], url: str, hint: str | None
    ) -> ProcessedFeed:
        """Parse and classify a document in the executor, so the loop never stalls on it."""
        job = partial(
            process_document,
            raw,
            headers,
            feed_url=url,
            hint=hint,
            now=self._clock(),
            taxonomy_path=self._taxonomy_path,
        )
        return await asyncio.get_running_loop().run_in_executor(self._executor, job)

    def next_check(self, now: datetime, failures: int = 0) -> datetime:
        """When a feed polled at `now` with `failures` consecutive failures is due again."""
        return next_check(now, self._interval, failures, self._rng)

    async def poll_feed(self, feed: FeedRow) -> PollOutcome:
        """Poll one feed now; every failure is classified and stored, never raised."""
        return await self.record(feed, await self.fetch(feed))

    async def fetch(self, feed: FeedRow) -> Fetched:
        """The network and CPU half of a poll: fetch, then parse and classify off the loop."""
        try:
            result = await self._fetcher.fetch(
                feed.url, etag=feed.etag, last_modified=feed.last_modified
            )
            processed = None
            if not result.not_modified:
                processed = await self.process(
                    result.body, result.headers, feed.url, feed.lang_hint
                )
        except FetchError as exc:
            return Fetched(error=(exc.kind.value, exc.detail))
        except Exception as exc:  # a bug in one feed's processing must not stop the others
            return Fetched(error=(FetchErrorKind.UNPARSEABLE.value, repr(exc)[:300]))
        return Fetched(result.etag, result.last_modified, processed)

    async def record(self, feed: FeedRow, fetched: Fetched) -> PollOutcome:
        """The storage half of a poll: new items and the feed's status, in one transaction."""
        if fetched.error is not None:
            return await self._failed(feed, *fetched.error)
        processed = fetched.processed
        now = self._clock()
        success = FeedSuccess(
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            title=processed.title if processed else None,
            now=now,
            next_check_at=self.next_check(now),
        )
        title = (processed.title if processed else "") or feed.title
        new = await self._write(
            self._items.store_poll(
                feed.id,
                processed.items if processed else (),
                success,
                source=title or feed.url,
                backfill=self._backfill,
            )
        )
        status = "not_modified" if processed is None else "ok"
        return PollOutcome(feed.id, feed.url, title, new, status)

    async def _failed(self, feed: FeedRow, kind: str, detail: str) -> PollOutcome:
        now = self._clock()
        await self._write(
            self._feeds.record_failure(
                feed.id,
                kind=kind,
                detail=detail,
                now=now,
                next_check_at=self.next_check(now, feed.failure_count + 1),
            )
        )
        return PollOutcome(feed.id, feed.url, feed.title, 0, kind, detail)
