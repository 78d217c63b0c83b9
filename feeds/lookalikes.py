"""Repair words typed with wrong-script letters: Latin "x" in "xалық", Cyrillic "о" in "Cоmpany".

The rule, per word (a run of letters):
- A word with Cyrillic letters that have no Latin twin (л, ы, қ, ә, ф ...) and no Latin letters
  without a Cyrillic twin (b, n, s, ı, ý ...) is Cyrillic: its Latin look-alikes become Cyrillic.
- The mirror case is Latin: its Cyrillic look-alikes become Latin ("Cоmpany" -> "Company").
- A word made only of look-alikes ("TОО", "AО") is taken as Cyrillic, the script of our readers.
- A word with unmistakable letters of both scripts ("iPhoneды") is left alone: it is a real mix.
Pure Latin words (English, "Qazaqstan", "saılaý") and pure Cyrillic words are never touched, and
neither are URLs, hashtags, @mentions, words glued to digits, or words after "&", "<" or "/".
A lone lowercase Latin "c", "o", "y", "a" or "k" between Cyrillic words ("передал c 1 января") is
the Russian preposition typed on the wrong layout and becomes Cyrillic.
"""

from __future__ import annotations

import re

# Latin letter -> the Cyrillic letter it is mistaken for (ə/ǝ/ɵ/ë are one-way: the Cyrillic
# ә/ө/ё are ordinary Kazakh/Russian letters, so they never turn into Latin).
_LAT_TO_CYR = dict(
    zip(
        "acekhiopxyABCEHIKMOPTXYəǝɵëƏƟË",
        "асекһіорхуАВСЕНІКМОРТХУәәөёӘӨЁ",
        strict=True,
    )
)
# Cyrillic letter -> Latin twin; the last eight are non-Russian/Kazakh letters seen only as fakes.
_CYR_TO_LAT = dict(
    zip(
        "асекһіорхуАВСЕНІКМОРТХУѕЅјЈԁԛԝӏ",
        "acekhiopxyABCEHIKMOPTXYsSjJdqwl",
        strict=True,
    )
)
_TO_CYR = str.maketrans(_LAT_TO_CYR)
_TO_LAT = str.maketrans(_CYR_TO_LAT)

_CYR = "\u0400-\u052f"
_LAT = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02af\u1e00-\u1eff"
_LAT_WEAK = "".join(_LAT_TO_CYR)
_CYR_WEAK = "".join(_CYR_TO_LAT)

# Led by a character class, so the regex engine skips non-Latin text quickly.
_ADJACENT = re.compile(f"[{_LAT}](?:(?<=[{_CYR}].)|(?=[{_CYR}]))")
_CYR_STRONG = re.compile(f"(?![{_CYR_WEAK}])[{_CYR}]")
_LAT_STRONG = re.compile(f"(?![{_LAT_WEAK}])[{_LAT}]")
# A URL/hashtag/mention is consumed whole so its words stay as they are; otherwise a mixed word:
# it must start a run of letters (the lookbehind), which keeps the scan linear.
_MIXED_WORD = re.compile(
    r"(?i:https?://|www\.)\S*|[#@]\w+"
    rf"|(?P<w>(?<![\w&<#/@])[^\W\d_]*?(?:[{_CYR}][{_LAT}]|[{_LAT}][{_CYR}])[^\W\d_]*)"
)
_LONE_LETTERS = re.compile(
    rf" (?:(?<=[{_CYR}] )|(?<=[{_CYR}][,;:] ))[acoyk](?: [acoyk])*(?= (?:[{_CYR}]|\d))"
)


def _fix_word(match: re.Match[str]) -> str:
    word = match.group("w")
    if word is None:
        return match.group()
    cyr_strong = _CYR_STRONG.search(word) is not None
    lat_strong = _LAT_STRONG.search(word) is not None
    if cyr_strong and lat_strong:
        return word
    return word.translate(_TO_LAT if lat_strong else _TO_CYR)


def repair_words(text: str) -> str:
    """Fix the script of mixed-script words; pure words and URLs stay as they are."""
    if _ADJACENT.search(text) is None:
        return text
    return _MIXED_WORD.sub(_fix_word, text)


def repair_lone_letters(text: str) -> str:
    """Turn a lone Latin c/o/y/a/k between Cyrillic words into the Cyrillic preposition."""
    return _LONE_LETTERS.sub(lambda m: m.group().translate(_TO_CYR), text)


def repair_lookalikes(text: str) -> str:
    """Replace wrong-script letters inside words, so "xалық" reads and matches as "халық"."""
    return repair_lone_letters(repair_words(text))
