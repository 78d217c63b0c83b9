"""Compiled topic patterns and the folded word form they are matched against.

A pattern is one or more "&"-joined groups; a group is consecutive word stems. Stems are
indexed by their first word, so matching an item costs a few dictionary look-ups per word
instead of a scan of every pattern.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass

from feeds.language import normalized_words
from feeds.models import Lang

# Russian keyboard folding plus ы=и, й=и, э=а, ц=с, ю=иу, я=иа: the spellings of Latin
# Kazakh (ts, ıý, ıa) and Russian keyboards meet patterns halfway.
_FOLD = str.maketrans(
    {**str.maketrans("әғқңөұүһіыйёэц", "агкноуухиииеас"), ord("ю"): "иу", ord("я"): "иа"}
)
_LATIN_KK = str.maketrans(
    dict(
        zip(
            "aáäbdeéfgǵğhıijklmnńñoóöpqrsştuúüūývwxyz",
            "ааабдеефгггхиижклмнннооопкрсштууууувухиз",
            strict=True,
        )
    )
    | {"'": None, "ə": "а", "ç": "ч"}  # the older ə-alphabet (abai.kz/lt) and Turkish-style ç
)
# Kazakh in the Arabic script (China), letter by letter; front/back vowels fold together.
_ARABIC_KK = str.maketrans(
    dict(
        zip("اٵبۆۋگعدەجزيكقلمنڭوٶپرستۇٷفحھچشىٸ", "аабвуггдежзикклмнноопрстууфххчшии", strict=True)
    )
    | {"ء": None, "\u0674": None}
)


# A Kazakh stem-final voiceless consonant voices before a vowel (folded letters: қ=к, ғ=г).
_VOICED = {"к": "г", "п": "б"}


class PatternError(ValueError):
    """A pattern string that cannot be compiled."""


@dataclass(frozen=True, slots=True, eq=False)  # identity hash: rules are unique objects
class Rule:
    """One pattern of one topic, as written in the file and compiled."""

    topic: str
    spec: str
    groups: tuple[tuple[str, ...], ...]  # stems: "=" exact word, "~" also with a voiced end
    exclude: bool = False
    weak: bool = False  # only tags the topic when no other topic has a strong match


def fold_words(text: str, lang: Lang = Lang.OTHER) -> list[str]:
    """Words as patterns see them: lower case, Kazakh letters folded, other scripts spelled out."""
    kazakh = lang is Lang.KK
    return [folded for word in normalized_words(text) if (folded := _fold(word, kazakh))]


@functools.lru_cache(maxsize=200_000)
def _fold(word: str, kazakh: bool) -> str:
    if "\u0600" <= word[0] <= "\u06ff":
        word = word.translate(_ARABIC_KK)
    elif kazakh and word[0] < "\u0370":  # Latin, including words that start with á, ı or ə
        for digraph, letter in (("shch", "щ"), ("sh", "ш"), ("ch", "ч"), ("ts", "ц")):
            word = word.replace(digraph, letter)
        word = word.translate(_LATIN_KK)
    return word.translate(_FOLD)


def compile_rule(
    topic: str, spec: str, exclude: bool = False, weak: bool = False, *, kazakh: bool = False
) -> Rule:
    """Compile a pattern string; raise PatternError when a part of it is empty.

    A Kazakh stem ending in к, қ or п also matches with that consonant voiced (г, ғ, б), as
    Kazakh spells it before a vowel: "мектеп" finds мектебі, "кәсіподақ" finds кәсіподағы.
    """
    groups = []
    for group in spec.split("&"):
        stems: list[str] = []
        for token in group.split():
            exact = token.startswith("=")
            for word in fold_words(token.lstrip("=")):
                voiced = kazakh and not exact and len(word) > 2 and word[-1] in _VOICED
                stems.append(("=" if exact else "") + word + ("~" if voiced else ""))
        if not stems:
            raise PatternError(f"empty stem in pattern {spec!r}")
        groups.append(tuple(stems))
    return Rule(topic, spec, tuple(groups), exclude, weak)


class Matcher:
    """All rules of a taxonomy, indexed by the first stem of each group."""

    def __init__(self, rules: list[Rule]):
        self._exact: defaultdict[str, list[tuple[Rule, int]]] = defaultdict(list)
        self._prefix: defaultdict[str, list[tuple[Rule, int]]] = defaultdict(list)
        for rule in rules:
            for index, group in enumerate(rule.groups):
                first = group[0]
                if first.startswith("="):
                    self._exact[first[1:]].append((rule, index))
                else:
                    for stem in _spellings(first):
                        self._prefix[stem].append((rule, index))
        # Stems bucketed by their first three letters: one look-up per word, then startswith.
        self._buckets: defaultdict[str, list[tuple[str, Rule, int]]] = defaultdict(list)
        for stem, pairs in self._prefix.items():
            for rule, index in pairs:
                self._buckets[stem[:3]].append((stem, rule, index))

        self._candidates = functools.lru_cache(maxsize=100_000)(self._lookup)

    def _lookup(self, word: str) -> tuple[tuple[Rule, int], ...]:
        """(rule, group) pairs whose first stem matches this word."""
        candidates = list(self._exact.get(word, ()))
        for key in {word[:3], word[:2], word[:1]}:
            candidates += (
                (rule, index)
                for stem, rule, index in self._buckets.get(key, ())
                if word.startswith(stem)
            )
        return tuple(dict.fromkeys(candidates))

    def hits(self, words: list[str]) -> dict[Rule, set[int]]:
        """Rules whose every group occurs in the words, with the word positions they cover."""
        found: dict[tuple[Rule, int], range] = {}
        for position, word in enumerate(words):
            for rule, index in self._candidates(word):
                # The look-up matched the group's first stem already; check the words after it.
                group = rule.groups[index]
                if (rule, index) not in found and (
                    len(group) == 1 or _follows(group, words, position)
                ):
                    found[rule, index] = range(position, position + len(group))
        covered: defaultdict[Rule, set[int]] = defaultdict(set)
        for (rule, _), span in found.items():
            covered[rule].update(span)
        return {
            rule: positions
            for rule, positions in covered.items()
            if all((rule, index) in found for index in range(len(rule.groups)))
        }


def _follows(group: tuple[str, ...], words: list[str], start: int) -> bool:
    if start + len(group) > len(words):
        return False
    return all(_stem_matches(stem, words[start + k]) for k, stem in enumerate(group))


def _stem_matches(stem: str, word: str) -> bool:
    if stem.startswith("="):
        return word == stem[1:]
    if stem.endswith("~"):
        return word.startswith(_spellings(stem))
    return word.startswith(stem)


@functools.cache
def _spellings(stem: str) -> tuple[str, ...]:
    """The prefixes a stem stands for: itself, and its voiced form when marked with "~"."""
    if not stem.endswith("~"):
        return (stem,)
    base = stem[:-1]
    return base, base[:-1] + _VOICED[base[-1]]
