"""The errors router: bad input gets a localized explanation; anything else is logged."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent, Update
from aiogram.utils.i18n import gettext as _

from bot.i18n import N_
from bot.services.errors import FeedAdminError, InputError
from bot.services.subscriptions import ALL_WORD, LANGS, NONE_WORD
from feeds.topics import Taxonomy
from handlers.optional import answer
from handlers.texts import ANSWER_MAX, LANG_WORDS, NO_PREVIEW, cut, lang_word, locale, named

log = logging.getLogger(__name__)

# InputError keys raised by bot.services (grep "InputError(") -> message; params fill it.
INPUT_ERRORS = {
    "bad_lang": N_("Unknown language: {bad}. Valid values: {valid}. Nothing was changed."),
    "bad_topic": N_("Unknown topic: {bad}. Valid values: {valid}. Nothing was changed."),
    "need_value": N_("Valid values: {valid}. Nothing was changed."),
    "bad_schedule": N_("I did not understand the schedule. Use: {valid}. Nothing was changed."),
    "bad_time": N_(
        "{value} is not a time of day (00:00 to 23:59). Use: {valid}. Nothing was changed."
    ),
    "too_many_times": N_("At most {limit} times a day. Nothing was changed."),
    "bad_ui_lang": N_("Unknown interface language. Valid values: {valid}."),
    "not_subscribed": N_("You are not subscribed yet: send /start."),
    "need_one": N_("At least one must stay chosen."),
    "bad_button": N_("This button is out of date: send the command again."),
    "bad_keywords": N_(
        'I could not use this: {bad}. Write /keywords add word "a phrase" -exclusion, '
        "/keywords remove word or /keywords clear; at most {limit} keywords, {chars} characters "
        "each. Nothing was changed."
    ),
    "too_many_keywords": N_(
        "At most {limit} keywords, {chars} characters each: remove some first "
        "(/keywords remove word). Nothing was changed."
    ),
    "no_such_keyword": N_(
        "Not among your keywords: {bad}. Send /keywords to see them. Nothing was changed."
    ),
}
# FeedAdminError reasons and stored fetch error kinds -> what went wrong.
FEED_REASONS = {
    "bad_url": N_("This is not an http(s) URL."),
    "url_too_long": N_("This address is too long: a feed's address has at most 2,048 characters."),
    "bad_lang": N_("The language must be one of: ru, kk, en."),
    "duplicate": N_("This feed is already added."),
    "no_such_feed": N_("There is no such feed."),
    "dns": N_("The host name was not found."),
    "refused": N_("The server refused the connection."),
    "timeout": N_("The server did not answer in time."),
    "http_status": N_("The server answered with an error status."),
    "too_large": N_("The document is too large."),
    "too_many_redirects": N_("Too many redirects."),
    "network": N_("Network error."),
    "private_address": N_(
        "The host is on a private network address, and private feeds are not allowed."
    ),
    "not_a_feed": N_("This is not an RSS or Atom feed."),
    "unparseable": N_("The feed could not be parsed."),
    "storage": N_("The database refused to store the feed's items."),
}


# What a reply quotes back of the user's input: a 4 KB argument must not make the reply too
# long for Telegram (it would be rejected, and the user would get nothing).
QUOTED_VALUES = 3
QUOTED_CHARS = 30
QUOTED_PARAMS = ("bad", "value")  # params holding user input; `valid` and `limit` are ours


def excerpt(words: str, *, most: int = QUOTED_VALUES, width: int = QUOTED_CHARS) -> str:
    """At most `most` of the space-separated `words`, each cut to `width`, "+N" for the rest."""
    values = words.split()
    shown = " ".join(cut(v, width) for v in values[:most])
    return f"{shown} +{len(values) - most}" if len(values) > most else shown


def _named(pairs: list[tuple[str, str]]) -> str:
    """'Name (slug), ...': what a reader understands, and what the command takes."""
    return ", ".join(f"{name} ({slug})" for name, slug in pairs)


def valid_text(key: str, taxonomy: Taxonomy | None) -> str | None:
    """The valid values of a bad choice in the current language, or None to keep the raw ones."""
    if key == "bad_lang":
        pairs = [(lang_word(c), c) for c in LANG_WORDS if c in LANGS]
        return _named([*pairs, (_("all languages"), ALL_WORD)])
    if key == "bad_topic" and taxonomy is not None:
        pairs = [(taxonomy.name(s, locale()), s) for s in taxonomy.slugs]
        return _named([*pairs, (_("all topics"), ALL_WORD), (_("keyword alerts only"), NONE_WORD)])
    if key in ("bad_schedule", "bad_time"):
        # The words are what /schedule takes; only the time pattern is the reader's.
        return "instant | hourly | daily {t} [{t} ...]".format(t=_("HH:MM"))
    return None


def input_error_text(exc: InputError, taxonomy: Taxonomy | None = None) -> str:
    """The localized message for an InputError; topic names need the taxonomy."""
    key = exc.key
    params = {k: excerpt(v) if k in QUOTED_PARAMS else v for k, v in exc.params.items()}
    valid = valid_text(key, taxonomy)
    if valid is not None:
        params["valid"] = valid
    if key in ("bad_lang", "bad_topic") and not exc.params.get("bad"):
        key = "need_value"
    template = INPUT_ERRORS.get(key)
    if template is None:
        log.warning("no message for InputError key %r", exc.key)
        return _("That did not work; nothing was changed.")
    return _(template).format(**params)


def feed_reason(kind: str) -> str:
    """A feed error reason or stored error kind in the current language."""
    template = FEED_REASONS.get(kind)
    return _(template) if template else kind


async def _reply(update: Update, text: str) -> None:
    if update.message is not None:
        await update.message.answer(text, link_preview_options=NO_PREVIEW)
    elif update.callback_query is not None:
        await answer(update.callback_query, cut(text, ANSWER_MAX), alert=True)


async def on_input_error(event: ErrorEvent, taxonomy: Taxonomy | None = None) -> None:
    """Bad input: say what is valid; the service changed nothing."""
    assert isinstance(event.exception, InputError)
    exc = event.exception
    await _reply(event.update, named(input_error_text(exc, taxonomy), exc.where))


async def on_feed_error(event: ErrorEvent) -> None:
    """A feed was not added or removed: the reason, and the technical detail for the admin."""
    exc = event.exception
    assert isinstance(exc, FeedAdminError)
    detail = f"\n{cut(exc.detail, 300)}" if exc.detail else ""
    await _reply(event.update, f"❌ {feed_reason(exc.reason)}{detail}")


async def on_unexpected(event: ErrorEvent) -> None:
    """Anything else: log it, and tell the user nothing was changed (if Telegram is reachable)."""
    exc, update = event.exception, event.update
    log.error("update %s failed", update.update_id, exc_info=exc)
    try:
        if not isinstance(exc, TelegramAPIError):
            await _reply(update, _("Something went wrong; nothing was changed. Try later."))
        elif update.callback_query is not None:
            await answer(update.callback_query)  # no reply, but stop the spinner
    except TelegramAPIError:
        log.warning("could not tell chat about the failure of update %s", update.update_id)


def make_router() -> Router:
    """A fresh errors router."""
    router = Router(name=__name__)
    router.error.register(on_input_error, ExceptionTypeFilter(InputError))
    router.error.register(on_feed_error, ExceptionTypeFilter(FeedAdminError))
    router.error.register(on_unexpected)
    return router
