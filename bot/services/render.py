"""Pure digest renderer: a subscriber's pending items as Telegram HTML parts within its limits."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from urllib.parse import urlsplit

from bot.services.telegram_text import (
    MAX_ENTITIES,
    MAX_MESSAGE_UNITS,
    detected_entities,
    escape,
    telegram_measure,
    utf16_len,
)

__all__ = [
    "MAX_ENTITIES",
    "MAX_MESSAGE_UNITS",
    "DigestItem",
    "DigestText",
    "escape",
    "render_digest",
    "telegram_measure",
]

TITLE_MAX = 300  # characters; longer titles are cut at a word boundary
SOURCE_MAX = 100
HEADING_MAX = 200
HEADER_MAX = 1000
FAR_PAST = timedelta(days=180)  # older (or further ahead) than this, the date shows its year
ALERTS = "\0alerts"  # the group of keyword matches: no topic slug looks like this

# Whitespace and controls collapse to one space so an item stays on its line; the characters
# Telegram would drop go now, so what we count is what Telegram counts.
_BLANKS = re.compile(r"[\s\x00-\x1f\x7f]+")
_DROPPED = re.compile("[\u200b\u2028-\u202e\u030a\u0333\u033f]")
_SURROGATES = re.compile("[\ud800-\udfff]")
# Text Telegram may turn into a mention, hashtag, cashtag, command, URL or card number. Inside
# <b> such an entity cuts the bold in pieces, each counted against the 100, so it stays plain.
# A whole word that is not part of an entity Telegram finds itself (hashtag, mention, link):
# a keyword mark is set in bold only there.
_MARKABLE = re.compile(r"(?<![\w#@$/.])\w+(?!\w)(?!\.\w)")
_AUTO_ENTITY = re.compile(r"[@#$/]|\.[^\W\d_]|\d+\.\d+\.\d+\.\d|(?:\d[ -]?){12}")


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One pending item as the digest shows it."""

    id: int
    url: str  # "" when the item has no link: the title is then plain text
    title: str
    source: str  # feed title
    published: datetime  # aware UTC
    topics: tuple[str, ...]
    marks: tuple[str, ...] | None = None  # a keyword match: the title's words to set in bold


@dataclass(frozen=True, slots=True)
class DigestText:
    """User-facing strings, already translated and formatted by the caller (plain text)."""

    header: str
    other_heading: str
    continued: str
    alerts_heading: str = ""  # keyword matches, shown first


@dataclass(frozen=True, slots=True)
class _Frag:
    """A piece of a message: its HTML, its UTF-16 length after parsing, its entity count."""

    html: str
    units: int
    entities: int


def _clean(text: str) -> str:
    """Normalise feed text to one line of NFC text with nothing Telegram would alter."""
    # Fast path: printable text has no controls, odd blanks, format characters or surrogates.
    if not (text.isprintable() and "  " not in text):
        text = _BLANKS.sub(" ", _SURROGATES.sub("\ufffd", text))
    text = unicodedata.normalize("NFC", text)
    if "\u030a" in text or "\u0333" in text or "\u033f" in text or not text.isprintable():
        text = _BLANKS.sub(" ", _DROPPED.sub("", text))
    return text.strip()


def _cut(text: str, limit: int) -> str:
    """Cut text longer than limit at a word boundary, marking the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space >= limit * 2 // 3:
        head = head[:space]
    return head.rstrip(" ,.;:-–—") + "…"


def _linkable(url: str) -> bool:
    """Whether the URL is an absolute http(s) URL we can put in href."""
    if not url.isprintable() or " " in url:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _when(published: datetime, tz: tzinfo, today: datetime) -> str:
    """Local time of the item: HH:MM today, DD.MM HH:MM otherwise, with the year when far off."""
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    local = published.astimezone(tz)
    clock = f"{local.hour:02d}:{local.minute:02d}"
    if local.date() == today.date():
        return clock
    if abs(today - local) > FAR_PAST:
        return f"{local.day:02d}.{local.month:02d}.{local.year} {clock}"
    return f"{local.day:02d}.{local.month:02d} {clock}"


@dataclass(frozen=True, slots=True)
class _Line:
    """An item's line as every place shows it, and what keyword marks need to set theirs."""

    frag: _Frag  # the line without marks
    title: str  # cleaned and cut; "" when the item has no link (marks are not shown then)
    href: str  # the escaped link
    tail: _Frag  # " — source, time"


