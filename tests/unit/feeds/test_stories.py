"""The same-story decision on the hard cases, and its figures on the labelled story set."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feeds.stories import Rarity, StoryIndex, fingerprint, same_story

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "bench"))
import stories as bench  # noqa: E402

T0 = datetime(2024, 10, 28, 9, 0, tzinfo=UTC)


def _fp(title: str, summary: str, source: str, lang: str = "ru", hours: float | None = 0.0):
    when = None if hours is None else T0 + timedelta(hours=hours)
    return fingerprint(title, summary, source=source, lang=lang, published=when)


MINE_21 = _fp(
    "На шахте имени Костенко погиб 21 горняк",
    "В Караганде на шахте имени Костенко АрселорМиттал Темиртау произошёл пожар, "
    "погиб 21 человек.",
    "Tengrinews",
)
MINE_36 = _fp(
    "Число погибших на шахте имени Костенко выросло до 36",
    "В Караганде на шахте имени Костенко АрселорМиттал Темиртау погибли уже 36 горняков.",
    "Zakon.kz",
    hours=20,
)
MINE_OTHER = _fp(
    "Пожар на шахте Казахстанская: погибли пять горняков",
    "В Шахтинске на шахте Казахстанская АрселорМиттал Темиртау произошёл пожар, "
    "погибли пять человек.",
    "Orda.kz",
    hours=30,
)
STRIKE_JULY = _fp(
    "Рабочие ТОО Кезби в Жанаозене вышли на забастовку",
    "Работники нефтесервисной компании Кезби в Жанаозене отказались выходить на смену.",
    "Vlast.kz",
    hours=-24 * 90,
)
STRIKE_OCTOBER = _fp(
    "Забастовка рабочих ТОО Кезби в Жанаозене",
    "Рабочие компании Кезби в Жанаозене бастуют: они отказались выходить на смену.",
    "Azattyq",
)
CONGRESS_2020 = _fp(
    "Федерация профсоюзов Казахстана провела XXIX съезд",
    "В Нур-Султане прошёл съезд Федерации профсоюзов Республики Казахстан в 2020 году.",
    "Kazinform",
    hours=None,
)
CONGRESS_2025 = _fp(
    "Съезд Федерации профсоюзов Казахстана избрал председателя",
    "В Астане прошёл съезд Федерации профсоюзов Республики Казахстан в 2025 году.",
    "Kazpravda",
    hours=None,
)
AKIM_REGION = _fp(
    "Берик Уали назначен акимом области Абай",
    "Указом Главы государства Берик Уали назначен акимом области Абай.",
    "Akorda",
)
AKIM_DISTRICT = _fp(
    "Избран аким Абайского района области Абай",
    "Маслихат Абайского района избрал акимом района Ержана Сейткалиева.",
    "Semey News",
    hours=3,
)

ENT_RU = _fp(
    "ЕНТ в марте: наивысший результат первой недели 136 баллов",
    "С 2 марта ЕНТ сдали более 31 тысячи человек: 63% выбрали казахский язык, 74 — английский.",
    "Zakon.kz",
)
ENT_KK = _fp(
    "Наурыздағы ҰБТ: бірінші аптадағы ең жоғары нәтиже – 136 балл",
    "2 наурызда басталған ҰБТ-ны 31 мыңнан астам адам өтті: 63%-ы қазақ тілінде, "
    "74 адам ағылшын тілінде тапсырды.",
    "Zakon.kz",
    lang="kk",
    hours=1,
)

CASES = [
    ("follow-up with a new death toll", MINE_21, MINE_36, True),
    ("new incident at the same company", MINE_36, MINE_OTHER, False),
    ("two strikes in one city in different months", STRIKE_JULY, STRIKE_OCTOBER, False),
    ("the same union's two congresses", CONGRESS_2020, CONGRESS_2025, False),
    ("two appointments in one region", AKIM_REGION, AKIM_DISTRICT, False),
    ("one agency's Kazakh and Russian editions", ENT_RU, ENT_KK, True),
]


@pytest.fixture(scope="module")
def window() -> Rarity:
    """A window holding every item of the table, so rarity is that of a day's news."""
    rarity = Rarity()
    for _, a, b, _ in CASES:
        rarity.add(a)
        rarity.add(b)
    return rarity


