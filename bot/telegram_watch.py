"""What Telegram answered, for /metrics and /readyz: a request middleware and a keep-alive."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import SendMessage

from bot.metrics import Metrics
from bot.telegram_limits import TURN

log = logging.getLogger(__name__)

# Most specific first: TelegramEntityTooLarge is a TelegramNetworkError, for one.
REASONS: tuple[tuple[type[Exception], str], ...] = (
    (TelegramRetryAfter, "retry_after"),
    (TelegramMigrateToChat, "migrated"),
    (TelegramEntityTooLarge, "too_large"),
    (TelegramNetworkError, "network"),
    (TelegramForbiddenError, "forbidden"),
    (TelegramUnauthorizedError, "unauthorized"),
    (TelegramNotFound, "not_found"),
    (TelegramConflictError, "conflict"),
    (TelegramBadRequest, "bad_request"),
    (TelegramServerError, "server_error"),
    (TimeoutError, "timeout"),
)
KEEP_ALIVE = 60.0  # seconds without an answer from Telegram before the watch asks getMe


def failure_reason(exc: BaseException) -> str:
    """A short, stable label for why a call failed."""
    return next((name for kind, name in REASONS if isinstance(exc, kind)), "other")


class TelegramWatch(BaseRequestMiddleware):
    """Innermost request middleware: counts each attempt's outcome and when Telegram answered.

    It sits inside TelegramLimits, so a message retried after a 429 counts once as failed
    (retry_after) and once as sent: `habar_messages_sent_total` is exactly what Telegram
    accepted. Sends made by the digest sender are `digest`, every other message a `reply`.
    """

    def __init__(self, metrics: Metrics, clock: Callable[[], float] = time.monotonic) -> None:
        self._metrics = metrics
        self._clock = clock
        self.last_answer: float | None = None  # clock() when Telegram last answered anything

    async def __call__(self, make_request: Any, bot: Bot, method: Any) -> Any:
        message = isinstance(method, SendMessage)
        try:
            result = await make_request(bot, method)
        except Exception as exc:
            if isinstance(exc, TelegramAPIError) and not isinstance(exc, TelegramNetworkError):
                self.last_answer = self._clock()  # an error is an answer too
            if isinstance(exc, TelegramRetryAfter):
                self._metrics.retry_after.inc()
                self._metrics.paused_seconds.inc(exc.retry_after)
            if message:
                self._metrics.messages_failed.labels(failure_reason(exc)).inc()
            raise
        self.last_answer = self._clock()
        if message:
            self._metrics.messages_sent.labels("digest" if TURN.get() else "reply").inc()
        return result

    def silent_for(self) -> float | None:
        """Seconds since Telegram last answered; None if it never has."""
        return None if self.last_answer is None else self._clock() - self.last_answer

    async def keep_alive(self, bot: Bot) -> None:
        """Ask getMe whenever Telegram has been quiet for a minute, so /readyz stays true.

        In webhook mode, or on an instance that is not the one polling, no call may reach
        Telegram for a long time; a quiet minute costs one getMe. Runs until cancelled.
        """
        while True:
            silent = self.silent_for()
            await asyncio.sleep(KEEP_ALIVE if silent is None else max(1.0, KEEP_ALIVE - silent))
            silent = self.silent_for()
            if silent is not None and silent < KEEP_ALIVE:
                continue
            try:
                await bot.get_me()
            except Exception as exc:  # /readyz says so; TelegramLimits handles a bad token
                log.warning("Telegram did not answer getMe: %s", failure_reason(exc))