# A planning round renders the same items for thousands of places at one `today`: each line is
# made once (a few thousand entries, a few megabytes), each place's keyword marks once per words.
@lru_cache(maxsize=16384)
def _line(
    url: str, title: str, source: str, published: datetime, tz: tzinfo, today: datetime
) -> _Line:
    """One item's line: linked title, then source and local time."""
    title = _cut(_clean(title), TITLE_MAX) or _cut(_clean(url), TITLE_MAX) or "…"
    source = _cut(_clean(source), SOURCE_MAX)
    when = _when(published, tz, today)
    tail = f" — {source}, {when}" if source else f" — {when}"
    units = utf16_len(title + tail)
    if not _linkable(url):  # "@kaz_news" or "#strike" in plain text: entities Telegram adds
        plain = _Frag(escape(title + tail), units, detected_entities(title + tail))
        return _Line(plain, "", "", plain)
    href, tail_frag = escape(url), _Frag(escape(tail), 0, detected_entities(tail))
    html = f'<a href="{href}">{escape(title)}</a>{tail_frag.html}'
    return _Line(_Frag(html, units, 1 + tail_frag.entities), title, href, tail_frag)


def _item(item: DigestItem, tz: tzinfo, today: datetime) -> _Frag:
    """One item's line, its keyword matches in bold."""
    line = _line(item.url, item.title, item.source, item.published, tz, today)
    if not item.marks or not line.title:
        return line.frag
    title_html, marked = _marked(line.title, item.marks)
    html = f'<a href="{line.href}">{title_html}</a>{line.tail.html}'
    return _Frag(html, line.frag.units, 1 + marked + line.tail.entities)


@lru_cache(maxsize=16384)
def _marked(title: str, marks: tuple[str, ...]) -> tuple[str, int]:
    """The title's HTML with the marked words in bold, and how many bold entities that adds.

    A word next to "#", "@", "$", "/" or a dot stays plain: a bold inside an entity that
    Telegram finds itself (hashtag, mention, link) would cut it into more entities.
    """
    wanted = frozenset(marks)
    html, count, last = [], 0, 0
    for match in _MARKABLE.finditer(title):
        if match.group() not in wanted:
            continue
        html += [escape(title[last : match.start()]), f"<b>{escape(match.group())}</b>"]
        count, last = count + 1, match.end()
    html.append(escape(title[last:]))
    return "".join(html), count


def _bold(text: str, limit: int, suffix: str = "") -> _Frag:
    """A bold line (plain when Telegram could find entities inside), then an optional suffix."""
    text = _cut(_clean(text), limit)
    suffix = _cut(_clean(suffix), 64)
    plain_suffix = f" {suffix}" if suffix else ""
    units = utf16_len(text) + utf16_len(plain_suffix)
    if _AUTO_ENTITY.search(text):
        return _Frag(escape(text + plain_suffix), units, detected_entities(text + plain_suffix))
    html = f"<b>{escape(text)}</b>{escape(plain_suffix)}"
    return _Frag(html, units, 1 + detected_entities(plain_suffix))


def _plain(text: str, limit: int) -> _Frag:
    """A plain line; each command, mention or link in it is an entity Telegram counts."""
    text = _cut(_clean(text), limit)
    return _Frag(escape(text), utf16_len(text), detected_entities(text))


def _sort_key(item: DigestItem) -> tuple[datetime, int]:
    """Sort key by time, then id, so items at the same time still come in one order."""
    published = item.published
    return (published if published.tzinfo else published.replace(tzinfo=UTC)), item.id


