"""parse_feed: charsets real feeds lie about, broken documents, and what entries carry."""

from __future__ import annotations

import copy
import io
import pickle
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from feedparser.util import FeedParserDict

from feeds.models import FetchError, FetchErrorKind, Lang, ParsedFeed
from feeds.parse import choose_encoding, parse_feed
from feeds.pipeline import process_document

DATA = Path(__file__).resolve().parents[2] / "data" / "feeds"
URL = "https://news.example.kz/rss/all.xml"
RSS_UTF8 = {"Content-Type": "application/rss+xml; charset=utf-8"}
RU_TITLES = [
    "Токаев подписал закон о развитии агропромышленного комплекса",
    "В Алматы из-за снегопада ограничено движение на трассе Алматы — Бишкек",
    "Нацбанк сохранил базовую ставку на уровне 14,75% «до весны»",
]


def _parse(name: str, content_type: str = "application/rss+xml; charset=utf-8") -> ParsedFeed:
    return parse_feed((DATA / name).read_bytes(), {"Content-Type": content_type}, URL)


def _kind(raw: bytes, headers: dict[str, str] | None = None) -> FetchError:
    with pytest.raises(FetchError) as caught:
        parse_feed(raw, headers if headers is not None else RSS_UTF8, URL)
    return caught.value


# --- charsets -------------------------------------------------------------------------------


def test_windows1251_feed_served_as_text_xml_without_charset_reads_as_russian():
    feed = _parse("rss_ru_windows1251.xml", "text/xml")
    assert feed.title == "Новости Казахстана"
    assert [e.title for e in feed.entries] == RU_TITLES
    assert "сельхозпродукции" in feed.entries[0].summary


def test_koi8r_feed_reads_as_russian_including_char_references_for_missing_glyphs():
    feed = _parse("rss_ru_koi8r.xml", "application/rss+xml")
    assert [e.title for e in feed.entries] == RU_TITLES
    assert "Ёлки-палки" in feed.entries[2].summary


def test_utf8_feed_with_bom_reads_kazakh_letters_and_language():
    feed = _parse("rss_kk_utf8_bom.xml", "application/rss+xml; charset=windows-1251")
    assert feed.language == "kk"
    assert feed.entries[0].title == "Астанада үш мың орындық жаңа мектеп ашылды"
    assert "ұлғаяды. Һ әрпі" in feed.entries[1].summary


def test_header_charset_that_cannot_decode_the_bytes_yields_to_the_declaration():
    # A server default of utf-8 in front of a windows-1251 feed.
    feed = _parse("rss_ru_windows1251.xml", "application/rss+xml; charset=utf-8")
    assert [e.title for e in feed.entries] == RU_TITLES


def test_header_charset_that_would_give_mojibake_yields_to_the_declaration():
    # windows-1251 bytes decode under KOI8-R without error, but as nonsense.
    feed = _parse("rss_ru_windows1251.xml", "text/xml; charset=koi8-r")
    assert [e.title for e in feed.entries] == RU_TITLES


def test_utf8_feed_behind_a_windows1251_server_default_stays_utf8():
    feed = _parse("rss_ru_utf8.xml", "text/xml; charset=windows-1251")
    assert [e.title for e in feed.entries] == RU_TITLES


def test_declaration_that_lies_is_overruled_by_a_header_that_decodes_to_real_text():
    raw = (DATA / "rss_ru_utf8.xml").read_bytes().replace(b'"utf-8"', b'"windows-1251"', 1)
    feed = parse_feed(raw, RSS_UTF8, URL)
    assert [e.title for e in feed.entries] == RU_TITLES


def test_utf8_feed_without_declaration_or_charset_reads_as_utf8():
    raw = (DATA / "rss_ru_utf8.xml").read_bytes().split(b"?>", 1)[1]
    feed = parse_feed(raw, {"Content-Type": "text/xml"}, URL)
    assert feed.entries[1].title == RU_TITLES[1]


def test_utf16_feed_with_bom_reads_as_kazakh():
    text = (DATA / "atom_kk.xml").read_text(encoding="utf-8").replace("utf-8", "utf-16", 1)
    feed = parse_feed(text.encode("utf-16"), {"Content-Type": "application/atom+xml"}, URL)
    assert feed.title == "Ұлттық спорт жаңалықтары"


def test_whitespace_before_the_xml_declaration_is_tolerated():
    raw = b"\n\n  " + (DATA / "rss_ru_windows1251.xml").read_bytes()
    feed = parse_feed(raw, {"Content-Type": "text/xml"}, URL)
    assert [e.title for e in feed.entries] == RU_TITLES


