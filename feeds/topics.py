"""Topic taxonomy: a data file an admin can extend, and the matcher that tags items with it.

Patterns are word-start stems matched on folded text (see feeds/data/topics.toml), so one
stem covers Russian inflection, Kazakh suffixes (with a stem-final к, қ, п voiced: мектебі),
Kazakh typed on a Russian keyboard and Kazakh in the Latin and Arabic scripts. Every
language's patterns are tried on every item: Russian news quotes Kazakh terms
(«Кәсіподақтар федерациясы») and the reverse. A topic named in the title counts; in the lead
alone it needs two different words (three, not counting weak ones, when the title names
another topic), so a passing mention ("...молодого города...") does not tag an item. Weak
words (an akim, a budget, a factory) count only when no other topic is found, so "Аким
открыл школу" is filed as education and "Аким встретился с жителями" as politics.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from feeds.language import Tokens, detect_tokens, tokens
from feeds.models import Lang
from feeds.topic_model import TopicModel
from feeds.topic_rules import (
    Matcher,
    PatternError,
    Rule,
    compile_rule,
    folded_segment,
    folded_tokens,
)

_SLUG = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_PATTERN_KEYS = ("ru", "kk", "en", "any", "sure")
_TOPIC_KEYS = frozenset({"slug", "name", "exclude", "weak", *_PATTERN_KEYS})
_BUILTIN = "feeds/data/topics.toml"
_KK_LETTERS = frozenset("әғқңөұүһі")  # a weak or "any" pattern with these is Kazakh


class TaxonomyError(ValueError):
    """A topics file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class Topic:
    """One topic: slug, display names and compiled rules (patterns and exclusions)."""

    slug: str
    names: Mapping[str, str]
    rules: tuple[Rule, ...]


class Taxonomy:
    """An ordered set of topics loaded from TOML; matches item text to topic slugs."""

    def __init__(self, topics: Iterable[Topic]):
        self._topics = {topic.slug: topic for topic in topics}
        self._matcher = Matcher([rule for t in self._topics.values() for rule in t.rules])

    @classmethod
    def load(cls, path: Path | None = None) -> Taxonomy:
        """Load a topics file (default: the packaged one); raise TaxonomyError when malformed."""
        if path is None:
            return cls(_parse(_builtin_text(), _BUILTIN, {}))
        try:
            text = Path(path).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TaxonomyError(f"topics file {path}: cannot read: {exc}") from exc
        return cls(_parse(text, str(path), _base_for(text, str(path))))

    @property
    def slugs(self) -> tuple[str, ...]:
        """Topic slugs in file order."""
        return tuple(self._topics)

    def name(self, slug: str, locale: str) -> str:
        """Display name of a topic in a locale, falling back to Russian, then to the slug."""
        topic = self._topics.get(slug)
        if topic is None:
            return slug
        lang = locale.lower().replace("_", "-").split("-")[0]
        return topic.names.get(lang) or topic.names.get("ru") or slug

    def match(self, text: str, lang: Lang = Lang.OTHER, *, lead: str = "") -> frozenset[str]:
        """Slugs of the topics an item is about (possibly none).

        The first line of `text` is the headline and the rest, plus `lead`, is supporting
        text, so match(f"{title}\n{summary}", lang) and match(title, lang, lead=summary) agree.
        """
        return frozenset(self.explain(text, lang, lead=lead))

    def explain(
        self, text: str, lang: Lang = Lang.OTHER, *, lead: str = ""
    ) -> dict[str, list[str]]:
        """Matched topics with the patterns that matched them, for admins tuning the file."""
        title, _, rest = text.strip().partition("\n")
        kazakh = lang is Lang.KK
        head = folded_segment(title, kazakh)
        return self._explain(head, folded_segment(f"{rest}\n{lead}", kazakh))

    def match_tokens(self, title: Tokens, lead: Tokens, lang: Lang) -> frozenset[str]:
        """`match` of a title and a lead already split by `feeds.language.tokens`."""
        kazakh = lang is Lang.KK
        return frozenset(self._explain(folded_tokens(title, kazakh), folded_tokens(lead, kazakh)))

    def _explain(self, head: tuple[str, ...], body: tuple[str, ...]) -> dict[str, list[str]]:
        """`explain` on the folded words of the headline and of the rest."""
        return self.rules(head, body)[0]

    def rules(
        self, head: tuple[str, ...], body: tuple[str, ...]
    ) -> tuple[dict[str, list[str]], frozenset[str]]:
        """Topics the rules find in folded words, with their patterns, and the sure ones among
        them (a `sure` pattern matched: the item names the topic unambiguously)."""
        hits = self._matcher.hits(head + body)
        evidence = _evidence(hits, len(head))
        # A lead that only mentions a topic in passing while the title names another one
        # needs more words, and weak ones (a Senate passing the budget in a pensions item)
        # do not count then; weak words (an akim, a budget) file an item only on their own.
        titled = any(ev.titled_strong for ev in evidence.values())
        need = _LEAD_WORDS + 1 if titled else _LEAD_WORDS
        chosen = {
            slug for slug, ev in evidence.items() if ev.strong and ev.enough(need, strong=titled)
        }
        if not chosen:
            chosen = {slug for slug, ev in evidence.items() if ev.enough(need)}
        # A sure pattern names its topic unambiguously: one mention, in the lead too, is enough.
        chosen |= {slug for slug, ev in evidence.items() if ev.sure}
        found = {slug: evidence[slug].specs for slug in self._topics if slug in chosen}
        return found, frozenset(slug for slug in found if evidence[slug].sure)


