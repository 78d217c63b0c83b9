"""Whole words with their inflections: the stems a folded word may be, for keyword alerts.

Words are folded as topics fold them (feeds.topic_rules.fold_word): lower case, Kazakh letters
folded, Kazakh in Latin or Arabic script spelled in Cyrillic. A word is a stem plus one
inflectional ending: a Russian noun or adjective ending, a stack of Kazakh suffixes (plural,
possessive, case, in that order) or an English -s/-es/-ed/-ing. Derivational endings are not
in the tables, so "мир" is never the stem of "мировой" and nothing is the stem of "Мирзоян".
A Kazakh stem-final к or п voiced before a vowel (кәсіподағы, мектебі) is undone.
"""

from __future__ import annotations

import functools
import itertools

from feeds.topic_rules import VOICED, fold_word

_RU = (
    "а я о е и ы у ю ь ом ем ой ей ою ею ам ям ами ями ах ях ов ев ий ия ие ию ием ии ый ое ая"
    " яя ые ого его ому ему ым им ую юю ых их ыми ими ье ья ьи ью ьям ьями ьях ьев"
)
_KK_PLURAL = "лар лер дар дер тар тер"
_KK_POSSESSIVE = "ы і сы сі ым ім м ың ің ң ымыз іміз мыз міз ыңыз іңіз ңыз ңіз"
_KK_CASE = (
    "ға ге қа ке на не а е ны ні ды ді ты ті н ның нің дың дің тың тің да де та те нда нде"
    " дан ден тан тен нан нен ынан інен мен бен пен менен ша ше дағы дегі тағы тегі ндағы"
    " ндегі ғы гі"
)
_EN = "s es 's ed ing e"  # "e": strike and striking share the stem "strik"


def _folded(words: str) -> set[str]:
    return {fold_word(w, False) for w in words.split()}


def _kazakh_stacks() -> set[str]:
    """Every plural + possessive + case sequence (each part optional), folded."""
    parts = [["", *sorted(_folded(group))] for group in (_KK_PLURAL, _KK_POSSESSIVE, _KK_CASE)]
    return {"".join(combo) for combo in itertools.product(*parts)}


ENDINGS: frozenset[str] = frozenset(_folded(_RU) | _folded(_EN) | _kazakh_stacks() | {""})
_LONGEST = max(map(len, ENDINGS))
_VOWELS = frozenset("аеиоу")
_DEVOICED = {voiced: plain for plain, voiced in VOICED.items()}
MIN_STEM = 2  # letters a stem keeps; a keyword is cut to no fewer than KEYWORD_STEM
KEYWORD_STEM = 3


@functools.lru_cache(maxsize=200_000)
def stems(word: str, shortest: int = MIN_STEM) -> frozenset[str]:
    """The stems a folded word may have: itself, and itself less each ending it may carry."""
    found = {word}
    for cut in range(max(shortest, len(word) - _LONGEST), len(word)):
        ending = word[cut:]
        if ending not in ENDINGS:
            continue
        stem = word[:cut]
        found.add(stem)
        if ending[0] in _VOWELS and stem[-1] in _DEVOICED:
            found.add(stem[:-1] + _DEVOICED[stem[-1]])
    return frozenset(found)


def keyword_stems(word: str) -> frozenset[str]:
    """Stems of a word a user typed: as `stems`, but never shorter than three letters."""
    return stems(word, KEYWORD_STEM)