SENTENCES = [
    "Правительство утвердило план по строительству дорог в Туркестанской области",
    "Синоптики предупредили о сильном ветре и гололёде на юге страны",
    "Ауыл шаруашылығы министрлігінің мәліметінше, биыл егіс алқабы ұлғаяды",
]
CHARSETS = ("utf-8", "cp1251", "koi8-r", "iso8859-5", "cp866")
LIARS = (*CHARSETS, "iso8859-1", "cp1252")


def _encodable(text: str, charset: str) -> bool:
    try:
        text.encode(charset)
    except UnicodeEncodeError:
        return False
    return True


MISMATCHES = [
    pytest.param(text, true, liar, id=f"{text.split()[0]}-{true}-vs-{liar}")
    for text in SENTENCES
    for true in CHARSETS
    for liar in LIARS
    if true != liar and _encodable(text, true)  # Kazakh letters exist only in the UTFs here
]


@pytest.mark.parametrize(("text", "true", "liar"), MISMATCHES)
def test_contradicting_header_and_declaration_resolve_to_the_real_charset(text, true, liar):
    body = f"<rss><channel><title>{text}</title></channel></rss>".encode(true)
    for header, declared in ((liar, true), (true, liar)):
        raw = f'<?xml version="1.0" encoding="{declared}"?>'.encode() + body
        chosen = choose_encoding(raw, header)
        assert raw.decode(chosen) == raw.decode(true), (header, declared, chosen)


# --- not feeds, broken feeds and feedparser crashes -----------------------------------------


def test_html_page_is_not_a_feed_and_the_error_points_at_its_feed_link():
    error = _kind((DATA / "page.html").read_bytes(), {"Content-Type": "text/html; charset=utf-8"})
    assert error.kind is FetchErrorKind.NOT_A_FEED
    assert "https://news.example.kz/rss/all.xml" in error.detail


def test_html_page_served_with_a_feed_content_type_is_still_not_a_feed():
    assert _kind((DATA / "page.html").read_bytes()).kind is FetchErrorKind.NOT_A_FEED


def test_xml_that_is_not_rss_or_atom_is_not_a_feed():
    assert _kind((DATA / "sitemap.xml").read_bytes()).kind is FetchErrorKind.NOT_A_FEED


def test_json_body_is_not_a_feed():
    raw = b'{"version": "https://jsonfeed.org/version/1.1", "items": []}'
    assert _kind(raw, {"Content-Type": "application/json"}).kind is FetchErrorKind.NOT_A_FEED


def test_empty_body_is_unparseable():
    assert _kind(b"").kind is FetchErrorKind.UNPARSEABLE


def test_binary_garbage_is_not_a_feed():
    assert _kind(bytes(range(256)) * 4).kind is FetchErrorKind.NOT_A_FEED


def test_markup_garbage_is_unparseable():
    assert _kind(b"<<<?>><a <b =c>>&&</ </").kind is FetchErrorKind.UNPARSEABLE


def test_feed_truncated_before_its_first_item_is_unparseable():
    error = _kind((DATA / "truncated_before_items.xml").read_bytes())
    assert error.kind is FetchErrorKind.UNPARSEABLE
    assert "rss20" in error.detail


def test_feed_truncated_inside_an_item_keeps_the_complete_items():
    feed = _parse("truncated_mid_item.xml")
    assert [e.title for e in feed.entries] == RU_TITLES[:2]


def test_malformed_feed_that_still_has_entries_is_accepted():
    feed = _parse("bozo_unescaped_ampersand.xml")
    assert [e.title for e in feed.entries] == [
        "Акции Kaspi & Halyk выросли",
        "Тенге укрепился к доллару",
    ]


def test_well_formed_feed_without_items_is_an_empty_feed_not_an_error():
    feed = _parse("empty_channel.xml")
    assert feed.title == "Жаңалықтар жоқ"
    assert feed.entries == ()


@pytest.mark.parametrize(
    ("name", "raised"),
    [
        ("crash_huge_char_ref.xml", ValueError),  # &#99999999; -> chr() out of range
        ("crash_stray_width.xml", TypeError),  # </width> without <width> -> int(None)
        ("crash_stray_gml_poslist.xml", KeyError),  # </gml:posList> -> KeyError 'where'
        ("crash_stray_cc_license.xml", KeyError),  # </creativecommons:license> -> 'license'
    ],
)
def test_documents_that_crash_feedparser_become_unparseable(name, raised):
    raw = (DATA / name).read_bytes()
    with pytest.raises(raised):  # the input really does crash feedparser
        feedparser.parse(io.BytesIO(raw))
    error = _kind(raw)
    assert error.kind is FetchErrorKind.UNPARSEABLE
    assert raised.__name__ in error.detail