def _groups(
    items: Sequence[DigestItem], topic_order: Sequence[str], chosen: frozenset[str] | None
) -> list[tuple[str | None, list[DigestItem]]]:
    """Each item once, under its first shown topic in topic_order, else under None (other)."""
    shown = [t for t in dict.fromkeys(topic_order) if chosen is None or t in chosen]
    rank = {slug: i for i, slug in enumerate(shown, start=1)}
    other = len(shown) + 1
    buckets: list[list[DigestItem]] = [[] for _ in range(other + 1)]
    seen: set[int] = set()
    for item in items:  # every item of every digest of a round: kept to plain look-ups
        if item.id in seen:
            continue
        seen.add(item.id)
        bucket = other
        if item.marks is not None:
            bucket = 0  # keyword matches first, under their own heading
        else:
            for topic in item.topics:
                r = rank.get(topic, other)
                if r < bucket:
                    bucket = r
        buckets[bucket].append(item)
    slugs: list[str | None] = [ALERTS, *shown, None]
    return [
        (slug, sorted(bucket, key=_sort_key, reverse=True))
        for slug, bucket in zip(slugs, buckets, strict=True)
        if bucket
    ]


class _Parts:
    """Greedy packer: fills each message to Telegram's exact limits, splitting between items."""

    def __init__(self) -> None:
        self.done: list[str] = []
        self.html: list[str] = []
        self.units = 0
        self.entities = 0

    def _fits(self, units: int, entities: int) -> bool:
        """Whether this much more text and entities still fit the current message."""
        return self.units + units <= MAX_MESSAGE_UNITS and self.entities + entities <= MAX_ENTITIES

    def _push(self, sep: str, frag: _Frag) -> None:
        """Append a fragment, separated from what precedes it."""
        if self.html:
            self.html.append(sep)
            self.units += len(sep)
        self.html.append(frag.html)
        self.units += frag.units
        self.entities += frag.entities

    def add_header(self, header: _Frag) -> None:
        """Open the first message with the digest's header."""
        self._push("", header)

    def add_line(self, line: _Frag) -> bool:
        """Add an item under the heading already in this message; False when it does not fit.

        Called for every item of every digest of a round, so it is written out in full.
        """
        units, entities = self.units + 1 + line.units, self.entities + line.entities
        if units > MAX_MESSAGE_UNITS or entities > MAX_ENTITIES:
            return False
        self.html += ("\n", line.html)
        self.units, self.entities = units, entities
        return True

    def start_group(self, heading: _Frag, line: _Frag) -> None:
        """Add a heading with its first item, in a new message unless both fit here."""
        units = 2 + heading.units + 1 + line.units
        if self.html and not self._fits(units, heading.entities + line.entities):
            self.flush()
        self._push("\n\n", heading)
        self._push("\n", line)

    def add_footer(self, footer: _Frag) -> None:
        """End the digest with a line apart, in a new message unless it fits this one."""
        if self.html and not self._fits(2 + footer.units, footer.entities):
            self.flush()
        self._push("\n\n", footer)

    def flush(self) -> None:
        """Close the current message, if it has anything in it."""
        if self.html:
            self.done.append("".join(self.html))
        self.html, self.units, self.entities = [], 0, 0


def render_digest(
    items: Sequence[DigestItem],
    *,
    topic_order: Sequence[str],
    chosen_topics: frozenset[str] | None,
    topic_name: Callable[[str], str],
    tz: tzinfo,
    text: DigestText,
    now: datetime,
    footer: str = "",
) -> list[str]:
    """Render items as Telegram HTML messages grouped by topic, each within Telegram's limits.

    An item shows once, under its first chosen topic in topic_order (chosen_topics=None: any
    topic), else under text.other_heading at the end; newest first within a group. Messages
    split between items only, and a group that goes on repeats its heading with text.continued.
    """
    if not items:
        return []
    today = (now if now.tzinfo else now.replace(tzinfo=UTC)).astimezone(tz)
    parts = _Parts()
    if _clean(text.header):
        parts.add_header(_bold(text.header, HEADER_MAX))
    for slug, group in _groups(items, topic_order, chosen_topics):
        heading_text = text.alerts_heading if slug == ALERTS else text.other_heading
        name = (_clean(heading_text) or "—") if slug in (None, ALERTS) else topic_name(slug)
        name = _clean(name) or str(slug)
        heading = _bold(name, HEADING_MAX)
        for i, item in enumerate(group):
            line = _item(item, tz, today)
            if i and parts.add_line(line):
                continue
            if i:
                parts.flush()
                heading = _bold(name, HEADING_MAX, text.continued)
            parts.start_group(heading, line)
    if _clean(footer):
        parts.add_footer(_plain(footer, HEADING_MAX))
    parts.flush()
    return parts.done
