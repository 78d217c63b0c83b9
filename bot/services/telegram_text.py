"""Telegram's HTML parse mode as Telegram sees it: escaping, and length and entity counting.

The counting follows TDLib's `parse_html` and `fix_formatted_text` (td/telegram/MessageEntity.cpp),
which the Bot API server runs on every `parse_mode=HTML` text before it checks the limits.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_left
from dataclasses import dataclass

MAX_MESSAGE_UNITS = 4096  # UTF-16 code units after entity parsing and trimming
MAX_ENTITIES = 100  # formatting entities past this one silently become plain text

# Bold-like entities that TDLib cuts in pieces wherever a link or code span starts or ends.
_SPLITTABLE = frozenset(
    ["b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "span", "tg-spoiler"]
)
_CONTINUOUS = frozenset(["a", "pre", "code", "tg-emoji"])
_TAGS = _SPLITTABLE | _CONTINUOUS | {"blockquote"}
_HIDDEN_DATA = frozenset(("a", "pre"))  # kept even when their text is only spaces
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

_TAG = re.compile(r"<(/?)([^\s>]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_ATTR = re.compile(r"\s*([^\s=>]+)\s*=\s*(\"[^\"]*\"|'[^']*'|[A-Za-z0-9.-]+)")
_REF = re.compile(r"&(?:#x([0-9a-fA-F]*)|#([0-9]*)|([a-zA-Z]*))(;?)")
_TEXT = re.compile(r"[^<&]+")
# TDLib turns C0 controls into spaces and drops CR, U+2028..U+202E and three combining marks.
_CONTROLS = {c: " " for c in (*range(0, 10), 11, 12, *range(14, 32))}
_DROPPED = re.compile("[\r\u2028-\u202e\u030a\u0333\u033f]")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
# What TDLib's find_entities marks by itself in plain text outside links and code: URLs,
# emails, @mentions, #hashtags, $CASHTAGs and /commands. Each counts against the 100 as well,
# so a title full of hashtags can push a link past the 100th entity. The pattern errs on the
# side of finding more, which only ends a message part sooner.
_DETECTED = re.compile(
    r"\b(?:https?://)?(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}(?::\d+)?(?:/[^\s<>\"]*)?"
    r"|\b[\w.+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}\b"
    r"|(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}\b"
    r"|(?<![\w#])#\w*[^\W\d]\w*"
    r"|(?<![\w$])\$[A-Z]{1,8}\b"
    r"|(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])"
)


def escape(text: str) -> str:
    """Escape text for Telegram HTML, safe both between tags and inside a quoted attribute."""
    return html.escape(text, quote=True)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of every Telegram text limit."""
    return len(text.encode("utf-16-le", "surrogatepass")) >> 1


@dataclass(slots=True)
class _Span:
    tag: str
    start: int
    end: int
    linked: bool


def _decode_ref(markup: str, pos: int) -> tuple[str, int] | None:
    """Decode one character reference the way TDLib does, or None when it stays a literal '&'."""
    m = _REF.match(markup, pos)
    if m is None:  # pragma: no cover - the pattern always matches at '&'
        return None
    hex_digits, dec_digits, name, _semi = m.groups()
    if name is not None:
        char = _NAMED.get(name)
    else:
        digits = hex_digits if hex_digits is not None else dec_digits
        code = int(digits, 16 if hex_digits is not None else 10) if digits else 0
        too_long = m.end(2 if hex_digits is None else 1) - pos >= 10
        char = None if code == 0 or code >= 0x10FFFF or too_long else chr(code)
        if char is not None and 0xD800 <= code <= 0xDFFF:
            raise ValueError(f"HTML entity decodes to a lone surrogate at {pos}")
    return None if char is None else (char, m.end())


def _open_tag(m: re.Match[str], pos: int) -> tuple[str, bool]:
    """Validate a start tag; return its name and whether a link would really be made."""
    name = m.group(2).lower()
    if name not in _TAGS:
        raise ValueError(f"unsupported start tag {name!r} at {pos}")
    href, attrs, at = None, m.group(3), 0
    while at < len(attrs.rstrip()):
        a = _ATTR.match(attrs, at)
        if a is None:
            raise ValueError(f"bad attribute in tag {name!r} at {pos}")
        if name == "a" and a.group(1) == "href":
            value = a.group(2)
            href = html.unescape(value[1:-1]) if value[0] in "\"'" else value.lower()
        at = a.end()
    scheme = _SCHEME.match(href or "")
    linked = name != "a" or scheme is None or scheme.group(1).lower() in {"http", "https", "tg"}
    return name, linked