def test_body_naming_a_local_file_is_parsed_as_text_not_read_from_disk(tmp_path):
    secret = tmp_path / "secret.xml"
    secret.write_bytes((DATA / "rss_ru_utf8.xml").read_bytes())
    assert _kind(str(secret).encode()).kind is FetchErrorKind.NOT_A_FEED


# --- entries --------------------------------------------------------------------------------


def test_published_is_aware_utc_converted_from_the_feed_offset():
    feed = _parse("rss_ru_utf8.xml")
    assert feed.entries[0].published == datetime(2024, 3, 14, 4, 15, tzinfo=UTC)


def test_missing_garbage_and_absurd_dates_become_none_and_dc_date_is_used():
    published = {e.guid: e.published for e in _parse("dates.xml").entries}
    assert published == {
        "d-offset": datetime(2024, 3, 14, 4, 15, tzinfo=UTC),
        "d-missing": None,
        "d-garbage": None,
        "d-epoch": None,
        "d-future": None,
        "d-dc": datetime(2024, 3, 14, 4, 0, tzinfo=UTC),
    }


def test_guid_that_is_not_a_url_stays_raw_and_is_not_used_as_a_link():
    entry = _parse("dates.xml").entries[0]
    assert (entry.guid, entry.link) == ("d-offset", None)


def test_permalink_guid_and_link_come_through():
    entry = _parse("rss_ru_utf8.xml").entries[1]
    assert entry.link == "https://news.example.kz/ru/society/2024/03/14/trassa"
    assert entry.guid == entry.link


def test_atom_feed_gives_language_from_xml_lang_and_resolves_relative_links():
    feed = _parse("atom_kk.xml", "application/atom+xml")
    assert feed.language == "kk"
    assert feed.link == "https://sport.example.kz/"
    assert feed.entries[1].link == "https://news.example.kz/box/2024/06/01/chempion"
    assert feed.entries[1].guid == "tag:sport.example.kz,2024:chempion"
    assert feed.entries[1].published == datetime(2024, 6, 1, 20, 0, tzinfo=UTC)


def test_summary_falls_back_to_content_and_html_is_left_raw():
    atom = _parse("atom_kk.xml", "application/atom+xml").entries
    assert atom[0].summary == "<p>Ойын Астана Арена стадионында өтті.</p>"
    assert atom[1].title == "Боксшы <b>әлем чемпионы</b> атанды"
    rss = _parse("rss_kk_utf8_bom.xml").entries
    assert rss[1].summary.startswith("<p>Ауыл шаруашылығы")


def test_cp1252_quotes_written_as_c1_controls_become_quotes_and_other_letters_stay():
    raw = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        "<item><title>&#147;Ереуіл&#148; аяқталды &#150; Qazaqstan &#128;5 ✓</title>"
        "<guid>https://example.kz/1</guid></item></channel></rss>"
    ).encode()
    (entry,) = parse_feed(raw, RSS_UTF8, URL).entries
    assert entry.title == "“Ереуіл” аяқталды – Qazaqstan €5 ✓"


def test_deep_copies_of_feedparser_dicts_stay_independent_feedparser_dicts():
    shared = ["a"]
    original = FeedParserDict(type="text/html", base="", links=[FeedParserDict(href="/x")])
    original["self"], original["twice"] = original, (shared, shared)
    original.note = ["set as an attribute"]
    copied = copy.deepcopy(original)
    assert type(copied) is FeedParserDict and copied is not original
    assert copied["self"] is copied  # cycles are kept, as copy.deepcopy promises
    assert copied["twice"][0] is copied["twice"][1] and copied["twice"][0] is not shared
    assert copied.note == ["set as an attribute"] and copied.note is not original.note
    copied["links"][0]["href"] = "/y"
    assert original["links"][0].href == "/x" and copied.links[0].href == "/y"


def test_parsed_feed_survives_pickling_for_a_process_pool():
    feed = _parse("rss_kk_utf8_bom.xml")
    assert pickle.loads(pickle.dumps(feed)) == feed


def test_processed_items_survive_pickling_for_a_process_pool():
    raw = (DATA / "rss_kk_utf8_bom.xml").read_bytes()
    now = datetime(2026, 3, 1, tzinfo=UTC)
    done = process_document(raw, {}, feed_url="https://example.kz/rss", hint=None, now=now)
    restored = pickle.loads(pickle.dumps(done))
    assert restored == done
    assert restored.items
    assert all(type(i.lang) is Lang and type(i.topics) is frozenset for i in restored.items)


def test_parse_error_survives_pickling_for_a_process_pool():
    error = _kind(b"")
    restored = pickle.loads(pickle.dumps(error))
    assert restored.kind is FetchErrorKind.UNPARSEABLE
