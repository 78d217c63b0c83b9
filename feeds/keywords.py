"""Keyword alerts: a place's words and phrases, and the index that finds them in new items.

`/keywords add профсоюз "минимальная зарплата" -реклама` gives three terms: a word, a phrase
(its words consecutive and in order) and an exclusion. Every word matches whole, with its
inflections (feeds.inflection), on the folded title and summary. Items are indexed once per
round by stem, so each place's keywords cost a few dictionary look-ups, not a scan of items.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from feeds.inflection import keyword_stems, stems
from feeds.topic_rules import fold_word

MAX_TERMS = 50  # per place
MAX_CHARS = 100  # per term, as written
# A term: optional "-", then a quoted phrase (straight, «», “” or „“ quotes) or one word.
_TERM = re.compile(r'(-?)(?:["«“„]([^"«»“”„]*)["»”“]|(["«“„])|([^\s"«»“”„]+))')
_WORD = re.compile(r"[^\W_]+")
_SEPARATOR = 2  # positions between title and summary, so no phrase spans the two
_CACHED = 50_000  # selections and terms remembered between places until items change


class KeywordError(ValueError):
    """A term that cannot be used; `reason` is a stable key and `term` what was typed."""

    def __init__(self, reason: str, term: str = "") -> None:
        super().__init__(f"{reason}: {term}")
        self.reason = reason
        self.term = term


@dataclass(frozen=True, slots=True)
class Term:
    """One keyword: its canonical text and, per word, the stems that find it."""

    text: str  # word, "a phrase", -word or -"a phrase"
    exclude: bool
    words: tuple[frozenset[str], ...]


@functools.lru_cache(maxsize=100_000)
def _word_stems(word: str) -> frozenset[str]:
    """A typed word folded both ways (it may be Kazakh in Latin letters) with its stems."""
    found: set[str] = set()
    for kazakh in (False, True):
        folded = fold_word(word, kazakh)
        if folded:
            found |= keyword_stems(folded)
    return frozenset(found)


@functools.lru_cache(maxsize=100_000)
def term(text: str) -> Term:
    """A term from its canonical text (as `parse_terms` writes it)."""
    exclude = text.startswith("-")
    body = text[1:] if exclude else text
    words = _WORD.findall(body.strip('"'))
    return Term(text, exclude, tuple(_word_stems(w) for w in words))


def parse_terms(args: str) -> list[str]:
    """Canonical texts of the terms in a command's arguments; KeywordError when one is bad."""
    found: list[str] = []
    for match in _TERM.finditer(args):
        minus, phrase, lone_quote, word = match.groups()
        raw = match.group(0)
        if lone_quote:
            raise KeywordError("unclosed_quote", args[match.start() :].strip())
        # "профсоюз, забастовка": a comma (or a full stop) after a word only separates terms
        body = " ".join(phrase.split()) if phrase is not None else word.strip(",;.")
        if not _WORD.search(body):
            raise KeywordError("no_letters", raw)
        quoted = phrase is not None and len(_WORD.findall(body)) > 1
        text = minus + (f'"{body.lower()}"' if quoted else body.lower())
        if len(text) > MAX_CHARS:
            raise KeywordError("too_long", raw)
        if text not in found:
            found.append(text)
    if not found:
        raise KeywordError("empty")
    return found


@functools.lru_cache(maxsize=200_000)
def _item_stems(word: str, kazakh: bool) -> frozenset[str]:
    """The stems a word of an item's text may have, folded as the item's language folds."""
    folded = fold_word(word, kazakh)
    return stems(folded) if folded else frozenset()


@dataclass(frozen=True, slots=True)
class Selection:
    """What a place's keywords found among the indexed items."""

    included: frozenset[int]
    excluded: frozenset[int]
    terms: tuple[str, ...] = ()  # the include terms, for `ItemIndex.marks`


_NOTHING = Selection(frozenset(), frozenset())


