"""Webhook mode: Telegram POSTs updates; each is answered at once and handled once, bounded.

aiogram's SimpleRequestHandler checks the secret header (401 without it) and answers before
the handlers run. On top of it: the update id is recorded in the database first, so an
update Telegram sends again (it saw no 200 in time) or that reaches another instance is
handled once; at most `concurrency` updates run at once; and on stop no new update is
taken (Telegram gets 503 and sends it again, to an instance that still runs).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.metrics import Metrics
from bot.storage.ops import UpdateLog

log = logging.getLogger(__name__)

# https://core.telegram.org/bots/api#setwebhook: 1-100 connections at once, 40 by default.
MAX_CONNECTIONS = 40
CONCURRENCY = 32  # updates handled at once; more wait their turn
BACKLOG = 1000  # updates taken and not finished; past this Telegram is asked to send again
PRUNE_EVERY = 3600.0  # seconds between deletions of update ids older than a day


def _now() -> datetime:
    return datetime.now(UTC)


def make_webhook(
    settings: Settings, dp: Dispatcher, bot: Bot, engine: AsyncEngine, metrics: Metrics
) -> WebhookHandler | None:
    """The webhook route when WEBHOOK_URL is set (webhook mode), else None (long polling)."""
    if not settings.webhook_url or settings.webhook_secret is None:
        return None
    secret = settings.webhook_secret.get_secret_value()
    return WebhookHandler(dp, bot, secret=secret, updates=UpdateLog(engine), metrics=metrics)


class WebhookHandler(SimpleRequestHandler):
    """The route at the path of WEBHOOK_URL."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        *,
        secret: str,
        updates: UpdateLog,
        metrics: Metrics,
        concurrency: int = CONCURRENCY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(dispatcher, bot, handle_in_background=True, secret_token=secret)
        self._log = updates
        self._metrics = metrics
        self._slots = asyncio.Semaphore(concurrency)
        self._clock = clock
        self._pruned_at: float | None = None
        self._accepting = True

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        """The secret header must match WEBHOOK_SECRET (compared in constant time)."""
        if super().verify_secret(telegram_secret_token, bot):
            return True
        self._metrics.webhook_updates.labels("unauthorized").inc()
        log.warning("webhook request without the right secret header: refused with 401")
        return False

    async def _handle_request_background(self, bot: Bot, request: web.Request) -> web.Response:
        """Take the update (once) and answer 200; handlers run in the background."""
        try:
            update = await request.json(loads=bot.session.json_loads)
            update_id = int(update["update_id"])
        except (ValueError, TypeError, KeyError):
            return web.json_response({"ok": False, "description": "not an update"}, status=400)
        if not self._accepting or len(self._background_feed_update_tasks) >= BACKLOG:
            return self._refused()
        try:
            first = await self._log.claim(update_id, _now())
        except Exception:
            log.exception(
                "recording webhook update %s failed: Telegram will send it again", update_id
            )
            return self._refused()
        if not first:
            self._metrics.webhook_updates.labels("duplicate").inc()
            log.info("update %s came again: already taken, not handled twice", update_id)
            return web.json_response({})
        self._metrics.webhook_updates.labels("accepted").inc()
        self._start(self._handle(bot, update), f"webhook-update:{update_id}")
        self._maybe_prune()
        return web.json_response({})

    def _refused(self) -> web.Response:
        self._metrics.webhook_updates.labels("refused").inc()
        return web.json_response({"ok": False}, status=503)

    def _start(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._background_feed_update_tasks.add(task)
        task.add_done_callback(self._background_feed_update_tasks.discard)

    async def _handle(self, bot: Bot, update: dict[str, Any]) -> None:
        async with self._slots:
            try:
                await self._background_feed_update(bot, update)
            except Exception:  # aiogram logs handler errors; this is anything around them
                log.exception("webhook update %s failed", update.get("update_id"))

    def _maybe_prune(self) -> None:
        now = self._clock()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        self._start(self._prune(), "webhook-prune")

    async def _prune(self) -> None:
        try:
            await self._log.prune(_now())
        except Exception:
            log.warning("deleting old webhook update ids failed; tried again in an hour")

    async def set_webhook(self, url: str) -> None:
        """Tell Telegram where to send updates, with the secret and the update types used."""
        await self.bot.set_webhook(
            url,
            secret_token=self.secret_token,
            allowed_updates=self.dispatcher.resolve_used_update_types(),
            max_connections=MAX_CONNECTIONS,
        )
        log.info("webhook set: Telegram sends updates to WEBHOOK_URL")

    async def serve(self, stopping: asyncio.Event, grace: float) -> None:
        """Run the dispatcher's start-up, take updates until `stopping`, then drain.

        New updates are refused first, then the ones taken finish, then the dispatcher's
        shutdown hook drains the rest of the bot, as after long polling.
        """
        await self.dispatcher.emit_startup(bot=self.bot)
        try:
            await stopping.wait()
        finally:
            self.stop_accepting()
            await self.drain(grace)
            await self.dispatcher.emit_shutdown(bot=self.bot)

    def stop_accepting(self) -> None:
        """From now on Telegram gets 503 and sends new updates again (to another instance)."""
        self._accepting = False

    async def drain(self, grace: float) -> None:
        """Let the updates already taken finish, for at most `grace` seconds."""
        tasks = list(self._background_feed_update_tasks)
        if not tasks:
            return
        _done, late = await asyncio.wait(tasks, timeout=grace)
        for task in late:
            task.cancel()
        if late:
            log.warning(
                "%d webhook update(s) still running after %.1fs: cancelled", len(late), grace
            )
        await asyncio.gather(*late, return_exceptions=True)

    async def close(self) -> None:
        """Nothing to close: the bot's session belongs to the app (aiogram's would close it)."""
