"""The bot's one HTTP server: /healthz, /readyz, /metrics and, in webhook mode, the webhook.

On in both modes (WEB_PORT=0 turns it off). /healthz answers while the event loop runs;
/readyz checks what the bot needs to do its work and says in JSON what is wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.config import Settings
from bot.metrics import CONTENT_TYPE_LATEST, Metrics
from bot.storage.ops import OpsRepo

log = logging.getLogger(__name__)

TELEGRAM_SILENCE = 300.0  # /readyz fails when Telegram has not answered for 5 minutes
DB_TIMEOUT = 5.0  # seconds the database gets to answer /readyz or the gauges of /metrics
LAG_EVERY = 1.0  # seconds between two measurements of the event loop's lag


class WebError(Exception):
    """The server could not start; the message names the setting."""


class Checks:
    """What /readyz asks; each check returns None when fine, else what is wrong."""

    def __init__(
        self,
        *,
        ops: OpsRepo,
        schedulers: Callable[[], str | None],
        telegram_silent_for: Callable[[], float | None],
    ) -> None:
        self.ops = ops
        self._schedulers = schedulers
        self._silent_for = telegram_silent_for

    async def problems(self) -> dict[str, str]:
        """Each failing check with what is wrong; empty when the bot is ready."""
        found: dict[str, str] = {}
        try:
            async with asyncio.timeout(DB_TIMEOUT):
                await self.ops.ping()
        except Exception as exc:
            found["database"] = f"no answer: {type(exc).__name__}: {exc}".splitlines()[0][:200]
        scheduler = self._schedulers()
        if scheduler is not None:
            found["schedulers"] = scheduler
        silent = self._silent_for()
        if silent is None:
            found["telegram"] = "Telegram has not answered yet"
        elif silent > TELEGRAM_SILENCE:
            found["telegram"] = f"no answer from Telegram for {silent:.0f} s"
        return found


class WebServer:
    """aiohttp server for the operator's endpoints and the webhook route."""

    def __init__(self, *, host: str, port: int, metrics: Metrics, checks: Checks) -> None:
        self.host = host
        self.port = port
        self._metrics = metrics
        self._ops = checks.ops
        self._checks = checks
        self.app = web.Application()
        self.app.router.add_get("/healthz", self._healthz)
        self.app.router.add_get("/readyz", self._readyz)
        self.app.router.add_get("/metrics", self._metrics_page)
        self._runner: web.AppRunner | None = None
        self._lag_task: asyncio.Task[None] | None = None
        self.url = ""

    def add_webhook(
        self, path: str, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> None:
        """Serve Telegram's POSTs at `path` (before start)."""
        self.app.router.add_post(path, handler)

    async def start(self) -> None:
        """Listen on WEB_HOST:WEB_PORT; WebError if that address cannot be had."""
        # No access log: a request line could carry what a proxy put in the URL.
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=5)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.host, self.port).start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            why = exc.strerror or str(exc)
            raise WebError(f"WEB_PORT: cannot listen on {self.host}:{self.port} ({why})") from None
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        self._lag_task = asyncio.create_task(self._watch_lag(), name="loop-lag")
        log.info("HTTP server on %s (/healthz, /readyz, /metrics)", self.url)

    async def close(self) -> None:
        """Stop listening and end open requests."""
        if self._lag_task is not None:
            self._lag_task.cancel()
            await asyncio.gather(self._lag_task, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _readyz(self, _request: web.Request) -> web.Response:
        problems = await self._checks.problems()
        if problems:
            return web.json_response({"status": "not ready", "problems": problems}, status=503)
        return web.json_response({"status": "ready"})

    async def _metrics_page(self, _request: web.Request) -> web.Response:
        await self._refresh()
        return web.Response(
            body=self._metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def _refresh(self) -> None:
        """Read the shared gauges from the database; on failure the last values stay."""
        m = self._metrics
        try:
            async with asyncio.timeout(DB_TIMEOUT):
                g = await self._ops.gauges()
        except Exception as exc:
            log.warning("reading gauges for /metrics failed: %s", type(exc).__name__)
            return
        m.outbox_pending.set(g.outbox_pending)
        age = (
            0.0
            if g.outbox_oldest is None
            else (datetime.now(UTC) - g.outbox_oldest).total_seconds()
        )
        m.outbox_oldest_age.set(max(0.0, age))
        for status in set(g.subscribers) | {"active", "paused", "blocked"}:
            m.subscribers.labels(status).set(g.subscribers.get(status, 0))
        m.failing_feeds.set(g.failing_feeds)

    async def _watch_lag(self) -> None:
        """How much later than asked the loop wakes up: a blocked loop shows as lag."""
        loop = asyncio.get_running_loop()
        with contextlib.suppress(asyncio.CancelledError):
            while True:
                before = loop.time()
                await asyncio.sleep(LAG_EVERY)
                self._metrics.loop_lag.set(max(0.0, loop.time() - before - LAG_EVERY))


async def start_web(
    settings: Settings, checks: Checks, metrics: Metrics, webhook: Any | None = None
) -> WebServer | None:
    """Start the server on WEB_HOST:WEB_PORT (with the webhook route if given); None if off."""
    if not settings.web_port:
        return None
    server = WebServer(
        host=settings.web_host, port=settings.web_port, metrics=metrics, checks=checks
    )
    if webhook is not None:
        server.add_webhook(webhook_path(settings.webhook_url), webhook.handle)
    await server.start()
    return server


def webhook_path(url: str) -> str:
    """The path Habar serves for a WEBHOOK_URL (the reverse proxy forwards it unchanged)."""
    return urlsplit(url).path or "/"
