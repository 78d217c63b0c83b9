"""The bot's send budget: Telegram's global and per-chat limits, held on our side."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Callable

PER_CHAT_INTERVAL = 1.0  # Telegram allows about one message a second to one chat
# ... and 20 a minute to one group, supergroup or channel (negative chat ids): Bot API FAQ,
# https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
GROUP_PER_MINUTE = 20
GROUP_SPAN = 60.0


class RateLimiter:
    """At most `rate` sends in any second, one second apart per chat; 429s pause all or one.

    A send counts from when it starts until one window after Telegram answered it: Telegram saw
    it at some moment in between, so no jitter on the way can put two sends in one window.
    """

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        per_chat: float = PER_CHAT_INTERVAL,
    ) -> None:
        self._gap = 1.0 / rate
        self._span = max(1.0, self._gap)  # Telegram counts whole seconds
        self._cap = max(1, int(rate * self._span + 1e-9))
        self._per_chat = per_chat
        self._clock = clock
        self._next = 0.0  # spacing: the earliest start of the next send
        self._paused_until = 0.0
        self._answered: deque[float] = deque()  # when recent sends were answered, in order
        self._in_flight = 0
        self._chat_busy: set[int] = set()
        self._chat_next: dict[int, float] = {}
        self._group_sent: dict[int, deque[float]] = {}  # group -> when its recent sends ended
        self._turn = asyncio.Lock()
        self._settled = asyncio.Event()

    def now(self) -> float:
        """The limiter's clock."""
        return self._clock()

    def pause(self, seconds: float) -> None:
        """Telegram said retry_after to the bot: nobody starts a send before then."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def pause_chat(self, chat_id: int, seconds: float) -> None:
        """Telegram said retry_after for one chat: only sends to that chat wait."""
        until = self._clock() + seconds
        self._chat_next[chat_id] = max(self._chat_next.get(chat_id, 0.0), until)

    def ready_in(self, chat_id: int | None = None) -> float:
        """Seconds until a pause (or, for a chat, its spacing) lets a send start."""
        now = self._clock()
        ready = self._paused_until
        if chat_id is not None:
            ready = max(ready, self._chat_next.get(chat_id, 0.0), self._group_ready(chat_id, now))
        return max(0.0, ready - now)

    async def acquire(self, chat_id: int | None = None) -> None:
        """Wait for this send's turn and count it; call done() once Telegram has answered."""
        while True:
            if chat_id is not None:
                await self._until(lambda: self._chat_wait(chat_id))
            async with self._turn:  # one waiter at a time, so turns go in order
                await self._until(self._global_wait)
                if chat_id is None or self._chat_wait(chat_id) == 0:
                    self._take(chat_id)
                    return

    def done(self, chat_id: int | None = None) -> None:
        """Telegram answered (or the send failed): the send leaves the in-flight count."""
        now = self._clock()
        self._in_flight -= 1
        self._answered.append(now)
        if chat_id is not None:
            self._chat_busy.discard(chat_id)
            # max: a retry_after for this chat, set while its send was answered, still holds
            self._chat_next[chat_id] = max(self._chat_next.get(chat_id, 0.0), now + self._per_chat)
            if chat_id < 0:
                self._group_sent.setdefault(chat_id, deque()).append(now)
        self._settled.set()
        self._settled = asyncio.Event()

    @contextlib.asynccontextmanager
    async def slot(self, chat_id: int | None = None) -> AsyncIterator[None]:
        """acquire() and done() around one send, even when it fails or is cancelled."""
        await self.acquire(chat_id)
        try:
            yield
        finally:
            self.done(chat_id)

    def _take(self, chat_id: int | None) -> None:
        now = self._clock()
        self._next = max(self._next, now) + self._gap
        self._in_flight += 1
        if chat_id is not None:
            self._chat_busy.add(chat_id)
            if len(self._chat_next) > 50_000:
                self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}
            if len(self._group_sent) > 50_000:
                horizon = now - GROUP_SPAN
                self._group_sent = {c: q for c, q in self._group_sent.items() if q[-1] > horizon}

    def _global_wait(self) -> float | None:
        """Seconds until a send may start; None while only an answer can free a place."""
        now = self._clock()
        answered = self._answered
        while answered and answered[0] <= now - self._span:
            answered.popleft()
        ready = max(self._next, self._paused_until)
        over = self._in_flight + len(answered) - self._cap + 1
        if over > 0:
            if over > len(answered):
                return None
            ready = max(ready, answered[over - 1] + self._span)
        return max(0.0, ready - now)

    def _chat_wait(self, chat_id: int) -> float | None:
        if chat_id in self._chat_busy:
            return None
        now = self._clock()
        ready = max(self._chat_next.get(chat_id, 0.0), self._group_ready(chat_id, now))
        return max(0.0, ready - now)

    def _group_ready(self, chat_id: int, now: float) -> float:
        """When a group's 20-a-minute budget lets one more message start."""
        recent = self._group_sent.get(chat_id)
        if recent is None:
            return 0.0
        while recent and recent[0] <= now - GROUP_SPAN:
            recent.popleft()
        if len(recent) < GROUP_PER_MINUTE:
            return 0.0
        return recent[len(recent) - GROUP_PER_MINUTE] + GROUP_SPAN  # the oldest ages out

    async def _until(self, wait: Callable[[], float | None]) -> None:
        while (delay := wait()) != 0:
            settled = self._settled
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await settled.wait()


CHAT_LIMIT_SPAN = 60.0  # Telegram's slowest per-chat limit (20 a minute in groups) spans a minute
SEVERAL_CHATS = 1.0  # 429s for two chats this close together are about the bot's own limit


class RetryAfterScope:
    """Tells a 429 about one chat's limit from one about the whole bot's.

    Telegram's 429 does not say which limit it is about. A chat's own limit can only be hit
    by a chat the bot sent to within the last minute; a 429 for any other chat, for a second
    chat within a second of another's, or for a call that names no chat is the bot's.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._accepted: dict[int, float] = {}  # chat -> when Telegram last accepted a message
        self._last: tuple[int | None, float] = (None, float("-inf"))  # the last 429: chat, when

    def accepted(self, chat_id: int) -> None:
        """Telegram accepted a message to this chat."""
        now = self._clock()
        if len(self._accepted) > 50_000:
            horizon = now - CHAT_LIMIT_SPAN
            self._accepted = {c: t for c, t in self._accepted.items() if t > horizon}
        self._accepted[chat_id] = now

    def is_global(self, chat_id: int | None) -> bool:
        """Note a 429 for this chat (None: a call without one); True if it is the bot's limit."""
        now = self._clock()
        last_chat, last_at = self._last
        self._last = (chat_id, now)
        if chat_id is None:
            return True
        if last_chat != chat_id and now - last_at < SEVERAL_CHATS:
            return True
        return now - self._accepted.get(chat_id, float("-inf")) > CHAT_LIMIT_SPAN
