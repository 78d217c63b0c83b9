"""What /lang, /topics and /schedule say: their prompts and keyboards, and their confirmations."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.services.subscriptions import Subscriber
from feeds.topics import Taxonomy
from handlers.keyboards import lang_keyboard, schedule_keyboard, topics_keyboard
from handlers.texts import langs_text, schedule_text, topics_text


def menu(item: str, sub: Subscriber, taxonomy: Taxonomy) -> tuple[str, InlineKeyboardMarkup]:
    """The prompt and keyboard of /lang, /topics or /schedule without arguments."""
    if item == "lang":
        return _("Choose the languages of the news:"), lang_keyboard(sub.langs)
    if item == "topics":
        return _("Choose topics:"), topics_keyboard(sub.topics, taxonomy)
    return _("When should digests come?"), schedule_keyboard(sub)


def langs_line(sub: Subscriber) -> str:
    """The chosen languages, as a reply says them."""
    return _("Languages: {langs}").format(langs=langs_text(sub.langs))


def topics_line(sub: Subscriber, taxonomy: Taxonomy) -> str:
    """The chosen topics, as a reply says them."""
    return _("Topics: {topics}").format(topics=topics_text(sub.topics, taxonomy))


def schedule_line(sub: Subscriber) -> str:
    """The schedule, as a reply says it."""
    text = schedule_text(sub.schedule, sub.times, sub.timezone)
    return _("Schedule: {schedule}").format(schedule=text)