_LEAD_WORDS = 2  # different matched words a lead needs when the title names no topic


@dataclass(slots=True)
class _Evidence:
    """What one topic's patterns found in an item."""

    titled: bool = False
    titled_strong: bool = False  # a non-weak pattern matched in the title
    spans: list[frozenset[int]] = field(default_factory=list)
    strong_spans: list[frozenset[int]] = field(default_factory=list)
    specs: list[str] = field(default_factory=list)
    strong: bool = False
    sure: bool = False

    def enough(self, need: int, *, strong: bool = False) -> bool:
        """True when the title names the topic or the lead has `need` different words for it.

        With `strong`, weak words are left out: a weak word in the title or the lead does not
        file an item that another topic's title already claims.
        """
        if strong:
            return self.titled_strong or _distinct_words(self.strong_spans) >= need
        return self.titled or _distinct_words(self.spans) >= need


def _distinct_words(spans: list[frozenset[int]]) -> int:
    """Matches that share a word count once ("Ұлттық банк" and "банк" are one mention).

    Each run of adjacent words is one mention, so both halves of "долг & зарплат" count.
    """
    # Runs are intervals: those that share a word chain into one mention, found by a sweep.
    count, end = 0, -1
    for first, last in sorted(run for span in spans for run in _runs(span)):
        if first > end:
            count += 1
        end = max(end, last)
    return count


def _runs(positions: frozenset[int]) -> list[tuple[int, int]]:
    """Positions split into runs of adjacent words, as (first, last) pairs."""
    runs: list[tuple[int, int]] = []
    for position in sorted(positions):
        if runs and runs[-1][1] == position - 1:
            runs[-1] = (runs[-1][0], position)
        else:
            runs.append((position, position))
    return runs


_NOTHING: frozenset[int] = frozenset()


def _evidence(hits: Mapping[Rule, set[int]], title_len: int) -> dict[str, _Evidence]:
    """Per topic: where its patterns matched, apart from words its exclusions cover."""
    excluded: dict[str, set[int]] = {}
    for rule, positions in hits.items():
        if rule.exclude:
            excluded.setdefault(rule.topic, set()).update(positions)
    evidence: dict[str, _Evidence] = {}
    for rule, positions in hits.items():
        if rule.exclude or positions <= excluded.get(rule.topic, _NOTHING):
            continue
        found = evidence.get(rule.topic)
        if found is None:
            found = evidence[rule.topic] = _Evidence()
        if min(positions) < title_len:
            found.titled = True
            found.titled_strong = found.titled_strong or not rule.weak
        else:
            span = frozenset(positions)
            found.spans.append(span)
            if not rule.weak:
                found.strong_spans.append(span)
        found.specs.append(rule.spec)
        found.strong = found.strong or not rule.weak
        found.sure = found.sure or rule.sure
    return evidence


