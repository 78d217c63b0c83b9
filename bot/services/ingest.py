"""Polling one feed: fetch, process off the event loop, store atomically, record the status."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TypeVar

from bot.metrics import Metrics
from bot.storage.feeds import FeedRepo, FeedRow
from bot.storage.items import FeedSuccess, ItemRepo, PollWrite, Stored
from feeds.fetch import Fetcher
from feeds.models import FetchError, FetchErrorKind
from feeds.pipeline import ProcessedFeed, process_document

MAX_BACKOFF = timedelta(hours=6)
# The failure kind stored on a feed whose poll the database refused (FetchErrorKind otherwise).
STORAGE_FAILED = "storage"
# Polls stored per transaction at most: enough to share its cost, short enough that other
# writers (digest planning) never wait long for SQLite's single writer.
MAX_POLLS_PER_WRITE = 16
# While other feeds are still being fetched, a finished poll waits at most this long for
# company before it is stored. A lone poll (the usual case between bursts) never waits.
GATHER_SECONDS = 1.0
T = TypeVar("T")
log = logging.getLogger(__name__)


class StoringInterrupted(RuntimeError):
    """Storing was cut short at shutdown: not the feed's fault, so no failure is recorded."""


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
    status: str  # "ok", "not_modified", a FetchErrorKind value or STORAGE_FAILED
    detail: str = ""
    skipped: int = 0  # items left out: their link is longer than the database holds

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
        model_path: str | None = None,
        max_items: int | None = None,
        clock: Callable[[], datetime] = utcnow,
        metrics: Metrics | None = None,
    ) -> None:
        self._metrics = metrics or Metrics()
        self._fetcher = fetcher
        self._feeds = feeds
        self._items = items
        self._executor = executor
        self._interval = interval
        self._backfill = backfill
        self._taxonomy_path = taxonomy_path
        self._model_path = model_path
        self._max_items = max_items
        self._clock = clock
        self._rng = random.Random()
        self._writes: set[asyncio.Future[object]] = set()
        self._queued: list[tuple[PollWrite, asyncio.Future[Stored]]] = []
        self._storing: asyncio.Future[None] | None = None
        self._fetching = 0  # fetches under way: their polls will want storing soon
        self._store_now = asyncio.Event()

    async def _write(self, coro: Awaitable[T]) -> T:
        """Run a storage write to its end even if the poll is cancelled meanwhile.

        Fetching may be cut short at shutdown; a started transaction is not, so the
        connection is returned cleanly and `settle()` can wait for it.
        """
        return await asyncio.shield(self._track(coro))

    def _track(self, coro: Awaitable[T]) -> asyncio.Future[T]:
        """Start a write as its own task, which `settle()` waits for."""
        task = asyncio.ensure_future(coro)
        self._writes.add(task)  # type: ignore[arg-type]
        task.add_done_callback(self._writes.discard)  # type: ignore[arg-type]
        return task

    async def settle(self) -> None:
        """Wait for writes that outlived their cancelled polls."""
        while self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    async def _store(self, poll: PollWrite) -> Stored:
        """Queue a poll for storing and wait for it; returns what it stored.

        Polls that finish while a transaction runs are stored together in the next one.
        The store goes on even if the waiting poll is cancelled (see `_write`).
        """
        done: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        self._queued.append((poll, done))
        if len(self._queued) >= MAX_POLLS_PER_WRITE or not self._fetching:
            self._store_now.set()
        if self._storing is None or self._storing.done():
            self._storing = self._track(self._store_queued())
        return await asyncio.shield(done)

    async def _store_queued(self) -> None:
        batch: list[tuple[PollWrite, asyncio.Future[Stored]]] = []
        try:
            while self._queued:
                if len(self._queued) < MAX_POLLS_PER_WRITE and self._fetching:
                    self._store_now.clear()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(GATHER_SECONDS):
                            await self._store_now.wait()
                batch = self._queued[:MAX_POLLS_PER_WRITE]
                del self._queued[:MAX_POLLS_PER_WRITE]
                await self._store_batch(batch)
        finally:
            # Only when interrupted (cancelled at shutdown): no poll may wait forever.
            interrupted, self._queued = batch + self._queued, []
            for _, done in interrupted:
                _resolve(done, StoringInterrupted("storing was interrupted"))

    async def _store_batch(self, batch: list[tuple[PollWrite, asyncio.Future[Stored]]]) -> None:
        try:
            counts = await self._items.store_polls([poll for poll, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                _resolve(batch[0][1], exc)
                return
            # One poll the database refuses must not lose the others: store each alone.
            for queued in batch:
                await self._store_batch([queued])
            return
        for (_, done), count in zip(batch, counts, strict=True):
            _resolve(done, count)

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
            model_path=self._model_path,
            max_items=self._max_items,
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
        self._fetching += 1
        try:
            return await self._fetch(feed)
        finally:
            self._fetching -= 1
            if not self._fetching:
                self._store_now.set()  # nothing more is coming soon: store what waits

    async def _fetch(self, feed: FeedRow) -> Fetched:
        try:
            with self._metrics.fetch_seconds.time():
                result = await self._fetcher.fetch(
                    feed.url, etag=feed.etag, last_modified=feed.last_modified
                )
            processed = None
            if not result.not_modified:
                with self._metrics.parse_seconds.time():  # the wait for a worker included
                    processed = await self.process(
                        result.body, result.headers, feed.url, feed.lang_hint
                    )
        except FetchError as exc:
            return Fetched(error=(exc.kind.value, exc.detail))
        except Exception as exc:  # a bug in one feed's processing must not stop the others
            return Fetched(error=(FetchErrorKind.UNPARSEABLE.value, repr(exc)[:300]))
        return Fetched(result.etag, result.last_modified, processed)

    async def record(self, feed: FeedRow, fetched: Fetched) -> PollOutcome:
        """The storage half of a poll: new items and the feed's status, in one transaction.

        A poll the database refuses is the feed's failure, recorded with backoff like any other.
        """
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
        poll = PollWrite(
            feed.id,
            processed.items if processed else (),
            success,
            source=title or feed.url,
            backfill=self._backfill,
        )
        try:
            stored = await self._store(poll)
        except StoringInterrupted:
            raise
        except Exception as exc:
            detail = _db_detail(exc)
            log.warning("feed %s: the database refused its poll: %s", feed.id, detail)
            return await self._failed(feed, STORAGE_FAILED, detail)
        for lang in stored.langs:
            self._metrics.items_stored.labels(lang).inc()
        if stored.skipped:
            log.warning("feed %s: %d items skipped, links too long", feed.id, stored.skipped)
        status = "not_modified" if processed is None else "ok"
        return PollOutcome(feed.id, feed.url, title, stored.new, status, skipped=stored.skipped)

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


def _db_detail(exc: Exception) -> str:
    """The database's own words for a refused write, without the statement and its values."""
    cause = getattr(exc, "orig", None) or exc
    return f"{type(cause).__name__}: {cause}".splitlines()[0][:300]


def _resolve(done: asyncio.Future[Stored], outcome: Stored | BaseException) -> None:
    """Settle a queued poll's future once; later outcomes are ignored."""
    if done.done():
        return
    if isinstance(outcome, BaseException):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)
