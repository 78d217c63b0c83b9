"""Runs feed polls as bounded background tasks: one task per feed, never two for one feed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from bot.logs import FEED_ID
from bot.services.ingest import Ingest, PollOutcome
from bot.storage.feeds import FeedRow

log = logging.getLogger(__name__)

OnOutcome = Callable[[PollOutcome], Awaitable[None]]
Source = Callable[[int], Awaitable[list[FeedRow]]]  # leases up to n due feeds


class Poller:
    """Owner of every running poll; `drain()` finishes or cancels them on shutdown."""

    def __init__(
        self, ingest: Ingest, *, concurrency: int = 64, on_outcome: OnOutcome | None = None
    ) -> None:
        self._ingest = ingest
        self._slots = asyncio.Semaphore(concurrency)
        self._running: dict[int, asyncio.Task[PollOutcome | None]] = {}
        self._on_outcome = on_outcome
        self.source: Source | None = None  # set by the composition root
        self._capacity = concurrency * 2  # leased feeds wait at most about one poll to start
        self._more = False  # the last lease filled the room: more feeds are due
        self._refilling: asyncio.Task[int] | None = None
        self._stopping = False

    @property
    def running(self) -> int:
        """How many feeds are being polled now."""
        return len(self._running)

    def submit(self, feeds: Iterable[FeedRow]) -> int:
        """Start polls for the feeds not already running; returns how many started."""
        started = 0
        for feed in feeds:
            if feed.id in self._running:
                continue
            task = asyncio.create_task(self._poll(feed), name=f"poll-feed-{feed.id}")
            self._running[feed.id] = task
            task.add_done_callback(lambda _t, fid=feed.id: self._finished(fid))
            started += 1
        return started

    async def refill(self) -> int:
        """Lease as many due feeds as there is room for and start them; returns how many.

        When the lease filled the room, more are leased as running polls end, so one cold
        cycle does not wait for the next tick.
        """
        room = self._capacity - self.running
        if self.source is None or room <= 0 or self._stopping:
            self._more = self.source is not None
            return 0
        feeds = await self.source(room)
        self._more = len(feeds) >= room
        return self.submit(feeds)

    def _finished(self, feed_id: int) -> None:
        self._running.pop(feed_id, None)
        idle = self._refilling is None or self._refilling.done()
        if self._more and idle and not self._stopping and self.running <= self._capacity // 2:
            self._refilling = asyncio.create_task(self._refill_quietly(), name="poll-refill")

    async def _refill_quietly(self) -> int:
        try:
            return await self.refill()
        except Exception:  # the database may be away: the next tick tries again
            log.exception("leasing due feeds failed")
            return 0

    async def run_once(
        self, feeds: Iterable[FeedRow], *, on_done: Callable[[], object] | None = None
    ) -> list[PollOutcome]:
        """Poll the given feeds now and wait for all of them (for `poll --once`).

        `on_done` is called as each poll ends (a progress bar counts them).
        """
        self.submit(feeds)
        tasks = list(self._running.values())
        if on_done is not None:
            for task in tasks:
                task.add_done_callback(lambda _task: on_done())
        results = await asyncio.gather(*tasks)
        return [r for r in results if r is not None]

    async def _poll(self, feed: FeedRow) -> PollOutcome | None:
        FEED_ID.set(feed.id)  # this task's own context: its log lines name the feed
        try:
            # The slot bounds fetching and parsing; storing waits for the database outside it,
            # so the parse workers never idle while SQLite's single writer catches up.
            async with self._slots:
                fetched = await self._ingest.fetch(feed)
            outcome = await self._ingest.record(feed, fetched)
        except Exception:  # storage down or a bug: log, keep polling the other feeds
            log.exception("poll of feed %s failed", feed.id)
            return None
        if self._on_outcome is not None:
            try:
                await self._on_outcome(outcome)
            except Exception:
                log.exception("after-poll hook failed for feed %s", feed.id)
        return outcome

    async def drain(self, grace: float) -> None:
        """Let running polls finish within `grace` seconds, then cancel the rest.

        Each poll's writes are one transaction that runs to its end, so a cancelled poll
        leaves no half-written rows.
        """
        self._stopping = True
        if self._refilling is not None:
            await asyncio.gather(self._refilling, return_exceptions=True)
        tasks = list(self._running.values())
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._ingest.settle()
