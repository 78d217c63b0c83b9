"""One story, many sources: item fingerprints and the same-story decision (pure, no I/O).
A fingerprint is the item's folded word stems (Kazakh and Russian folded alike, Latin names
spelled in Cyrillic, frequent Kazakh news words and abbreviations as their Russian
counterparts: ереуіл = забастовка, ҰБТ = ЕНТ), its numbers and the years it names, with title
words weighing double.
Two items are one story when they were published within 48 hours of each other, come from
different sources (or one agency's editions in different languages), name no disjoint years
and share enough rare features: the weighted overlap of their features, each weighted by its
rarity in the window (inverse document frequency), reaches THRESHOLD. Precision comes first:
two events merged lose a story, two reports left apart are only a repeat.
`StoryIndex` clusters items incrementally against the stories of the window only; its memory
is bounded by the items of the window.
"""

from __future__ import annotations

import functools
import math
import re
import sys
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from feeds.topic_rules import folded_tokens

WINDOW = timedelta(hours=48)
THRESHOLD = 0.5  # weighted overlap a candidate story's best member must reach
FLOOR = 0.8  # ... and every member at least FLOOR * THRESHOLD (no chaining of loose pairs)
STEM = 5  # folded letters a stem keeps: enough to tell words apart, short enough for endings
SURE = 0.8  # a story whose first item scores this is taken without looking further
LEAD = 400  # characters of the summary read: the lead, where the who, what and where are
CROSS_SHARED = 4  # names and numbers a Kazakh and a Russian item must share at least
TITLE_WEIGHT = 2.0
NUMBER_WEIGHT = 2.0
MEMBERS_COMPARED = 3  # a big story is compared through its first members only
CANDIDATE_FEATURES = 12  # the rarest features of an item look for candidate stories
COMMON = 50  # a feature in more window items than this finds no candidates (it is too common)
CANDIDATES = 3  # stories sharing the most rare features with an item are compared with it
PRIOR_ITEMS = 20  # a small window weighs features as if it held this many more items

