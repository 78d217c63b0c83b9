"""/chats and the place picker; my_chat_member: the bot added to or removed from a chat."""

from __future__ import annotations

import contextlib

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, ChatMemberUpdated, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import locale_of
from bot.services.places import Place, Places, Subscriber
from bot.services.subscriptions import Subscriptions
from handlers.filters import member_status, refusal
from handlers.keyboards import MARK
from handlers.optional import answer
from handlers.texts import cut

SERVING = frozenset({"member", "administrator", "creator"})
GONE = frozenset({"left", "kicked"})


class ChatsCb(CallbackData, prefix="ch"):
    """Configure this place from the private chat (chat 0: the private chat itself)."""

    c: int
    t: int


def place_name(sub: Subscriber) -> str:
    """How /chats names a place: its title, and that it is a topic or a channel."""
    title = sub.title or str(sub.chat_id)
    if sub.kind == "channel":
        return "📢 " + title
    if sub.thread_id:
        return "💬 " + _("{title}, topic {topic}").format(title=title, topic=sub.thread_id)
    return "👥 " + title


def chats_keyboard(subs: list[Subscriber], chosen: Place | None) -> InlineKeyboardMarkup:
    """One button a place, then "This chat"; the one being configured is marked."""
    kb = InlineKeyboardBuilder()
    for sub in subs:
        label = (MARK if sub.place == chosen else "") + cut(place_name(sub), 60)
        kb.button(text=label, callback_data=ChatsCb(c=sub.chat_id, t=sub.thread_id))
    kb.button(
        text=(MARK if chosen is None else "") + _("This chat"), callback_data=ChatsCb(c=0, t=0)
    )
    return kb.adjust(1).as_markup()


async def cmd_chats(message: Message, places: Places, bot: Bot) -> None:
    """/chats: the groups, topics and channels this user administers and the bot serves."""
    if message.chat.type != "private" or message.from_user is None:
        await message.answer(_("Send /chats to me in a private chat."))
        return

    async def lookup(chat_id: int, user_id: int) -> str:
        return await member_status(bot, chat_id, user_id)

    found = await places.administered(message.from_user.id, lookup)
    text = (
        _("Choose what to configure here:")
        if found
        else _(
            "You administer no group or channel I serve. Add me to one, then send /start there "
            "(a channel is connected as soon as you make me its administrator)."
        )
    )
    chosen = await places.chosen(message.chat.id)
    place = chosen[0] if chosen is not None else None
    await message.answer(text, reply_markup=chats_keyboard(found, place))


async def on_chat(query: CallbackQuery, callback_data: ChatsCb, places: Places, bot: Bot) -> None:
    """A place chosen: commands in this private chat apply to it until "This chat"."""
    me = query.from_user.id
    if callback_data.c == 0:
        await places.choose(me, None)
        await answer(query, _("Commands here apply to this chat again."), alert=True)
        return

    async def lookup(chat_id: int, user_id: int) -> str:
        return await member_status(bot, chat_id, user_id)

    sub = await places.pick(me, Place(callback_data.c, callback_data.t), lookup)
    if sub is None:
        await answer(query, refusal(), alert=True)
        return
    text = _(
        "Now configuring: {place}. /start /stop /lang /topics /keywords /sources "
        "/schedule /settings /digest here apply to it; /chats goes back."
    ).format(place=place_name(sub))
    await answer(query, cut(text, 200), alert=True)


async def on_my_chat_member(
    event: ChatMemberUpdated, subs: Subscriptions, places: Places, bot: Bot
) -> None:
    """The bot was added to a group or channel, or removed from one."""
    chat, status = event.chat, event.new_chat_member.status
    if chat.type == "private":
        return
    if status in GONE:
        await places.removed(chat.id)
        return
    if status not in SERVING:
        return
    await places.connected(chat.id)
    if chat.type != "channel" or status != "administrator":
        return
    if getattr(event.new_chat_member, "can_post_messages", None) is False:
        return  # an administrator that may not post cannot deliver digests
    code = locale_of(event.from_user.language_code)
    place = Place(chat.id)
    _sub, new = await subs.start(
        place, code, kind="channel", title=chat.title or "", added_by=event.from_user.id
    )
    if new:
        text = _(
            "Channel {title} is connected: I will post digests there. Choose it in /chats "
            "to set its languages, topics and schedule."
        ).format(title=chat.title or chat.id)
        # If they never wrote to the bot, Telegram refuses: /chats lists the channel later.
        with contextlib.suppress(TelegramForbiddenError, TelegramBadRequest):
            await bot.send_message(event.from_user.id, text)


async def on_topic_closed(message: Message, places: Places, place: Place | None) -> None:
    """A forum topic was closed: its subscription stops, settings kept (as after a 403)."""
    if place is not None and place.thread_id:
        await places.topic_closed(place)


async def on_renamed(message: Message, places: Places) -> None:
    """A group or channel changed its title: its places are listed under the new one."""
    if message.chat.type != "private" and message.new_chat_title:
        await places.renamed(message.chat.id, message.new_chat_title)


def make_router() -> Router:
    """A fresh router."""
    router = Router(name=__name__)
    router.message.register(cmd_chats, Command("chats"))
    router.callback_query.register(on_chat, ChatsCb.filter())
    router.my_chat_member.register(on_my_chat_member)
    router.message.register(on_topic_closed, F.forum_topic_closed)
    router.message.register(on_renamed, F.new_chat_title)
    router.channel_post.register(on_renamed, F.new_chat_title)
    return router
