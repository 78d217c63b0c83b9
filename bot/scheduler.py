"""The clock of the bot: short APScheduler ticks that hand work to owners that can drain."""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.poller import Poller
from bot.services.digest import Digests
from bot.services.ingest import utcnow
from bot.storage.feeds import FeedRepo
from bot.storage.outbox import OutboxRepo

log = logging.getLogger(__name__)


def tick_seconds(poll_interval: int) -> float:
    """How often to look for due feeds: often enough to keep each feed near its interval."""
    return float(max(1, min(30, poll_interval // 10 or 1)))


class Clock:
    """Owns the AsyncIOScheduler: a poll tick and a digest tick, each returning fast."""

    def __init__(
        self,
        *,
        feeds: FeedRepo,
        poller: Poller,
        digests: Digests,
        outbox: OutboxRepo,
        poll_interval: int,
        digest_tick: float = 20.0,
    ) -> None:
        self._feeds = feeds
        self._poller = poller
        self._digests = digests
        self._outbox = outbox
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        common = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        self._scheduler.add_job(
            self.poll_tick, "interval", seconds=tick_seconds(poll_interval), id="poll", **common
        )
        self._scheduler.add_job(
            self.digest_tick, "interval", seconds=digest_tick, id="digest", **common
        )

    async def poll_tick(self) -> int:
        """Hand every due feed to the poller (it skips feeds already running)."""
        try:
            return self._poller.submit(await self._feeds.due(utcnow()))
        except Exception:
            log.exception("poll tick failed")
            return 0

    async def digest_tick(self) -> int:
        """Plan the scheduled digests that are due, and forget old sent messages.

        It also asks for an instant round: items can arrive without a poll of ours (a feed
        an admin added, `poll --once` in another process), and instant subscribers get them
        within a tick. The round plans only chats whose cursor is behind, so it is cheap.
        """
        try:
            self._digests.request_instant()
            planned = await self._digests.plan_due()
            await self._outbox.purge(utcnow(), keep=timedelta(days=2))
            return planned
        except Exception:
            log.exception("digest tick failed")
            return 0

    def start(self) -> None:
        """Start ticking; the first poll tick runs at once."""
        self._scheduler.start()
        self._scheduler.modify_job("poll", next_run_time=utcnow())
        self._scheduler.modify_job("digest", next_run_time=utcnow())

    def stop(self) -> None:
        """No new ticks; work already handed over is drained by its owner."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
