"""Turn feed titles and summaries (HTML, entities, boilerplate, mixed scripts) into plain text.

clean_text runs for every item of every poll, so it works with precompiled regexes rather than an
HTML parser: feeds give fragments, not documents, and on them the regexes strip markup 3-4 times
faster than html.parser. Output is one line of text with single spaces and no markup, and cleaning
it again changes nothing (markup decoded twice, "&amp;quot;", comes out fully decoded).
"""

from __future__ import annotations

import html
import re
import unicodedata

from feeds.boilerplate import Boilerplate
from feeds.lookalikes import repair_lone_letters, repair_lookalikes, repair_words

__all__ = ["Boilerplate", "clean_text", "repair_lookalikes"]

# Tags that end a paragraph: they become line breaks, which bound boilerplate tails.
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption", "figure",
        "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "ol", "p",
        "pre", "section", "table", "tbody", "thead", "tfoot", "tr", "ul",
    }
)  # fmt: skip
# Tags inside a word's flow: removed without a space, so "по <a>ссылке</a>." stays "по ссылке."
_INLINE_TAGS = frozenset(
    {
        "a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "data", "del", "dfn", "em", "font",
        "i", "ins", "kbd", "mark", "nobr", "q", "s", "samp", "small", "span", "strike", "strong",
        "sub", "sup", "time", "tt", "u", "var", "wbr",
    }
)  # fmt: skip
# Elements whose content is never text for a reader. Only script and style swallow the rest of
# the text when their end tag is missing (as in browsers); the others need their end tag.
_RAW_TEXT = "script|style"
_HIDDEN = "noscript|template|iframe|object|svg|head|button|select|form|nav"

_CDATA_MARKERS = re.compile(r"<!\[[A-Za-z]*\[|\]\]>")
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_HIDDEN_ELEMENT = re.compile(
    rf"<({_RAW_TEXT})(?=[\s/>])[^>]*>.*?(?:</\1\s*>|\Z)|<({_HIDDEN})(?=[\s/>])[^>]*>.*?</\2\s*>",
    re.DOTALL | re.IGNORECASE,
)
# A tag: quoted attribute values may hold ">"; a tag with a broken quote still ends at ">".
_TAG = re.compile(
    r"""<(?:/?([A-Za-z][\w:.-]*)(?:[^>"']*(?:(?:"[^"]*"|'[^']*')[^>"']*)*>|[^<>]*>)"""
    r"|[!?/][^<>]*>)"
)
_AMP_CHAIN = re.compile(r"&(?:amp;)+")
# Invisible characters that only split words: soft hyphen, zero-width space, word joiner, BOM,
# direction marks, C0/C1 controls (but not the whitespace ones) and lone surrogates, which
# cannot even be encoded to UTF-8 for the database or Telegram.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0e-\x1b\x7f\x80-\x84\x86-\x9f\u00ad\u180e\u200b\u200e\u200f\u2060-\u2064"
    "\u202a-\u202e\u2066-\u2069\ufeff\ufff9-\ufffb\ufffe\uffff\ud800-\udfff]"
)
_NO_MARKUP = str.maketrans("", "", "<>&")
_MAX_ROUNDS = 8

_DEFAULT_BOILERPLATE = Boilerplate.load()


def _tag_replacement(match: re.Match[str]) -> str:
    name = (match.group(1) or "").lower()
    if name in _INLINE_TAGS:
        return ""
    return "\n" if name in _BLOCK_TAGS else " "


def _nfc(text: str) -> str:
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def _strip_markup(text: str) -> str:
    if "<![" in text or "]]>" in text:
        text = _CDATA_MARKERS.sub("", text)
    text = _COMMENT.sub("", text)
    text = _HIDDEN_ELEMENT.sub("\n", text)
    return _TAG.sub(_tag_replacement, text)


def _normalize_space(text: str) -> str:
    """Single spaces inside lines, one "\\n" between non-empty lines, nothing at the ends."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _settle(text: str) -> str:
    """Decode, strip, normalize and repair until nothing changes: "&lt;b&gt;" takes two rounds."""
    settled = False  # True when the space/NFC/repair steps would leave `text` as it is
    for round_ in range(2 * _MAX_ROUNDS):
        before = text
        if "<" in text:
            text = _strip_markup(text)
        if "&" in text:
            text = html.unescape(_AMP_CHAIN.sub("&", text))
        text = _INVISIBLE.sub("", text)
        if settled and text == before:
            return text
        text = repair_words(_nfc(_normalize_space(text)))
        # Repair can make a pair NFC composes ("Жy" + breve -> "Жу" + breve = "Жў").
        settled = unicodedata.is_normalized("NFC", text)
        if round_ >= _MAX_ROUNDS:
            # Adversarial nesting ("<<<b>b>b>...") takes a round per level: after enough rounds,
            # drop the markup characters themselves so no tag or entity can form again.
            stripped = text.translate(_NO_MARKUP)
            settled = settled and stripped == text
            text = stripped
        elif not settled:
            text = unicodedata.normalize("NFC", text)
    return text


def clean_text(raw: str, boilerplate: Boilerplate | None = None) -> str:
    """Plain one-line text from a feed's title or summary: no HTML, entities or boilerplate."""
    rules = boilerplate or _DEFAULT_BOILERPLATE
    text = _settle(raw)
    if "\n" in text:
        text = " ".join(filter(None, map(rules.drop, text.split("\n"))))
    text = rules.drop(text)
    while True:
        repaired = repair_lone_letters(text)
        if repaired == text:
            return text
        text = rules.drop(repaired)
