"""Interface languages: gettext catalogues compiled from .po at start, digest strings, commands.

The .po files are the only source of truth: no .mo binaries are kept in the tree. `make_i18n()`
compiles each catalogue in memory with Babel, so a translation edited in a .po shows up at the
next start with no build step.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiogram.utils.i18n import I18n

from bot.catalogues import (
    DEFAULT_LOCALE,
    LOCALES,
    LOCALES_DIR,
    GettextLocalizer,
    compile_all,
    compile_po,
)

__all__ = ["LOCALES", "LOCALES_DIR", "GettextLocalizer", "compile_po"]

COMMANDS_FALLBACK_LOCALE = "en"  # the command list for clients in any other language


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


SUBSCRIBER_COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", N_("Subscribe to news digests")),
    ("lang", N_("Languages of the news")),
    ("topics", N_("Topics")),
    ("keywords", N_("Keyword alerts")),
    ("sources", N_("Feeds to receive or mute")),
    ("schedule", N_("Digest schedule")),
    ("digest", N_("Send the news now")),
    ("settings", N_("Your settings")),
    ("stop", N_("Pause deliveries")),
    ("chats", N_("Configure a group or channel you administer")),
    ("help", N_("List of commands")),
)
ADMIN_COMMANDS: tuple[tuple[str, str], ...] = (
    ("addfeed", N_("Add a feed: URL [ru|kk|en]")),
    ("delfeed", N_("Remove a feed: id or URL")),
    ("feeds", N_("Feeds and their status")),
    ("stats", N_("Bot statistics")),
    ("import", N_("Add the feeds of an OPML file")),
    ("export", N_("All feeds as an OPML file")),
)


class PoI18n(I18n):
    """aiogram's I18n, reading `<locale>/LC_MESSAGES/<domain>.po` instead of compiled .mo files."""

    def __init__(
        self, *, locales: dict[str, gettext.GNUTranslations] | None = None, **kwargs: Any
    ) -> None:
        self._compiled = locales
        super().__init__(**kwargs)

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        """The catalogues given, or every one compiled from the locales directory."""
        if self._compiled is not None:
            return self._compiled
        return compile_all(self.path, self.domain)

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


def make_i18n(
    path: Path = LOCALES_DIR, *, locales: dict[str, gettext.GNUTranslations] | None = None
) -> I18n:
    """The bot's I18n: ru, kk and en (given, or compiled here); Russian when nothing is known."""
    return PoI18n(path=path, default_locale=DEFAULT_LOCALE, domain="messages", locales=locales)


def locale_of(code: str | None) -> str | None:
    """Telegram's IETF language tag (`kk`, `ru-RU`, `en-us`) -> one of LOCALES, or None."""
    if not code:
        return None
    base = code.replace("_", "-").split("-", 1)[0].lower()
    return base if base in LOCALES else None


def describe(
    i18n: I18n, locale: str, commands: tuple[tuple[str, str], ...]
) -> list[tuple[str, str]]:
    """(command, description translated to `locale`) pairs."""
    return [(name, i18n.gettext(text, locale=locale)) for name, text in commands]
