"""Interface languages: gettext catalogues compiled from .po at start, digest strings, commands.

The .po files are the only source of truth: no .mo binaries are kept in the tree. `make_i18n()`
compiles each catalogue in memory with Babel, so a translation edited in a .po shows up at the
next start with no build step.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from aiogram.utils.i18n import I18n
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.services.render import DigestText
from feeds.topics import Taxonomy

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
LOCALES = ("ru", "kk", "en")
DEFAULT_LOCALE = "ru"
COMMANDS_FALLBACK_LOCALE = "en"  # the command list for clients in any other language


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


SUBSCRIBER_COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", N_("Subscribe to news digests")),
    ("lang", N_("Languages of the news")),
    ("topics", N_("Topics")),
    ("schedule", N_("Digest schedule")),
    ("digest", N_("Send the news now")),
    ("settings", N_("Your settings")),
    ("stop", N_("Pause deliveries")),
    ("help", N_("List of commands")),
)
ADMIN_COMMANDS: tuple[tuple[str, str], ...] = (
    ("addfeed", N_("Add a feed: URL [ru|kk|en]")),
    ("delfeed", N_("Remove a feed: id or URL")),
    ("feeds", N_("Feeds and their status")),
    ("stats", N_("Bot statistics")),
)


def compile_po(path: Path, locale: str) -> gettext.GNUTranslations:
    """Compile one .po catalogue into gettext translations in memory (fuzzy entries skipped)."""
    with path.open("rb") as fp:
        catalog = read_po(fp, locale=locale, domain=path.stem)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class PoI18n(I18n):
    """aiogram's I18n, reading `<locale>/LC_MESSAGES/<domain>.po` instead of compiled .mo files."""

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        """Compile every catalogue found under the locales directory."""
        found: dict[str, gettext.GNUTranslations] = {}
        for po in sorted(self.path.glob(f"*/LC_MESSAGES/{self.domain}.po")):
            locale = po.parent.parent.name
            found[locale] = compile_po(po, locale)
        return found

    @contextmanager
    def context(self) -> Iterator[I18n]:
        """Make this the I18n that aiogram's `gettext` finds.

        aiogram keeps the current instance in a context variable per class, and `gettext`
        reads the one of `I18n`: a subclass must set that one, not its own.
        """
        token = I18n.set_current(self)
        try:
            yield self
        finally:
            I18n.reset_current(token)


def make_i18n(path: Path = LOCALES_DIR) -> I18n:
    """The bot's I18n: ru, kk and en catalogues, Russian when nothing else is known."""
    return PoI18n(path=path, default_locale=DEFAULT_LOCALE, domain="messages")


def locale_of(code: str | None) -> str | None:
    """Telegram's IETF language tag (`kk`, `ru-RU`, `en-us`) -> one of LOCALES, or None."""
    if not code:
        return None
    base = code.replace("_", "-").split("-", 1)[0].lower()
    return base if base in LOCALES else None


class GettextLocalizer:
    """The digest's translated strings (the Localizer protocol of bot.services.digest)."""

    def __init__(self, i18n: I18n, taxonomy: Taxonomy) -> None:
        self._i18n = i18n
        self._taxonomy = taxonomy

    def digest_text(self, locale: str, count: int) -> DigestText:
        """Header with the item count in the right plural form, 'other' heading, 'continued'."""
        i18n = self._i18n
        header = i18n.gettext(
            "Digest: {count} item", "Digest: {count} items", count, locale=locale
        )
        return DigestText(
            header=header.format(count=count),
            other_heading=i18n.gettext("Other", locale=locale),
            continued=i18n.gettext("(continued)", locale=locale),
        )

    def topic_name(self, slug: str, locale: str) -> str:
        """A topic's name in `locale`, from the taxonomy."""
        return self._taxonomy.name(slug, locale)

    def digest_more(self, locale: str, more: int) -> str:
        """The line ending a digest cut at MAX_DIGEST_ITEMS: how many more, /digest for them."""
        # No trailing comma: message extraction counts it as one more argument.
        line = self._i18n.gettext(
            "{count} more item matched your filters: /digest sends the next ones.",
            "{count} more items matched your filters: /digest sends the next ones.",
            more,
            locale=locale
        )  # fmt: skip
        return line.format(count=more)


def describe(
    i18n: I18n, locale: str, commands: tuple[tuple[str, str], ...]
) -> list[tuple[str, str]]:
    """(command, description translated to `locale`) pairs."""
    return [(name, i18n.gettext(text, locale=locale)) for name, text in commands]


def _bot_commands(
    i18n: I18n, locale: str, commands: tuple[tuple[str, str], ...]
) -> list[BotCommand]:
    return [BotCommand(command=c, description=d) for c, d in describe(i18n, locale, commands)]


async def register_commands(bot: Bot, i18n: I18n, admin_ids: frozenset[int]) -> None:
    """setMyCommands for ru, kk, en and the fallback, and per admin chat with admin commands."""
    for code in (*LOCALES, None):
        locale = code or COMMANDS_FALLBACK_LOCALE
        everyone = _bot_commands(i18n, locale, SUBSCRIBER_COMMANDS)
        await bot.set_my_commands(everyone, scope=BotCommandScopeDefault(), language_code=code)
        admins = _bot_commands(i18n, locale, SUBSCRIBER_COMMANDS + ADMIN_COMMANDS)
        for admin_id in sorted(admin_ids):
            scope = BotCommandScopeChat(chat_id=admin_id)
            await bot.set_my_commands(admins, scope=scope, language_code=code)
