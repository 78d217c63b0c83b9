"""Numbers for /stats: subscribers, feeds, items, messages sent, failing feeds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.services.ingest import utcnow
from bot.storage.feeds import FeedRepo
from bot.storage.items import ItemRepo
from bot.storage.outbox import OutboxRepo
from bot.storage.subscribers import SubscriberRepo


@dataclass(frozen=True, slots=True)
class Stats:
    """A snapshot of the bot's state."""

    active: int
    inactive: int
    feeds: int
    failing_feeds: int
    items: int
    sent_24h: int
    # Counted by this process's sender, not stored: /stats says "since start". A send that got
    # no answer after it left may have arrived, so each of these may be a duplicate.
    resent_after_timeout: int = 0


StatsSource = Callable[[], Awaitable[Stats]]


async def collect(
    *,
    subscribers: SubscriberRepo,
    feeds: FeedRepo,
    items: ItemRepo,
    outbox: OutboxRepo,
    clock: Callable[[], datetime] = utcnow,
) -> Stats:
    """Gather the numbers /stats shows."""
    counts = await subscribers.counts()
    all_feeds = await feeds.list()
    return Stats(
        active=counts.get("active", 0),
        inactive=sum(n for status, n in counts.items() if status != "active"),
        feeds=len(all_feeds),
        failing_feeds=sum(1 for f in all_feeds if f.failure_count > 0),
        items=await items.count(),
        sent_24h=await outbox.sent_since(clock() - timedelta(hours=24)),
    )
