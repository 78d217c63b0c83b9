"""Reply texts shared by several handlers, in the current update's language (plain text)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from aiogram.types import LinkPreviewOptions
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from babel.dates import get_timezone_location

from bot.i18n import ADMIN_COMMANDS, N_, SUBSCRIBER_COMMANDS, describe
from bot.services.subscriptions import LANGS, Subscriber
from bot.services.telegram_text import MAX_MESSAGE_UNITS, utf16_len
from feeds.topics import Taxonomy

# Each language under its own name, as language pickers do: the interface-language buttons only.
LANG_NAMES = {"ru": "Русский", "kk": "Қазақша", "en": "English"}
# News languages as running text names them, in the interface language ("қазақ, орыс").
LANG_WORDS = {"kk": N_("Kazakh"), "ru": N_("Russian"), "en": N_("English")}
# Kazakhstan's zones by the city they are known by: Asia/Almaty is the zone of Astana.
KZ_ZONES = {
    "Asia/Almaty": N_("Astana time"),
    "Asia/Qostanay": N_("Kostanay time"),
    "Asia/Aqtobe": N_("Aktobe time"),
    "Asia/Aqtau": N_("Aktau time"),
    "Asia/Atyrau": N_("Atyrau time"),
    "Asia/Oral": N_("Oral time"),
    "Asia/Qyzylorda": N_("Kyzylorda time"),
}
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
ANSWER_MAX = 200  # characters Telegram shows in an answer to a button tap


def locale() -> str:
    """The locale of the update being handled."""
    return get_i18n().current_locale


def lang_word(code: str) -> str:
    """A news language's name in the interface language, as running text writes it."""
    return _(LANG_WORDS[code])


def langs_text(langs: frozenset[str] | None) -> str:
    """Chosen news languages by name in the interface language, or 'all languages'."""
    if langs is None:
        return _("all languages")
    return ", ".join(lang_word(c) for c in LANG_WORDS if c in langs and c in LANGS)


def utc_offset(tz: str, now: datetime | None = None) -> str:
    """The zone's offset from UTC at `now` (default: the current moment), as 'UTC+5'."""
    moment = (now or datetime.now(UTC)).astimezone(ZoneInfo(tz))
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds()) // 60 if offset is not None else 0
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}:{rest:02d}" if rest else f"UTC{sign}{hours}"


def zone_text(tz: str, now: datetime | None = None) -> str:
    """A time zone as a reader names it: 'Astana time (UTC+5)', 'Moscow time (UTC+3)'."""
    offset = utc_offset(tz, now)
    if tz in ("UTC", "Etc/UTC"):
        return offset
    name = KZ_ZONES.get(tz)
    if name is not None:
        label = _(name)
    else:
        city = get_timezone_location(tz, locale=locale(), return_city=True)
        label = _("{city} time").format(city=city)
    return f"{label} ({offset})"


def topics_text(topics: frozenset[str] | None, taxonomy: Taxonomy) -> str:
    """Chosen topics by name in the current language, or 'all topics'."""
    if topics is None:
        return _("all topics")
    if not topics:
        return _("none — keyword alerts only")
    return ", ".join(taxonomy.name(s, locale()) for s in taxonomy.slugs if s in topics)


def schedule_text(kind: str, times: tuple[str, ...], tz: str | None) -> str:
    """'instantly', 'hourly' or 'daily at 09:00, 18:00, Astana time (UTC+5)'; no zone if None."""
    if kind == "instant":
        return _("instantly, as news arrives")
    if kind == "hourly":
        return _("hourly")
    if tz is None:
        return _("daily at {times}").format(times=", ".join(times))
    return _("daily at {times}, {tz}").format(times=", ".join(times), tz=zone_text(tz))


def status_text(status: str) -> str:
    """Whether deliveries are on."""
    if status == "active":
        return _("on")
    if status == "paused":
        return _("paused (/start resumes them)")
    return _("stopped: the bot was blocked in this chat (/start resumes them)")


def brief(sub: Subscriber, taxonomy: Taxonomy, *, zone: bool = True) -> str:
    """Languages, topics and schedule on three lines; the schedule's zone unless `zone` is off."""
    return "\n".join(
        (
            _("Languages: {langs}").format(langs=langs_text(sub.langs)),
            _("Topics: {topics}").format(topics=topics_text(sub.topics, taxonomy)),
            _("Schedule: {schedule}").format(
                schedule=schedule_text(sub.schedule, sub.times, sub.timezone if zone else None)
            ),
        )
    )


def settings_text(sub: Subscriber, taxonomy: Taxonomy) -> str:
    """Everything /settings shows."""
    return "\n".join(
        (
            _("Your settings"),
            "",
            brief(sub, taxonomy, zone=False),  # the zone has a line of its own below
            _("Keywords: {count} (/keywords)").format(count=len(sub.keywords)),
            _("Time zone: {tz}").format(tz=zone_text(sub.timezone)),
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


def named(text: str, where: str) -> str:
    """A reply, headed by the place it is about when that is not the chat itself."""
    return f"{where}\n{text}" if where else text
