"""Reply texts shared by several handlers, in the current update's language (plain text)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import LinkPreviewOptions
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import ADMIN_COMMANDS, SUBSCRIBER_COMMANDS, describe
from bot.services.subscriptions import LANGS, Subscriber
from bot.services.telegram_text import MAX_MESSAGE_UNITS, utf16_len
from feeds.topics import Taxonomy

# Each language under its own name, as language pickers do, whatever the interface language.
LANG_NAMES = {"ru": "Русский", "kk": "Қазақша", "en": "English"}
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
ANSWER_MAX = 200  # characters Telegram shows in an answer to a button tap


def locale() -> str:
    """The locale of the update being handled."""
    return get_i18n().current_locale


def langs_text(langs: frozenset[str] | None) -> str:
    """Chosen news languages, or 'all languages'."""
    if langs is None:
        return _("all languages")
    return ", ".join(LANG_NAMES[c] for c in LANGS if c in langs)


def topics_text(topics: frozenset[str] | None, taxonomy: Taxonomy) -> str:
    """Chosen topics by name in the current language, or 'all topics'."""
    if topics is None:
        return _("all topics")
    return ", ".join(taxonomy.name(s, locale()) for s in taxonomy.slugs if s in topics)


def schedule_text(kind: str, times: tuple[str, ...], tz: str) -> str:
    """'instantly', 'hourly' or 'daily at 09:00, 18:00 (Asia/Almaty)'."""
    if kind == "instant":
        return _("instantly, as news arrives")
    if kind == "hourly":
        return _("hourly")
    return _("daily at {times} ({tz})").format(times=", ".join(times), tz=tz)


def status_text(status: str) -> str:
    """Whether deliveries are on."""
    if status == "active":
        return _("on")
    if status == "paused":
        return _("paused (/start resumes them)")
    return _("stopped: the bot was blocked in this chat (/start resumes them)")


def brief(sub: Subscriber, taxonomy: Taxonomy) -> str:
    """Languages, topics and schedule on three lines."""
    return "\n".join(
        (
            _("Languages: {langs}").format(langs=langs_text(sub.langs)),
            _("Topics: {topics}").format(topics=topics_text(sub.topics, taxonomy)),
            _("Schedule: {schedule}").format(
                schedule=schedule_text(sub.schedule, sub.times, sub.timezone)
            ),
        )
    )


def settings_text(sub: Subscriber, taxonomy: Taxonomy) -> str:
    """Everything /settings shows."""
    return "\n".join(
        (
            _("Your settings"),
            "",
            brief(sub, taxonomy),
            _("Time zone: {tz}").format(tz=sub.timezone),
            _("Deliveries: {status}").format(status=status_text(sub.status)),
            "",
            _("Interface language:"),
        )
    )


def help_text(*, admin: bool) -> str:
    """The command list; admins see the admin commands too."""
    i18n, here = get_i18n(), locale()
    lines = [_("Commands:")]
    lines += [f"/{c} — {d}" for c, d in describe(i18n, here, SUBSCRIBER_COMMANDS)]
    if admin:
        lines += ["", _("Admin commands:")]
        lines += [f"/{c} — {d}" for c, d in describe(i18n, here, ADMIN_COMMANDS)]
    return "\n".join(lines)


def when(moment: datetime | None, tz: str) -> str:
    """A stored UTC time as 'YYYY-MM-DD HH:MM' in `tz`, or a dash."""
    if moment is None:
        return "—"
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def cut(text: str, limit: int) -> str:
    """Text shortened to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pack(blocks: Iterable[str], limit: int = MAX_MESSAGE_UNITS) -> list[str]:
    """Join blocks with blank lines into messages of at most `limit` UTF-16 units each.

    Messages split between blocks; a block longer than `limit` alone is cut.
    """
    parts: list[str] = []
    current = ""
    for block in blocks:
        block = block if utf16_len(block) <= limit else cut(block, limit // 2)
        joined = f"{current}\n\n{block}" if current else block
        if current and utf16_len(joined) > limit:
            parts.append(current)
            joined = block
        current = joined
    if current:
        parts.append(current)
    return parts