MAX_TOPICS = 2  # an item is filed under at most this many topics


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why an item got its topics: the rules' patterns and the model's scores."""

    lang: Lang
    topics: tuple[str, ...]  # in the order they were chosen
    rules: dict[str, list[str]]  # topic -> patterns that matched
    sure: frozenset[str]  # topics a `sure` pattern decided
    scores: dict[str, float]  # topic -> model score (empty without a model)
    thresholds: dict[str, float]


class Classifier:
    """Rules and the learned model together: what every item and the CLI are filed by.

    A topic a `sure` pattern names is taken; then topics the taxonomy adds beyond the model
    (an admin's TOPICS_FILE: rules only); then the model's topics at or above their
    thresholds, best margin first. The model reads the rules' topics as features, so a rule
    match counts as strongly as the training data showed it deserves. At most MAX_TOPICS.
    Without a model (`--rules-only`) the rules decide alone, as before the model existed.
    """

    def __init__(self, taxonomy: Taxonomy, model: TopicModel | None) -> None:
        self.taxonomy = taxonomy
        self.model = model
        known = set(taxonomy.slugs)
        self._scored: tuple[tuple[int, str, float], ...] = ()
        if model is not None:
            self._scored = tuple(
                (index, slug, model.thresholds[index])
                for index, slug in enumerate(model.topics)
                if slug in known
            )
        modelled = {slug for _, slug, _ in self._scored}
        self._rules_only = tuple(slug for slug in taxonomy.slugs if slug not in modelled)

    def folded(self, title: str, lead: str, hint: str | None = None) -> Folded:
        """An item's language and the folded words of its title and lead."""
        # Split once: language detection, rules and model read the same words.
        title_tokens, lead_tokens = tokens(title), tokens(lead)
        lang = detect_tokens(title_tokens, lead_tokens, hint)
        kazakh = lang is Lang.KK
        return lang, folded_tokens(title_tokens, kazakh), folded_tokens(lead_tokens, kazakh)

    def classify(
        self, title: str, lead: str, hint: str | None = None
    ) -> tuple[Lang, frozenset[str]]:
        """Detect an item's language and choose its topics."""
        lang, head, body = self.folded(title, lead, hint)
        return lang, frozenset(self._choose(head, body)[0])

    def explain(self, title: str, lead: str, hint: str | None = None) -> Explanation:
        """`classify` with the evidence: matched patterns, sure topics, model scores."""
        lang, head, body = self.folded(title, lead, hint)
        chosen, rules, sure, scores = self._choose(head, body)
        return Explanation(
            lang=lang,
            topics=tuple(chosen),
            rules=rules,
            sure=sure,
            scores={slug: scores[index] for index, slug, _ in self._scored} if scores else {},
            thresholds={slug: threshold for _, slug, threshold in self._scored},
        )

    def _choose(
        self, head: tuple[str, ...], body: tuple[str, ...]
    ) -> tuple[list[str], dict[str, list[str]], frozenset[str], list[float]]:
        rules, sure = self.taxonomy.rules(head, body)
        if self.model is None:
            return list(rules), rules, sure, []
        scores = self.model.scores(head, body, rules)
        chosen = combine(
            rules, sure, scores, self._scored, self._rules_only, self.model.second_margin
        )
        return chosen, rules, sure, scores


Folded = tuple[Lang, tuple[str, ...], tuple[str, ...]]


def combine(
    rules: Mapping[str, object],
    sure: frozenset[str],
    scores: Sequence[float],
    scored: Iterable[tuple[int, str, float]],
    rules_only: Iterable[str] = (),
    second_margin: float = 0.0,
) -> list[str]:
    """The topics of an item, at most MAX_TOPICS: the topics a sure pattern names, then
    rules-only topics the rules found, then the model's (index, slug, threshold) topics at or
    above their thresholds, best margin first. A model topic that would not be the item's
    first needs `second_margin` more: a second topic only when the item is clearly about both.
    """
    chosen = [slug for slug in rules if slug in sure]
    chosen += [slug for slug in rules_only if slug in rules and slug not in sure]
    ranked = sorted(
        (
            (scores[index] - threshold, slug)
            for index, slug, threshold in scored
            if scores[index] >= threshold and slug not in sure
        ),
        reverse=True,
    )
    for margin, slug in ranked:
        if len(chosen) >= MAX_TOPICS or (chosen and margin < second_margin):
            break
        chosen.append(slug)
    return chosen[:MAX_TOPICS]


def classify(
    title: str,
    summary: str,
    hint: str | None = None,
    taxonomy: Taxonomy | None = None,
    model: TopicModel | None = None,
    *,
    rules_only: bool = False,
) -> tuple[Lang, frozenset[str]]:
    """Detect an item's language and match its topics in one call.

    Defaults: the packaged taxonomy and the packaged model; `rules_only` leaves the model out.
    """
    taxonomy = taxonomy if taxonomy is not None else _default_taxonomy()
    if not rules_only and model is None:
        model = default_model()
    return Classifier(taxonomy, None if rules_only else model).classify(title, summary, hint)


@functools.cache
def default_model() -> TopicModel:
    """The packaged model, loaded once (TopicModelError when missing or corrupt)."""
    return TopicModel.load()


@functools.cache
def _default_taxonomy() -> Taxonomy:
    return Taxonomy.load()


def _builtin_text() -> str:
    return resources.files("feeds").joinpath("data/topics.toml").read_text("utf-8")


def _base_for(text: str, source: str) -> dict[str, Topic]:
    """The built-in topics when the file says `extends = "builtin"`, else nothing."""
    extends = _toml(text, source).get("extends")
    if extends is None:
        return {}
    if extends != "builtin":
        raise TaxonomyError(f'topics file {source}: extends must be "builtin", got {extends!r}')
    return {topic.slug: topic for topic in _parse(_builtin_text(), _BUILTIN, {})}


def _toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TaxonomyError(f"topics file {source}: not valid TOML: {exc}") from exc


def _parse(text: str, source: str, base: dict[str, Topic]) -> list[Topic]:
    data = _toml(text, source)
    unknown = set(data) - {"extends", "topic"}
    if unknown:
        raise TaxonomyError(f"topics file {source}: unknown top-level keys {sorted(unknown)}")
    tables = data.get("topic")
    if not isinstance(tables, list) or not tables:
        raise TaxonomyError(f"topics file {source}: no [[topic]] tables")
    topics = dict(base)
    seen: set[str] = set()
    for number, table in enumerate(tables, start=1):
        topic = _parse_topic(table, f"topics file {source}: topic #{number}")
        if topic.slug in seen:
            raise TaxonomyError(f"topics file {source}: duplicate slug {topic.slug!r}")
        seen.add(topic.slug)
        old = topics.get(topic.slug)
        if old is not None:  # extending a built-in topic adds to it
            topic = Topic(topic.slug, {**old.names, **topic.names}, old.rules + topic.rules)
        topics[topic.slug] = topic
    return list(topics.values())


def _parse_topic(table: Any, where: str) -> Topic:
    if not isinstance(table, dict):
        raise TaxonomyError(f"{where}: must be a table")
    if set(table) - _TOPIC_KEYS:
        raise TaxonomyError(f"{where}: unknown keys {sorted(set(table) - _TOPIC_KEYS)}")
    slug = table.get("slug")
    if not isinstance(slug, str) or not _SLUG.match(slug):
        raise TaxonomyError(f"{where}: slug must match {_SLUG.pattern}, got {slug!r}")
    where = f"{where} ({slug})"
    names = table.get("name", {})
    if not isinstance(names, dict) or not all(isinstance(v, str) and v for v in names.values()):
        raise TaxonomyError(f"{where}: name must be a table of non-empty strings")
    rules: list[Rule] = []
    for key in (*_PATTERN_KEYS, "weak", "exclude"):
        values = table.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
            raise TaxonomyError(f"{where}: {key} must be a list of non-empty strings")
        try:
            rules += [
                compile_rule(
                    slug,
                    v,
                    exclude=key == "exclude",
                    weak=key == "weak",
                    kazakh=key == "kk" or (key != "ru" and bool(_KK_LETTERS & set(v.lower()))),
                    sure=key == "sure",
                )
                for v in values
            ]
        except PatternError as exc:
            raise TaxonomyError(f"{where}: {exc}") from exc
    return Topic(slug, dict(names), tuple(rules))
