"""What Telegram's answers mean: the request middleware for limits and 429s, and send errors."""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Callable
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import EditMessageReplyMarkup, EditMessageText, SendDocument, SendMessage
from aiohttp import ClientConnectorError

from bot.ratelimit import RateLimiter, RetryAfterScope

log = logging.getLogger(__name__)

MAX_RETRY_AFTER_ROUNDS = 8
# Telegram's descriptions for a chat the bot can no longer write to, whatever the status code.
GONE = (
    "chat not found",
    "user is deactivated",
    "bot was kicked",
    "bot is not a member",
    "have no rights to send",
    "not enough rights to send",
    "chat_write_forbidden",
    "need administrator rights",
    "group chat was deactivated",
)
# Telegram's descriptions for a forum topic that was closed or deleted: the chat is fine,
# only that topic's subscription stops.
TOPIC_GONE = ("topic_closed", "topic_deleted", "message thread not found", "topic_id_invalid")
TOKEN_REJECTED = "BOT_TOKEN was rejected by Telegram (401 Unauthorized): stopping"
TRANSIENT = (TelegramRetryAfter, TelegramServerError, TelegramNetworkError, TimeoutError)


class Turn:
    """Whether a chat's task waits for its turn: nothing of its message has left yet."""

    __slots__ = ("waiting",)

    def __init__(self) -> None:
        self.waiting = False


# Set by the Sender in each chat's task; the middleware says while the request waits its turn.
TURN: contextvars.ContextVar[Turn | None] = contextvars.ContextVar("turn", default=None)
# Edits and documents (/export) count against the same limits as messages.
_MESSAGES = (SendMessage, EditMessageText, EditMessageReplyMarkup, SendDocument)


class TelegramLimits(BaseRequestMiddleware):
    """Request middleware: every message waits for the limiter; 429s pause and retry.

    A 429 about one chat pauses that chat only, one about the bot pauses everyone
    (`RetryAfterScope`). A rejected token is reported once to `on_token_rejected`.
    """

    def __init__(
        self, limiter: RateLimiter, on_token_rejected: Callable[[], None] | None = None
    ) -> None:
        self.limiter = limiter
        self.scope = RetryAfterScope(limiter.now)
        self.on_token_rejected = on_token_rejected
        self.retry_after_count = 0
        self._rejected = False

    async def __call__(self, make_request: Any, bot: Bot, method: Any) -> Any:
        if not isinstance(method, _MESSAGES):
            try:
                return await self._call(make_request, bot, method)
            except TelegramRetryAfter as exc:
                self.retry_after(None, exc.retry_after)
                raise
        # Replies and edits keep a chat's spacing as digest parts do.
        chat = method.chat_id if isinstance(method.chat_id, int) else None
        for _ in range(MAX_RETRY_AFTER_ROUNDS):
            with contextlib.suppress(TelegramRetryAfter):
                return await self._attempt(make_request, bot, method, chat)
        return await self._attempt(make_request, bot, method, chat)

    def retry_after(self, chat_id: int | None, seconds: float) -> None:
        """Telegram said 429: pause the chat, or everyone if the 429 is about the bot."""
        self.retry_after_count += 1
        if self.scope.is_global(chat_id) or chat_id is None:
            self.limiter.pause(seconds)
        else:
            self.limiter.pause_chat(chat_id, seconds)

    async def _attempt(self, make_request: Any, bot: Bot, method: Any, chat: int | None) -> Any:
        turn = TURN.get() or Turn()
        turn.waiting = True
        async with self.limiter.slot(chat):
            turn.waiting = False
            try:
                result = await self._call(make_request, bot, method)
            except TelegramRetryAfter as exc:
                # Before the slot is given back, so no waiter starts inside the pause.
                self.retry_after(chat, exc.retry_after)
                raise
            if chat is not None:
                self.scope.accepted(chat)
            return result

    async def _call(self, make_request: Any, bot: Bot, method: Any) -> Any:
        try:
            return await make_request(bot, method)
        except TelegramUnauthorizedError:
            if not self._rejected:
                self._rejected = True
                log.critical(TOKEN_REJECTED)
                if self.on_token_rejected is not None:
                    self.on_token_rejected()
            raise


def gone(exc: Exception) -> bool:
    """Whether Telegram said the bot can no longer write to the chat."""
    if isinstance(exc, TelegramForbiddenError):
        return True
    return isinstance(exc, TelegramBadRequest) and any(t in exc.message.lower() for t in GONE)


def topic_gone(exc: Exception) -> bool:
    """Whether Telegram said the forum topic a message was sent to is closed or deleted."""
    return isinstance(exc, TelegramBadRequest) and any(
        t in exc.message.lower() for t in TOPIC_GONE
    )


def may_have_arrived(exc: Exception) -> bool:
    """Whether a failed send may have reached Telegram: it left, and no answer came back."""
    if isinstance(exc, TimeoutError):
        return True
    if isinstance(exc, TelegramNetworkError) and not isinstance(exc, TelegramEntityTooLarge):
        # A connection that was never made carried nothing; any other failure came after.
        return not isinstance(exc.__cause__, ClientConnectorError)
    return False


def reason(exc: Exception) -> str:
    """An error as one short line for logs and the outbox."""
    return f"{type(exc).__name__}: {exc}"[:300]
