"""Language of a news item: Kazakh, Russian, English or other.

An explainable scorer. Every word adds evidence for the languages it looks like: a
lexicon hit (function words, news stems), letters only some alphabets have, and word
endings. Kazakh is recognised in proper Cyrillic, typed on a Russian keyboard, in the Latin
alphabets and in the Arabic script; names and quotes count less, so a Russian item that
quotes «Халық кеңесі» or names Тоқаев stays Russian. The feed's declared language only
breaks near ties.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import defaultdict

from feeds.lang_lexicon import (
    ARAB_LETTERS,
    CYR_LETTERS,
    KK_FOLD,
    LAT_LETTERS,
    Lexicon,
    load_lexicon,
)
from feeds.models import Lang

_APOSTROPHES = str.maketrans({c: "'" for c in "’ʼ`´‘ʻ′"})
_LAT_TO_CYR = str.maketrans("ABCEHKMOPTXYIaceopxyikhmtƏəƟɵ", "АВСЕНКМОРТХУІасеорхуікһмтӘәӨө")
_CYR_TO_LAT = str.maketrans("АВСЕНКМОРТХУІасеорхуікмт", "ABCEHKMOPTXYIaceopxyikmt")
# Legacy Kazakh fonts borrowed Macedonian letters for қ and ғ.
_LEGACY = str.maketrans("ќѓЌЃ", "қғҚҒ")

_KK_ONLY = frozenset("әғқұі")
_SLAVIC = frozenset("вфцчщь")  # letters native Kazakh words never have
_ROUNDED = frozenset("өүң")
_LAT_FOLD = str.maketrans(
    "aáäbdeéfgǵğhıijklmnńñoóöpqrsştuúüūývwxyz",
    "ааабдеефгггхиижклмнннооопкрсштууууувухыз",
)
# Turkish writes case endings after an apostrophe on names: Kazakistan'da, Erdoğan'ın.
_TR_CASE = re.compile(r"'(y?[aeıiuü]|d[ae]n?|t[ae]n?|n[ıiuü]n|[ıiuü]n|y?l[ae]|d[ae]ki|t[ae]ki)$")
_EN_ENDINGS = ("ing", "tion", "tions", "ed", "ly", "ment", "ness", "ers", "ies", "'s")
_SERVED = {"kk": Lang.KK, "ru": Lang.RU, "en": Lang.EN}
_HINTS = {"kz": "kk", "kaz": "kk", "rus": "ru", "eng": "en", "ukr": "uk", "kir": "ky"}

# One pass yields each word with the non-letters before it; odd apostrophes become ' first.
_TOKEN = re.compile(r"([\W\d_]*+)([^\W\d_]+(?:'[^\W\d_]+)*)?")
_ODD_APOSTROPHE = re.compile("[’ʼ`´‘ʻ′]")
# Word kinds, and their weights outside and inside quotes: names and acronyms count less.
_PLAIN, _CAPITALISED, _ACRONYM = 0, 1, 2
_WEIGHTS = ((1.0, 1.0 * 0.5, 1.0 * 0.3), (0.25, 0.25 * 0.5, 0.25 * 0.3))
# Turkic letters a word has, as bits, for the alphabet bonus.
_HAS_ROUNDED, _HAS_SCHWA, _HAS_KK_OTHER = 1, 2, 4
_LETTER_BITS = (
    (_HAS_ROUNDED, _ROUNDED),
    (_HAS_SCHWA, frozenset("ә")),
    (_HAS_KK_OTHER, _KK_ONLY - {"ә"}),
)

Scores = tuple[tuple[str, float], ...]
Tokens = list[tuple[str, str]]


def tokens(text: str) -> Tokens:
    """A text's words, each with the non-letters before it (which tell quotes and breaks).

    Language detection and topic matching both read these, so a text is split once.
    """
    found = _TOKEN.findall(_prepare(text))
    while found and not found[-1][1]:
        found.pop()  # the text's end: trailing non-letters, or nothing
    return found


def detect(title: str, summary: str = "", hint: str | None = None) -> Lang:
    """Return the language of an item from its title and lead, using the feed's hint on ties."""
    return detect_tokens(tokens(title), tokens(summary), hint)


def detect_tokens(title: Tokens, summary: Tokens, hint: str | None = None) -> Lang:
    """`detect` on texts already split by `tokens`."""
    totals, letters, rounded = _totals(title, summary)
    bonus = _alphabet_bonus(letters, rounded)
    if bonus:  # rare; the bonus counts first, so sums and ties come out as they always have
        totals = _totals(title, summary, bonus)[0]
    hinted = _hint_code(hint)
    if hinted:
        totals[hinted] += 1.0
    top = max(totals.values(), default=0.0)
    if top <= 0:
        return _SERVED.get(hinted or "", Lang.OTHER)
    # The hint wins a tie; otherwise the first language to reach the top score does.
    if hinted and totals[hinted] == top:
        return _SERVED.get(hinted, Lang.OTHER)
    best = next(lang for lang, total in totals.items() if total == top)
    return _SERVED.get(best, Lang.OTHER)


