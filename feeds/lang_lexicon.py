"""Lexicons for the language detector, loaded from feeds/data/languages.toml.

Kazakh is written once, in proper Cyrillic; the forms it takes on a Russian keyboard and in
the Latin alphabets (2017 apostrophes, 2018 acutes, 2021 Turkic letters) are derived here,
so a word added to the data file is recognised in every spelling.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources

# Russian keyboard: each Kazakh letter becomes its nearest Russian one. Variants seen in
# the wild write ә as э and і as ы.
KK_FOLD = str.maketrans("әғқңөұүһі", "агкноуухи")
_FOLD_VARIANTS = (
    KK_FOLD,
    str.maketrans("әғқңөұүһі", "эгкноуухи"),
    str.maketrans("әғқңөұүһі", "агкноуухы"),
)
_LAT_2018 = {
    "а": "a", "ә": "á", "б": "b", "в": "v", "г": "g", "ғ": "ǵ", "д": "d", "е": "e",
    "ё": "ıo", "ж": "j", "з": "z", "и": "ı", "й": "ı", "к": "k", "қ": "q", "л": "l",
    "м": "m", "н": "n", "ң": "ń", "о": "o", "ө": "ó", "п": "p", "р": "r", "с": "s",
    "т": "t", "у": "ý", "ұ": "u", "ү": "ú", "ф": "f", "х": "h", "һ": "h", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "і": "i", "ь": "", "э": "e",
    "ю": "ıý", "я": "ıa",
}  # fmt: skip
_LAT_2021 = _LAT_2018 | {
    "ә": "ä", "ғ": "ğ", "и": "i", "й": "i", "ң": "ñ", "ө": "ö", "у": "u", "ұ": "ū",
    "ү": "ü", "ч": "ç", "ш": "ş", "щ": "ş", "ю": "iu", "я": "ia", "ц": "s",
}  # fmt: skip
_LAT_2017 = _LAT_2018 | {
    "ә": "a'", "ғ": "g'", "и": "i'", "й": "i'", "ң": "n'", "ө": "o'", "у": "y'",
    "ү": "u'", "ч": "c'", "ш": "s'", "щ": "s'", "ю": "i'y'", "я": "i'a",
}  # fmt: skip
_LATIN_SCHEMES = (_LAT_2018, _LAT_2021, _LAT_2017)

# Letters only some alphabets have, with the evidence each gives per language.
CYR_LETTERS: dict[str, dict[str, float]] = {
    "ә": {"kk": 1.5, "tt": 1.2, "ba": 1.2},
    "ғ": {"kk": 1.5, "ba": 1.5, "tg": 1.5, "uz": 1.5},
    "қ": {"kk": 1.5, "tg": 1.5, "uz": 1.5},
    # Shared Turkic letters lean Kazakh: Kazakh is by far the likeliest of them here.
    "ң": {"kk": 1.3, "ky": 1.0, "tt": 1.0, "ba": 1.0},
    "ө": {"kk": 1.3, "ky": 1.0, "tt": 1.0, "ba": 1.0, "mn": 1.0},
    "ү": {"kk": 1.3, "ky": 1.0, "tt": 1.0, "ba": 1.0, "mn": 1.0},
    "ұ": {"kk": 2.0},
    "һ": {"kk": 1.0, "tt": 1.2, "ba": 1.2},
    "і": {"kk": 1.3, "uk": 1.3, "be": 1.3},
    "ї": {"uk": 3.0},
    "є": {"uk": 2.5},
    "ґ": {"uk": 3.0},
    "ў": {"be": 2.5, "uz": 2.5},
    "җ": {"tt": 3.0},
    "ҡ": {"ba": 3.0},
    "ҙ": {"ba": 3.0},
    "ҫ": {"ba": 3.0},
    "ӣ": {"tg": 3.0},
    "ӯ": {"tg": 3.0},
    "ҷ": {"tg": 3.0},
    "ҳ": {"tg": 2.5, "uz": 2.5},
    **{c: {"sr": 3.0} for c in "јљњћђџѕ"},
    "ё": {"ru": 0.8, "be": 0.8},
    "ы": {lang: 0.3 for lang in ("ru", "kk", "ky", "tt", "ba", "mn", "be")},
    "э": {"ru": 0.3, "ky": 0.3, "mn": 0.5, "be": 0.3},
    "щ": {"ru": 0.5, "bg": 0.5, "uk": 0.5},
}
LAT_LETTERS: dict[str, dict[str, float]] = {
    "ǵ": {"kk": 2.0},
    "ý": {"kk": 1.5},
    "ı": {"kk": 1.0, "tr": 1.0},
    "ń": {"kk": 1.2, "pl": 0.8},
    "á": {"kk": 1.0, "es": 0.4, "pt": 0.4},
    "ó": {"kk": 0.8, "es": 0.4, "pl": 0.4},
    "ú": {"kk": 1.0, "es": 0.4},
    "ū": {"kk": 1.5},
    "ñ": {"kk": 0.8, "es": 1.0},
    "ä": {"kk": 0.8, "de": 1.0},
    "ö": {"kk": 0.5, "de": 0.8, "tr": 0.8},
    "ü": {"kk": 0.5, "de": 0.8, "tr": 0.8},
    "ğ": {"tr": 1.5, "kk": 0.8},
    "ş": {"tr": 1.5, "kk": 0.8},
    "ç": {"tr": 1.2, "fr": 0.6},
    "ß": {"de": 3.0},
    **{c: {"fr": 1.0} for c in "éèêàâôœ"},
    **{c: {"pt": 1.5} for c in "ãõ"},
    **{c: {"pl": 2.0} for c in "łśćżźąę"},
}
ARAB_LETTERS: dict[str, dict[str, float]] = {
    "\u0674": {"kk": 3.0},  # high hamza: Kazakh front-vowel mark
    "ۋ": {"kk": 1.0, "ug": 1.0},
    "ە": {"kk": 1.0, "ug": 1.0},
    "ۇ": {"kk": 1.0, "ug": 1.0},
    "ڭ": {"kk": 1.0, "ug": 1.0},
    "ى": {"kk": 0.5, "ug": 0.5, "ar": 0.3},
    **{c: {"ug": 2.0} for c in "ېۈھ"},
    "ۆ": {"kk": 0.5, "ug": 0.8},  # в in Kazakh, ö in Uyghur
    "ع": {"kk": 0.5, "ar": 0.3},  # Kazakh writes ғ with ع, Uyghur with غ
    "ح": {"kk": 0.4, "ar": 0.3},
    "غ": {"ug": 0.5, "ar": 0.3},
    "خ": {"ug": 0.5, "ar": 0.3},
    **{c: {"ar": 1.5} for c in "ةأإآؤثذضظطص"},
    **{c: {"fa": 1.5} for c in "کیژ"},
}


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Word sets per language code, plus the derived Kazakh spellings and ending rules."""

    words: dict[str, frozenset[str]]
    stems: dict[str, frozenset[str]]
    kk_folded_words: frozenset[str]
    kk_folded_stems: frozenset[str]
    kk_latin_words: frozenset[str]
    kk_latin_stems: frozenset[str]
    suffixes: dict[str, tuple[tuple[str, float], ...]]


