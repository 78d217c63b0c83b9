"""Dispatcher middlewares: updates in flight, each update's language, a per-user throttle."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware
from aiogram.utils.i18n import gettext as _

from bot.i18n import locale_of
from bot.logs import CHAT_ID
from bot.services.errors import InputError
from bot.services.places import Place, Places
from bot.services.subscriptions import Subscriptions

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class InFlight(BaseMiddleware):
    """Outer update middleware counting updates being handled, so shutdown can wait for them.

    aiogram runs each update in a task and does not await those tasks when polling stops;
    the shutdown hook awaits `wait_idle()` before closing what the handlers use.
    """

    def __init__(self) -> None:
        self.running = 0  # updates being handled now
        self.handled = 0  # updates finished since start, whatever the outcome
        self._changed = asyncio.Condition()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        """Count the update while its handlers run."""
        self.running += 1
        try:
            return await handler(event, data)
        finally:
            self.running -= 1
            self.handled += 1
            async with self._changed:
                self._changed.notify_all()

    async def wait_idle(self, timeout: float) -> bool:  # noqa: ASYNC109 - a grace period
        """Wait until no update is being handled; False (and a warning) if `timeout` ran out."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: self.running == 0)
        except TimeoutError:
            log.warning("%d update(s) still running after %.1fs", self.running, timeout)
            return False
        return True

    async def wait_handled(self, total: int, timeout: float) -> None:  # noqa: ASYNC109
        """Wait until `total` updates have been handled since start (tests and tools)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: self.handled >= total)


class LocaleMiddleware(I18nMiddleware):
    """The chat's stored interface language, else Telegram's language_code if served, else ru.

    One read per event and nothing cached, so a language chosen in /settings applies to the
    very next update. The chosen locale is also put in the handler data as `locale`.
    """

    def __init__(self, i18n: I18n, subs: Subscriptions) -> None:
        super().__init__(i18n)
        self._subs = subs

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        """Pick the locale for this event."""
        locale = await self._stored(data.get("event_chat")) or self._telegram(
            data.get("event_from_user")
        )
        data["locale"] = locale
        return locale

    async def _stored(self, chat: Chat | None) -> str | None:
        if chat is None:
            return None
        try:
            sub = await self._subs.get(chat.id)
        except Exception:  # the database is down: still answer, in Telegram's language
            log.warning("could not read the stored language of chat %s", chat.id, exc_info=True)
            return None
        if sub is None or sub.ui_lang not in self.i18n.available_locales:
            return None
        return sub.ui_lang

    def _telegram(self, user: User | None) -> str:
        code = locale_of(user.language_code if user else None)
        return code if code in self.i18n.available_locales else self.i18n.default_locale


class Throttle(BaseMiddleware):
    """Outer message middleware: at most `limit` commands from one user in `window` seconds.

    The first command over the limit gets one polite reply in the user's language; the next
    ones are ignored until the oldest counted command is `window` seconds old. Register it
    after LocaleMiddleware, whose context the reply is translated in.
    """

    def __init__(
        self,
        limit: int = 10,
        window: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._recent: dict[int, deque[float]] = {}  # user -> when their counted commands came
        self._told: set[int] = set()  # users told to slow down since their last counted command
        self._swept = clock()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        """Pass the command on, or answer once that it came too fast, or drop it."""
        if not isinstance(event, Message) or (
            event.from_user is None and event.sender_chat is None
        ):
            return await handler(event, data)
        # An anonymous admin writes as the group (from_user is GroupAnonymousBot, shared by
        # every such admin everywhere): count the group instead.
        user = event.sender_chat.id if event.sender_chat is not None else event.from_user.id
        if not (event.text or "").startswith("/") or self.admit(user):
            return await handler(event, data)
        if user not in self._told:
            self._told.add(user)
            log.info("user %s sent over %d commands in %.0fs", user, self._limit, self._window)
            await event.answer(
                _("Too many commands at once. Please wait a few seconds and try again.")
            )
        return None

    def admit(self, user_id: int) -> bool:
        """Count a command from this user now; False if it is over the limit."""
        now = self._clock()
        if len(self._recent) > 10_000 and now - self._swept > self._window:
            self._swept = now  # forget users quiet for a whole window, once a window at most
            horizon = now - self._window
            self._recent = {u: q for u, q in self._recent.items() if q and q[-1] > horizon}
            self._told &= self._recent.keys()
        recent = self._recent.setdefault(user_id, deque())
        while recent and recent[0] <= now - self._window:
            recent.popleft()
        if len(recent) >= self._limit:
            return False
        recent.append(now)
        self._told.discard(user_id)
        return True


async def log_chat(handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
    """Outer update middleware: while an update is handled, log lines carry its chat id."""
    chat = data.get("event_chat")
    token = CHAT_ID.set(chat.id if chat is not None else None)
    try:
        return await handler(event, data)
    finally:
        CHAT_ID.reset(token)


async def place_of(event: TelegramObject, places: Places) -> tuple[Place | None, str]:
    """The place an update is about (its forum topic, its chat, or what /chats chose in a
    private chat) and, when /chats chose it, its name."""
    message = event.message if isinstance(event, CallbackQuery) else event
    if not isinstance(message, Message):
        return None, ""
    chat = message.chat
    if chat.type == "private":
        chosen = await places.chosen(chat.id)
        return chosen if chosen is not None else (Place(chat.id), "")
    if message.is_topic_message and message.message_thread_id:
        return Place(chat.id, message.message_thread_id), ""
    return Place(chat.id), ""


class PlaceMiddleware(BaseMiddleware):
    """Outer message and callback middleware: puts `place` (and `where`, the words naming a
    place chosen with /chats, or "") in the handler data."""

    def __init__(self, places: Places) -> None:
        self._places = places

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        """Resolve the place, then handle the event."""
        place, title = await place_of(event, self._places)
        data["place"] = place
        data["where"] = where = (
            "📍 " + _("Configuring: {title}").format(title=title) if title else ""
        )
        try:
            return await handler(event, data)
        except InputError as exc:  # the errors router names the place in its reply too
            exc.where = where
            raise
