"""The learned half of topic matching: a linear model over the words the rules read.

Features come from the folded words of `feeds.topic_rules` (lower case, Kazakh look-alike
letters and Latin/Arabic-script Kazakh folded), so training and inference see one text:

- `w:` the folded word, `s:` its shortest stem (`feeds.inflection`), `c:` character 3- to
  5-grams of the word with its edges marked (`<мектеп>`), which reach the forms and
  derivations no stem list names;
- a title word counts `TITLE_WEIGHT` times, and the word features of an item are scaled by
  1 / sqrt(its weighted word count), so long leads do not outvote their titles;
- `r:<slug>`: the rules filed the item under that topic, and `p:<slug>:<pattern>` for each
  pattern that matched for it (weight 1 each), so the data say how far each rule is trusted.

A model is a gzip'd JSON file (sorted keys, no timestamp: the same training data give the
same bytes): per topic a bias, a threshold (chosen on a development set for precision) and a
weight per feature, plus the margin a second topic needs. Inference is pure Python: each
distinct word's weights are summed per topic once and cached, packed into one integer, so
an item costs one cached look-up per word and one `sum` of integers.
"""

from __future__ import annotations

import functools
import gzip
import json
import math
import zlib
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from operator import add
from pathlib import Path
from typing import Any

from feeds.inflection import stems

FORMAT = "habar-topic-model/1"
TITLE_WEIGHT = 2  # `TopicModel.scores` lists a title word's vector this many times
_NGRAMS = (3, 4, 5)
_MIN_STEM = 4
BUILTIN = "feeds/data/topic_model.json.gz"
_UNITS = 10_000  # weights are rounded to 4 decimals (feeds.topic_train.DIGITS)
_FIELD = 64
_OFFSET = 1 << 40
_MASK = (1 << _FIELD) - 1


class TopicModelError(ValueError):
    """A model file that cannot be used; the message names the file and the problem."""


@functools.lru_cache(maxsize=200_000)
def word_features(word: str) -> tuple[str, ...]:
    """The features one folded word contributes (with repeats: they count as often)."""
    found = ["w:" + word]
    # The shortest stem, the first in alphabetical order among equals (stems is a set).
    stem = min((s for s in stems(word) if len(s) >= _MIN_STEM), key=_shortest, default=word)
    if stem != word:
        found.append("s:" + stem)
    padded = f"<{word}>"
    for n in _NGRAMS:
        found.extend("c:" + padded[i : i + n] for i in range(len(padded) - n + 1))
    return tuple(found)


def _shortest(stem: str) -> tuple[int, str]:
    return len(stem), stem


def item_features(
    head: Sequence[str], body: Sequence[str], rules: Mapping[str, Iterable[str]]
) -> dict[str, float]:
    """Feature values of one item (folded title words, folded lead words, the rules' topics
    with their matched patterns).

    Training builds its matrix from this; inference computes the same sums word by word.
    """
    values: dict[str, float] = {}
    scale = _scale(head, body)
    for words, weight in ((head, TITLE_WEIGHT * scale), (body, scale)):
        for word in words:
            for feature in word_features(word):
                values[feature] = values.get(feature, 0.0) + weight
    for feature in rule_features(rules):
        values[feature] = 1.0
    return values


def rule_features(rules: Mapping[str, Iterable[str]]) -> list[str]:
    """`r:` and `p:` features of the rules' verdict, each once."""
    found = []
    for slug, specs in rules.items():
        found.append("r:" + slug)
        found.extend(f"p:{slug}:{spec}" for spec in dict.fromkeys(specs))
    return found


def _scale(head: Sequence[str], body: Sequence[str]) -> float:
    total = TITLE_WEIGHT * len(head) + len(body)
    return 1.0 / math.sqrt(total) if total else 0.0


