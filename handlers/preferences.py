"""/lang, /topics and /schedule, with their keyboards and button taps: one feature, one file."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.services.subscriptions import Place, Subscriber, Subscriptions
from feeds.topics import Taxonomy
from handlers.keyboards import (
    LangCb,
    MenuCb,
    ScheduleCb,
    TopicCb,
    lang_keyboard,
    redraw,
    schedule_keyboard,
    topics_keyboard,
)
from handlers.optional import answer
from handlers.texts import ANSWER_MAX, cut, langs_text, named, schedule_text, topics_text


def menu(item: str, sub: Subscriber, taxonomy: Taxonomy) -> tuple[str, InlineKeyboardMarkup]:
    """The prompt and keyboard of /lang, /topics or /schedule without arguments."""
    if item == "lang":
        return _("Choose the languages of the news:"), lang_keyboard(sub.langs)
    if item == "topics":
        return _("Choose topics:"), topics_keyboard(sub.topics, taxonomy)
    return _("When should digests come?"), schedule_keyboard(sub)


def _langs(sub: Subscriber) -> str:
    return _("Languages: {langs}").format(langs=langs_text(sub.langs))


def _topics(sub: Subscriber, taxonomy: Taxonomy) -> str:
    return _("Topics: {topics}").format(topics=topics_text(sub.topics, taxonomy))


def _schedule(sub: Subscriber) -> str:
    text = schedule_text(sub.schedule, sub.times, sub.timezone)
    return _("Schedule: {schedule}").format(schedule=text)


async def choose(
    message: Message,
    command: CommandObject,
    subs: Subscriptions,
    taxonomy: Taxonomy,
    item: str,
    apply: Callable[[Place, str], Awaitable[Subscriber]],
    describe: Callable[[Subscriber], str],
    place: Place,
    where: str,
) -> None:
    """No arguments: show the item's keyboard; with arguments: apply them and confirm."""
    if not command.args:
        sub = await subs.require(place)
        text, markup = menu(item, sub, taxonomy)
        await message.answer(named(text, where), reply_markup=markup)
        return
    sub = await apply(place, command.args)
    await message.answer(named(describe(sub), where))


async def cmd_lang(
    message: Message,
    command: CommandObject,
    subs: Subscriptions,
    taxonomy: Taxonomy,
    place: Place,
    where: str,
) -> None:
    """/lang: a keyboard of languages; `/lang kk ru` (or `all`) chooses at once."""
    await choose(
        message, command, subs, taxonomy, "lang", subs.set_languages, _langs, place, where
    )


async def on_lang(
    query: CallbackQuery, callback_data: LangCb, subs: Subscriptions, place: Place
) -> None:
    """A tap on a language: flip it and redraw the keyboard in place."""
    sub = await subs.toggle_language(place, callback_data.code)
    await redraw(query, lang_keyboard(sub.langs))
    await answer(query, cut(_langs(sub), ANSWER_MAX))


async def cmd_topics(
    message: Message,
    command: CommandObject,
    subs: Subscriptions,
    taxonomy: Taxonomy,
    place: Place,
    where: str,
) -> None:
    """/topics: a keyboard of topics; `/topics politics economy` (or `all`) chooses at once."""
    describe = lambda s: _topics(s, taxonomy)  # noqa: E731
    await choose(
        message, command, subs, taxonomy, "topics", subs.set_topics, describe, place, where
    )


async def on_topic(
    query: CallbackQuery,
    callback_data: TopicCb,
    subs: Subscriptions,
    taxonomy: Taxonomy,
    place: Place,
) -> None:
    """A tap on a topic: flip it and redraw the keyboard in place."""
    sub = await subs.toggle_topic(place, callback_data.slug)
    await redraw(query, topics_keyboard(sub.topics, taxonomy))
    await answer(query, cut(_topics(sub, taxonomy), ANSWER_MAX))


async def cmd_schedule(
    message: Message,
    command: CommandObject,
    subs: Subscriptions,
    taxonomy: Taxonomy,
    place: Place,
    where: str,
) -> None:
    """/schedule: preset buttons; `/schedule instant | hourly | daily HH:MM [HH:MM ...]`."""
    await choose(
        message, command, subs, taxonomy, "schedule", subs.set_schedule, _schedule, place, where
    )


async def on_schedule(
    query: CallbackQuery, callback_data: ScheduleCb, subs: Subscriptions, place: Place
) -> None:
    """A tap on a schedule preset: choose it and move the mark."""
    sub = await subs.set_schedule(place, callback_data.spec)
    await redraw(query, schedule_keyboard(sub))
    await answer(query, cut(_schedule(sub), ANSWER_MAX))


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
    router.message.register(cmd_lang, Command("lang"))
    router.message.register(cmd_topics, Command("topics"))
    router.message.register(cmd_schedule, Command("schedule"))
    router.callback_query.register(on_lang, LangCb.filter())
    router.callback_query.register(on_topic, TopicCb.filter())
    router.callback_query.register(on_schedule, ScheduleCb.filter())
    router.callback_query.register(on_menu, MenuCb.filter())
    return router
