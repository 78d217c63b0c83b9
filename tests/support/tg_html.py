"""Telegram's HTML parse mode as the Bot API applies it (modelled on tdlib's parse_html).

Only Telegram's tags are accepted, tags must nest, `&lt; &gt; &amp; &quot;` and numeric
references are decoded (an unknown `&name;` stays literal text, as in Telegram), and entity
offsets are counted in UTF-16 code units. Errors carry Telegram's wording without the
"Bad Request: can't parse entities: " prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_KIND = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
}
TAGS = frozenset(_KIND)
_SPACES = " \t\r\n\v"
_SPECIAL = re.compile(r"[<&]")
_NAME = re.compile(r"[^ \t\r\n\v\0>]*")
_SPACE = re.compile(r"[ \t\r\n\v]*")
_ATTR_NAME = re.compile(r"[^ \t\r\n\v\0=>/\"']*")
_TOKEN = re.compile(r"[A-Za-z0-9.\-]*")
_ENTITY = re.compile(r"&(?:#x([0-9a-fA-F]{1,7})|#([0-9]{1,8})|([A-Za-z]+));?")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SIMPLE = "b|strong|i|em|u|ins|s|strike|del|code|pre|tg-spoiler|blockquote"
_SIMPLE_TAG = re.compile(rf'<(?:({_SIMPLE})>|a href="([^"]*)">|/({_SIMPLE}|a)>)')
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_URL_SCHEMES = frozenset({"http", "https", "tg", "ton", "ftp", "mailto"})


class HtmlError(ValueError):
    """Telegram's reason for refusing HTML markup, e.g. 'Unsupported start tag "x" at ...'."""