class TopicModel:
    """Linear scores per topic over `item_features`; chosen at or above the threshold."""

    def __init__(
        self,
        topics: tuple[str, ...],
        bias: tuple[float, ...],
        thresholds: tuple[float, ...],
        weights: tuple[dict[str, float], ...],  # per topic: feature -> weight
        second_margin: float = 0.0,  # what a topic that is not an item's first needs beyond
    ) -> None:
        self.topics, self.bias, self.thresholds, self.weights = topics, bias, thresholds, weights
        self.second_margin = second_margin
        self._packed = functools.lru_cache(maxsize=200_000)(self._word_packed)
        self._shifts = tuple(_FIELD * index for index in range(len(topics)))
        self._rules_vector = functools.lru_cache(maxsize=20_000)(self._rules_vector_of)

    @property
    def features(self) -> int:
        """How many distinct features have a weight."""
        return len(set().union(*self.weights))

    def _word_vector(self, word: str) -> tuple[float, ...]:
        """A word's feature weights summed per topic."""
        features = word_features(word)
        return tuple(sum(weights[f] for f in features if f in weights) for weights in self.weights)

    def _word_packed(self, word: str) -> int:
        """A word's vector as one integer: per topic a _FIELD-bit field holding _OFFSET plus
        the sum in units of 1e-4 (weights are rounded to 4 decimals, so this is exact). Sums
        of such integers add field by field, without carries for up to 2**23 words."""
        return sum(
            (round(value * _UNITS) + _OFFSET) << shift
            for value, shift in zip(self._word_vector(word), self._shifts, strict=True)
        )

    @classmethod
    def load(cls, path: Path | None = None) -> TopicModel:
        """Read a model file (default: the packaged one); TopicModelError when unusable."""
        where = str(path) if path is not None else BUILTIN
        try:
            if path is None:
                raw = resources.files("feeds").joinpath("data/topic_model.json.gz").read_bytes()
            else:
                raw = Path(path).read_bytes()
        except OSError as exc:
            raise TopicModelError(f"topic model {where}: cannot read: {exc}") from exc
        try:
            data = json.loads(gzip.decompress(raw).decode("utf-8"))
        except (OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError) as exc:
            raise TopicModelError(f"topic model {where}: not a gzip'd JSON model: {exc}") from exc
        try:
            return cls.from_dict(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise TopicModelError(f"topic model {where}: malformed: {exc}") from exc

    @classmethod
    def from_dict(cls, data: Any) -> TopicModel:
        """Build a model from its JSON form; ValueError/TypeError/KeyError when malformed."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"format is not {FORMAT!r}")
        topics = tuple(data["topics"])
        if not topics or not all(isinstance(t, str) and t for t in topics):
            raise ValueError("topics must be a non-empty list of slugs")
        bias = tuple(float(data["bias"][t]) for t in topics)
        thresholds = tuple(float(data["thresholds"][t]) for t in topics)
        weights = tuple(data["weights"][t] for t in topics)
        for slug, table in zip(topics, weights, strict=True):
            if not isinstance(table, dict):
                raise ValueError(f"weights of {slug!r} must be an object")
            # One pass in C: a weight that is not a number raises TypeError here.
            if not math.isfinite(math.fsum(table.values())) or any(
                type(w) is bool for w in table.values()
            ):
                raise ValueError(f"weights of {slug!r} must be finite numbers")
        return cls(topics, bias, thresholds, weights, float(data["second_margin"]))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form `from_dict` reads (sorted keys make it byte-for-byte stable)."""
        return {
            "format": FORMAT,
            "topics": list(self.topics),
            "bias": dict(zip(self.topics, self.bias, strict=True)),
            "thresholds": dict(zip(self.topics, self.thresholds, strict=True)),
            "weights": dict(zip(self.topics, self.weights, strict=True)),
            "second_margin": self.second_margin,
        }

    def dump(self) -> bytes:
        """Deterministic gzip'd JSON: sorted keys, no timestamp, no file name."""
        data = self.to_dict()
        text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)

    def scores(
        self, head: Sequence[str], body: Sequence[str], rules: Mapping[str, Iterable[str]]
    ) -> list[float]:
        """Score per topic (in `topics` order) of an item's folded title and lead words."""
        # Each word's vector is packed into one integer (see _pack), so summing an item's
        # words is one `sum` over integers; a title word counts TITLE_WEIGHT times.
        packed = self._packed
        total = sum(map(packed, head)) * TITLE_WEIGHT + sum(map(packed, body))
        words = TITLE_WEIGHT * len(head) + len(body)
        base = words * _OFFSET
        scale = _scale(head, body) / _UNITS
        result = [
            bias + scale * (((total >> shift) & _MASK) - base)
            for bias, shift in zip(self.bias, self._shifts, strict=True)
        ]
        if rules:  # rule features are not scaled
            key = tuple((slug, tuple(specs)) for slug, specs in rules.items())
            result = list(map(add, result, self._rules_vector(key)))
        return result

    def _rules_vector_of(self, key: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[float, ...]:
        """The summed weights of the rule features of one verdict of the rules."""
        features = sorted(rule_features(dict(key)))  # one order: the same float sums
        return tuple(sum(weights.get(f, 0.0) for f in features) for weights in self.weights)
