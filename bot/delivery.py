"""Every outgoing Telegram message: the bot's rate limits, 429 handling and the digest sender."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import EditMessageText, SendMessage
from aiogram.types import LinkPreviewOptions

from bot.ratelimit import PER_CHAT_INTERVAL, RateLimiter
from bot.storage.outbox import OutboxRepo, Pending
from bot.storage.subscribers import SubscriberRepo

__all__ = ["PER_CHAT_INTERVAL", "RateLimiter", "Sender", "TelegramLimits"]

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 300  # with the 300 s backoff cap, about a day before a message is given up

MAX_RETRY_AFTER_ROUNDS = 8
PAGE = 1000  # outbox rows read at once
UNEXPECTED_RETRY = 10.0  # seconds a chat waits after an unexpected error
GONE = ("chat not found", "user is deactivated", "bot was kicked", "have no rights to send")


class _Turn:
    """Whether a chat's task waits for its turn: nothing of its message has left yet."""

    __slots__ = ("waiting",)

    def __init__(self) -> None:
        self.waiting = False


# Set by the Sender in each chat's task; the middleware says while the request waits its turn.
_TURN: contextvars.ContextVar[_Turn | None] = contextvars.ContextVar("turn", default=None)


class TelegramLimits(BaseRequestMiddleware):
    """Request middleware: every message call waits for the limiter; 429s pause and retry."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter
        self.retry_after_count = 0

    async def __call__(self, make_request: Any, bot: Bot, method: Any) -> Any:
        if not isinstance(method, SendMessage | EditMessageText):
            return await make_request(bot, method)
        chat = method.chat_id if isinstance(method, SendMessage) else None
        # Digest parts to one chat go a second apart (the Sender's tasks carry a turn);
        # a reply to a user's own command goes at once, within the global cap.
        chat = chat if isinstance(chat, int) and _TURN.get() is not None else None
        for _ in range(MAX_RETRY_AFTER_ROUNDS):
            with contextlib.suppress(TelegramRetryAfter):
                return await self._attempt(make_request, bot, method, chat)
        return await self._attempt(make_request, bot, method, chat)

    async def _attempt(self, make_request: Any, bot: Bot, method: Any, chat: int | None) -> Any:
        turn = _TURN.get() or _Turn()
        turn.waiting = True
        async with self.limiter.slot(chat):
            turn.waiting = False
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                self.retry_after_count += 1
                # Before the slot is given back, so no waiter starts inside the pause.
                self.limiter.pause(exc.retry_after)
                raise


class Sender:
    """Sends queued digest parts in order per chat, records each, and never loses one.

    At most one message per chat is in flight, and each is marked sent as soon as Telegram
    accepted it, so a crash repeats at most that one message per chat.
    """

    def __init__(
        self,
        bot: Bot,
        *,
        outbox: OutboxRepo,
        subscribers: SubscriberRepo,
        concurrency: int = 32,
        idle_wait: float = 5.0,
    ) -> None:
        self._bot = bot
        self._outbox = outbox
        self._subs = subscribers
        self._slots = asyncio.Semaphore(concurrency)
        self._idle_wait = idle_wait
        self._wake = asyncio.Event()
        self._stopping = False
        self._busy: dict[int, asyncio.Task[None]] = {}
        self._turns: dict[int, _Turn] = {}
        self._ended: set[int] = set()  # chats whose task ended since the outbox was last read
        self._retry_at: dict[int, float] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self.sent = 0

    def wake(self) -> None:
        """New messages were queued."""
        self._wake.set()

    def start(self) -> None:
        """Start the sending loop in the background."""
        self._loop_task = asyncio.create_task(self._run(), name="sender")

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()  # before reading: a wake() during the read is not lost
            progress, after = False, 0
            while not self._stopping:
                self._ended.clear()
                try:
                    rows = await self._outbox.pending(PAGE, after)
                except Exception:  # the database may be briefly unavailable: try again soon
                    log.exception("reading the outbox failed")
                    break
                if not rows:
                    break
                after = rows[-1].id
                progress = await self._dispatch(rows) or progress
            if not progress:
                await self._idle()

    async def _idle(self) -> None:
        now = time.monotonic()
        self._retry_at = {c: t for c, t in self._retry_at.items() if t > now}
        wait = min([self._idle_wait, *(t - now for t in self._retry_at.values())])
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self._wake.wait()

    async def _dispatch(self, rows: list[Pending]) -> bool:
        """Start a task per chat that is free; True if there may be more to do at once."""
        by_chat: dict[int, list[Pending]] = {}
        for row in rows:
            by_chat.setdefault(row.chat_id, []).append(row)
        progress = False
        for chat_id, messages in by_chat.items():
            if self._stopping:
                break
            if chat_id in self._busy or self._retry_at.get(chat_id, 0) > time.monotonic():
                continue
            await self._slots.acquire()
            if self._stopping:
                self._slots.release()
                break
            if chat_id in self._ended:  # it finished after the read: these rows are stale
                self._slots.release()
                progress = True
                continue
            task = asyncio.create_task(self._deliver(chat_id, messages), name=f"sender:{chat_id}")
            self._busy[chat_id] = task
            task.add_done_callback(lambda _t, c=chat_id: self._done(c))
            progress = True
        return progress

    def _done(self, chat_id: int) -> None:
        self._busy.pop(chat_id, None)
        self._turns.pop(chat_id, None)
        self._ended.add(chat_id)
        self._slots.release()
        self._wake.set()

    async def _deliver(self, chat_id: int, messages: list[Pending]) -> None:
        turn = self._turns[chat_id] = _Turn()
        _TURN.set(turn)  # this task's own context
        for message in messages:
            if self._stopping:
                return
            try:
                if not await self._send_one(chat_id, message):
                    return
            except Exception:
                # Most likely the database: wait before this chat goes on, so order holds.
                log.exception("sending message %s failed unexpectedly", message.id)
                self._retry_at[chat_id] = time.monotonic() + UNEXPECTED_RETRY
                return

    async def _send_one(self, chat_id: int, message: Pending) -> bool:
        """Send one queued message; False when the rest of this chat's queue must wait."""
        try:
            await self._bot.send_message(
                chat_id,
                message.text,
                parse_mode="HTML",
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except TelegramMigrateToChat as exc:
            await self._subs.migrate(chat_id, exc.migrate_to_chat_id, _now())
            return False
        except TelegramForbiddenError as exc:
            return await self._gone(chat_id, str(exc))
        except TelegramBadRequest as exc:
            if any(text in exc.message.lower() for text in GONE):
                return await self._gone(chat_id, exc.message)
            log.error("Telegram refused message %s: %s", message.id, exc.message)
            await self._outbox.mark_failed(message.id, exc.message)
            return True
        except (
            TelegramRetryAfter,
            TelegramServerError,
            TelegramNetworkError,
            TimeoutError,
        ) as exc:
            if message.attempts + 1 >= MAX_ATTEMPTS:  # a day of retries: give up on this one
                log.error(
                    "giving up on message %s after %d attempts: %s", message.id, MAX_ATTEMPTS, exc
                )
                await self._outbox.mark_failed(message.id, f"gave up: {exc}")
                return True
            await self._outbox.count_attempt(message.id)
            delay = min(2.0 ** min(message.attempts, 8), 300.0)
            self._retry_at[chat_id] = time.monotonic() + delay
            log.warning(
                "message %s to %s will be retried in %.0fs: %s", message.id, chat_id, delay, exc
            )
            return False
        await self._outbox.mark_sent(message.id, _now())
        self._retry_at.pop(chat_id, None)
        self.sent += 1
        return True

    async def _gone(self, chat_id: int, why: str) -> bool:
        log.info("chat %s is gone (%s): marked inactive", chat_id, why)
        await self._subs.mark_blocked(chat_id, _now())
        return False

    async def drain(self, grace: float = 10.0) -> None:
        """Stop taking messages; let the ones in flight finish and be recorded."""
        self._stopping = True
        self._wake.set()
        for chat_id, task in self._busy.items():
            turn = self._turns.get(chat_id)
            if turn is None or turn.waiting:  # nothing of its message has left yet
                task.cancel()
        deadline = time.monotonic() + grace
        if self._loop_task is not None:
            await asyncio.wait({self._loop_task}, timeout=grace)
        busy = list(self._busy.values())
        if busy:
            left = max(0.0, deadline - time.monotonic())
            _done, pending = await asyncio.wait(busy, timeout=left)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._loop_task is not None and not self._loop_task.done():
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)


def _now() -> datetime:
    return datetime.now(UTC)
