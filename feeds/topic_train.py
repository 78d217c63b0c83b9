"""Training and evaluating the topic model on labelled JSON Lines.

Each line is {"title", "summary", "topics", ...}; the text goes through the same cleaning,
lead cut, language detection and folding as every stored item (`feeds.pipeline`), so the
model is trained on exactly what it will read. scikit-learn is imported only by `train`
and `cross_validate` (the optional `train` extra); evaluating needs nothing beyond Habar.

Training is deterministic: features in sorted order, liblinear with a fixed random_state,
weights rounded and tiny ones pruned, and `TopicModel.dump` writes sorted JSON gzip'd
without a timestamp, so the same files give the same model bytes.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from feeds.normalize import clean_text
from feeds.pipeline import lead_of
from feeds.topic_model import TopicModel, item_features
from feeds.topics import Classifier, Taxonomy, combine

DIGITS = 4  # weights and thresholds are rounded to this many decimals
PRUNE = 0.01  # smaller weights are dropped: they barely change a score, and the file shrinks
MIN_ITEMS = 2  # a feature must occur in this many training items
C = 4.0  # inverse regularisation strength of the logistic regression
FOLDS = 5
# Precision a threshold must reach on the development items, per topic (issue 11's goals
# with a margin: unions >= 0.90, every topic >= 0.75).
MIN_PRECISION = {"unions": 0.92}
DEFAULT_MIN_PRECISION = 0.80


class DataError(ValueError):
    """A labelled file that cannot be read; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled item as the classifier reads it."""

    id: str
    head: tuple[str, ...]
    body: tuple[str, ...]
    rules: dict[str, list[str]]
    sure: frozenset[str]
    topics: frozenset[str]


def read_labelled(paths: Iterable[Path | str]) -> list[dict[str, Any]]:
    """Labelled items from JSON Lines files, in file order; DataError names a bad line."""
    items = []
    for path in paths:
        try:
            lines = Path(path).read_text("utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: cannot read: {exc}") from exc
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                if not isinstance(item, dict) or not isinstance(item.get("title"), str):
                    raise ValueError("expected an object with a title")
                topics = item.get("topics", [])
                if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
                    raise ValueError("topics must be a list of slugs")
            except ValueError as exc:
                raise DataError(f"{path}: line {number}: {exc}") from exc
            items.append(item)
    return items


def examples(items: Iterable[dict[str, Any]], taxonomy: Taxonomy) -> list[Example]:
    """Items cleaned, cut, detected and folded as ingest does, with the rules' verdicts."""
    reader = Classifier(taxonomy, None)
    found = []
    for number, item in enumerate(items):
        title = clean_text(item["title"])
        lead = lead_of(clean_text(str(item.get("summary") or "")))
        _, head, body = reader.folded(title, lead, None)
        rules, sure = taxonomy.rules(head, body)
        ident = str(item.get("id", number))
        found.append(Example(ident, head, body, rules, sure, frozenset(item.get("topics", []))))
    return found


# --- evaluation (pure Python) ---------------------------------------------------------------


@dataclass(slots=True)
class Scores:
    """True/false positives and false negatives per topic."""

    tp: Counter[str] = field(default_factory=Counter)
    fp: Counter[str] = field(default_factory=Counter)
    fn: Counter[str] = field(default_factory=Counter)
    items: int = 0

    def add(self, got: Iterable[str], want: Iterable[str]) -> None:
        got, want = set(got), set(want)
        self.items += 1
        for slug in got & want:
            self.tp[slug] += 1
        for slug in got - want:
            self.fp[slug] += 1
        for slug in want - got:
            self.fn[slug] += 1

    def prf(self, slug: str | None = None) -> tuple[float, float, float]:
        """Precision, recall and F1 of one topic, or micro-averaged over all (slug None)."""
        if slug is None:
            tp, fp, fn = (sum(c.values()) for c in (self.tp, self.fp, self.fn))
        else:
            tp, fp, fn = self.tp[slug], self.fp[slug], self.fn[slug]
        return _prf(tp, fp, fn)

    def report(self, slugs: Sequence[str]) -> str:
        """A table: per topic P/R/F1 with counts, then the micro average."""
        lines = [f"{'topic':10s}     P      R     F1   tp  fp  fn"]
        for slug in slugs:
            p, r, f = self.prf(slug)
            counts = f"{self.tp[slug]:4d}{self.fp[slug]:4d}{self.fn[slug]:4d}"
            lines.append(f"{slug:10s} {p:6.3f} {r:6.3f} {f:6.3f} {counts}")
        p, r, f = self.prf()
        lines.append(f"{'micro':10s} {p:6.3f} {r:6.3f} {f:6.3f}   ({self.items} items)")
        return "\n".join(lines)


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def evaluate(data: Sequence[Example], taxonomy: Taxonomy, model: TopicModel | None) -> Scores:
    """Scores of rules (+ model) on labelled examples."""
    classifier = Classifier(taxonomy, model)
    scores = Scores()
    for ex in data:
        scores.add(classifier._choose(ex.head, ex.body)[0], ex.topics)
    return scores


