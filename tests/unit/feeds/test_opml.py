"""Reading OPML files as feed readers export them, refusing the rest, and writing OPML 2.0."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from defusedxml.ElementTree import fromstring

from feeds.opml import MAX_BYTES, MAX_OUTLINES, OpmlError, Outline, read_opml, write_opml

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def doc(body: str, *, prolog: str = "") -> bytes:
    """An OPML document with `body` inside <body>."""
    head = "<opml version='2.0'><head><title>t</title></head>"
    return f"{prolog}{head}<body>{body}</body></opml>".encode()


def test_nested_outlines_are_flattened_in_file_order_and_folders_are_skipped() -> None:
    body = (
        "<outline text='Еңбек'>"
        "<outline text='A' xmlUrl='https://a.kz/rss' htmlUrl='https://a.kz/' language='kk'/>"
        "<outline text='Deeper'><outline title='B' text='b' xmlurl='https://b.kz/rss'/></outline>"
        "</outline>"
        "<outline text='C' xmlUrl=' https://c.kz/rss ' language='ru-RU'/>"
        "<outline text='A again' xmlUrl='https://a.kz/rss'/>"
    )
    assert read_opml(doc(body)) == [
        Outline("https://a.kz/rss", "A", "https://a.kz/", "kk"),
        Outline("https://b.kz/rss", "B", "", ""),
        Outline("https://c.kz/rss", "C", "", "ru"),
    ]


def test_opml_1_files_in_a_declared_encoding_or_with_a_byte_order_mark_are_read() -> None:
    body = "<opml version='1.0'><body><outline text='Новости' xmlUrl='https://n.kz/rss'/></body></opml>"
    cp1251 = ("<?xml version='1.0' encoding='windows-1251'?>" + body).encode("cp1251")
    with_bom = b"\xef\xbb\xbf" + body.encode()
    for data in (cp1251, with_bom):
        assert read_opml(data) == [Outline("https://n.kz/rss", "Новости")]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "not_xml"),
        (b"   \n", "not_xml"),
        (b"PK\x03\x04 zip", "not_xml"),
        (b"<opml><body><outline xmlUrl='x'/></body></opml> trailing", "not_xml"),
        (doc("<outline xmlUrl='https://a.kz/rss'/>")[:-20], "truncated"),
        (b"<opml version='2.0'><body><outline xmlUrl='https://a.kz", "truncated"),
        (b"<rss version='2.0'><channel/></rss>", "not_opml"),
        (b"<html><body><outline xmlUrl='https://a.kz/rss'/></body></html>", "not_opml"),
        (b"<opml version='2.0'><head/></opml>", "not_opml"),
        (doc("<outline text='folder'><outline text='no url'/></outline>"), "no_feeds"),
        (doc(""), "no_feeds"),
    ],
)
def test_files_that_are_not_usable_opml_are_refused_with_the_reason(
    data: bytes, reason: str
) -> None:
    with pytest.raises(OpmlError) as caught:
        read_opml(data)
    assert caught.value.reason == reason


HOSTILE = {
    "billion laughs": "<!DOCTYPE opml [<!ENTITY a 'aaaaaaaaaa'>"
    + "".join(
        f"<!ENTITY {c} '{('&' + p + ';') * 10}'>"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "]>",
    "external entity": "<!DOCTYPE opml [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>",
    "parameter entity": "<!DOCTYPE opml [<!ENTITY % p SYSTEM 'http://127.0.0.1:9/x.dtd'> %p;]>",
    "quadratic blowup": "<!DOCTYPE opml [<!ENTITY q '" + "q" * 50_000 + "'>]>",
}


@pytest.mark.parametrize("name", HOSTILE)
def test_entity_declarations_are_refused_before_anything_is_expanded(name: str) -> None:
    data = doc("<outline text='&i;' xmlUrl='https://a.kz/rss'/>", prolog=HOSTILE[name])
    with pytest.raises(OpmlError) as caught:
        read_opml(data)
    assert caught.value.reason == "xml_tricks"


def test_a_plain_doctype_without_entities_is_accepted() -> None:
    data = doc("<outline xmlUrl='https://a.kz/rss'/>", prolog="<!DOCTYPE opml>")
    assert [o.url for o in read_opml(data)] == ["https://a.kz/rss"]


def test_size_and_outline_limits_are_inclusive() -> None:
    rows = "".join(f"<outline xmlUrl='https://a.kz/{n}'/>" for n in range(MAX_OUTLINES))
    assert len(read_opml(doc(rows))) == MAX_OUTLINES
    with pytest.raises(OpmlError) as caught:
        read_opml(doc(rows + "<outline text='one folder too many'/>"))
    assert caught.value.reason == "too_many"

    small = doc("<outline xmlUrl='https://a.kz/rss'/>", prolog="<!---->")
    exactly = small.replace(b"<!---->", b"<!--" + b"x" * (MAX_BYTES - len(small)) + b"-->")
    assert len(exactly) == MAX_BYTES
    assert len(read_opml(exactly)) == 1
    with pytest.raises(OpmlError) as caught:
        read_opml(exactly + b" ")
    assert caught.value.reason == "too_large"


def test_written_opml_2_reads_back_the_same_feeds() -> None:
    feeds = [
        Outline("https://a.kz/rss?x=1&y=2", "Ақпарат & «Жаңалық»", "https://a.kz/", "kk"),
        Outline("https://b.kz/rss", "", "", ""),
    ]
    data = write_opml(feeds, title="Habar feeds", created=NOW)
    root = fromstring(data)
    assert (root.tag, root.get("version")) == ("opml", "2.0")
    assert root.findtext("head/title") == "Habar feeds"
    assert root.findtext("head/dateCreated") == "Sun, 01 Mar 2026 09:30:00 +0000"
    first, second = (o.attrib for o in root.iter("outline"))
    assert first == {
        "type": "rss",
        "text": "Ақпарат & «Жаңалық»",
        "title": "Ақпарат & «Жаңалық»",
        "xmlUrl": "https://a.kz/rss?x=1&y=2",
        "htmlUrl": "https://a.kz/",
        "language": "kk",
    }
    assert second == {
        "type": "rss",
        "text": "https://b.kz/rss",
        "title": "https://b.kz/rss",
        "xmlUrl": "https://b.kz/rss",
    }
    assert read_opml(data) == [feeds[0], Outline("https://b.kz/rss", "https://b.kz/rss")]
