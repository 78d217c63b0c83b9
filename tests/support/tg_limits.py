"""Telegram's flood limits as the fake enforces them by default, with 429 and retry_after.

The Bot API FAQ ("My bot is hitting limits, how do I avoid this?",
https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this): in a single
chat avoid more than one message per second; in a group no more than 20 messages per minute;
in total about 30 messages per second. Past them Telegram answers `429 Too Many Requests:
retry after N` with `parameters.retry_after`. The fake allows no bursts: it is as strict as the
limits can be, so a client that paces itself right passes on Telegram too. Edits count as
messages (users report 429s on editMessageText at the same rates, e.g.
python-telegram-bot/python-telegram-bot#1513 on "flood control" for edits).
"""

from __future__ import annotations

import math
from collections import deque

from tests.support.tg_rules import ApiError

BOT_PER_SECOND = 30
PRIVATE_PER_SECOND = 1
GROUP_PER_MINUTE = 20


class SlidingWindow:
    """At most `cap` events in any window of `span` seconds; reports the wait Telegram would."""

    __slots__ = ("cap", "span", "times")

    def __init__(self, per_second: float, *, cap: int | None = None, span: float | None = None):
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        self.span = span if span is not None else max(1.0, 1.0 / per_second)
        self.cap = cap if cap is not None else max(1, int(per_second * self.span + 1e-9))
        self.times: deque[float] = deque()

    def retry_after(self, now: float) -> int:
        """Return 0 if one more event fits now, else whole seconds until it would."""
        times = self.times
        while times and times[0] <= now - self.span:
            times.popleft()
        if len(times) < self.cap:
            return 0
        return max(1, math.ceil(times[0] + self.span - now))


def too_many(retry_after: int) -> ApiError:
    """Build Telegram's 429 reply."""
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


def is_group_id(chat_id: int | str) -> bool:
    """Groups, supergroups and channels have negative ids (or an @username)."""
    return isinstance(chat_id, str) or chat_id < 0


class RateLimits:
    """One window for the whole bot and one per chat; None turns a level off."""

    def __init__(self) -> None:
        self.telegram()

    def telegram(self) -> None:
        """Telegram's documented limits: 30/s per bot, 1/s per private chat, 20/min per group."""
        self.bot_rate: float | None = BOT_PER_SECOND
        self.private_rate: float | None = PRIVATE_PER_SECOND
        self.group_cap: tuple[int, float] | None = (GROUP_PER_MINUTE, 60.0)
        self.reset()

    def set(self, per_second: float | None, per_chat_per_second: float | None) -> None:
        """A benchmark's own limits: per_chat applies to every chat alike (None: off)."""
        self.bot_rate = per_second
        self.private_rate = per_chat_per_second
        self.group_cap = None if per_chat_per_second is None else (0, 0.0)
        self.reset()

    def reset(self) -> None:
        """Forget every message counted so far."""
        self.bot = None if self.bot_rate is None else SlidingWindow(self.bot_rate)
        self.chats: dict[int | str, SlidingWindow] = {}

    def _window(self, chat_id: int | str) -> SlidingWindow | None:
        window = self.chats.get(chat_id)
        if window is not None:
            return window
        if is_group_id(chat_id) and self.group_cap is not None and self.group_cap[0]:
            cap, span = self.group_cap
            window = SlidingWindow(cap / span, cap=cap, span=span)
        elif self.private_rate is not None:
            window = SlidingWindow(self.private_rate)
        else:
            return None
        self.chats[chat_id] = window
        return window

    def check(self, chat_id: int | str, now: float) -> None:
        """Raise the 429 Telegram gives if one more message to chat_id is over a limit."""
        wait = self.bot.retry_after(now) if self.bot is not None else 0
        window = self._window(chat_id)
        if window is not None:
            wait = max(wait, window.retry_after(now))
        if wait:
            raise too_many(wait)

    def note(self, chat_id: int | str, now: float) -> None:
        """Count an accepted message (or edit) against the windows."""
        if self.bot is not None:
            self.bot.times.append(now)
        window = self._window(chat_id)
        if window is not None:
            window.times.append(now)
