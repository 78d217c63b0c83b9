"""Composition root: builds every long-lived resource once and closes them in order."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import AsyncIterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.poller import Poller
from bot.services.feed_admin import FeedAdmin
from bot.services.ingest import Ingest
from bot.storage.engine import make_engine
from bot.storage.feeds import FeedRepo
from bot.storage.items import ItemRepo
from bot.storage.migrate import upgrade_to_head
from feeds.fetch import Fetcher, FetchLimits, make_session


@dataclass
class Resources:
    """Everything the bot, the CLI and the tests run on."""

    settings: Settings
    engine: AsyncEngine
    feeds: FeedRepo
    items: ItemRepo
    ingest: Ingest
    feed_admin: FeedAdmin
    poller: Poller


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
        feeds, items = FeedRepo(engine), ItemRepo(engine)
        ingest = Ingest(
            fetcher=fetcher,
            feeds=feeds,
            items=items,
            executor=executor,
            interval=timedelta(seconds=settings.poll_interval_seconds),
            backfill=timedelta(hours=settings.backfill_hours),
        )
        admin = FeedAdmin(
            feeds=feeds,
            items=items,
            fetcher=fetcher,
            ingest=ingest,
            allow_private=settings.allow_private_feeds,
            backfill=timedelta(hours=settings.backfill_hours),
        )
        poller = Poller(ingest, concurrency=limits.limit)
        yield Resources(settings, engine, feeds, items, ingest, admin, poller)
