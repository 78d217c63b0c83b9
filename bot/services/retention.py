"""Retention policy: which items and messages are old enough to go, deleted batch by batch."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.services.ingest import utcnow
from bot.storage.outbox import OutboxRepo
from bot.storage.retention import RetentionRepo

log = logging.getLogger(__name__)

SENT_KEEP = timedelta(days=7)  # sent and refused messages: /stats counts the last day of them
BATCH = 500  # rows per transaction: a batch holds the write lock for milliseconds


@dataclass(frozen=True, slots=True)
class Swept:
    """What one retention run deleted, and the old items it kept for a subscriber."""

    items: int = 0
    kept: int = 0
    messages: int = 0


class Retention:
    """Deletes items first seen more than RETENTION_DAYS ago and messages sent a week ago."""

    def __init__(
        self,
        *,
        repo: RetentionRepo,
        outbox: OutboxRepo,
        days: int,
        backfill: timedelta,
        batch: int = BATCH,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._repo = repo
        self._outbox = outbox
        self._days = days
        self._backfill = backfill
        self._batch = batch
        self._clock = clock

    def item_cutoff(self, now: datetime) -> datetime:
        """Items first seen before this may go.

        Never inside the backfill window: a new or resumed subscriber's first digest reaches
        back that far, and retention does not look at paused subscribers' cursors.
        """
        return now - max(timedelta(days=self._days), self._backfill)

    async def run(self, keep_going: Callable[[], bool] = lambda: True) -> Swept:
        """Delete in batches until nothing old is left or `keep_going()` turns false."""
        now = self._clock()
        cutoff = self.item_cutoff(now)
        deleted = kept = 0
        upto = await self._repo.last_id(cutoff)
        after: int | None = 0
        while after is not None and keep_going():
            batch = await self._repo.delete_items(cutoff, after, upto, self._batch)
            if batch is None:
                log.info("retention: another instance is deleting old items")
                break
            deleted, kept, after = deleted + batch.deleted, kept + batch.kept, batch.next_after
        messages = 0
        while keep_going():
            gone = await self._outbox.purge(now, keep=SENT_KEEP, limit=self._batch)
            messages += gone
            if gone < self._batch:
                break
        swept = Swept(deleted, kept, messages)
        log.info(
            "retention: deleted %d items first seen before %s (kept %d still due) and %d "
            "messages sent or refused before %s",
            swept.items,
            cutoff.isoformat(timespec="minutes"),
            swept.kept,
            swept.messages,
            (now - SENT_KEEP).isoformat(timespec="minutes"),
        )
        return swept