def to_latin(word: str) -> set[str]:
    """Return a Kazakh Cyrillic word in each Latin alphabet in use since 2017."""
    return {"".join(scheme.get(ch, ch) for ch in word) for scheme in _LATIN_SCHEMES}


def _folds(word: str) -> set[str]:
    return {word.translate(table) for table in _FOLD_VARIANTS}


def _parse_suffixes(spec: str) -> tuple[tuple[str, float], ...]:
    rules: dict[str, float] = {}
    for item in spec.split():
        ending, _, weight = item.partition(":")
        rules[ending] = float(weight)
    return tuple(sorted(rules.items(), key=lambda rule: -len(rule[0])))


@functools.cache
def load_lexicon() -> Lexicon:
    """Load and derive the packaged lexicons once per process."""
    raw = tomllib.loads(
        resources.files("feeds").joinpath("data/languages.toml").read_text("utf-8")
    )
    words = {code: frozenset(v.get("words", "").split()) for code, v in raw.items()}
    stems = {code: frozenset(v.get("stems", "").split()) for code, v in raw.items()}
    words.pop("suffixes", None)
    stems.pop("suffixes", None)
    russian = words["ru"]
    kk_words, kk_stems = words["kk"], stems["kk"]
    # A derived form that is a Russian word, or too short to mean much, says nothing.
    folded_words = {f for w in kk_words for f in _folds(w) if f not in russian and len(f) > 2}
    folded_stems = {f for s in kk_stems for f in _folds(s)}
    latin_words = {lat for w in kk_words for lat in to_latin(w) if len(lat) > 2}
    latin_stems = {lat for s in kk_stems for lat in to_latin(s)}
    return Lexicon(
        words=words,
        stems=stems,
        kk_folded_words=frozenset(folded_words - kk_words),
        kk_folded_stems=frozenset(folded_stems - kk_stems),
        kk_latin_words=frozenset(latin_words - words["en"]),
        kk_latin_stems=frozenset(latin_stems),
        suffixes={code: _parse_suffixes(spec) for code, spec in raw["suffixes"].items()},
    )
