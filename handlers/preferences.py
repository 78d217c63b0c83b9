"""/lang, /topics and /schedule, with their keyboards and button taps; /keywords is routed here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.services.subscriptions import Place, Subscriber, Subscriptions
from feeds.topics import Taxonomy
from handlers.keyboards import (
    LangCb,
    ScheduleCb,
    TopicCb,
    lang_keyboard,
    redraw,
    schedule_keyboard,
    topics_keyboard,
)
from handlers.keywords import cmd_keywords
from handlers.optional import answer
from handlers.prompts import langs_line, menu, schedule_line, topics_line
from handlers.texts import ANSWER_MAX, cut, named


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
        message, command, subs, taxonomy, "lang", subs.set_languages, langs_line, place, where
    )


async def on_lang(
    query: CallbackQuery, callback_data: LangCb, subs: Subscriptions, place: Place
) -> None:
    """A tap on a language: flip it and redraw the keyboard in place."""
    sub = await subs.toggle_language(place, callback_data.code)
    await redraw(query, lang_keyboard(sub.langs))
    await answer(query, cut(langs_line(sub), ANSWER_MAX))


async def cmd_topics(
    message: Message,
    command: CommandObject,
    subs: Subscriptions,
    taxonomy: Taxonomy,
    place: Place,
    where: str,
) -> None:
    """/topics: a keyboard of topics; `/topics politics economy` (or `all`) chooses at once."""
    describe = lambda s: topics_line(s, taxonomy)  # noqa: E731
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
    await answer(query, cut(topics_line(sub, taxonomy), ANSWER_MAX))


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
        message,
        command,
        subs,
        taxonomy,
        "schedule",
        subs.set_schedule,
        schedule_line,
        place,
        where,
    )


async def on_schedule(
    query: CallbackQuery, callback_data: ScheduleCb, subs: Subscriptions, place: Place
) -> None:
    """A tap on a schedule preset: choose it and move the mark."""
    sub = await subs.set_schedule(place, callback_data.spec)
    await redraw(query, schedule_keyboard(sub))
    await answer(query, cut(schedule_line(sub), ANSWER_MAX))


def make_router() -> Router:
    """A fresh router (a router joins one dispatcher only, and tests build several)."""
    router = Router(name=__name__)
    router.message.register(cmd_lang, Command("lang"))
    router.message.register(cmd_topics, Command("topics"))
    router.message.register(cmd_keywords, Command("keywords"))
    router.message.register(cmd_schedule, Command("schedule"))
    router.callback_query.register(on_lang, LangCb.filter())
    router.callback_query.register(on_topic, TopicCb.filter())
    router.callback_query.register(on_schedule, ScheduleCb.filter())
    return router
