"""Callback data (2-character prefixes, well under 64 bytes) and the inline keyboards."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.services.subscriptions import LANGS, UI_LANGS, Subscriber
from feeds.topics import Taxonomy
from handlers.optional import optional
from handlers.texts import LANG_NAMES, lang_word, locale

ALL = "all"
MARK = "✅ "
# Schedule presets offered as buttons; any other schedule is one /schedule command away.
SCHEDULES = ("instant", "hourly", "daily 09:00", "daily 09:00 18:00", "daily 08:00 13:00 20:00")


class LangCb(CallbackData, prefix="lg"):
    """Toggle one news language, or `all`."""

    code: str


class TopicCb(CallbackData, prefix="tp"):
    """Toggle one topic by slug, or `all`."""

    slug: str


class ScheduleCb(CallbackData, prefix="sc", sep="|"):
    """Choose a schedule preset (`daily 09:00 18:00`: the times hold ':')."""

    spec: str


class UiLangCb(CallbackData, prefix="ui"):
    """Choose the interface language."""

    code: str


class MenuCb(CallbackData, prefix="mn"):
    """Open the /lang, /topics or /schedule keyboard from /settings."""

    item: str


def _label(text: str, on: bool) -> str:
    return MARK + text if on else text


def lang_keyboard(chosen: frozenset[str] | None) -> InlineKeyboardMarkup:
    """News languages named in the interface language, marked when chosen, and 'All'."""
    kb = InlineKeyboardBuilder()
    for code in LANGS:
        on = chosen is None or code in chosen
        name = lang_word(code)
        name = name[:1].upper() + name[1:]
        kb.button(text=_label(name, on), callback_data=LangCb(code=code))
    kb.button(text=_label(_("All"), chosen is None), callback_data=LangCb(code=ALL))
    return kb.adjust(len(LANGS), 1).as_markup()


def topics_keyboard(chosen: frozenset[str] | None, taxonomy: Taxonomy) -> InlineKeyboardMarkup:
    """Topics by name in the current language two a row, marked when chosen; 'All topics' alone."""
    kb = InlineKeyboardBuilder()
    for slug in taxonomy.slugs:
        on = chosen is None or slug in chosen
        kb.button(text=_label(taxonomy.name(slug, locale()), on), callback_data=TopicCb(slug=slug))
    kb.adjust(2)
    every = _label(_("All topics"), chosen is None)
    kb.row(InlineKeyboardButton(text=every, callback_data=TopicCb(slug=ALL).pack()))
    return kb.as_markup()


def schedule_spec(sub: Subscriber) -> str:
    """The subscriber's schedule written as /schedule arguments."""
    return " ".join((sub.schedule, *sub.times)) if sub.schedule == "daily" else sub.schedule


def _schedule_label(spec: str) -> str:
    kind, *times = spec.split()
    if kind == "instant":
        return _("Instantly")
    if kind == "hourly":
        return _("Every hour")
    return _("Daily {times}").format(times=", ".join(times))


def schedule_keyboard(sub: Subscriber) -> InlineKeyboardMarkup:
    """The schedule presets, one a row, with a mark on the current one."""
    current = schedule_spec(sub)
    kb = InlineKeyboardBuilder()
    for spec in SCHEDULES:
        label = _label(_schedule_label(spec), spec == current)
        kb.button(text=label, callback_data=ScheduleCb(spec=spec))
    return kb.adjust(1).as_markup()


def settings_keyboard(ui_lang: str | None) -> InlineKeyboardMarkup:
    """Interface languages on one row, then shortcuts to /lang, /topics and /schedule."""
    kb = InlineKeyboardBuilder()
    for code in UI_LANGS:
        label = _label(LANG_NAMES[code], code == ui_lang)
        kb.button(text=label, callback_data=UiLangCb(code=code))
    kb.button(text=_("Languages"), callback_data=MenuCb(item="lang"))
    kb.button(text=_("Topics"), callback_data=MenuCb(item="topics"))
    kb.button(text=_("Schedule"), callback_data=MenuCb(item="schedule"))
    return kb.adjust(len(UI_LANGS), 3).as_markup()


def chat_of(query: CallbackQuery) -> int:
    """The chat a tapped keyboard is in (the user's own chat for inline messages)."""
    return query.message.chat.id if query.message is not None else query.from_user.id


async def redraw(query: CallbackQuery, markup: InlineKeyboardMarkup) -> None:
    """Replace the tapped message's keyboard in place, unless it would not change."""
    message = query.message
    if not isinstance(message, Message):
        return  # too old to edit: the answer to the tap still says what changed
    old = message.reply_markup.model_dump(exclude_none=True) if message.reply_markup else None
    if old != markup.model_dump(exclude_none=True):
        await optional(message.edit_reply_markup(reply_markup=markup), "redrawing a keyboard")


async def redraw_text(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup) -> None:
    """Replace the tapped message's text and keyboard in place, unless neither would change."""
    message = query.message
    if not isinstance(message, Message):
        return
    old = message.reply_markup.model_dump(exclude_none=True) if message.reply_markup else None
    if message.text != text or old != markup.model_dump(exclude_none=True):
        await optional(message.edit_text(text, reply_markup=markup), "redrawing a message")