def _parse(markup: str) -> tuple[str, list[_Span]]:
    """Split Telegram HTML into its decoded text and entity spans (offsets in code points)."""
    out: list[str] = []
    stack: list[tuple[str, int, bool]] = []
    spans: list[_Span] = []
    size = pos = 0
    while pos < len(markup):
        if markup[pos] == "&":
            piece, pos = _decode_ref(markup, pos) or ("&", pos + 1)
        elif markup[pos] != "<":
            m = _TEXT.match(markup, pos)
            piece, pos = m.group(), m.end()  # type: ignore[union-attr]
        else:
            m = _TAG.match(markup, pos)
            if m is None:
                raise ValueError(f"unclosed tag at {pos}")
            if not m.group(1):
                stack.append((*_open_tag(m, pos), size))
            elif not stack or m.group(2) not in ("", stack[-1][0]) or m.group(3).strip():
                raise ValueError(f"unexpected end tag at {pos}")
            else:
                tag, linked, start = stack.pop()
                if size > start:
                    spans.append(_Span(tag, start, size, linked))
            piece, pos = "", m.end()
        out.append(piece)
        size += len(piece)
    if stack:
        raise ValueError(f"no end tag for <{stack[-1][0]}>")
    return "".join(out), spans


def _clean(text: str, spans: list[_Span]) -> str:
    """Apply TDLib's input cleaning, moving the spans over the dropped characters."""
    text = text.translate(_CONTROLS)
    dropped = [m.start() for m in _DROPPED.finditer(text)]
    if dropped:
        for span in spans:
            span.start -= bisect_left(dropped, span.start)
            span.end -= bisect_left(dropped, span.end)
        text = _DROPPED.sub("", text)
    return text


def _kept(text: str, span: _Span) -> bool:
    """Whether TDLib keeps the entity: a real link, with something visible inside."""
    part = text[span.start : span.end]
    if not span.linked or not part:
        return False
    return bool(part.strip(" \n")) or (span.tag in _HIDDEN_DATA and " " in part)


def _first_char(text: str, span: _Span) -> int:
    """Where the entity starts once TDLib moves bold-like entities past leading blanks."""
    if span.tag not in _SPLITTABLE:
        return span.start
    part = text[span.start : span.end]
    return span.start + len(part) - len(part.lstrip(" \n"))


def detected_entities(text: str) -> int:
    """How many entities Telegram finds by itself in this plain text (no tags in it)."""
    return sum(1 for _ in _DETECTED.finditer(text))


def _detected(body: str, spans: list[_Span]) -> int:
    """How many entities Telegram will find by itself in `body`, outside links and code."""
    blocked = [(s.start, s.end) for s in spans if s.tag in _CONTINUOUS]
    return sum(
        not any(a < m.end() and m.start() < b for a, b in blocked)
        for m in _DETECTED.finditer(body)
    )


def telegram_measure(markup: str) -> tuple[int, int]:
    """Return (UTF-16 length, entity count) of HTML as Telegram will store it; raise on bad HTML.

    The count is what Telegram sends on: bold-like tags cut by links count once per piece,
    and the entities it detects by itself (hashtags, mentions, URLs, commands) count too.
    """
    text, spans = _parse(markup)
    text = _clean(text, spans)
    spans = [s for s in spans if _kept(text, s)]
    body = text.rstrip(" \n")
    if not body:
        return 0, 0
    spans = [s for s in spans if s.start < len(body)]
    first = min((_first_char(text, s) for s in spans), default=len(body))
    lead = min(first, len(body) - len(body.lstrip(" \n")))
    cuts = sorted({p for s in spans if s.tag in _CONTINUOUS for p in (s.start, s.end)})
    count = 0
    for s in spans:
        inner = bisect_left(cuts, s.end) - bisect_left(cuts, s.start + 1)
        count += 1 + inner if s.tag in _SPLITTABLE else 1
    return utf16_len(body[lead:]), count + _detected(body, spans)
