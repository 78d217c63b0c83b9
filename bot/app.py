"""Composition root: the Telegram side (Bot, Dispatcher, sender, clock) on bot.resources."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import replace
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import User

from bot.config import Settings
from bot.coordination import CoordinationError, UpdatesTurn, open_coordination
from bot.delivery import Sender, TelegramLimits
from bot.i18n import make_i18n
from bot.menus import CommandMenus
from bot.middlewares import InFlight, LocaleMiddleware, PlaceMiddleware, Throttle, log_chat
from bot.resources import GRACE_SECONDS, Resources, make_executor, open_resources
from bot.scheduler import Clock
from bot.services.stats import Stats
from bot.storage.ops import OpsRepo
from bot.telegram_watch import TelegramWatch
from bot.web import Checks, WebError, start_web
from bot.webhook import WebhookHandler, make_webhook
from handlers import get_routers

# Re-exported: tests, benches and older callers open resources through the composition root.
__all__ = ["GRACE_SECONDS", "HabarApp", "Resources", "make_executor", "open_resources", "run"]

log = logging.getLogger(__name__)

CONNECT_RETRY_MAX = 60.0  # seconds between getMe attempts while Telegram cannot be reached


class StartupError(Exception):
    """The bot cannot start; the message says why in one line (exit code 2)."""


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
        self._stopping = asyncio.Event()
        self.exit_code = 0  # 2 when Telegram rejected the token
        self._stop_task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> HabarApp:
        try:
            return await self._open()
        except BaseException:
            await self._stack.aclose()
            raise

    async def _open(self) -> HabarApp:
        s = self.settings
        self.res = await self._stack.enter_async_context(open_resources(s))
        self.metrics = self.res.metrics
        # Alone or one of several: the sender, poller and getUpdates loop work the same way.
        self.coordination = coord = await self._stack.enter_async_context(
            open_coordination(s, self.res)
        )
        self.res.poller.source = coord.due_feeds
        api = TelegramAPIServer.from_base(s.telegram_api_url)
        self.bot = Bot(s.token(), session=AiohttpSession(api=api))
        self._stack.push_async_callback(self.bot.session.close)
        self.limits = TelegramLimits(coord.limiter, on_token_rejected=self._token_rejected)
        self.watch = TelegramWatch(self.metrics)
        self.bot.session.middleware(self.limits)
        self.bot.session.middleware(UpdatesTurn(coord))
        self.bot.session.middleware(self.watch)  # inner: sees each attempt and its answer
        self.sender = Sender(
            self.bot,
            outbox=self.res.outbox,
            subscribers=self.res.subscribers,
            take=coord.claim_outbox,
        )
        self.res.digests.on_queued = self._queued
        self.res.digests.turn = coord.planning_turn
        self.clock = Clock(
            feeds=self.res.feeds,
            poller=self.res.poller,
            digests=self.res.digests,
            retention=self.res.retention,
            poll_interval=s.poll_interval_seconds,
            digest_tick=self._digest_tick,
        )
        self.inflight = InFlight()
        self.i18n = make_i18n(locales=self.res.catalogues.locales)
        self.menus = CommandMenus(self.i18n, s.admin_ids)
        self.dp = self.build_dispatcher()
        self.webhook = make_webhook(s, self.dp, self.bot, self.res.engine, self.metrics)
        checks = Checks(
            ops=OpsRepo(self.res.engine),
            schedulers=self._schedulers_problem,
            telegram_silent_for=self.watch.silent_for,
        )
        try:
            self.web = await start_web(s, checks, self.metrics, self.webhook)
        except WebError as exc:
            raise StartupError(str(exc)) from None
        if self.web is not None:
            self._stack.push_async_callback(self.web.close)
        return self

    def _schedulers_problem(self) -> str | None:
        """What /readyz says about the feed and digest ticks, or None when they run."""
        if self._stopping.is_set():
            return "stopping"
        if not self.started.is_set():
            return "not started yet"
        return None if self.clock.running else "stopped"

    def _queued(self) -> None:
        """A digest was planned: count it and wake the sender."""
        self.metrics.digests_planned.inc()
        self.sender.wake()

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    def build_dispatcher(self) -> Dispatcher:
        """The dispatcher with services as workflow data, middlewares and routers."""
        res = self.res
        dp = Dispatcher(
            storage=self.coordination.fsm_storage,
            subs=res.subs,
            digests=res.digests,
            feed_admin=res.feed_admin,
            stats=self.stats,
            taxonomy=res.taxonomy,
            settings_tz=self.settings.default_timezone,
            places=res.places,
            sources=res.sources,
        )
        dp.update.outer_middleware(self.inflight)
        dp.update.outer_middleware(log_chat)
        dp.update.outer_middleware(self.menus)
        LocaleMiddleware(self.i18n, res.subs).setup(dp)
        dp.message.outer_middleware(Throttle())  # after the locale: its reply is translated
        dp.message.outer_middleware(PlaceMiddleware(res.places))  # after the locale too
        dp.callback_query.outer_middleware(PlaceMiddleware(res.places))
        dp.include_routers(*get_routers(admin_ids=self.settings.admin_ids))
        dp.startup.register(self._on_startup)
        dp.shutdown.register(self._on_shutdown)
        return dp

    async def _on_startup(self, **_: Any) -> None:
        await self.menus.register(self.bot)
        self.coordination.start()
        self.clock.start()
        self.sender.start()
        self.started.set()
        log.info("Habar started")

    async def _on_shutdown(self, **_: Any) -> None:
        # Order matters: no new ticks, then finish updates, polls, planning and the message
        # in flight. Everything a step writes is one transaction, so nothing is half-written.
        self.clock.stop()
        await self.inflight.wait_idle(GRACE_SECONDS)
        await self.clock.drain(GRACE_SECONDS)
        await self.res.poller.drain(GRACE_SECONDS)
        await self.res.digests.drain()
        await self.sender.drain(GRACE_SECONDS)
        await self.coordination.stop()
        log.info("Habar stopped")

    async def connect(self) -> User | None:
        """getMe until Telegram answers, with backoff; None if asked to stop while waiting.

        A rejected token ends it (exit code 2, logged once by TelegramLimits); a Telegram that
        cannot be reached (network errors, 5xx, 429) is retried with a warning, since it may be
        back in a minute.
        """
        delay = 1.0
        while not self._stopping.is_set():
            try:
                return await self.bot.me()
            except TelegramUnauthorizedError:
                return None  # TelegramLimits logged it once and set exit_code to 2
            except TelegramNotFound:
                raise StartupError(
                    "Telegram answered 404 to getMe: check BOT_TOKEN and TELEGRAM_API_URL"
                ) from None
            except TelegramRetryAfter as exc:
                delay = max(delay, float(exc.retry_after))
                reason = exc.message
            except (TelegramNetworkError, TelegramServerError) as exc:
                reason = exc.message
            log.warning("Telegram cannot be reached (%s); trying again in %.0f s", reason, delay)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stopping.wait()
            delay = min(delay * 2, CONNECT_RETRY_MAX)
        log.info("stopped before Telegram could be reached")
        return None

    async def serve(self, *, handle_signals: bool = True) -> None:
        """Webhook mode when WEBHOOK_URL is set, else long polling, until stopped."""
        alive = asyncio.create_task(self.watch.keep_alive(self.bot), name="telegram-keep-alive")
        try:
            if self.webhook is not None:
                await self.run_webhook(self.webhook, handle_signals=handle_signals)
            else:
                await self.run_polling(handle_signals=handle_signals)
        finally:
            alive.cancel()
            await asyncio.gather(alive, return_exceptions=True)

    async def run_webhook(self, webhook: WebhookHandler, *, handle_signals: bool = True) -> None:
        """Serve the webhook until SIGTERM/SIGINT (or stop()); never deletes the webhook.

        Other instances may still serve it: on stop this one only refuses new updates (503,
        so Telegram sends them again), finishes the ones it took, then drains as usual.
        """
        with self._stop_signals(handle_signals):
            if await self.connect() is None:
                return  # connect() said why
            try:
                await webhook.set_webhook(self.settings.webhook_url)
            except TelegramBadRequest as exc:
                raise StartupError(f"WEBHOOK_URL: Telegram refused it: {exc.message}") from None
            except TelegramUnauthorizedError:
                return  # TelegramLimits logged it once and set exit code 2
            await webhook.serve(self._stopping, GRACE_SECONDS)

    async def run_polling(self, *, handle_signals: bool = True) -> None:
        """Long polling until SIGTERM/SIGINT (or stop()), once Telegram has answered getMe.

        A webhook left set (webhook mode before) is deleted first: Telegram refuses
        getUpdates while one is set.
        """
        with self._stop_signals(handle_signals):
            me = await self.connect()
            if me is not None:
                await self._delete_webhook()
        if me is None:
            return  # connect() said why
        await self.dp.start_polling(
            self.bot,
            handle_signals=handle_signals,
            close_bot_session=False,
            allowed_updates=self.dp.resolve_used_update_types(),
        )

    async def _delete_webhook(self) -> None:
        try:
            await self.bot.delete_webhook()
        except Exception as exc:  # polling reports the conflict if a webhook is still set
            log.warning("deleteWebhook failed (%s): long polling may be refused", exc)

    @contextlib.contextmanager
    def _stop_signals(self, enabled: bool) -> Iterator[None]:
        """While connecting, SIGTERM/SIGINT end the wait (aiogram's own handlers come later)."""
        loop = asyncio.get_running_loop()
        signals = (signal.SIGTERM, signal.SIGINT) if enabled else ()
        for sig in signals:
            loop.add_signal_handler(sig, self._stopping.set)
        try:
            yield
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)

    async def stop(self) -> None:
        """Stop polling; the shutdown hook then drains everything (as on SIGTERM)."""
        self._stopping.set()
        with contextlib.suppress(RuntimeError):  # not polling yet: connect() sees _stopping
            await self.dp.stop_polling()

    async def stats(self) -> Stats:
        """The numbers /stats shows, with this process's count of sends repeated."""
        return replace(
            await self.res.stats(), resent_after_timeout=self.sender.resent_after_timeout
        )

    def _token_rejected(self) -> None:
        """Telegram refused BOT_TOKEN (TelegramLimits logged it once): stop, exit code 2."""
        self.exit_code = 2
        if self.started.is_set() and self._stop_task is None:
            self._stop_task = asyncio.get_running_loop().create_task(self._stop_for_good())

    async def _stop_for_good(self) -> None:
        with contextlib.suppress(RuntimeError):  # polling already ended (a signal came first)
            await self.stop()


async def run(settings: Settings) -> int:
    """Run the bot until a signal stops it; 2 (with one line logged) if it cannot start."""
    try:
        async with HabarApp(settings) as app:
            await app.serve()
    except (StartupError, CoordinationError) as exc:
        log.critical("%s", exc)
        return 2
    return app.exit_code