def _totals(
    title: Tokens, summary: Tokens, start: dict[str, float] | None = None
) -> tuple[defaultdict[str, float], int, float]:
    """Weighted evidence per language from the first words of the title and the lead.

    Also returns the Turkic letters the words have (bits) and the weight of the words with
    rounded vowels, for the alphabet bonus. Names, acronyms and quotes count less.
    """
    totals: defaultdict[str, float] = defaultdict(float, start or {})
    letters, rounded = 0, 0.0
    for split, limit in ((title, 40), (summary, 80)):
        quoted = brk = False
        first = True
        for gap, word in split[:limit]:
            if gap != " ":  # a plain space, by far the commonest gap, changes nothing
                quoted, brk = _gap_effect(gap)[quoted]
            kind, scores, mask = _word_evidence(word)
            if kind == _CAPITALISED and (brk or first):
                kind = _PLAIN
            weight = _WEIGHTS[quoted][kind]
            if mask:
                letters |= mask
                if mask & _HAS_ROUNDED:
                    rounded += weight
            for lang, score in scores:
                totals[lang] += score * weight
            brk = first = False
    return totals, letters, rounded


def _alphabet_bonus(letters: int, rounded: float) -> dict[str, float]:
    """Which Turkic letters a text uses at all: ө ү ң without ә қ ғ ұ і is Kyrgyz-like."""
    if letters & _HAS_ROUNDED and not letters & (_HAS_SCHWA | _HAS_KK_OTHER):
        return {"ky": min(6.0, 1.5 * rounded), "mn": 1.0}
    if letters & _HAS_SCHWA and not letters & _HAS_KK_OTHER:
        return {"tt": 1.5}
    return {}


