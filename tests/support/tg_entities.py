"""The entities Telegram stores besides the tags: bold-like ones cut by links and code, and
the ones it finds by itself (@mention, #hashtag, $CASHTAG, /bot_command, URLs, emails).

TDLib (td/telegram/MessageEntity.cpp, fix_formatted_text and find_entities) splits a bold,
italic, underline, strikethrough or spoiler entity wherever a link, code or pre entity starts
or ends inside it, so `<b>x <a href="...">y</a> z</b>` is stored as four entities; and it adds
the entities it detects in plain text outside links and code. All of them count against the
100 entities Telegram keeps (https://core.telegram.org/bots/api#formatting-options; past
the 100th they are dropped).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right

from tests.support.tg_html import utf16_len

_SPLITTABLE = frozenset({"bold", "italic", "underline", "strikethrough", "spoiler"})
_CONTINUOUS = frozenset({"text_link", "code", "pre", "custom_emoji"})
_NO_AUTO = _CONTINUOUS  # Telegram finds nothing inside a link or code
_AUTO = re.compile(
    r"(?P<url>\b(?:https?://)?(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}(?::\d+)?(?:/[^\s<>\"]*)?)"
    r"|(?P<email>\b[\w.+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}\b)"
    r"|(?<![\w@])(?P<mention>@[A-Za-z][A-Za-z0-9_]{3,31})\b"
    r"|(?<![\w#])(?P<hashtag>#\w*[^\W\d]\w*)"
    r"|(?<![\w$])(?P<cashtag>\$[A-Z]{1,8})\b"
    r"|(?<![\w/])(?P<bot_command>/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?)(?![\w/])"
)
_KINDS = ("email", "url", "mention", "hashtag", "cashtag", "bot_command")


def split_at_links(entities: list[dict]) -> list[dict]:
    """Cut bold-like entities wherever a link or code entity starts or ends inside them."""
    cuts = sorted({p for e in entities if e["type"] in _CONTINUOUS for p in _ends(e)})
    if not cuts:
        return entities
    out = []
    for entity in entities:
        start, end = _ends(entity)
        inner = cuts[bisect_right(cuts, start) : bisect_left(cuts, end)]
        if entity["type"] not in _SPLITTABLE or not inner:
            out.append(entity)
            continue
        for a, b in zip([start, *inner], [*inner, end], strict=True):
            out.append({**entity, "offset": a, "length": b - a})
    return out


def auto_entities(text: str, entities: list[dict]) -> list[dict]:
    """Return the entities Telegram detects in the plain text outside links and code."""
    blocked = [_ends(e) for e in entities if e["type"] in _NO_AUTO]
    found = []
    for match in _AUTO.finditer(text):
        kind = next(k for k in _KINDS if match.group(k) is not None)
        start = utf16_len(text[: match.start()])
        end = start + utf16_len(match.group())
        if any(a < end and start < b for a, b in blocked):
            continue
        found.append({"type": kind, "offset": start, "length": end - start})
    return found


def all_entities(text: str, entities: list[dict]) -> list[dict]:
    """Tag entities split as Telegram splits them, plus detected ones, sorted by offset."""
    merged = split_at_links(entities) + auto_entities(text, entities)
    merged.sort(key=lambda e: (e["offset"], -e["length"]))
    return merged


def _ends(entity: dict) -> tuple[int, int]:
    return entity["offset"], entity["offset"] + entity["length"]