class ItemIndex:
    """Stems of recent items with their positions; terms are looked up, not scanned for."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._span: tuple[int, int] | None = None  # ids (low, high] read into the index
        self._postings: dict[str, dict[int, list[int]]] = {}
        self._titles: dict[int, list[str]] = {}  # item id -> title words as written
        self._found: dict[str, frozenset[int]] = {}  # per term, cleared on add
        self._word_items: dict[frozenset[str], frozenset[int]] = {}  # likewise, per word
        self._selected: dict[tuple[str, ...], Selection] = {}
        self._spans: dict[tuple[str, int], tuple[int, ...]] = {}  # (term, item) -> positions
        self._marked: dict[tuple[object, ...], tuple[str, ...]] = {}  # (item, *terms) -> marks

    def __contains__(self, item_id: int) -> bool:
        return item_id in self._titles

    def __len__(self) -> int:
        return len(self._titles)

    def gaps(self, after: int, upto: int) -> list[tuple[int, int]]:
        """Id ranges (after, upto] a caller still has to read into the index, then `cover`."""
        if self._span is None:
            return [(after, upto)] if upto > after else []
        low, high = self._span
        # Read so that the index stays one contiguous range: no hole is ever taken as read.
        return [(a, b) for a, b in ((after, low), (high, upto)) if b > a]

    def cover(self, after: int, upto: int) -> None:
        """Items with ids in (after, upto] are in the index now (those worth indexing)."""
        low, high = self._span or (after, upto)
        self._span = (min(low, after), max(high, upto))

    def add(self, item_id: int, title: str, summary: str, kazakh: bool) -> None:
        """Index an item's title and summary (once; again is a no-op)."""
        if item_id in self._titles:
            return
        self._found.clear()
        self._word_items.clear()
        self._selected.clear()
        self._spans.clear()
        self._marked.clear()
        title_words = _WORD.findall(title)
        self._titles[item_id] = title_words
        postings, position = self._postings, 0
        for words in (title_words, _WORD.findall(summary)):
            for word in words:
                for stem in _item_stems(word, kazakh):
                    posting = postings.get(stem)
                    if posting is None:
                        postings[stem] = {item_id: [position]}
                    elif item_id in posting:
                        posting[item_id].append(position)
                    else:
                        posting[item_id] = [position]
                position += 1
            position += _SEPARATOR
        if len(self._titles) > self._capacity:
            self._evict()

    def _evict(self) -> None:
        """Forget the oldest items, down to three quarters of the capacity."""
        keep = sorted(self._titles)[-(self._capacity * 3 // 4) :]
        gone = self._titles.keys() - set(keep)
        if self._span is not None:
            self._span = (max(self._span[0], max(gone)), self._span[1])
        self._titles = {i: self._titles[i] for i in keep}
        for stem in list(self._postings):
            posting = self._postings[stem]
            for item_id in gone & posting.keys():
                del posting[item_id]
            if not posting:
                del self._postings[stem]

    def select(self, texts: Iterable[str]) -> Selection:
        """Items a place's terms include and exclude (any order of terms gives the same)."""
        key = tuple(texts)
        if not key:
            return _NOTHING
        done = self._selected.get(key)
        if done is None:
            if len(self._selected) >= _CACHED:
                self._selected.clear()
            done = self._selected[key] = self._select(key)
        return done

    def _select(self, key: tuple[str, ...]) -> Selection:
        """`select` without the cache: ten thousand places call it each round, so it is lean."""
        cached, include, exclude = self._found, [], []
        for text in key:
            found = cached.get(text)
            if found is None:
                found = self.find(text)
            if text[0] == "-":
                exclude.append(found)
            else:
                include.append(found)
        included = frozenset().union(*include)
        terms = tuple(t for t in key if t[0] != "-")
        return Selection(included, frozenset().union(*exclude), terms)

    def marks(self, item_id: int, found: Selection) -> tuple[str, ...]:
        """The title words of an item that the selection's include terms matched, as written."""
        return self.marks_of([item_id], found).get(item_id, ())

    def marks_of(self, ids: Iterable[int], found: Selection) -> dict[int, tuple[str, ...]]:
        """`marks` of each of these items that an include term matched (others are left out).

        A digest asks for its hundred items at once: each term is looked up once, not once
        per item.
        """
        wanted = found.included.intersection(ids)
        matched: dict[int, list[str]] = {}
        for text in found.terms:
            for item_id in self.find(text) & wanted:
                matched.setdefault(item_id, []).append(text)
        done, out = self._marked, {}
        for item_id, texts in matched.items():
            key = (item_id, *texts)  # places whose terms found an item alike share its marks
            marks = done.get(key)
            if marks is None:
                if len(done) >= _CACHED * 10:
                    done.clear()
                marks = done[key] = self._marks(item_id, [term(t) for t in texts])
            out[item_id] = marks
        return out

    def _marks(self, item_id: int, terms: list[Term]) -> tuple[str, ...]:
        words = self._titles.get(item_id, [])
        covered: set[int] = set()
        for t in terms:
            spans = self._spans.get((t.text, item_id))
            if spans is None:
                if len(self._spans) >= _CACHED * 10:
                    self._spans.clear()
                size = len(t.words)
                starts = self._starts(t, item_id)
                spans = tuple(p for start in starts for p in range(start, start + size))
                self._spans[(t.text, item_id)] = spans
            covered.update(spans)
        return tuple(dict.fromkeys(words[p] for p in sorted(covered) if p < len(words)))

    def find(self, text: str) -> frozenset[int]:
        """Ids of the items where the term occurs."""
        found = self._found.get(text)
        if found is None:
            if len(self._found) >= _CACHED:
                self._found.clear()
            found = self._found[text] = self._find(term(text))
        return found

    def _word_set(self, word: frozenset[str]) -> frozenset[int]:
        """Ids of the items with any inflection of one word."""
        found = self._word_items.get(word)
        if found is None:
            postings = self._postings
            found = self._word_items[word] = frozenset().union(
                *(postings[stem] for stem in word if stem in postings)
            )
        return found

    def _at(self, word: frozenset[str], item_id: int) -> set[int]:
        """Positions of any inflection of one word in one item."""
        at: set[int] = set()
        for stem in word:
            posting = self._postings.get(stem)
            if posting and item_id in posting:
                at.update(posting[item_id])
        return at

    def _starts(self, t: Term, item_id: int) -> set[int]:
        """Positions where the term's words occur consecutively, in order, in one item."""
        starts = self._at(t.words[0], item_id)
        for offset, word in enumerate(t.words[1:], start=1):
            at = self._at(word, item_id)
            starts = {s for s in starts if s + offset in at}
            if not starts:
                break
        return starts

    def _find(self, t: Term) -> frozenset[int]:
        if not t.words:
            return frozenset()
        if len(t.words) == 1:
            return self._word_set(t.words[0])
        found = set(self._word_set(t.words[0]))
        for word in t.words[1:]:
            found &= self._word_set(word)
            if not found:
                return frozenset()
        # The words occur; are they a phrase?
        return frozenset(item_id for item_id in found if self._starts(t, item_id))
