"""Bring messages.pot and the ru/kk/en catalogues in step with the strings the code marks.

Run from the repository root: `python bot/locales/sync.py`. It extracts `_`, `N_` and
`gettext` strings from bot/i18n.py, bot/catalogues.py, bot/middlewares.py and handlers/*.py,
rewrites messages.pot, and updates each messages.po: new messages come in untranslated
(tests/unit/bot/test_i18n.py then names them), dropped ones go. Headers are kept; the layout
is Babel's, 99 characters wide, files without line numbers, so a change in the code shows up
in the diff as one entry.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[2]
LOCALES_DIR = ROOT / "bot" / "locales"
SOURCES = ("bot/i18n.py", "bot/catalogues.py", "bot/middlewares.py", "handlers/*.py")
# `_` and `gettext` take (singular) or (singular, plural, n); `gettext` also gets locale=...
KEYWORDS = {"_": {1: None, 3: (1, 2)}, "N_": None, "gettext": {2: (1,), 4: (1, 2)}}
WIDTH = 99


def extracted() -> Catalog:
    """The template: every marked string with the files it is used in."""
    template = Catalog(project="Habar", version="0.1", fuzzy=False)
    for pattern in SOURCES:
        for path in sorted(ROOT.glob(pattern)):
            with path.open("rb") as fp:
                for lineno, message, _comments, _context in extract("python", fp, KEYWORDS):
                    first = message if isinstance(message, str) else message[0]
                    flags = ("python-brace-format",) if "{" in first else ()
                    where = str(path.relative_to(ROOT))
                    template.add(message, None, [(where, lineno)], flags=flags)
    return template


def _write(path: Path, catalog: Catalog) -> None:
    """Write `catalog`'s entries under the header the file already has."""
    buffer = BytesIO()
    write_po(buffer, catalog, width=WIDTH, include_lineno=False, ignore_obsolete=True)
    body = buffer.getvalue().decode("utf-8").split("\n\n", 1)[1]
    header = path.read_text("utf-8").split("\n\n", 1)[0]
    path.write_text(f"{header}\n\n{body}", "utf-8")


def main() -> None:
    """Rewrite the template and update every catalogue from it."""
    template = extracted()
    _write(LOCALES_DIR / "messages.pot", template)
    for po in sorted(LOCALES_DIR.glob("*/LC_MESSAGES/messages.po")):
        with po.open("rb") as fp:
            catalog = read_po(fp, locale=po.parent.parent.name)
        catalog.update(template, no_fuzzy_matching=True)
        _write(po, catalog)


if __name__ == "__main__":
    main()
