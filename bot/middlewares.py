"""Dispatcher middlewares: counting updates in flight, and choosing each update's language."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware

from bot.i18n import locale_of
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
