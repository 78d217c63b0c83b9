"""The ru/kk/en catalogues: complete, in step with the code, placeholders intact, real Kazakh."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from aiogram.utils.i18n import gettext
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract
from babel.messages.pofile import read_po

from bot.i18n import LOCALES, LOCALES_DIR, GettextLocalizer, locale_of, make_i18n
from bot.services.ingest import STORAGE_FAILED
from feeds.models import FetchErrorKind
from feeds.topics import Taxonomy
from handlers.texts import zone_text

ROOT = Path(__file__).resolve().parents[3]
# `_` and `gettext` take (singular) or (singular, plural, n); `gettext` also gets locale=...
KEYWORDS = {"_": {1: None, 3: (1, 2)}, "N_": None, "gettext": {2: (1,), 4: (1, 2)}}
PLACEHOLDER = re.compile(r"\{(\w*)\}")
KAZAKH_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
DAY = date(2026, 3, 5)
CYRILLIC = re.compile("[а-яА-ЯёЁәғқңөұүһіӘҒҚҢӨҰҮҺІ]")


def _catalog(locale: str) -> Catalog:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as fp:
        return read_po(fp, locale=locale)


def _entries(locale: str) -> list[Message]:
    return [m for m in _catalog(locale) if m.id]


def _strings(value: str | tuple[str, ...] | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _used_in_code() -> set[str | tuple[str, str]]:
    found: set[str | tuple[str, str]] = set()
    sources = [ROOT / "bot" / n for n in ("i18n.py", "catalogues.py", "middlewares.py")]
    for path in [*sources, *sorted((ROOT / "handlers").glob("*.py"))]:
        with path.open("rb") as fp:
            for _lineno, message, _comments, _context in extract("python", fp, KEYWORDS):
                found.add(message)
    return found


def test_template_holds_exactly_the_messages_the_code_uses() -> None:
    with (LOCALES_DIR / "messages.pot").open("rb") as fp:
        in_template = {m.id for m in read_po(fp) if m.id}
    assert in_template == _used_in_code(), "run: python bot/locales/sync.py"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_has_a_translation(locale: str) -> None:
    catalog = _catalog(locale)
    for message in _entries(locale):
        strings = _strings(message.string)
        assert len(strings) == (catalog.num_plurals if message.pluralizable else 1), message.id
        assert all(s.strip() for s in strings), f"{locale}: no translation for {message.id!r}"
        assert not message.fuzzy, f"{locale}: fuzzy translation of {message.id!r}"


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_match_between_msgid_and_translation(locale: str) -> None:
    for message in _entries(locale):
        ids = _strings(message.id)
        expected = [set(PLACEHOLDER.findall(i)) for i in ids]
        for s in _strings(message.string):
            assert set(PLACEHOLDER.findall(s)) in expected, f"{locale}: {message.id!r} -> {s!r}"
            leftover = PLACEHOLDER.sub("", s)
            assert "{" not in leftover and "}" not in leftover, f"{locale}: stray brace in {s!r}"


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_holds_exactly_the_messages_the_code_uses(locale: str) -> None:
    in_catalogue = {m.id for m in _entries(locale)}
    used = _used_in_code()
    assert used - in_catalogue == set(), "used in the code but not translated"
    assert in_catalogue - used == set(), "translated but no longer used"


def test_kazakh_catalogue_is_kazakh_not_russian() -> None:
    russian = {m.id: _strings(m.string) for m in _entries("ru")}
    cyrillic = 0
    with_kazakh_letters = 0
    for message in _entries("kk"):
        for kk, ru in zip(_strings(message.string), russian[message.id], strict=False):
            if CYRILLIC.search(kk):
                cyrillic += 1
                with_kazakh_letters += bool(KAZAKH_LETTERS & set(kk))
                assert kk != ru, f"kk translation of {message.id!r} is the Russian one"
    assert cyrillic >= 80
    assert with_kazakh_letters / cyrillic > 0.85, (with_kazakh_letters, cyrillic)


def test_no_compiled_catalogues_are_kept_in_the_tree() -> None:
    assert list(LOCALES_DIR.rglob("*.mo")) == []


def test_make_i18n_compiles_every_catalogue_from_po() -> None:
    i18n = make_i18n()
    assert sorted(i18n.available_locales) == sorted(LOCALES)
    assert i18n.gettext("Topics", locale="kk") == "Тақырыптар"
    assert i18n.gettext("Topics", locale="ru") == "Темы"
    assert i18n.default_locale == "ru"


def test_aiogram_gettext_finds_the_catalogues_inside_the_i18n_context() -> None:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("kk"):
        assert gettext("Topics") == "Тақырыптар"
    with i18n.context(), i18n.use_locale("en"):
        assert gettext("Topics") == "Topics"


@pytest.mark.parametrize(
    ("locale", "count", "header"),
    [
        ("ru", 1, "Дайджест: 1 новость"),
        ("ru", 3, "Дайджест: 3 новости"),
        ("ru", 12, "Дайджест: 12 новостей"),
        ("ru", 21, "Дайджест: 21 новость"),
        ("kk", 1, "Дайджест: 1 жаңалық"),
        ("kk", 12, "Дайджест: 12 жаңалық"),
        ("en", 1, "Digest: 1 item"),
        ("en", 12, "Digest: 12 items"),
    ],
)
def test_digest_header_uses_the_plural_form_of_each_language(
    locale: str, count: int, header: str
) -> None:
    text = GettextLocalizer(make_i18n(), Taxonomy.load()).digest_text(locale, count, DAY)
    assert text.header.split(" · ")[0] == header


@pytest.mark.parametrize(
    ("locale", "header"),
    [
        ("kk", "Дайджест: 3 жаңалық · 5 наурыз"),
        ("ru", "Дайджест: 3 новости · 5 марта"),
        ("en", "Digest: 3 items · 5 March"),
    ],
)
def test_digest_header_carries_the_day_in_the_interface_language(locale: str, header: str) -> None:
    text = GettextLocalizer(make_i18n(), Taxonomy.load()).digest_text(locale, 3, DAY)
    assert text.header == header


def test_digest_other_heading_and_continued_mark_are_translated() -> None:
    localizer = GettextLocalizer(make_i18n(), Taxonomy.load())
    assert localizer.digest_text("ru", 2, DAY).other_heading == "Другие новости"
    assert localizer.digest_text("kk", 2, DAY).other_heading == "Басқа жаңалықтар"
    assert localizer.digest_text("en", 2, DAY).other_heading == "Other news"
    assert localizer.digest_text("en", 2, DAY).continued == "(continued)"
    assert localizer.digest_text("kk", 2, DAY).continued == "(жалғасы)"


def test_topic_names_come_from_the_taxonomy() -> None:
    taxonomy = Taxonomy.load()
    localizer = GettextLocalizer(make_i18n(), taxonomy)
    slug = taxonomy.slugs[0]
    assert localizer.topic_name(slug, "kk") == taxonomy.name(slug, "kk")


@pytest.mark.parametrize(
    ("code", "locale"),
    [("kk", "kk"), ("ru-RU", "ru"), ("en-us", "en"), ("EN", "en"), ("de", None), (None, None)],
)
def test_telegram_language_codes_map_to_served_locales(code: str | None, locale: str) -> None:
    assert locale_of(code) == locale


@pytest.mark.parametrize(
    ("locale", "zone", "when", "shown"),
    [
        ("kk", "Asia/Almaty", date(2026, 3, 5), "Астана уақыты (UTC+5)"),
        ("ru", "Asia/Almaty", date(2026, 3, 5), "время Астаны (UTC+5)"),
        ("en", "Asia/Almaty", date(2026, 3, 5), "Astana time (UTC+5)"),
        ("ru", "Asia/Oral", date(2026, 3, 5), "время Уральска (UTC+5)"),
        ("kk", "Asia/Qostanay", date(2026, 3, 5), "Қостанай уақыты (UTC+5)"),
        # Kazakhstan moved to UTC+5 everywhere in March 2024: the offset comes from tzdata.
        ("kk", "Asia/Qostanay", date(2024, 1, 5), "Қостанай уақыты (UTC+6)"),
        ("kk", "Europe/Moscow", date(2026, 3, 5), "Мәскеу уақыты (UTC+3)"),
        ("ru", "Europe/Moscow", date(2026, 3, 5), "Москва (UTC+3)"),
        ("en", "Asia/Kolkata", date(2026, 3, 5), "Kolkata time (UTC+5:30)"),
        ("en", "UTC", date(2026, 3, 5), "UTC+0"),
    ],
)
def test_time_zones_are_named_by_city_with_their_current_offset(
    locale: str, zone: str, when: date, shown: str
) -> None:
    i18n = make_i18n()
    moment = datetime(when.year, when.month, when.day, 12, tzinfo=UTC)
    with i18n.context(), i18n.use_locale(locale):
        assert zone_text(zone, moment) == shown


@pytest.mark.parametrize("kind", [*(k.value for k in FetchErrorKind), STORAGE_FAILED])
def test_every_failure_a_feed_can_store_is_explained_in_words(kind: str) -> None:
    from bot.cli import FEED_ERRORS
    from handlers.errors import FEED_REASONS

    assert kind in FEED_REASONS  # /feeds shows it to admins in their language
    assert kind in FEED_ERRORS  # `feed add` and `feed list` show it on the command line
