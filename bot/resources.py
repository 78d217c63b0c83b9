"""Everything the bot and the offline CLI run on, opened once and closed in order.

No Telegram library here: `python -m bot feed list`, `poll --once`, `items` and `preview`
start without importing aiogram (an import-linter contract keeps it so).
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
from collections.abc import AsyncIterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.catalogues import Catalogues, GettextLocalizer, load_catalogues
from bot.config import Settings
from bot.metrics import Metrics
from bot.poller import Poller
from bot.services.digest import Digests
from bot.services.feed_admin import FeedAdmin
from bot.services.ingest import Ingest, PollOutcome
from bot.services.places import Places, Rights
from bot.services.retention import Retention
from bot.services.sources import Sources
from bot.services.stats import Stats, collect
from bot.services.subscriptions import Subscriptions
from bot.storage.chosen import ChosenRepo
from bot.storage.engine import make_engine
from bot.storage.feeds import FeedRepo
from bot.storage.items import ItemRepo
from bot.storage.migrate import upgrade_to_head
from bot.storage.outbox import OutboxRepo
from bot.storage.retention import RetentionRepo
from bot.storage.sources import MutedRepo
from bot.storage.subscribers import SubscriberRepo
from feeds.fetch import Fetcher, FetchLimits, make_session
from feeds.topics import Taxonomy

log = logging.getLogger(__name__)

GRACE_SECONDS = 10.0


@dataclass
class Resources:
    """Everything the bot, the CLI and the tests run on."""

    settings: Settings
    engine: AsyncEngine
    feeds: FeedRepo
    items: ItemRepo
    subscribers: SubscriberRepo
    outbox: OutboxRepo
    taxonomy: Taxonomy
    catalogues: Catalogues
    ingest: Ingest
    feed_admin: FeedAdmin
    poller: Poller
    subs: Subscriptions
    digests: Digests
    retention: Retention
    places: Places
    sources: Sources
    metrics: Metrics = field(default_factory=Metrics)

    async def stats(self) -> Stats:
        """The numbers /stats shows."""
        return await collect(
            subscribers=self.subscribers, feeds=self.feeds, items=self.items, outbox=self.outbox
        )


def make_executor() -> Executor:
    """Worker processes for parsing: feedparser is CPU-bound and would stall the event loop.

    `spawn` because forking a process that runs threads (aiosqlite) can deadlock the child.
    """
    workers = max(1, min(os.cpu_count() or 1, 8))
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


@asynccontextmanager
async def open_resources(
    settings: Settings, *, executor: Executor | None = None
) -> AsyncIterator[Resources]:
    """Open the database (migrated to head), the feed HTTP session and the services."""
    async with AsyncExitStack() as stack:
        engine = make_engine(settings.database_url)
        stack.push_async_callback(engine.dispose)
        await upgrade_to_head(engine)
        if executor is None:
            executor = make_executor()
            stack.callback(executor.shutdown, wait=True, cancel_futures=True)
        limits = FetchLimits()
        session = make_session(limits, allow_private=settings.allow_private_feeds)
        stack.push_async_callback(session.close)
        fetcher = Fetcher(session, limits)
        backfill = timedelta(hours=settings.backfill_hours)
        feeds, items = FeedRepo(engine), ItemRepo(engine)
        subscribers, outbox = SubscriberRepo(engine), OutboxRepo(engine)
        topics_file = settings.topics_file or None
        taxonomy = Taxonomy.load(Path(topics_file) if topics_file else None)
        catalogues = load_catalogues()
        metrics = Metrics()
        ingest = Ingest(
            fetcher=fetcher,
            feeds=feeds,
            items=items,
            executor=executor,
            interval=timedelta(seconds=settings.poll_interval_seconds),
            backfill=backfill,
            taxonomy_path=topics_file,
            model_path=settings.topic_model_file or None,
            max_items=settings.max_items_per_poll,
            metrics=metrics,
        )
        admin = FeedAdmin(
            feeds=feeds,
            items=items,
            fetcher=fetcher,
            ingest=ingest,
            allow_private=settings.allow_private_feeds,
            backfill=backfill,
        )
        digests = Digests(
            subscribers=subscribers,
            outbox=outbox,
            topic_order=taxonomy.slugs,
            localizer=GettextLocalizer(catalogues, taxonomy),
            backfill=backfill,
            max_items=settings.max_digest_items,
        )

        async def after_poll(outcome: PollOutcome) -> None:
            metrics.polls.labels(outcome.status).inc()
            if outcome.new_items:
                digests.request_instant()

        subs = Subscriptions(
            subscribers,
            topic_slugs=taxonomy.slugs,
            default_tz=settings.default_timezone,
            backfill=backfill,
        )
        retention = Retention(
            repo=RetentionRepo(engine),
            outbox=outbox,
            days=settings.retention_days,
            backfill=backfill,
        )
        poller = Poller(ingest, concurrency=limits.limit, on_outcome=after_poll)
        # What start-up built lives as long as the process: keep the cyclic collector from
        # scanning it again, or one full collection stalls the event loop for ~200 ms.
        gc.collect()
        gc.freeze()
        # Background work is finished before the engine and sessions close (LIFO order).
        stack.push_async_callback(digests.drain)
        stack.push_async_callback(poller.drain, GRACE_SECONDS)
        yield Resources(
            settings=settings,
            engine=engine,
            feeds=feeds,
            items=items,
            subscribers=subscribers,
            outbox=outbox,
            taxonomy=taxonomy,
            catalogues=catalogues,
            ingest=ingest,
            feed_admin=admin,
            poller=poller,
            subs=subs,
            digests=digests,
            retention=retention,
            metrics=metrics,
            places=Places(subscribers, subs, Rights(), ChosenRepo(engine)),
            sources=Sources(feeds, MutedRepo(engine), subscribers),
        )
