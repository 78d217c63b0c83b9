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


class Poller:
    """Owner of every running poll; `drain()` finishes or cancels them on shutdown."""

    def __init__(
        self, ingest: Ingest, *, concurrency: int = 64, on_outcome: OnOutcome | None = None
    ) -> None:
        self._ingest = ingest
        self._slots = asyncio.Semaphore(concurrency)
        self._running: dict[int, asyncio.Task[PollOutcome | None]] = {}
        self._on_outcome = on_outcome

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
            task.add_done_callback(lambda _t, fid=feed.id: self._running.pop(fid, None))
            started += 1
        return started

    async def run_once(self, feeds: Iterable[FeedRow]) -> list[PollOutcome]:
        """Poll the given feeds now and wait for all of them (for `poll --once`)."""
        self.submit(feeds)
        tasks = list(self._running.values())
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
        tasks = list(self._running.values())
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._ingest.settle()
