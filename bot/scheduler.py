"""The clock of the bot: short APScheduler ticks that hand work to owners that can drain."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.poller import Poller
from bot.services.digest import Digests
from bot.services.ingest import utcnow
from bot.services.retention import Retention
from bot.storage.feeds import FeedRepo

log = logging.getLogger(__name__)

RETENTION_DELAY = 300.0  # seconds after start: start-up, first polls and digests go first


def tick_seconds(poll_interval: int) -> float:
    """How often to look for due feeds: often enough to keep each feed near its interval."""
    return float(max(1, min(30, poll_interval // 10 or 1)))


class Clock:
    """Owns the AsyncIOScheduler: a poll tick, a digest tick and a daily retention run.

    APScheduler cancels a running coroutine job when it shuts down, so its jobs only start a
    tick in a task of ours and return; `drain()` lets a running tick finish. A tick still
    running when the next one is due makes that one skip, as max_instances=1 would.
    """

    def __init__(
        self,
        *,
        feeds: FeedRepo,
        poller: Poller,
        digests: Digests,
        retention: Retention,
        poll_interval: int,
        digest_tick: float = 20.0,
        retention_delay: float = RETENTION_DELAY,
    ) -> None:
        self._feeds = feeds
        self._poller = poller
        self._digests = digests
        self._retention = retention
        self._retention_delay = retention_delay
        self._ticks: dict[str, asyncio.Task[int]] = {}
        self._stopped = False
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        common = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        self._scheduler.add_job(
            self._start_tick,
            "interval",
            args=("poll", self.poll_tick),
            seconds=tick_seconds(poll_interval),
            id="poll",
            **common,
        )
        self._scheduler.add_job(
            self._start_tick,
            "interval",
            args=("digest", self.digest_tick),
            seconds=digest_tick,
            id="digest",
            **common,
        )
        self._scheduler.add_job(
            self._start_tick,
            "interval",
            args=("retention", self.retention_tick),
            days=1,
            id="retention",
            **common,
        )

    async def _start_tick(self, name: str, tick: Callable[[], Coroutine[Any, Any, int]]) -> None:
        """What APScheduler runs: the tick in a task it cannot cancel, unless one still runs."""
        running = self._ticks.get(name)
        if self._stopped or (running is not None and not running.done()):
            return
        self._ticks[name] = asyncio.create_task(tick(), name=f"tick:{name}")

    async def poll_tick(self) -> int:
        """Hand due feeds to the poller: leased ones if it has a source, else every due one."""
        try:
            if self._poller.source is not None:
                return await self._poller.refill()
            return self._poller.submit(await self._feeds.due(utcnow()))
        except Exception:
            log.exception("poll tick failed")
            return 0

    async def digest_tick(self) -> int:
        """Plan the scheduled digests that are due.

        It also asks for an instant round: items can arrive without a poll of ours (a feed
        an admin added, `poll --once` in another process), and instant subscribers get them
        within a tick. The round plans only chats whose cursor is behind, so it is cheap.
        """
        try:
            self._digests.request_instant()
            return await self._digests.plan_due()
        except Exception:
            log.exception("digest tick failed")
            return 0

    async def retention_tick(self) -> int:
        """Delete old items and sent messages in batches, stopping early when the bot stops."""
        try:
            swept = await self._retention.run(keep_going=lambda: not self._stopped)
        except Exception:
            log.exception("retention failed")
            return 0
        return swept.items

    @property
    def running(self) -> bool:
        """Whether the ticks are scheduled (started and not stopped)."""
        return self._scheduler.running and not self._stopped

    def start(self) -> None:
        """Start ticking; the first poll tick runs at once, retention a while after start.

        Retention runs every 24 hours from then: a bot restarted daily still runs it daily.
        """
        self._scheduler.start()
        now = utcnow()
        self._scheduler.modify_job("poll", next_run_time=now)
        self._scheduler.modify_job("digest", next_run_time=now)
        later = now + timedelta(seconds=self._retention_delay)
        self._scheduler.modify_job("retention", next_run_time=later)

    def stop(self) -> None:
        """No new ticks; `drain()` waits for the running ones."""
        self._stopped = True
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def drain(self, grace: float) -> None:
        """Let running ticks finish (each plan is one transaction); cancel them after `grace`."""
        running = [t for t in self._ticks.values() if not t.done()]
        if not running:
            return
        _done, late = await asyncio.wait(running, timeout=grace)
        for task in late:
            log.warning("%s still running after %.1fs: cancelled", task.get_name(), grace)
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
