"""Gettext catalogues compiled from the .po files, with no Telegram library.

The CLI's offline commands (`preview`) and the digest planner need translated strings, but not
aiogram: importing it costs seconds. `bot.i18n` builds aiogram's I18n on these catalogues.
"""

from __future__ import annotations

import gettext
from datetime import date
from io import BytesIO
from pathlib import Path
from typing import Protocol

from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.services.render import DigestText
from feeds.topics import Taxonomy

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
LOCALES = ("ru", "kk", "en")
DEFAULT_LOCALE = "ru"


def compile_po(path: Path, locale: str) -> gettext.GNUTranslations:
    """Compile one .po catalogue into gettext translations in memory (fuzzy entries skipped)."""
    with path.open("rb") as fp:
        catalog = read_po(fp, locale=locale, domain=path.stem)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def compile_all(
    path: Path = LOCALES_DIR, domain: str = "messages"
) -> dict[str, gettext.GNUTranslations]:
    """Compile every `<locale>/LC_MESSAGES/<domain>.po` found under `path`."""
    found: dict[str, gettext.GNUTranslations] = {}
    for po in sorted(path.glob(f"*/LC_MESSAGES/{domain}.po")):
        locale = po.parent.parent.name
        found[locale] = compile_po(po, locale)
    return found


class Translator(Protocol):
    """What the digest needs of a catalogue set: aiogram's I18n and `Catalogues` both fit."""

    def gettext(
        self, singular: str, plural: str | None = None, n: int = 1, locale: str | None = None
    ) -> str: ...


class Catalogues:
    """Compiled catalogues by locale, with aiogram I18n's `gettext` signature."""

    def __init__(self, locales: dict[str, gettext.GNUTranslations]) -> None:
        self.locales = locales

    def gettext(
        self, singular: str, plural: str | None = None, n: int = 1, locale: str | None = None
    ) -> str:
        """`singular` (or its plural for `n`) translated to `locale`, or as is if unknown."""
        translator = self.locales.get(locale or DEFAULT_LOCALE)
        if translator is None:
            return singular if n == 1 else plural or singular
        if plural is None:
            return translator.gettext(singular)
        return translator.ngettext(singular, plural, n)


def load_catalogues(path: Path = LOCALES_DIR) -> Catalogues:
    """The ru, kk and en catalogues, compiled from their .po files."""
    return Catalogues(compile_all(path))


class GettextLocalizer:
    """The digest's translated strings (the Localizer protocol of bot.services.digest)."""

    def __init__(self, i18n: Translator, taxonomy: Taxonomy) -> None:
        self._i18n = i18n
        self._taxonomy = taxonomy

    def digest_text(self, locale: str, count: int, day: date) -> DigestText:
        """Header with the item count in its plural form and the day, 'other' heading, etc.

        The day is Babel's "d MMMM": "5 наурыз", "5 марта", "5 March" (its long formats add
        the year, and kk's adds "ж.").
        """
        i18n = self._i18n
        header = i18n.gettext(
            "Digest: {count} item", "Digest: {count} items", count, locale=locale
        )
        when = format_date(day, "d MMMM", locale=locale)
        return DigestText(
            header=f"{header.format(count=count)} · {when}",
            other_heading=i18n.gettext("Other news", locale=locale),
            continued=i18n.gettext("(continued)", locale=locale),
            alerts_heading=i18n.gettext("Your keywords", locale=locale),
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
