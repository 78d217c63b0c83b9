"""The digest sender: queued parts in order per chat, each recorded once Telegram has it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramMigrateToChat,
    TelegramUnauthorizedError,
)
from aiogram.types import LinkPreviewOptions

from bot.logs import CHAT_ID
from bot.ratelimit import PER_CHAT_INTERVAL, RateLimiter
from bot.storage.outbox import OutboxRepo, Pending
from bot.storage.subscribers import SubscriberRepo
from bot.telegram_limits import (
    TRANSIENT,
    TURN,
    TelegramLimits,
    Turn,
    gone,
    may_have_arrived,
    reason,
    topic_gone,
)

__all__ = ["PER_CHAT_INTERVAL", "RateLimiter", "Sender", "TelegramLimits"]

log = logging.getLogger(__name__)
_now = partial(datetime.now, UTC)
MAX_ATTEMPTS = 300  # with the 300 s backoff cap, about a day before a message is given up
MAX_UNKNOWN_ATTEMPTS = 8  # an error we cannot place: about two minutes of backoff, then given up
MAX_BACKOFF = 300.0
MAX_WRITE_RETRY = 30.0  # the longest wait before recording an accepted message is tried again
PAGE = 200  # outbox rows read (or claimed) at once
UNEXPECTED_RETRY = 10.0  # seconds a chat waits after an unexpected error (the database?)


class Sender:
    """Sends queued digest parts in order per chat, records each, and never loses one.

    At most one message per chat is in flight, and each is marked sent as soon as Telegram
    accepted it, so a crash repeats at most that one message per chat. An acceptance the
    database would not take yet is kept in memory and only the write is retried: this process
    never sends that message again. A send that got no answer after the request left may have
    been accepted: it is sent again (it may arrive twice), logged and counted.
    """

    def __init__(
        self,
        bot: Bot,
        *,
        outbox: OutboxRepo,
        subscribers: SubscriberRepo,
        concurrency: int = 32,
        idle_wait: float = 5.0,
        retry_base: float = 1.0,
        send_timeout: int | None = None,
        take: Callable[[int, int], Awaitable[list[Pending]]] | None = None,
    ) -> None:
        self._bot = bot
        self._outbox = outbox
        self._take = take or outbox.pending  # instances that share the work claim their rows
        self._subs = subscribers
        self._slots = asyncio.Semaphore(concurrency)
        self._idle_wait = idle_wait
        self._retry_base = retry_base  # the first backoff; each further failure doubles it
        self.send_timeout = send_timeout  # seconds for one send; None: the session's timeout
        self._wake = asyncio.Event()
        self._stopping = False
        self._busy: dict[int, asyncio.Task[None]] = {}
        self._turns: dict[int, Turn] = {}
        self._ended: set[int] = set()  # chats whose task ended since the outbox was last read
        self._retry_at: dict[int, float] = {}
        self._accepted: dict[int, tuple[datetime, int]] = {}  # id -> (accepted at, failed writes)
        self._loop_task: asyncio.Task[None] | None = None
        self.sent = 0
        self.resent_after_timeout = 0  # sends retried after the request left unanswered

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
                    rows = await self._take(PAGE, after)
                except Exception:  # the database may be briefly unavailable: try again soon
                    log.exception("reading the outbox failed")
                    break
                if not rows:
                    break
                moved = await self._dispatch(rows)  # if any: new or taken-over rows come first
                progress, after = progress or moved, 0 if moved else rows[-1].id
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
        turn = self._turns[chat_id] = Turn()
        TURN.set(turn)  # this task's own context
        CHAT_ID.set(chat_id)
        for message in messages:
            if self._stopping:
                return
            try:
                if not await self._send_one(chat_id, message):
                    return
            except Exception:
                # The database, most likely: wait before this chat goes on, so order holds.
                log.exception("sending message %s failed unexpectedly", message.id)
                self._retry_at[chat_id] = time.monotonic() + UNEXPECTED_RETRY
                return

    async def _send_one(self, chat_id: int, message: Pending) -> bool:
        """Send one queued message and record it; False when the rest of the chat must wait."""
        if message.id not in self._accepted:  # else Telegram has it: only the write is left
            try:
                await self._bot.send_message(
                    chat_id,
                    message.text,
                    message_thread_id=message.thread_id or None,
                    parse_mode="HTML",
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                    request_timeout=self.send_timeout,
                )
            except Exception as exc:
                return await self._refused(chat_id, message, exc)
            self._accepted[message.id] = (_now(), 0)
            self.sent += 1
        return await self._record(chat_id, message.id)

    async def _record(self, chat_id: int, message_id: int) -> bool:
        """Mark an accepted message sent; if the write fails, retry it later, never the send."""
        accepted_at, failures = self._accepted[message_id]
        try:
            await self._outbox.mark_sent(message_id, accepted_at)
        except Exception as exc:
            delay = min(self._retry_base * 2.0**failures, MAX_WRITE_RETRY)
            self._accepted[message_id] = (accepted_at, failures + 1)
            self._retry_at[chat_id] = time.monotonic() + delay
            log.warning(
                "Telegram accepted message %s but recording it failed (%s): "
                "the write is retried in %.1fs, the message is not sent again",
                message_id,
                reason(exc),
                delay,
            )
            return False
        del self._accepted[message_id]
        self._retry_at.pop(chat_id, None)
        return True

    async def _refused(self, chat_id: int, message: Pending, exc: Exception) -> bool:
        """Act on a failed send by what Telegram meant; False when the chat must wait."""
        if isinstance(exc, TelegramMigrateToChat):
            await self._subs.migrate(chat_id, exc.migrate_to_chat_id, _now())
            return False
        if isinstance(exc, TelegramUnauthorizedError):
            # Nothing can be sent with this token (TelegramLimits said so once): stop sending.
            self._stopping = True
            self._wake.set()
            return False
        if (topic := message.thread_id if topic_gone(exc) else None) or gone(exc):
            return await self._gone(chat_id, str(exc), topic)
        if isinstance(exc, TelegramBadRequest | TelegramEntityTooLarge):
            log.error("Telegram refused message %s: %s", message.id, exc.message)
            await self._outbox.mark_failed(message.id, exc.message)
            return True
        limit = MAX_ATTEMPTS if isinstance(exc, TRANSIENT) else MAX_UNKNOWN_ATTEMPTS
        return await self._retry(chat_id, message, exc, limit)

    async def _retry(self, chat_id: int, message: Pending, exc: Exception, limit: int) -> bool:
        """Count the failed attempt and try again later, or give up after `limit` attempts."""
        why = reason(exc)
        if message.attempts + 1 >= limit:
            log.error(
                "giving up on message %s to %s after %d attempts: %s",
                message.id,
                chat_id,
                limit,
                why,
            )
            await self._outbox.mark_failed(message.id, f"gave up after {limit} attempts: {why}")
            return True
        await self._outbox.count_attempt(message.id)
        delay = min(self._retry_base * 2.0 ** min(message.attempts, 8), MAX_BACKOFF)
        self._retry_at[chat_id] = time.monotonic() + delay
        if may_have_arrived(exc):
            self.resent_after_timeout += 1
            log.warning(
                "message %s to %s got no answer after it left (%s): it is sent again in %.0fs "
                "and may arrive twice",
                message.id,
                chat_id,
                why,
                delay,
            )
        else:
            log.warning(
                "message %s to %s will be retried in %.0fs: %s", message.id, chat_id, delay, why
            )
        return False

    async def _gone(self, chat_id: int, why: str, thread_id: int | None = None) -> bool:
        log.info("chat %s (topic %s) is gone (%s): marked inactive", chat_id, thread_id, why)
        await self._subs.mark_blocked(chat_id, _now(), thread_id=thread_id)
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
        await self._record_left()

    async def _record_left(self) -> None:
        """One last try at writing the acceptances the database would not take yet."""
        for message_id, (accepted_at, _failures) in list(self._accepted.items()):
            try:
                await self._outbox.mark_sent(message_id, accepted_at)
            except Exception as exc:
                log.error(
                    "Telegram accepted message %s but it could not be recorded (%s): "
                    "it will be sent again after a restart",
                    message_id,
                    reason(exc),
                )
            else:
                del self._accepted[message_id]
