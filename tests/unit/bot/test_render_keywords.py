"""Keyword matches in a digest: first, under their own heading, matched words in bold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.services.render import MAX_ENTITIES, DigestItem, DigestText, render_digest
from tests.support.tg_entities import auto_entities
from tests.support.tg_html import parse_html

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
TEXT = DigestText(
    header="Дайджест", other_heading="Басқа", continued="(продолжение)", alerts_heading="Сигналы"
)
NAMES = {"economy": "Экономика", "unions": "Профсоюзы"}


def item(n: int, title: str, topics: tuple[str, ...] = (), marks=None) -> DigestItem:
    return DigestItem(
        id=n,
        url=f"https://kaz.news/{n}",
        title=title,
        source="Kaz News",
        published=NOW - timedelta(minutes=n),
        topics=topics,
        marks=marks,
    )


def render(items: list[DigestItem]) -> list[str]:
    return render_digest(
        items,
        topic_order=("unions", "economy"),
        chosen_topics=None,
        topic_name=NAMES.__getitem__,
        tz=ZoneInfo("Asia/Almaty"),
        text=TEXT,
        now=NOW,
    )


def test_keyword_matches_come_first_under_their_heading_with_words_in_bold() -> None:
    parts = render(
        [
            item(1, "Рост цен на бензин", ("economy",)),
            item(2, "Шахтёры объявили забастовку", ("unions",), marks=("забастовку",)),
            item(3, "Погода на выходные"),
        ]
    )
    text, entities = parse_html(parts[0])
    blocks = [block.split("\n") for block in text.split("\n\n")]
    assert [b[0] for b in blocks] == ["Дайджест", "Сигналы", "Экономика", "Басқа"]
    assert [line.split(" — ")[0] for line in blocks[1][1:]] == ["Шахтёры объявили забастовку"]
    bold = [text[e["offset"] : e["offset"] + e["length"]] for e in entities if e["type"] == "bold"]
    assert "забастовку" in bold


def test_a_word_inside_a_hashtag_or_a_domain_stays_plain() -> None:
    parts = render(
        [item(1, "#забастовка и забастовка на strike.kz", marks=("забастовка", "strike"))]
    )
    text, entities = parse_html(parts[0])
    bold = [(e["offset"], e["length"]) for e in entities if e["type"] == "bold"]
    line_start = text.index("#забастовка")  # the header and the heading are bold before it
    assert bold[2:] == [(line_start + len("#забастовка и "), len("забастовка"))]


def test_bold_words_count_against_the_entity_limit() -> None:
    titles = ["забастовка", "профсоюз", "ереуіл", "зарплата"]
    items = [item(n, " ".join(titles) + f" {n}", marks=tuple(titles)) for n in range(1, 101)]
    parts = render(items)

    assert len(parts) >= 5  # 100 items with five entities each
    for part in parts:
        text, entities = parse_html(part)
        assert len(entities) + len(auto_entities(text, entities)) <= MAX_ENTITIES
    shown = sum(parse_html(p)[0].count("Kaz News") for p in parts)
    assert shown == 100
