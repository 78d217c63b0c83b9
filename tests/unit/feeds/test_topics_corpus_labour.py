"""The labour batch of the topics corpus is well formed, unique, disjoint, and counted."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from tests.unit.feeds.test_topics_corpus import CORPUS, DATA, _norm, _read, assert_well_formed


@pytest.fixture(scope="module")
def items() -> list[dict]:
    """All items of the labour batch."""
    return _read(CORPUS / "items_labour.jsonl")


def test_every_item_has_the_fields_and_no_labels(items: list[dict]) -> None:
    """Every item has exactly the documented fields, text in both, and no topic labels yet."""
    assert len(items) >= 250
    assert_well_formed(items)


def test_ids_are_unique_and_numbered_apart_from_the_main_corpus(items: list[dict]) -> None:
    """Ids are unique, read tc-<lang>-<number>, and start at 5001 so they cannot collide."""
    assert len({item["id"] for item in items}) == len(items)
    for item in items:
        assert re.fullmatch(rf"tc-{item['lang']}-\d{{4}}", item["id"]), item["id"]
        assert int(item["id"].rsplit("-", 1)[1]) >= 5001, item["id"]
    main_ids = {item["id"] for item in _read(CORPUS / "items.jsonl")}
    assert [item["id"] for item in items if item["id"] in main_ids] == []


def test_titles_are_unique_within_the_batch(items: list[dict]) -> None:
    """No two items share a normalised title."""
    counts = Counter(_norm(item["title"]) for item in items)
    assert [title for title, n in counts.items() if n > 1] == []


def test_no_title_repeats_one_from_another_set(items: list[dict]) -> None:
    """The batch is disjoint, by normalised title, from the main corpus and every other set."""
    others = {_norm(rec["title"]) for rec in _read(CORPUS / "items.jsonl")}
    for path in DATA.rglob("*.jsonl"):
        if CORPUS in path.parents:
            continue
        others |= {_norm(rec["title"]) for rec in _read(path) if "title" in rec}
    assert [item["id"] for item in items if _norm(item["title"]) in others] == []


def test_language_counts_are_the_ones_sources_labour_md_states(items: list[dict]) -> None:
    """The counts line in SOURCES_labour.md matches the file, so the document cannot drift."""
    text = (CORPUS / "SOURCES_labour.md").read_text(encoding="utf-8")
    stated = re.search(r"Counts: kk (\d+) \(latin (\d+), arabic (\d+)\), ru (\d+), en (\d+)", text)
    assert stated, "SOURCES_labour.md has no counts line"
    kk, latin, arabic, ru, en = map(int, stated.groups())
    langs = Counter(item["lang"] for item in items)
    variants = Counter(item["variant"] for item in items)
    assert (langs["kk"], langs["ru"], langs["en"]) == (kk, ru, en)
    assert (variants["latin"], variants["arabic"]) == (latin, arabic)
