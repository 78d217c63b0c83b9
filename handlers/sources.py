"""/sources: the feeds as toggle buttons, paged; `/sources all` unmutes every feed."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.services.errors import InputError
from bot.services.places import Place
from bot.services.sources import SourcePage, Sources
from handlers.keyboards import MARK, redraw_text
from handlers.optional import answer
from handlers.texts import cut, named

MUTED = "🔇 "
TITLE_CHARS = 40


class SourceCb(CallbackData, prefix="so"):
    """Toggle one feed (feed > 0), or show another page (feed 0)."""

    feed: int
    page: int


def sources_keyboard(page: SourcePage) -> InlineKeyboardMarkup:
    """One button a feed, marked ✅ when it reaches the place and 🔇 when muted; ◀ ▶ pages."""
    kb = InlineKeyboardBuilder()
    for feed_id, title, muted in page.rows:
        label = (MUTED if muted else MARK) + cut(title, TITLE_CHARS)
        kb.button(text=label, callback_data=SourceCb(feed=feed_id, page=page.page))
    kb.adjust(1)
    if page.pages > 1:
        nav = InlineKeyboardBuilder()
        if page.page > 0:
            nav.button(text="◀", callback_data=SourceCb(feed=0, page=page.page - 1))
        nav.button(
            text=f"{page.page + 1}/{page.pages}", callback_data=SourceCb(feed=0, page=page.page)
        )
        if page.page + 1 < page.pages:
            nav.button(text="▶", callback_data=SourceCb(feed=0, page=page.page + 1))
        kb.row(*nav.buttons)
    return kb.as_markup()


def sources_text(page: SourcePage) -> str:
    """The prompt above the buttons."""
    if not page.rows:
        return _("No feeds yet.")
    head = _("Sources: tap a feed to mute or unmute it. /sources all unmutes every feed.")
    if page.muted:
        return head + "\n" + _("Muted: {count}").format(count=page.muted)
    return head


async def cmd_sources(
    message: Message, command: CommandObject, sources: Sources, place: Place, where: str
) -> None:
    """/sources: the toggle buttons; `/sources all`: every feed again."""
    args = (command.args or "").strip().lower()
    if args == "all":
        await sources.reset(place)
        await message.answer(named(_("All sources are on again."), where))
        return
    if args:
        raise InputError("need_value", valid="/sources, /sources all")
    page = await sources.page(place)
    await message.answer(named(sources_text(page), where), reply_markup=sources_keyboard(page))


async def on_source(
    query: CallbackQuery, callback_data: SourceCb, sources: Sources, place: Place, where: str
) -> None:
    """A tap: flip the feed (or turn the page) and redraw the buttons in place."""
    note = None
    if callback_data.feed:
        muted = await sources.toggle(place, callback_data.feed)
        note = _("Muted.") if muted else _("Unmuted: new items only.")
    page = await sources.page(place, callback_data.page)
    await redraw_text(query, named(sources_text(page), where), sources_keyboard(page))
    await answer(query, note)


def make_router() -> Router:
    """A fresh router."""
    router = Router(name=__name__)
    router.message.register(cmd_sources, Command("sources"))
    router.callback_query.register(on_source, SourceCb.filter())
    return router
