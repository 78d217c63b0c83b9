"""Composition root: builds every long-lived resource once and closes them in order."""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
from collections.abc import AsyncIterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.delivery import RateLimiter, Sender, TelegramLimits
from bot.i18n import GettextLocalizer, make_i18n, register_commands
from bot.middlewares import InFlight, LocaleMiddleware
from bot.poller import Poller
from bot.scheduler import Clock
from bot.services.digest import Digests
from bot.services.feed_admin import FeedAdmin
from bot.services.ingest import Ingest, PollOutcome
from bot.services.stats import Stats, collect
from bot.services.subscriptions import Subscriptions
from bot.storage.engine import make_engine
from bot.storage.feeds import FeedRepo
from bot.storage.items import ItemRepo
from bot.storage.migrate import upgrade_to_head
from bot.storage.outbox import OutboxRepo
from bot.storage.subscribers import SubscriberRepo
from feeds.fetch import Fetcher, FetchLimits, make_session
from feeds.topics import Taxonomy
from handlers import get_routers

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
    i18n: I18n
    ingest: Ingest
    feed_admin: FeedAdmin
    poller: Poller
    subs: Subscriptions
    digests: Digests

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
        i18n = make_i18n()
        ingest = Ingest(
            fetcher=fetcher,
            feeds=feeds,
            items=items,
            executor=executor,
            interval=timedelta(seconds=settings.poll_interval_seconds),
            backfill=backfill,
            taxonomy_path=topics_file,
            max_items=settings.max_items_per_poll,
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
            localizer=GettextLocalizer(i18n, taxonomy),
            backfill=backfill,
            max_items=settings.max_digest_items,
        )

        async def after_poll(outcome: PollOutcome) -> None:
            if outcome.new_items:
                digests.request_instant()

        subs = Subscriptions(
            subscribers,
            topic_slugs=taxonomy.slugs,
            default_tz=settings.default_timezone,
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
            i18n=i18n,
            ingest=ingest,
            feed_admin=admin,
            poller=poller,
            subs=subs,
            digests=digests,
        )


class HabarApp:
    """The running bot: resources, Telegram client, dispatcher, scheduler and sender.

    `python -m bot` and the end-to-end tests start it the same way and stop it through the
    same shutdown path.
    """

    def __init__(self, settings: Settings, *, digest_tick: float = 20.0) -> None:
        self.settings = settings
        self._digest_tick = digest_tick
        self._stack = AsyncExitStack()
        self.started = asyncio.Event()

    async def __aenter__(self) -> HabarApp:
        s = self.settings
        self.res = await self._stack.enter_async_context(open_resources(s))
        api = TelegramAPIServer.from_base(s.telegram_api_url)
        self.bot = Bot(s.token(), session=AiohttpSession(api=api))
        self._stack.push_async_callback(self.bot.session.close)
        self.limits = TelegramLimits(RateLimiter(s.send_rate_per_second))
        self.bot.session.middleware(self.limits)
        self.sender = Sender(self.bot, outbox=self.res.outbox, subscribers=self.res.subscribers)
        self.res.digests.on_queued = self.sender.wake
        self.clock = Clock(
            feeds=self.res.feeds,
            poller=self.res.poller,
            digests=self.res.digests,
            outbox=self.res.outbox,
            poll_interval=s.poll_interval_seconds,
            digest_tick=self._digest_tick,
        )
        self.inflight = InFlight()
        self.i18n = self.res.i18n
        self.dp = self.build_dispatcher()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    def build_dispatcher(self) -> Dispatcher:
        """The dispatcher with services as workflow data, middlewares and routers."""
        res = self.res
        dp = Dispatcher(
            subs=res.subs,
            digests=res.digests,
            feed_admin=res.feed_admin,
            stats=res.stats,
            taxonomy=res.taxonomy,
            settings_tz=self.settings.default_timezone,
        )
        dp.update.outer_middleware(self.inflight)
        LocaleMiddleware(self.i18n, res.subs).setup(dp)
        dp.include_routers(*get_routers(admin_ids=self.settings.admin_ids))
        dp.startup.register(self._on_startup)
        dp.shutdown.register(self._on_shutdown)
        return dp

    async def _on_startup(self, **_: Any) -> None:
        await register_commands(self.bot, self.i18n, self.settings.admin_ids)
        self.clock.start()
        self.sender.start()
        self.started.set()
        log.info("Habar started")

    async def _on_shutdown(self, **_: Any) -> None:
        # Order matters: no new ticks, then finish updates, polls, planning and the message
        # in flight. Everything a step writes is one transaction, so nothing is half-written.
        self.clock.stop()
        await self.inflight.wait_idle(GRACE_SECONDS)
        await self.res.poller.drain(GRACE_SECONDS)
        await self.res.digests.drain()
        await self.sender.drain(GRACE_SECONDS)
        log.info("Habar stopped")

    async def run_polling(self, *, handle_signals: bool = True) -> None:
        """Long polling until SIGTERM/SIGINT (or stop())."""
        await self.dp.start_polling(
            self.bot,
            handle_signals=handle_signals,
            close_bot_session=False,
            allowed_updates=self.dp.resolve_used_update_types(),
        )

    async def stop(self) -> None:
        """Stop polling; the shutdown hook then drains everything (as on SIGTERM)."""
        await self.dp.stop_polling()


async def run(settings: Settings) -> int:
    """Run the bot until a signal stops it."""
    async with HabarApp(settings) as app:
        await app.run_polling()
    return 0