_DIGRAPHS = (("shch", "щ"), ("sh", "ш"), ("ch", "ч"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"))
_LATIN = str.maketrans(
    dict(zip("abvgdezijklmnoprstufhcyw", "абвгдезийклмнопрстуфхцуу", strict=True))
)
_CROSS = frozenset({"kk", "ru"})
# Frequent Kazakh news words and abbreviations with their Russian counterparts: a Kazakh item
# and a Russian one about one event share these besides names and numbers.
_BILINGUAL = """
ереуіл забастовка, кәсіподақ профсоюз, жалақы зарплата, айлық зарплата, мұғалім учитель,
ұстаз учитель, тағайындалды назначен, тағайындады назначил, облысы область, ауданы район,
қаласы город, үкімет правительство, доғарыс отставка, сайлау выборы, дауыс голос,
қорытынды итоги, нәтиже результат, кенші шахтер, қаза погибли, қайтыс погибли, апат авария,
жарылыс взрыв, ұшақ самолет, жолаушы пассажир, тірі выжившие, тасқын паводок,
сілкініс землетрясение, мұнайшы нефтяник, мұнай нефть, жұмысшы рабочие,
теміржолшы железнодорожник, теміржол железная, наразылық протест, талап требование,
мемлекет государство, министрлік министерство, әкімдік акимат, мәслихат маслихат,
төменгі минимальная, пайыз процент, тестілеу тестирование, бітімгер миротворец,
бітімгершілік миротворческие, жылу тепло, ауыл село, тұрғын жители, дәрігер врач,
көтеру повышение, келісім соглашение, қазақстан казахстан, жаңа новый, зейнет пенсия,
жедел скорая, жәрдем помощь, жиналыс собрание, съезі съезд,
ҰБТ ЕНТ, ЖЭО ТЭЦ, ТЖМ МЧС, ОСК ЦИК, ҰҚШҰ ОДКБ, БҚО ЗКО, СҚО СКО, ШҚО ВКО, ҚР РК
"""
_WORD = re.compile(r"[^\W\d_]+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20[0-4]\d)(?!\d)")


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What the same-story decision reads of one item."""

    features: dict[str, float]  # stem or "#number" -> weight (title counts double)
    years: frozenset[str]
    source: str
    lang: str
    published: datetime | None
    link: str = ""
    names: frozenset[str] = frozenset()  # capitalised words and numbers: what crosses languages

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        # Made in a parse worker, loaded in the storing process: flat tuples load faster, and
        # interned stems are held once however many items of the window name them.
        where = (self.source, self.lang, self.published, self.link)
        keys, weights = tuple(self.features), tuple(self.features.values())
        return _loaded, (keys, weights, self.years, self.names, *where)


def _loaded(keys: tuple, weights: tuple, years: frozenset, names: frozenset, *where: object):
    features = dict(zip(map(sys.intern, keys), weights, strict=True))
    return Fingerprint(features, years, *where, frozenset(map(sys.intern, names)))  # type: ignore[arg-type]


@functools.lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    """A word's stem as fingerprints hold it: Kazakh news words as their Russian counterparts."""
    key = _key(word)
    return _LEXICON.get(key, key)


def _key(word: str) -> str:
    """A word's first STEM folded letters; an abbreviation (ЕНТ, ҰБТ, ЦИК) as "=" and its
    letters; "" for a word too short to tell anything."""
    folded = _fold(word)
    if len(folded) < 4:
        key = "=" + folded if len(word) >= 2 and word.isupper() else ""
    else:
        key = folded[:STEM]
    return key


def _fold(word: str) -> str:
    """A word folded for comparison across Kazakh, Russian and Latin spellings."""
    low = word.lower()
    if low[0] == "э":  # Экибастуз, экипаж: Kazakh writes е where Russian writes an initial э
        low = "е" + low[1:]
    if low[0].isascii():
        for digraph, letter in _DIGRAPHS:
            low = low.replace(digraph, letter)
        low = low.translate(_LATIN)
    folded = folded_tokens([("", low)], True)
    return folded[0].replace("ь", "").replace("ъ", "") if folded else ""


def _lexicon() -> dict[str, str]:
    """Kazakh stem -> Russian stem, from _BILINGUAL."""
    pairs = (pair.split() for pair in _BILINGUAL.replace("\n", " ").split(","))
    keys = {_key(kk): _key(ru) for kk, ru in pairs}
    return {kk: ru for kk, ru in keys.items() if kk and ru and kk != ru}


_LEXICON = _lexicon()


def fingerprint(
    title: str,
    summary: str,
    *,
    source: str = "",
    lang: str = "",
    published: datetime | None = None,
    link: str = "",
) -> Fingerprint:
    """The fingerprint of one item."""
    features: dict[str, float] = {}
    names: set[str] = set()
    summary = summary[:LEAD]
    for text, weight in ((title, TITLE_WEIGHT), (summary, 1.0)):
        for word in _WORD.findall(text):
            stem = _stem(word)
            if stem:
                features[stem] = max(features.get(stem, 0.0), weight)
                if word[0].isupper():
                    names.add(stem)
        for number in _NUMBER.findall(text):
            key = "#" + number.replace(",", ".")
            features[key] = max(features.get(key, 0.0), weight * NUMBER_WEIGHT)
            names.add(key)
    years = frozenset(_YEAR.findall(f"{title} {summary}"))
    return Fingerprint(features, years, source, lang, published, link, frozenset(names))


def apart(a: Fingerprint, b: Fingerprint) -> bool:
    """Whether two items cannot be one story whatever their words say."""
    if a.link and a.link == b.link:
        return False
    if a.source == b.source and a.lang == b.lang:
        return True  # one outlet in one language reports a story once
    if a.published and b.published and abs(a.published - b.published) > WINDOW:
        return True
    return bool(a.years and b.years and a.years.isdisjoint(b.years))


@dataclass(slots=True)
class Rarity:
    """Document frequencies of features over a window of items."""

    counts: Counter[str] = field(default_factory=Counter)
    items: int = 0

    def add(self, fp: Fingerprint, sign: int = 1) -> None:
        """Count (or, with sign -1, uncount) one item's features."""
        self.items += sign
        for feature in fp.features:
            self.counts[feature] += sign
            if self.counts[feature] <= 0:
                del self.counts[feature]

    def idf(self, feature: str) -> float:
        """How rare a feature is in the window: log((N + prior) / (df + 1))."""
        return math.log((self.items + PRIOR_ITEMS) / (self.counts.get(feature, 0) + 1))


def _norm(fp: Fingerprint, idf: Callable[[str], float]) -> float:
    return sum(weight * idf(feature) for feature, weight in fp.features.items())


def similarity(
    a: Fingerprint, b: Fingerprint, rarity: Rarity, norms: tuple[float, float] | None = None
) -> float:
    """Weighted overlap of two fingerprints, 0 when they cannot be one story."""
    return _similarity(a, b, rarity.idf, norms)


def _similarity(
    a: Fingerprint,
    b: Fingerprint,
    idf: Callable[[str], float],
    norms: tuple[float, float] | None = None,
) -> float:
    if a.link and a.link == b.link:
        return 1.0
    if apart(a, b):
        return 0.0
    fa, fb = a.features, b.features
    if a.lang != b.lang and a.lang in _CROSS and b.lang in _CROSS:
        return _across(a, b, idf)
    shared = math.fsum(min(fa[f], fb[f]) * idf(f) for f in fa.keys() & fb.keys())
    if not shared:
        return 0.0
    norm_a, norm_b = norms or (_norm(a, idf), _norm(b, idf))
    return shared / math.sqrt(norm_a * norm_b)


def _across(a: Fingerprint, b: Fingerprint, idf: Callable[[str], float]) -> float:
    """Kazakh against Russian: only names and numbers can be shared, so only they count."""
    fa, fb = a.features, b.features
    common = a.names & b.names
    if len(common) < CROSS_SHARED:
        return 0.0
    shared = math.fsum(min(fa[f], fb[f]) * idf(f) for f in common)
    norm_a = math.fsum(fa[f] * idf(f) for f in a.names)
    norm_b = math.fsum(fb[f] * idf(f) for f in b.names)
    return shared / math.sqrt(norm_a * norm_b)


def same_story(a: Fingerprint, b: Fingerprint, rarity: Rarity | None = None) -> bool:
    """Whether two items report one story (rarity: the window's, else the two items alone)."""
    if rarity is None:
        rarity = Rarity()
        rarity.add(a)
        rarity.add(b)
    return similarity(a, b, rarity) >= THRESHOLD


@dataclass(slots=True)
class _Story:
    members: list[Fingerprint] = field(default_factory=list)
    norms: list[float] = field(default_factory=list)  # members' norms when they were added
    posted: set[str] = field(default_factory=set)  # features indexed for this story


def _cached(known: dict[str, float], idf: Callable[[str], float]) -> Callable[[str], float]:
    """idf with the values for one item's features looked up once."""

    def lookup(feature: str) -> float:
        value = known.get(feature)
        return idf(feature) if value is None else value

    return lookup


class StoryIndex:
    """Incremental clustering of items into stories, against the stories of the window only."""

    def __init__(self) -> None:
        self.rarity = Rarity()
        self._stories: dict[object, _Story] = {}
        # feature -> the stories holding it, in the order they came (a dict as an ordered set,
        # so that ties between candidates break the same way on every run)
        self._postings: defaultdict[str, dict[object, None]] = defaultdict(dict)
        self._items: deque[tuple[datetime, object, Fingerprint]] = deque()

    def __len__(self) -> int:
        return len(self._stories)

    def assign(self, story_id: object, fp: Fingerprint, seen: datetime) -> object:
        """Add an item seen at `seen`; returns the story it joins, or `story_id` for a new one."""
        self.rarity.add(fp)
        joined, size = self._best(fp)
        target = story_id if joined is None else joined
        self._add(target, fp, seen, size)
        return target

    def restore(self, story_id: object, fp: Fingerprint, seen: datetime) -> None:
        """Add an item whose story is already known (rebuilding the window at start)."""
        self.rarity.add(fp)
        self._add(story_id, fp, seen, _norm(fp, self.rarity.idf))

    def _add(self, story_id: object, fp: Fingerprint, seen: datetime, size: float) -> None:
        story = self._stories.setdefault(story_id, _Story())
        story.members.append(fp)
        story.norms.append(size)
        if len(story.members) <= MEMBERS_COMPARED:
            story.posted.update(fp.features)
            for feature in fp.features:
                self._postings[feature][story_id] = None
        self._items.append((seen, story_id, fp))

    def _best(self, fp: Fingerprint) -> tuple[object | None, float]:
        """The story the item joins (None: a new one) and the item's norm."""
        counts = self.rarity.counts
        rare = sorted(fp.features, key=lambda f: counts.get(f, 0))[:CANDIDATE_FEATURES]
        hits: Counter[object] = Counter()
        for feature in rare:
            if counts.get(feature, 0) <= COMMON:
                hits.update(self._postings.get(feature, {}).keys())
        known = {feature: self.rarity.idf(feature) for feature in fp.features}
        idf = _cached(known, self.rarity.idf)
        own = _norm(fp, idf)
        best, best_score = None, THRESHOLD
        for candidate, _ in hits.most_common(CANDIDATES):
            story = self._stories[candidate]
            scores = []
            for member, size in zip(story.members[:MEMBERS_COMPARED], story.norms, strict=False):
                scores.append(_similarity(fp, member, idf, (own, size)))
                if scores[0] >= SURE:
                    return candidate, own  # a near copy of its first item: no story does better
                if scores[-1] < THRESHOLD * FLOOR:
                    break  # one member too far apart rules the story out
            else:
                if max(scores) >= best_score:
                    best, best_score = candidate, max(scores)
        return best, own

    def expire(self, now: datetime) -> None:
        """Forget items (and stories left empty) first seen more than the window before `now`."""
        while self._items and now - self._items[0][0] > WINDOW:
            _, story_id, fp = self._items.popleft()
            self.rarity.add(fp, -1)
            story = self._stories[story_id]
            at = next(i for i, member in enumerate(story.members) if member is fp)
            del story.members[at], story.norms[at]
            if story.members:
                continue
            del self._stories[story_id]
            for feature in story.posted:
                postings = self._postings[feature]
                postings.pop(story_id, None)
                if not postings:
                    del self._postings[feature]
