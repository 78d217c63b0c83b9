"""Compiled topic patterns and the folded word form they are matched against.

A pattern is one or more "&"-joined groups; a group is consecutive word stems. Stems are
indexed by their first word, so matching an item costs a few dictionary look-ups per word
instead of a scan of every pattern.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter

from feeds.language import Tokens, normalized_word, tokens
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
VOICED = _VOICED  # shared with feeds.keywords, which undoes it on inflected words


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
    sure: bool = False  # names the topic unambiguously: decides even against the model


def fold_words(text: str, lang: Lang = Lang.OTHER) -> list[str]:
    """Words as patterns see them: lower case, Kazakh letters folded, other scripts spelled out."""
    return list(folded_segment(text, lang is Lang.KK))


# Pattern stems and texts an admin explains repeat; items go through `folded_tokens`.
@functools.lru_cache(maxsize=8192)
def folded_segment(text: str, kazakh: bool) -> tuple[str, ...]:
    """fold_words of one text as a tuple, kept for texts seen again."""
    return folded_tokens(tokens(text), kazakh)


def folded_tokens(split: Tokens, kazakh: bool) -> tuple[str, ...]:
    """Folded words of a text split by `feeds.language.tokens`, less those that fold to nothing."""
    fold = _fold_kazakh if kazakh else _fold_other
    return tuple(filter(None, map(fold, map(itemgetter(1), split))))


def fold_word(word: str, kazakh: bool) -> str:
    """One word as patterns and keywords see it: repaired, lower-cased, Kazakh letters folded."""
    return _fold_kazakh(word) if kazakh else _fold_other(word)


# One look-up per word as written: repaired, lower-cased and folded.
@functools.lru_cache(maxsize=200_000)
def _fold_kazakh(word: str) -> str:
    return _fold(normalized_word(word), kazakh=True)


@functools.lru_cache(maxsize=200_000)
def _fold_other(word: str) -> str:
    return _fold(normalized_word(word), kazakh=False)


def _fold(word: str, kazakh: bool) -> str:
    if "\u0600" <= word[0] <= "\u06ff":
        word = word.translate(_ARABIC_KK)
    elif kazakh and word[0] < "\u0370":  # Latin, including words that start with á, ı or ə
        for digraph, letter in (("shch", "щ"), ("sh", "ш"), ("ch", "ч"), ("ts", "ц")):
            word = word.replace(digraph, letter)
        word = word.translate(_LATIN_KK)
    return word.translate(_FOLD)


def compile_rule(
    topic: str,
    spec: str,
    exclude: bool = False,
    weak: bool = False,
    *,
    kazakh: bool = False,
    sure: bool = False,
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
    return Rule(topic, spec, tuple(groups), exclude, weak, sure)


# A group's words after its first one: (exact word or None, prefixes a word may start with).
Tail = tuple[tuple[str | None, tuple[str, ...]], ...]
# A look-up result: (group id, group length, tail) for each group whose first stem matches.
Candidate = tuple[int, int, Tail]


class Matcher:
    """All rules of a taxonomy, indexed by the first stem of each group."""

    def __init__(self, rules: list[Rule]):
        self._exact: defaultdict[str, list[tuple[Rule, int]]] = defaultdict(list)
        self._prefix: defaultdict[str, list[tuple[Rule, int]]] = defaultdict(list)
        # Every (rule, group) gets a small integer id, so matching keys dicts by int.
        self._ids: dict[tuple[Rule, int], int] = {}
        self._groups: list[tuple[Rule, int, frozenset[int]]] = []  # rule, length, sibling ids
        for rule in rules:
            first_id = len(self._ids)
            siblings = frozenset(range(first_id, first_id + len(rule.groups)))
            for index, group in enumerate(rule.groups):
                self._ids[rule, index] = first_id + index
                self._groups.append((rule, len(group), siblings))
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

    def _lookup(self, word: str) -> tuple[Candidate, ...]:
        """Groups whose first stem matches this word, with what the words after it must be."""
        candidates = list(self._exact.get(word, ()))
        for key in dict.fromkeys((word[:3], word[:2], word[:1])):  # one order for every run
            candidates += (
                (rule, index)
                for stem, rule, index in self._buckets.get(key, ())
                if word.startswith(stem)
            )
        return tuple(
            (self._ids[rule, index], len(rule.groups[index]), _tail(rule.groups[index]))
            for rule, index in dict.fromkeys(candidates)
        )

    def hits(self, words: Sequence[str]) -> dict[Rule, set[int]]:
        """Rules whose every group occurs in the words, with the word positions they cover."""
        found = self._first_matches(words)
        groups = self._groups
        covered: dict[Rule, set[int]] = {}
        for group_id, start in found.items():
            rule, length, siblings = groups[group_id]
            if len(siblings) > 1 and not found.keys() >= siblings:
                continue
            if rule in covered:
                covered[rule].update(range(start, start + length))
            else:
                covered[rule] = set(range(start, start + length))
        return covered

    def _first_matches(self, words: Sequence[str]) -> dict[int, int]:
        """Group id to the position of its first occurrence, in the order they are found."""
        found: dict[int, int] = {}
        count = len(words)
        candidates = self._candidates
        for position, word in enumerate(words):
            for group_id, length, tail in candidates(word):
                # The look-up matched the group's first stem already; check the words after it.
                if group_id in found:
                    continue
                if length > 1:
                    if position + length > count:
                        continue
                    exact, prefixes = tail[0]  # inlined: most groups fail on their second word
                    following = words[position + 1]
                    if (
                        following != exact
                        if exact is not None
                        else not following.startswith(prefixes)
                    ):
                        continue
                    if length > 2 and not _tail_matches(tail, words, position):
                        continue
                found[group_id] = position
        return found


def _tail(group: tuple[str, ...]) -> Tail:
    return tuple(
        (stem[1:], ()) if stem.startswith("=") else (None, _spellings(stem)) for stem in group[1:]
    )


def _tail_matches(tail: Tail, words: Sequence[str], start: int) -> bool:
    for offset, (exact, prefixes) in enumerate(tail, start + 1):
        word = words[offset]
        if exact is None:
            if not word.startswith(prefixes):
                return False
        elif word != exact:
            return False
    return True


@functools.cache
def _spellings(stem: str) -> tuple[str, ...]:
    """The prefixes a stem stands for: itself, and its voiced form when marked with "~"."""
    if not stem.endswith("~"):
        return (stem,)
    base = stem[:-1]
    return base, base[:-1] + _VOICED[base[-1]]
