"""Turn a fetched feed document into a ParsedFeed: charset repair, feedparser, entry mapping.

Failures (FetchError kinds):
- NOT_A_FEED: the document is something else — an HTML page, JSON or plain text, or
  well-formed XML whose root is not RSS/Atom/RDF.
- UNPARSEABLE: the document is broken — empty, feedparser itself raised, a recognisable
  feed that is malformed and yields no entries, or malformed markup we cannot identify.
A malformed ("bozo") feed that still yields entries is accepted.
"""

from __future__ import annotations

import codecs
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import feedparser

from feeds import feedparser_tuning
from feeds.models import Entry, FetchError, FetchErrorKind, ParsedFeed

_SNIFF = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)
_DECLARED = re.compile(rb"<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z][\w.:-]{0,39})[\"']")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_LOWER_CYR = re.compile("[а-яёәғқңөұүһі]")
_UPPER_CYR = re.compile("[А-ЯЁӘҒҚҢӨҰҮҺІ]")
_FALLBACKS = ("utf-8", "cp1251", "koi8-r")
_SCORE_SAMPLE = 65536
_HTML = re.compile(rb"<(?:!doctype\s+html|html[\s>])", re.IGNORECASE)
_FEED_LINK = re.compile(rb"<link[^>]+application/(?:rss|atom)\+xml[^>]*>", re.IGNORECASE)
_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
_FUTURE_SLACK = timedelta(days=2)

feedparser_tuning.install()


def parse_feed(raw: bytes, headers: dict[str, str], url: str) -> ParsedFeed:
    """Parse a feed document (sync, pure, picklable) or raise a classified FetchError."""
    headers = {k.lower(): v for k, v in headers.items()}
    if raw[:1].isspace():
        raw = raw.lstrip()  # whitespace before <?xml sends feedparser to its loose parser
    mime = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    charset_match = _CHARSET.search(headers.get("content-type", ""))
    encoding = choose_encoding(raw, charset_match.group(1) if charset_match else None)
    # Our verdict on the charset is passed as an XML media type, which feedparser trusts first.
    # No Content-Location on purpose: feedparser would rewrite relative guids into URLs.
    fp_headers = {"content-type": f"application/xml; charset={encoding}"}
    try:
        result = feedparser.parse(
            io.BytesIO(raw),  # never bare bytes: feedparser would try them as a file name
            response_headers=fp_headers,
            sanitize_html=False,  # left raw on purpose; normalize.py strips HTML
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser raises ValueError/TypeError/KeyError on some input
        raise FetchError(FetchErrorKind.UNPARSEABLE, f"{type(exc).__name__}: {exc}") from exc
    now = datetime.now(UTC)
    entries = tuple(e for e in (_entry(r, url, now) for r in result.get("entries", ())) if e)
    if not entries:
        _reject_empty(raw, mime, result)
    feed: Any = result.get("feed", {})
    return ParsedFeed(
        title=dict.get(feed, "title") or "",
        link=_absolute(dict.get(feed, "link"), url),
        language=dict.get(feed, "language") or None,
        entries=entries,
    )


def choose_encoding(raw: bytes, header_charset: str | None) -> str:
    """Pick the codec for raw: BOM, then header vs XML declaration, repairing lies."""
    for mark, name in _SNIFF:
        if raw.startswith(mark):
            return name
    declared = _DECLARED.match(raw, 0, 256)
    # Without a declaration XML means UTF-8.
    candidates = (
        _codec(header_charset),
        _codec(declared.group(1).decode()) if declared else "utf-8",
    )
    # KOI8-R maps every byte, so the fallbacks always leave at least one candidate.
    decoded = _decodings(raw, candidates) or _decodings(raw, _FALLBACKS)
    if len(decoded) == 1:
        return next(iter(decoded))
    if "utf-8" in decoded:
        return "utf-8"  # non-UTF-8 text with high bytes almost never decodes as UTF-8
    # Two 8-bit charsets both decode: the one giving lowercase-heavy Cyrillic is right.
    return max(decoded, key=lambda name: cyrillic_score(decoded[name]))


def cyrillic_score(text: str) -> int:
    """Lowercase minus uppercase Cyrillic letters: real text is mostly lowercase, mojibake not."""
    return len(_LOWER_CYR.findall(text)) - len(_UPPER_CYR.findall(text))


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):
        return None


def _decodings(raw: bytes, names: tuple[str | None, ...]) -> dict[str, str]:
    """Map each codec that decodes all of raw to a sample of its text, for scoring."""
    out: dict[str, str] = {}
    for name in names:
        if name is None or name in out:
            continue
        try:
            out[name] = raw.decode(name)[:_SCORE_SAMPLE]
        except (UnicodeDecodeError, LookupError):
            continue
    return out


def _reject_empty(raw: bytes, mime: str, result: Any) -> None:
    """Raise for a document without entries, unless it is a well-formed, empty feed."""
    version = result.get("version", "")
    if version and not result.get("bozo"):
        return
    head = raw[:2048]
    if not raw.strip():
        raise FetchError(FetchErrorKind.UNPARSEABLE, "empty document")
    if mime in ("text/html", "application/xhtml+xml") or (not version and _HTML.search(head)):
        link = _FEED_LINK.search(raw[:65536])
        hint = f"; it links to a feed: {link.group(0).decode('utf-8', 'replace')}" if link else ""
        raise FetchError(FetchErrorKind.NOT_A_FEED, f"an HTML page{hint}")
    if version:
        reason = result.get("bozo_exception")
        raise FetchError(FetchErrorKind.UNPARSEABLE, f"malformed {version} feed: {reason}")
    if not raw.lstrip()[:1] == b"<":
        raise FetchError(FetchErrorKind.NOT_A_FEED, "not XML (JSON or plain text?)")
    if result.get("bozo"):
        raise FetchError(FetchErrorKind.UNPARSEABLE, f"malformed XML: {result['bozo_exception']}")
    raise FetchError(FetchErrorKind.NOT_A_FEED, "XML, but not RSS, Atom or RDF")


def _entry(e: Any, url: str, now: datetime) -> Entry | None:
    """Map a feedparser entry; None for a husk with nothing to identify or show."""
    # dict.get skips FeedParserDict's key aliases, which warn on some keys.
    summary = dict.get(e, "summary") or ""
    if not summary:
        content = dict.get(e, "content") or ()
        summary = content[0].get("value", "") if content else ""
    guid = dict.get(e, "id") or None
    link = dict.get(e, "link") or None
    if link and dict.get(e, "guidislink") and not link.startswith(("http://", "https://")):
        link = None  # feedparser copied a non-URL <guid> into link
    title = dict.get(e, "title") or ""
    if not (guid or link or title or summary):
        return None
    return Entry(guid, _absolute(link, url), title, summary, _published(e, now))


def _absolute(link: str | None, base: str) -> str | None:
    if not link:
        return None
    return link if link.startswith(("http://", "https://")) else urljoin(base, link)


def _published(e: Any, now: datetime) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        parsed = dict.get(e, key)
        if not parsed:
            continue
        try:
            when = datetime(*parsed[:6], tzinfo=UTC)
        except (TypeError, ValueError, OverflowError):
            continue
        if _EARLIEST <= when <= now + _FUTURE_SLACK:
            return when
    return None