# --- training (scikit-learn) ----------------------------------------------------------------


class MissingTrainer(RuntimeError):
    """scikit-learn is not installed."""


def _sklearn() -> tuple[Any, Any, Any]:
    try:
        import numpy
        from scipy.sparse import csr_matrix
        from sklearn.linear_model import LogisticRegression
    except ImportError as exc:
        raise MissingTrainer(
            "training needs scikit-learn: pip install -e '.[train]' "
            f"(or .[dev]); import failed: {exc}"
        ) from exc
    return numpy, csr_matrix, LogisticRegression


def _fit(
    data: Sequence[Example], topics: Sequence[str], c: float
) -> tuple[list[float], list[dict[str, float]]]:
    """Logistic regression per topic; returns rounded biases and pruned, rounded weights."""
    numpy, csr_matrix, logistic = _sklearn()
    rows = [item_features(ex.head, ex.body, ex.rules) for ex in data]
    seen: Counter[str] = Counter(f for row in rows for f in row)
    names = sorted(f for f, n in seen.items() if n >= MIN_ITEMS or f[:2] in ("r:", "p:"))
    column = {name: i for i, name in enumerate(names)}
    indptr, indices, values = [0], [], []
    for row in rows:
        for name in sorted(row):
            if name in column:
                indices.append(column[name])
                values.append(row[name])
        indptr.append(len(indices))
    matrix = csr_matrix(
        (numpy.array(values), numpy.array(indices, dtype=numpy.int64), numpy.array(indptr)),
        shape=(len(rows), len(names)),
    )
    bias: list[float] = []
    weights: list[dict[str, float]] = []
    for slug in topics:
        labels = numpy.array([slug in ex.topics for ex in data], dtype=numpy.int8)
        if labels.min() == labels.max():  # a topic the data never (or always) has
            bias.append(-10.0 if labels.max() == 0 else 10.0)
            weights.append({})
            continue
        fitted = logistic(C=c, solver="liblinear", random_state=0, max_iter=1000)
        fitted.fit(matrix, labels)
        bias.append(round(float(fitted.intercept_[0]), DIGITS))
        table = {}
        for name, weight in zip(names, fitted.coef_[0].tolist(), strict=True):
            weight = round(weight, DIGITS)
            if abs(weight) >= PRUNE:
                table[name] = weight
        weights.append(table)
    return bias, weights


def _model(
    topics: Sequence[str],
    bias: Sequence[float],
    weights: Sequence[dict[str, float]],
    thresholds: Sequence[float],
    second_margin: float = 0.0,
) -> TopicModel:
    return TopicModel(tuple(topics), tuple(bias), tuple(thresholds), tuple(weights), second_margin)


SECOND_MARGINS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)


def _second_margin(
    data: Sequence[Example],
    scores: Sequence[Sequence[float]],
    topics: Sequence[str],
    thresholds: Sequence[float],
) -> float:
    """The extra margin a second topic needs that gives the best micro-F1 (ties: the larger)."""
    scored = [(index, slug, thresholds[index]) for index, slug in enumerate(topics)]
    best = (-1.0, 0.0)
    for margin in SECOND_MARGINS:
        result = Scores()
        for ex, row in zip(data, scores, strict=True):
            result.add(combine(ex.rules, ex.sure, row, scored, (), margin), ex.topics)
        best = max(best, (round(result.prf()[2], 9), margin))
    return best[1]