def _prepare(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    # translate() is slow on non-ASCII text; most texts have no odd apostrophes at all.
    return text.translate(_APOSTROPHES) if _ODD_APOSTROPHE.search(text) else text


def _hint_code(hint: str | None) -> str | None:
    if not hint:
        return None
    code = hint.strip().lower().replace("_", "-").split("-")[0]
    return _HINTS.get(code, code) or None


@functools.lru_cache(maxsize=4096)
def _gap_effect(gap: str) -> tuple[tuple[bool, bool], tuple[bool, bool]]:
    """Quote state after a gap between words, indexed by the state before, and a break flag."""
    brk = any(ch in '.!?:;—–«»"“”(|\n' for ch in gap)
    return (_quote_state(gap, False), brk), (_quote_state(gap, True), brk)


def _quote_state(gap: str, quoted: bool) -> bool:
    for ch in gap:
        if ch in "«“„":
            quoted = True
        elif ch in "»”":
            quoted = False
        elif ch == '"':
            quoted = not quoted
    return quoted


@functools.lru_cache(maxsize=200_000)
def _word_evidence(word: str) -> tuple[int, Scores, int]:
    """How a word as written counts: its capitalisation, its scores and its Turkic letters."""
    if word.isupper() and len(word) <= 4:
        kind = _ACRONYM
    elif word[0].isupper() and not word.isupper():
        kind = _CAPITALISED
    else:
        kind = _PLAIN
    repaired = normalized_word(word)
    mask = sum(bit for bit, letters in _LETTER_BITS if not letters.isdisjoint(repaired))
    return kind, _word_scores(repaired), mask


@functools.lru_cache(maxsize=200_000)
def normalized_word(word: str) -> str:
    """One word with Latin look-alikes inside Cyrillic undone (and the reverse), lower-cased."""
    cyr = sum(1 for ch in word if "\u0400" <= ch <= "\u052f")
    if cyr:
        lat = sum(1 for ch in word if ch.isascii() or ch in "əƏɵƟ")
        if lat:
            word = word.translate(_LAT_TO_CYR) if cyr >= lat else word.translate(_CYR_TO_LAT)
        word = word.translate(_LEGACY)
    return word.lower().replace("ё", "е") if cyr else word.lower()


@functools.lru_cache(maxsize=200_000)
def _word_scores(word: str) -> Scores:
    """Evidence one lower-cased word gives for each language it may belong to."""
    first = word[0]
    if "\u0400" <= first <= "\u052f":
        scores = _cyrillic_scores(word, load_lexicon())
    elif first.isascii() or "\u00c0" <= first <= "\u024f" or first == "'":
        scores = _latin_scores(word, load_lexicon())
    elif "\u0600" <= first <= "\u06ff" or "\ufb50" <= first <= "\ufeff":
        scores = _arabic_scores(word)
    else:
        scores = {"xx": 1.0 + len(word) / 3}
    return tuple((lang, score) for lang, score in scores.items() if score)


def _letter_scores(word: str, table: dict[str, dict[str, float]]) -> defaultdict[str, float]:
    """Letters only some alphabets have: the strongest counts, each further one adds a bit."""
    found: defaultdict[str, list[float]] = defaultdict(list)
    for ch in set(word):
        for lang, weight in table.get(ch, {}).items():
            found[lang].append(weight)
    # Independent of the order letters are met in, so the result is the same in every run.
    scores: defaultdict[str, float] = defaultdict(float)
    for lang, weights in found.items():
        scores[lang] = min(2.5, max(weights) + 0.3 * (len(weights) - 1))
    return scores


def _ending(word: str, rules: tuple[tuple[str, float], ...]) -> float:
    for ending, weight in rules:
        if word.endswith(ending) and len(word) - len(ending) >= 2:
            return weight
    return 0.0


def _has_stem(word: str, stems: frozenset[str]) -> bool:
    return any(word[:n] in stems for n in range(4, min(len(word), 12) + 1))


def _cyrillic_scores(word: str, lex: Lexicon) -> defaultdict[str, float]:
    scores = _letter_scores(word, CYR_LETTERS)
    folded = word.translate(KK_FOLD)
    for lang, words in lex.words.items():
        if word in words:
            scores[lang] += 2.5
        elif _has_stem(word, lex.stems[lang]):
            scores[lang] += 1.8
    if word not in lex.words["kk"]:
        if folded in lex.kk_folded_words or word in lex.kk_folded_words:
            scores["kk"] += 2.2
        elif _has_stem(word, lex.kk_folded_stems) or _has_stem(folded, lex.kk_folded_stems):
            scores["kk"] += 1.6
    for lang, rules in lex.suffixes.items():
        scores[lang] += _ending(folded if lang == "kk" else word, rules)
    # Kazakh endings are Kipchak endings: Kyrgyz shares most of them.
    scores["ky"] += 0.8 * _ending(folded, lex.suffixes["kk"])
    _orthography(word, folded, scores)
    return scores


def _orthography(word: str, folded: str, scores: defaultdict[str, float]) -> None:
    """Letter pairs Russian spelling never writes, and Kyrgyz/Mongolian long vowels."""
    if any(pair in folded for pair in ("жы", "шы", "чы", "щы", "кы", "гы", "уы")):
        scores["kk"] += 0.9
        scores["ky"] += 0.6
    if any(pair in word for pair in ("оо", "өө", "үү", "ээ", "уу")):
        scores["ky"] += 1.2
        scores["mn"] += 1.2
    if _SLAVIC & set(word):
        for lang in ("ru", "uk", "be", "bg", "sr"):
            scores[lang] += 0.5
    if "ъ" in word:
        scores["ru" if re.search("ъ[еёюя]", word) else "bg"] += 1.2
    if word[0] == "э":
        scores["ky"] += 0.4
        scores["mn"] += 0.4
    elif re.search(r"[бвгджзйклмнпрстфхцчшщ]э", word) and not word.startswith("мэр"):
        scores["kk"] += 0.6


def _latin_scores(word: str, lex: Lexicon) -> defaultdict[str, float]:
    scores = _letter_scores(word, LAT_LETTERS)
    for lang in ("en", "tr", "uz_latn", "de", "fr", "es", "it", "pt", "pl"):
        if word in lex.words[lang]:
            scores[lang] += 2.5
    if word in lex.kk_latin_words:
        scores["kk"] += 2.5
    elif _has_stem(word, lex.kk_latin_stems):
        scores["kk"] += 1.8
    if _has_stem(word, lex.stems["en"]):
        scores["en"] += 1.5
    if re.search(r"q(?!u)", word):
        scores["kk"] += 0.8
        scores["uz_latn"] += 0.8
    if re.search(r"[og]'", word):
        scores["uz_latn"] += 2.0
    if _TR_CASE.search(word):
        scores["tr"] += 2.0
    if re.search(r"c(?!')", word):
        scores["tr"] += 0.5
    if re.search(r"[aunscy]'[a-z]{2}", word):
        scores["kk"] += 1.5
    if word.endswith(_EN_ENDINGS) or word.startswith(("th", "wh")) or "w" in word:
        scores["en"] += 0.6
    scores["kk"] += 0.7 * _ending(_latin_fold(word), lex.suffixes["kk"])
    if not scores:
        scores["en"] = 0.5
    return scores


def _latin_fold(word: str) -> str:
    """Spell a Latin-script word the way a Russian keyboard would write Kazakh."""
    for digraph, letter in (("shch", "щ"), ("sh", "ш"), ("ch", "ч"), ("ts", "ц")):
        word = word.replace(digraph, letter)
    return word.translate(_LAT_FOLD)


def _arabic_scores(word: str) -> defaultdict[str, float]:
    scores = _letter_scores(word, ARAB_LETTERS)
    if word.startswith("ئ"):
        scores["ug"] += 2.0
    scores["ar"] += 0.3
    return scores