def utf16_len(text: str) -> int:
    """Return the length of text in UTF-16 code units, the unit Telegram counts in."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def decode_entity(match: re.Match[str]) -> str | None:
    """Return the character an HTML entity match stands for, or None if Telegram keeps it."""
    hexa, dec, name = match.groups()
    if name is not None:
        return _NAMED.get(name)
    code = int(hexa, 16) if hexa is not None else int(dec)
    if 0 < code < 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
        return chr(code)
    return None


def _decode_all(raw: str) -> str:
    return _ENTITY.sub(lambda m: decode_entity(m) or m.group(0), raw) if "&" in raw else raw


def _check_url(url: str) -> str | None:
    # Telegram drops (silently) a link whose URL it cannot accept.
    url = url.strip()
    scheme = _SCHEME.match(url)
    if scheme is not None:
        return url if scheme.group(1).lower() in _URL_SCHEMES and len(url) > 4 else None
    if not url or "." not in url or any(c in _SPACES for c in url):
        return None
    return "http://" + url


@dataclass(slots=True)
class _Open:
    tag: str
    arg: str
    start: int  # UTF-16 offset in the parsed text
    chars: int  # str offset in the parsed text


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.out: list[str] = []
        self.u16 = 0
        self.chars = 0
        self.stack: list[_Open] = []
        self.entities: list[dict] = []

    def error(self, template: str, pos: int) -> HtmlError:
        return HtmlError(template.format(len(self.text[:pos].encode())))

    def emit(self, piece: str) -> None:
        self.out.append(piece)
        self.u16 += utf16_len(piece)
        self.chars += len(piece)

    def run(self) -> tuple[str, list[dict]]:
        text, i, n = self.text, 0, len(self.text)
        while i < n:
            match = _SPECIAL.search(text, i)
            j = match.start() if match is not None else n
            if j > i:
                self.emit(text[i:j])
            if match is None:
                break
            if text[j] == "&":
                entity = _ENTITY.match(text, j)
                char = decode_entity(entity) if entity is not None else None
                self.emit(char or "&")
                i = entity.end() if char else j + 1
            elif (simple := _SIMPLE_TAG.match(text, j)) is not None:
                i = self.simple_tag(simple)
            elif j + 1 < n and text[j + 1] == "/":
                i = self.close_tag(j)
            else:
                i = self.open_tag(j)
        if self.stack:
            tag = self.stack[-1].tag
            raise HtmlError(f'Can\'t find end tag corresponding to start tag "{tag}"')
        return "".join(self.out), self.entities

    def simple_tag(self, match: re.Match[str]) -> int:
        # Fast path for the plain tags a digest is made of; anything else takes the full path.
        opened, href, closed = match.groups()
        if closed is None:
            arg = "" if href is None else _decode_all(href)
            self.push(_Open(opened or "a", arg, self.u16, self.chars), match.start())
            return match.end()
        if not self.stack or self.stack[-1].tag != closed:
            return self.close_tag(match.start())
        top = self.stack.pop()
        if self.u16 > top.start:
            self.add_entity(top)
        return match.end()

    def open_tag(self, j: int) -> int:
        text = self.text
        i = _NAME.match(text, j + 1).end()
        if i >= len(text):
            raise self.error("Unclosed start tag at byte offset {}", j)
        tag = text[j + 1 : i].lower()
        if tag not in TAGS:
            raise self.error(f'Unsupported start tag "{tag}" at byte offset {{}}', j)
        i, arg = self.attributes(tag, i, j)
        if tag == "span" and arg != "spoiler":
            raise self.error('Tag "span" must have class "tg-spoiler" at byte offset {}', j)
        self.push(_Open(tag, arg, self.u16, self.chars), j)
        return i + 1

    def push(self, tag: _Open, j: int) -> None:
        # A link cannot hold a link, and code shows its text as is: nothing may nest in it
        # (only <code class="language-..."> right inside <pre>). Telegram's own wording for this
        # refusal is not documented; the reason below is the fake's.
        opened = [o.tag for o in self.stack]
        if tag.tag == "a" and "a" in opened:
            raise self.error('Nested tag "a" inside "a" at byte offset {}', j)
        if "code" in opened or (
            "pre" in opened and not (tag.tag == "code" and opened[-1] == "pre")
        ):
            inside = "code" if "code" in opened else "pre"
            raise self.error(f'Tag "{tag.tag}" inside "{inside}" at byte offset {{}}', j)
        self.stack.append(tag)

    def attributes(self, tag: str, i: int, j: int) -> tuple[int, str]:
        text, n, arg = self.text, len(self.text), ""
        while text[i] != ">":
            i = _SPACE.match(text, i).end()
            if i < n and text[i] == ">":
                break
            k = _ATTR_NAME.match(text, i).end()
            name = text[i:k]
            if not name:
                raise self.error(f'Empty attribute name in the tag "{tag}" at byte offset {{}}', j)
            i = _SPACE.match(text, k).end()
            if i >= n:
                raise self.error(f'Unclosed start tag "{tag}" at byte offset {{}}', j)
            if text[i] != "=":
                if tag == "blockquote" and name == "expandable":
                    arg = "expandable"
                continue
            i = _SPACE.match(text, i + 1).end()
            if i >= n:
                raise self.error("Unclosed start tag at byte offset {}", j)
            value, i = self.value(i)
            if i >= n:
                raise self.error("Unclosed start tag at byte offset {}", j)
            arg = _argument(tag, name, value, arg)
        return i, arg

    def value(self, i: int) -> tuple[str, int]:
        text, n = self.text, len(self.text)
        quote = text[i]
        if quote not in "\"'":
            k = _TOKEN.match(text, i).end()
            if k < n and text[k] not in _SPACES and text[k] != ">":
                raise self.error("Unexpected end of name token at byte offset {}", i)
            return text[i:k].lower(), k
        end = text.find(quote, i + 1)
        if end < 0:
            return _decode_all(text[i + 1 :]), n
        return _decode_all(text[i + 1 : end]), end + 1

    def close_tag(self, j: int) -> int:
        text = self.text
        if not self.stack:
            raise self.error("Unexpected end tag at byte offset {}", j)
        k = _NAME.match(text, j + 2).end()
        end_name = text[j + 2 : k]
        i = _SPACE.match(text, k).end()
        if i >= len(text) or text[i] != ">":
            raise self.error("Unclosed end tag at byte offset {}", j)
        top = self.stack.pop()
        if end_name and end_name != top.tag:
            expected = f'expected "</{top.tag}>", found "</{end_name}>"'
            raise self.error(f"Unmatched end tag at byte offset {{}}, {expected}", j)
        if self.u16 > top.start:
            self.add_entity(top)
        return i + 1

    def add_entity(self, top: _Open) -> None:
        kind = _KIND[top.tag]
        entity = {"type": kind, "offset": top.start, "length": self.u16 - top.start}
        last = self.entities[-1] if self.entities else None
        same_span = last is not None and (last["offset"], last["length"]) == (
            entity["offset"],
            entity["length"],
        )
        if kind == "text_link":
            url = _check_url(top.arg or "".join(self.out)[top.chars :])
            if url is None:
                return
            entity["url"] = url
        elif kind == "custom_emoji":
            if not top.arg.isdigit():
                raise HtmlError("Invalid custom emoji identifier specified")
            entity["custom_emoji_id"] = top.arg
        elif kind == "blockquote" and top.arg:
            entity["type"] = "expandable_blockquote"
        elif kind == "code" and top.arg:
            entity["language"] = top.arg
        elif kind == "pre" and same_span and last["type"] == "code":
            last["type"] = "pre"  # <pre><code class="language-x"> is one pre entity
            return
        self.entities.append(entity)


def _argument(tag: str, name: str, value: str, current: str) -> str:
    if tag == "a" and name == "href":
        return value
    if tag == "code" and name == "class" and value.startswith("language-"):
        return value[len("language-") :]
    if tag == "span" and name == "class" and value.startswith("tg-"):
        return value[len("tg-") :]
    if tag == "tg-emoji" and name == "emoji-id":
        return value
    if tag == "blockquote" and name == "expandable":
        return "expandable"
    return current


def _strip(text: str, u16: int, entities: list[dict]) -> tuple[str, list[dict]]:
    # Telegram trims surrounding whitespace and moves the entities with the text.
    body = text.strip()
    if len(body) == len(text) or not entities:
        return body, entities
    lead = len(text) - len(text.lstrip())
    shift = utf16_len(text[:lead])
    total = u16 - shift - utf16_len(text[lead + len(body) :])
    kept = []
    for entity in entities:
        start = entity["offset"] - shift
        end = start + entity["length"]
        if shift == 0 and end <= total:
            kept.append(entity)
        elif min(end, total) > max(start, 0):
            start = max(start, 0)
            kept.append({**entity, "offset": start, "length": min(end, total) - start})
    return body, kept


def parse_html(text: str) -> tuple[str, list[dict]]:
    """Parse Telegram HTML into (plain text, entities sorted by offset) or raise HtmlError."""
    parser = _Parser(text)
    plain, entities = parser.run()
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return _strip(plain, parser.u16, entities)
