"""Keyword alerts: parsing /keywords arguments and finding terms in items, ru/kk/en."""

from __future__ import annotations

import pytest

from feeds.keywords import MAX_CHARS, ItemIndex, KeywordError, parse_terms

KK, OTHER = True, False

# (typed keywords, item title, the item is Kazakh, found?, title words marked bold)
CASES = [
    # Russian: whole words with their case endings
    ("забастовка", "Забастовки продолжаются третий день", OTHER, True, ("Забастовки",)),
    ("забастовка", "Рабочие начали забастовку", OTHER, True, ("забастовку",)),
    ("забастовка", "Угроза забастовкой на шахте", OTHER, True, ("забастовкой",)),
    ("забастовка", "Забастовка на шахте", OTHER, True, ("Забастовка",)),
    ("забастовки", "Профсоюз объявил забастовку", OTHER, True, ("забастовку",)),
    ("мир", "Борьба за мир", OTHER, True, ("мир",)),
    ("мир", "Во всём мире растут цены", OTHER, True, ("мире",)),
    ("мир", "Цены на мировом рынке", OTHER, False, ()),
    ("мир", "Мировой рынок нефти", OTHER, False, ()),
    ("мир", "Мирзоян приехал в Астану", OTHER, False, ()),
    ("профсоюз", "Профсоюзы требуют повышения", OTHER, True, ("Профсоюзы",)),
    ("профсоюз", "Встреча с профсоюзом горняков", OTHER, True, ("профсоюзом",)),
    ("профсоюз", "Профсоюзный комитет собрался", OTHER, False, ()),
    ("ЗАРПЛАТА", "зарплаты учителей вырастут", OTHER, True, ("зарплаты",)),
    ("зарплата", "Зарплатный фонд сократили", OTHER, False, ()),
    ("школа", "Школьники вернулись", OTHER, False, ()),
    ("школа", "В школах начались каникулы", OTHER, True, ("школах",)),
    # Russian phrases: consecutive, in order, each word inflected
    (
        '"минимальная зарплата"',
        "Минимальную зарплату повысят",
        OTHER,
        True,
        ("Минимальную", "зарплату"),
    ),
    (
        '"минимальная зарплата"',
        "Размер минимальной зарплаты",
        OTHER,
        True,
        ("минимальной", "зарплаты"),
    ),
    ('"минимальная зарплата"', "Зарплата минимальная, жалуются рабочие", OTHER, False, ()),
    ('"минимальная зарплата"', "Минимальная средняя зарплата", OTHER, False, ()),
    ("«минимальная зарплата»", "О минимальной зарплате", OTHER, True, ("минимальной", "зарплате")),
    # Kazakh: suffix stacks, voicing, other scripts and keyboards
    ("ереуіл", "Жұмысшылар ереуілге шықты", KK, True, ("ереуілге",)),
    ("ереуіл", "Әкімдік ереуілді тоқтатты", KK, True, ("ереуілді",)),
    ("ереуіл", "Ереуілдер жалғасуда", KK, True, ("Ереуілдер",)),
    ("ереуіл", "Ереуілдердің себебі белгілі болды", KK, True, ("Ереуілдердің",)),
    ("ереуіл", "Ереуілшілер алаңға жиналды", KK, False, ()),
    ("кәсіподақ", "Кәсіподағы мәлімдеме жасады", KK, True, ("Кәсіподағы",)),
    ("кәсіподақ", "Кәсіподақтар федерациясы", KK, True, ("Кәсіподақтар",)),
    ("кәсіподақ", "Кәсіподақтың төрағасы", KK, True, ("Кәсіподақтың",)),
    ("мектеп", "Мектебі жабылды", KK, True, ("Мектебі",)),
    ("мектеп", "Мектепке бару", KK, True, ("Мектепке",)),
    ("ereýil", "Жұмысшылар ереуілге шықты", KK, True, ("ереуілге",)),
    ("ереуил", "Жұмысшылар ереуілге шықты", KK, True, ("ереуілге",)),
    ("кэсиподак", "Кәсіподағы мәлімдеме жасады", KK, True, ("Кәсіподағы",)),
    ("ереуіл", "Jumysshylar ereýilge shyqty", KK, True, ("ereýilge",)),
    ("кәсіподақ", "كاسىپوداق مالىمدەمە جاسادى", KK, True, ("كاسىپوداق",)),
    ('"ең төменгі жалақы"', "Ең төменгі жалақыны көтеру", KK, True, ("Ең", "төменгі", "жалақыны")),
    ('"ең төменгі жалақы"', "Төменгі ең жалақы", KK, False, ()),
    ("кәсіподақ", "Ереуіл басталды", KK, False, ()),
    # English: plurals, -ed, -ing; no longer words
    ("strike", "Workers striking again", OTHER, True, ("striking",)),
    ("strike", "Strikes spread across the region", OTHER, True, ("Strikes",)),
    ("union", "Unions protest pension cuts", OTHER, True, ("Unions",)),
    ("union", "Reunion of the class of 1990", OTHER, False, ()),
    ("war", "Warning issued for storms", OTHER, False, ()),
    ("wage", "Wages rose by 5%", OTHER, True, ("Wages",)),
    ('"minimum wage"', "The minimum wages debate", OTHER, True, ("minimum", "wages")),
    ('"minimum wage"', "Wage minimum talks", OTHER, False, ()),
    # The summary counts, and a phrase does not run from the title into it
    ("реклама", "Новости дня", OTHER, False, ()),
]


