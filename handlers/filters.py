"""IsPlaceAdmin: who may change a place's subscription; and the refusal for everyone else.

In a private chat its user may; in a group, supergroup, forum topic or channel only its
creator and administrators (Telegram's getChatMember status), an anonymous administrator
writing as the group itself (sender_chat is the chat), and the bot's ADMIN_IDS.
"""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command, Filter, or_f
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.services.places import Place, Places
from handlers.keyboards import LangCb, MenuCb, ScheduleCb, TopicCb, UiLangCb
from handlers.optional import answer
from handlers.sources import SourceCb
from handlers.texts import named

log = logging.getLogger(__name__)

# Commands that change a place or make it send; /settings and /help answer anyone.
GUARDED = ("start", "stop", "lang", "topics", "keywords", "sources", "schedule", "digest")


async def member_status(bot: Bot, chat_id: int, user_id: int) -> str:
    """The user's status in the chat as Telegram reports it ("left" if it will not say)."""
    try:
        member = await bot.get_chat_member(chat_id, user_id)
    except (TelegramBadRequest, TelegramForbiddenError) as exc:
        log.info("getChatMember %s in %s refused: %s", user_id, chat_id, exc.message)
        return "left"
    return member.status


class IsPlaceAdmin(Filter):
    """True when the sender may configure the update's place."""

    def __init__(self, admin_ids: frozenset[int]) -> None:
        self.admin_ids = admin_ids

    async def __call__(
        self, event: Message | CallbackQuery, bot: Bot, places: Places, place: Place | None
    ) -> bool:
        """Ask Telegram (through the rights cache) only when the chat is not the user's own."""
        message = event.message if isinstance(event, CallbackQuery) else event
        if place is None or not isinstance(message, Message):
            return False
        sender = event.sender_chat if isinstance(event, Message) else None
        if sender is not None and sender.id == message.chat.id == place.chat_id:
            return True  # an anonymous administrator, writing as the group
        user = event.from_user
        if user is None:
            return False
        if user.id in self.admin_ids or place == Place(user.id):
            return True

        async def lookup(chat_id: int, user_id: int) -> str:
            return await member_status(bot, chat_id, user_id)

        return await places.rights.is_admin(place.chat_id, user.id, lookup)


def refusal() -> str:
    """The short refusal, in the current language."""
    return _("Only this chat's administrators can change that. Nothing was changed.")


async def refuse(message: Message, where: str = "") -> None:
    """A change asked by someone who may not make it: say so (naming the place), change nothing."""
    await message.answer(named(refusal(), where))


async def refuse_tap(query: CallbackQuery) -> None:
    """A tap by someone who may not make the change: an alert, nothing changed."""
    await answer(query, refusal(), alert=True)


def make_refusal_router(admin_ids: frozenset[int]) -> Router:
    """The router, placed before the ones that change places, that refuses everyone else."""
    router = Router(name=__name__)
    not_admin = ~IsPlaceAdmin(admin_ids)
    router.message.register(refuse, Command(*GUARDED), not_admin)
    taps = (LangCb, TopicCb, ScheduleCb, UiLangCb, MenuCb, SourceCb)
    router.callback_query.register(refuse_tap, or_f(*(cb.filter() for cb in taps)), not_admin)
    return router