def _thresholds(
    data: Sequence[Example], scores: Sequence[Sequence[float]], topics: Sequence[str]
) -> list[float]:
    """Per topic, the threshold with the best F1 among those whose precision (counting
    the items a sure pattern decides) reaches the topic's minimum; when none does, the one
    with the best F0.5 (precision weighed double)."""
    chosen = []
    for index, slug in enumerate(topics):
        floor = MIN_PRECISION.get(slug, DEFAULT_MIN_PRECISION)
        sure = [slug in ex.sure for ex in data]
        gold = [slug in ex.topics for ex in data]
        # Items a sure pattern decides are predicted whatever the threshold.
        base_tp = sum(1 for s, g in zip(sure, gold, strict=True) if s and g)
        base_fp = sum(1 for s, g in zip(sure, gold, strict=True) if s and not g)
        positives = sum(gold)
        ranked = sorted(
            ((scores[i][index], gold[i]) for i in range(len(data)) if not sure[i]),
            key=lambda pair: -pair[0],
        )
        best: tuple[tuple[float, ...], float] | None = None
        tp, fp = base_tp, base_fp
        for position, (score, is_gold) in enumerate(ranked):
            tp, fp = tp + is_gold, fp + (not is_gold)
            following = ranked[position + 1][0] if position + 1 < len(ranked) else score - 1.0
            if following == score:
                continue  # a threshold cannot split equal scores
            precision, recall, f1 = _prf(tp, fp, positives - tp)
            threshold = (score + following) / 2
            if precision >= floor:
                key: tuple[float, ...] = (1, f1, -threshold)
            else:
                f05 = 1.25 * precision * recall / (0.25 * precision + recall) if tp else 0.0
                key = (0, f05, -threshold)
            if best is None or key > best[0]:
                best = (key, threshold)
        chosen.append(round(best[1], DIGITS) if best is not None else 0.0)
    return chosen


def _scores(model: TopicModel, data: Sequence[Example]) -> list[list[float]]:
    return [model.scores(ex.head, ex.body, ex.rules) for ex in data]


def _out_of_fold(
    data: Sequence[Example], topics: Sequence[str], c: float, folds: int
) -> list[list[float]]:
    """Each item's scores from a model trained on the other folds (item i is in fold i % k)."""
    scores: list[list[float]] = [[] for _ in data]
    for fold in range(folds):
        train = [ex for i, ex in enumerate(data) if i % folds != fold]
        bias, weights = _fit(train, topics, c)
        model = _model(topics, bias, weights, [0.0] * len(topics))
        for i, ex in enumerate(data):
            if i % folds == fold:
                scores[i] = model.scores(ex.head, ex.body, ex.rules)
    return scores


def train(
    data: Sequence[Example],
    taxonomy: Taxonomy,
    dev: Sequence[Example] | None = None,
    *,
    c: float = C,
    folds: int = FOLDS,
) -> TopicModel:
    """A model of every taxonomy topic, trained on `data`; thresholds chosen on `dev`, or
    on out-of-fold scores of `data` when there is no development set."""
    topics = list(taxonomy.slugs)
    bias, weights = _fit(data, topics, c)
    model = _model(topics, bias, weights, [0.0] * len(topics))
    tuning, scores = (
        (dev, _scores(model, dev)) if dev else (data, _out_of_fold(data, topics, c, folds))
    )
    thresholds = _thresholds(tuning, scores, topics)
    second = _second_margin(tuning, scores, topics, thresholds)
    return _model(topics, bias, weights, thresholds, second)


def cross_validate(
    data: Sequence[Example], taxonomy: Taxonomy, *, c: float = C, folds: int = FOLDS
) -> tuple[Scores, Scores]:
    """k-fold figures of rules alone and of rules + model on `data`.

    Each item is scored by a model trained on the other folds; the thresholds applied to a
    fold are chosen on the out-of-fold scores of the other folds.
    """
    topics = list(taxonomy.slugs)
    oof = _out_of_fold(data, topics, c, folds)
    rules_only, combined = Scores(), Scores()
    for fold in range(folds):
        rest = [i for i in range(len(data)) if i % folds != fold]
        tuning, tuning_scores = [data[i] for i in rest], [oof[i] for i in rest]
        thresholds = _thresholds(tuning, tuning_scores, topics)
        second = _second_margin(tuning, tuning_scores, topics, thresholds)
        scored = [(index, slug, thresholds[index]) for index, slug in enumerate(topics)]
        for i in range(fold, len(data), folds):
            ex = data[i]
            rules_only.add(ex.rules, ex.topics)
            combined.add(combine(ex.rules, ex.sure, oof[i], scored, (), second), ex.topics)
    return rules_only, combined
