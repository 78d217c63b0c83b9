"""Composition root: the Telegram side (Bot, Dispatcher, sender, clock) on bot.resources."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.config import Settings
from bot.delivery import RateLimiter, Sender, TelegramLimits
from bot.i18n import make_i18n, register_commands
from bot.middlewares import InFlight, LocaleMiddleware
from bot.resources import GRACE_SECONDS, Resources, make_executor, open_resources
from bot.scheduler import Clock
from handlers import get_routers

# Re-exported: tests, benches and older callers open resources through the composition root.
__all__ = ["GRACE_SECONDS", "HabarApp", "Resources", "make_executor", "open_resources", "run"]

log = logging.getLogger(__name__)


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
        self.i18n = make_i18n(locales=self.res.catalogues.locales)
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
