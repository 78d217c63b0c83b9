"""Command menus: set for everyone at start, and for each admin's chat as soon as it can be.

Telegram answers `400 Bad Request: chat not found` to setMyCommands with a chat scope for a
user who never wrote to the bot, so an admin's menu cannot be set before their first message.
Menus are a convenience, never a reason not to start: a failure is logged once and the admin's
menu is set again when they next write to the bot in private.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, TelegramObject
from aiogram.utils.i18n import I18n

from bot.i18n import (
    ADMIN_COMMANDS,
    COMMANDS_FALLBACK_LOCALE,
    LOCALES,
    SUBSCRIBER_COMMANDS,
    describe,
)

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def _bot_commands(
    i18n: I18n, locale: str, commands: tuple[tuple[str, str], ...]
) -> list[BotCommand]:
    return [BotCommand(command=c, description=d) for c, d in describe(i18n, locale, commands)]


class CommandMenus(BaseMiddleware):
    """setMyCommands, best-effort; as an update middleware it sets a waiting admin's menu.

    `pending` holds the admins whose menu is not set yet. Registered as an outer update
    middleware, it sets that menu before the admin's first private message is handled, so the
    reply already comes with the admin commands in the menu.
    """

    def __init__(self, i18n: I18n, admin_ids: frozenset[int]) -> None:
        self._i18n = i18n
        self.pending: set[int] = set(admin_ids)

    async def register(self, bot: Bot) -> None:
        """Everyone's menu in ru, kk, en and the fallback, then each admin's; never raises."""
        try:
            for code in (*LOCALES, None):
                everyone = _bot_commands(
                    self._i18n, code or COMMANDS_FALLBACK_LOCALE, SUBSCRIBER_COMMANDS
                )
                await bot.set_my_commands(
                    everyone, scope=BotCommandScopeDefault(), language_code=code
                )
        except TelegramAPIError as exc:
            log.warning("the command menu was not set: %s", exc.message)
        for admin_id in sorted(self.pending):
            await self.set_admin_menu(bot, admin_id)

    async def set_admin_menu(self, bot: Bot, admin_id: int) -> bool:
        """Set one admin's menu in every language; False (logged) if Telegram refused."""
        scope = BotCommandScopeChat(chat_id=admin_id)
        try:
            for code in (*LOCALES, None):
                commands = _bot_commands(
                    self._i18n,
                    code or COMMANDS_FALLBACK_LOCALE,
                    SUBSCRIBER_COMMANDS + ADMIN_COMMANDS,
                )
                await bot.set_my_commands(commands, scope=scope, language_code=code)
        except TelegramAPIError as exc:
            log.warning(
                "admin %d: the admin command menu was not set (%s); it will be set when they "
                "write to the bot",
                admin_id,
                exc.message,
            )
            return False
        self.pending.discard(admin_id)
        log.info("admin %d: admin command menu set", admin_id)
        return True

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        """Before an update from a waiting admin in their private chat, set their menu."""
        user, chat = data.get("event_from_user"), data.get("event_chat")
        if (
            user is not None
            and user.id in self.pending
            and chat is not None
            and chat.type == "private"
        ):
            await self.set_admin_menu(data["bot"], user.id)
        return await handler(event, data)
