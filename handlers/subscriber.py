"""/start /stop /help /settings /digest, the interface language, and group migrations."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import locale_of
from bot.services.digest import Digests
from bot.services.subscriptions import Place, Subscriptions
from feeds.topics import Taxonomy
from handlers.keyboards import MenuCb, UiLangCb, redraw_text, settings_keyboard
from handlers.optional import answer
from handlers.prompts import menu
from handlers.texts import brief, help_text, lang_word, named, schedule_text, settings_text


def kind_of(message: Message, place: Place) -> str:
    """What the place is: private, group, supergroup, channel, or a forum topic."""
    return "topic" if place.thread_id else message.chat.type


async def cmd_start(
    message: Message, subs: Subscriptions, taxonomy: Taxonomy, place: Place, where: str
) -> None:
    """/start: subscribe with the defaults, or resume a paused subscription as it was."""
    code = locale_of(message.from_user.language_code) if message.from_user else None
    title = message.chat.title or ""
    sub, new = await subs.start(place, code, kind=kind_of(message, place), title=title)
    if not new:
        text = _("Welcome back! Deliveries are on again with your settings:")
        await message.answer(named(f"{text}\n{brief(sub, taxonomy)}", where))
        return
    when = schedule_text(sub.schedule, sub.times, sub.timezone)
    what = _(
        "I send digests of news in Kazakh, Russian and English. "
        "For now: all languages and topics, {schedule}."
    ).format(schedule=when)
    how = _(
        "Filters: /lang for languages, /topics for topics, /schedule for when; "
        "/settings shows them all."
    )
    await message.answer(named(f"{what}\n{how}", where))


async def cmd_stop(message: Message, subs: Subscriptions, place: Place, where: str) -> None:
    """/stop: pause deliveries; the settings stay."""
    await subs.stop(place)
    text = _("Deliveries are paused; your settings are kept. /start resumes them.")
    await message.answer(named(text, where))


async def cmd_help(message: Message) -> None:
    """/help: the commands."""
    await message.answer(help_text(admin=False))


async def cmd_settings(
    message: Message, subs: Subscriptions, taxonomy: Taxonomy, place: Place, where: str
) -> None:
    """/settings: everything chosen, with interface-language buttons and shortcuts."""
    sub = await subs.require(place)
    text = named(settings_text(sub, taxonomy), where)
    await message.answer(text, reply_markup=settings_keyboard(sub.ui_lang))


async def on_ui_lang(
    query: CallbackQuery,
    callback_data: UiLangCb,
    subs: Subscriptions,
    taxonomy: Taxonomy,
    i18n: I18n,
    place: Place,
    where: str,
) -> None:
    """A tap on Русский / Қазақша / English: the settings redrawn in the new language."""
    sub = await subs.set_ui_lang(place, callback_data.code)
    with i18n.use_locale(callback_data.code):
        text = named(settings_text(sub, taxonomy), where)
        await redraw_text(query, text, settings_keyboard(sub.ui_lang))
        name = lang_word(callback_data.code)
        await answer(query, _("Interface language: {name}").format(name=name))


async def cmd_digest(
    message: Message, digests: Digests, subs: Subscriptions, place: Place, where: str
) -> None:
    """/digest: queue every pending matching item now; the sender delivers it."""
    count = await digests.plan(place)
    if count is None:  # not subscribed, or a scheduled digest took these items just now
        await subs.require(place)
    elif count == 0:
        await message.answer(named(_("No news for your filters since the last digest."), where))


async def on_migrate(message: Message, subs: Subscriptions) -> None:
    """A group became a supergroup: the subscription follows it to the new chat id."""
    if message.migrate_to_chat_id is not None:
        await subs.migrate(message.chat.id, message.migrate_to_chat_id)


async def on_menu(
    query: CallbackQuery,
    callback_data: MenuCb,
    subs: Subscriptions,
    taxonomy: Taxonomy,
    place: Place,
    where: str,
) -> None:
    """A /settings shortcut: send the /lang, /topics or /schedule keyboard (into the topic
    the /settings message is in, if any)."""
    sub = await subs.require(place)
    text, markup = menu(callback_data.item, sub, taxonomy)
    if isinstance(query.message, Message):
        await query.message.answer(named(text, where), reply_markup=markup)
    await answer(query)


def make_router() -> Router:
    """A fresh router (a router joins one dispatcher only, and tests build several)."""
    router = Router(name=__name__)
    router.message.register(cmd_start, CommandStart())
    router.message.register(cmd_stop, Command("stop"))
    router.message.register(cmd_help, Command("help"))
    router.message.register(cmd_settings, Command("settings"))
    router.message.register(cmd_digest, Command("digest"))
    router.message.register(on_migrate, F.migrate_to_chat_id)
    router.callback_query.register(on_ui_lang, UiLangCb.filter())
    router.callback_query.register(on_menu, MenuCb.filter())
    return router