@pytest.mark.parametrize(("typed", "title", "kazakh", "found", "marked"), CASES)
def test_keyword_finds_whole_words_with_their_inflections(
    typed: str, title: str, kazakh: bool, found: bool, marked: tuple[str, ...]
) -> None:
    index = ItemIndex()
    index.add(1, title, "", kazakh)
    terms = parse_terms(typed)
    selection = index.select(terms)
    assert (1 in selection.included) is found
    assert (index.marks(1, selection) if found else ()) == marked


def test_the_summary_is_searched_but_only_title_words_are_marked() -> None:
    index = ItemIndex()
    index.add(1, "Новости дня", "Профсоюз объявил забастовку", False)
    selection = index.select(["забастовка"])
    assert selection.included == {1}
    assert index.marks(1, selection) == ()


def test_a_phrase_does_not_run_from_the_title_into_the_summary() -> None:
    index = ItemIndex()
    index.add(1, "Установлена минимальная", "зарплата растёт", False)
    assert index.select(['"минимальная зарплата"']).included == set()


def test_an_exclusion_marks_items_and_includes_nothing() -> None:
    index = ItemIndex()
    index.add(1, "Забастовка на шахте", "", False)
    index.add(2, "Реклама: забастовка скидок", "", False)
    selection = index.select(["забастовка", "-реклама"])
    assert selection.excluded == {2}
    assert selection.included == {1, 2}  # the caller drops excluded items


def test_items_added_after_a_selection_are_found_by_the_next_one() -> None:
    index = ItemIndex()
    index.add(1, "Забастовка", "", False)
    assert set(index.select(["забастовка"]).included) == {1}
    index.add(2, "Забастовки", "", False)
    assert set(index.select(["забастовка"]).included) == {1, 2}


def test_the_oldest_items_are_forgotten_beyond_the_capacity() -> None:
    index = ItemIndex(capacity=8)
    for item_id in range(1, 10):
        index.add(item_id, "Забастовка", "", False)
    assert len(index) == 6
    assert set(index.select(["забастовка"]).included) == set(range(4, 10))


@pytest.mark.parametrize(
    ("args", "terms"),
    [
        (
            'профсоюз "минимальная зарплата" ереуіл -реклама',
            ["профсоюз", '"минимальная зарплата"', "ереуіл", "-реклама"],
        ),
        ("Профсоюз профсоюз", ["профсоюз"]),
        ('"одно"', ["одно"]),
        ('-"платный   контент"', ['-"платный контент"']),
        ("«минимальная зарплата»", ['"минимальная зарплата"']),
        ("профсоюз, забастовка; strike.", ["профсоюз", "забастовка", "strike"]),
    ],
)
def test_terms_are_parsed_to_their_canonical_text(args: str, terms: list[str]) -> None:
    assert parse_terms(args) == terms


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ('"минимальная зарплата', "unclosed_quote"),
        ('""', "no_letters"),
        ("-", "no_letters"),
        (",", "no_letters"),
        ("   ", "empty"),
        ("a" * (MAX_CHARS + 1), "too_long"),
    ],
)
def test_bad_terms_are_refused_with_a_reason(args: str, reason: str) -> None:
    with pytest.raises(KeywordError) as caught:
        parse_terms(args)
    assert caught.value.reason == reason


def test_the_index_asks_only_for_the_id_ranges_it_has_not_read() -> None:
    index = ItemIndex()
    assert index.gaps(10, 20) == [(10, 20)]
    index.cover(10, 20)
    assert index.gaps(10, 20) == []
    assert index.gaps(15, 30) == [(20, 30)]  # new items since
    assert index.gaps(5, 20) == [(5, 10)]  # a place further behind
    assert index.gaps(25, 30) == [(20, 30)]  # read contiguously, so no hole is left