@pytest.mark.parametrize(("case", "a", "b", "expected"), CASES, ids=[c[0] for c in CASES])
def test_hard_cases(case: str, a, b, expected: bool, window: Rarity) -> None:
    """Each hard case is decided as a reader would decide it, in both orders."""
    assert same_story(a, b, window) is expected
    assert same_story(b, a, window) is expected


@pytest.mark.parametrize(
    ("kazakh", "russian"),
    [("ереуіл", "забастовка"), ("кәсіподақ", "профсоюз"), ("жалақы", "зарплата"), ("ҰБТ", "ЕНТ")],
)
def test_kazakh_news_words_meet_their_russian_counterparts(kazakh: str, russian: str) -> None:
    """A Kazakh and a Russian item share the frequent news words of the bilingual lexicon."""
    assert fingerprint(kazakh, "").features.keys() == fingerprint(russian, "").features.keys()


def test_kazakh_and_russian_spellings_of_a_name_meet() -> None:
    """Екібастұз, Экибастуз and Ekibastuz are one name."""
    keys = {
        frozenset(fingerprint(name, "").features)
        for name in ("Екібастұз", "Экибастуз", "Ekibastuz")
    }
    assert len(keys) == 1


def test_one_outlet_in_one_language_is_never_merged_with_itself(window: Rarity) -> None:
    """Two items of one source in one language stay apart, however alike."""
    again = _fp("На шахте имени Костенко погиб 21 горняк", "", "Tengrinews", hours=1)
    assert not same_story(MINE_21, again, window)


def test_an_index_forgets_the_stories_out_of_the_window() -> None:
    """A story first seen more than 48 hours ago takes no new item; memory is released."""
    index = StoryIndex()
    index.assign("first", MINE_21, T0)
    index.expire(T0 + timedelta(hours=49))
    assert len(index) == 0
    assert index.assign("second", MINE_36, T0 + timedelta(hours=49)) == "second"


def test_an_index_joins_a_follow_up_to_its_story() -> None:
    """Items arriving one by one join the story they report."""
    index = StoryIndex()
    for fp in (STRIKE_OCTOBER, AKIM_REGION, CONGRESS_2025):
        index.assign(id(fp), fp, T0)
    assert index.assign("mine", MINE_21, T0) == "mine"
    assert index.assign("toll", MINE_36, T0) == "mine"


@pytest.fixture(scope="module")
def figures() -> dict[str, float]:
    """The bench's figures on tests/data/stories."""
    items = bench.read(bench.DATA / "items.jsonl")
    return bench.measure(items, bench.cluster(items))


def test_precision_on_the_labelled_stories(figures: dict[str, float]) -> None:
    """Two different events are almost never merged: pairwise precision >= 0.97."""
    assert figures["precision"] >= 0.97
    assert figures["true_pairs"] >= 15  # and it does merge something


@pytest.mark.xfail(
    strict=True,
    reason="0.156 in-sample, 0.183 held out on this set (see bench/stories.py); target 0.80",
)
def test_same_language_recall_target(figures: dict[str, float]) -> None:
    """The issue's same-language recall target (not met yet; see README)."""
    assert figures["same_recall"] >= 0.80


@pytest.mark.xfail(
    strict=True,
    reason="0.033 in-sample, 0.067 held out on this set (see bench/stories.py); target 0.50",
)
def test_cross_language_recall_target(figures: dict[str, float]) -> None:
    """The issue's kk-ru recall target (not met yet; see README)."""
    assert figures["cross_recall"] >= 0.50
