"""The labelled story clusters have the shape story clustering is measured against."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data" / "stories"
FIELDS = {"id", "story", "lang", "title", "summary", "source", "url", "published"}


def _read(name: str) -> list[dict]:
    """Read one JSON Lines file of the set."""
    with (DATA / name).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@pytest.fixture(scope="module")
def items() -> list[dict]:
    """All labelled items."""
    return _read("items.jsonl")


@pytest.fixture(scope="module")
def stories(items: list[dict]) -> dict[str, list[dict]]:
    """Items grouped by their story id."""
    grouped: dict[str, list[dict]] = defaultdict(list)
    for item in items:
        grouped[item["story"]].append(item)
    return grouped


def test_every_item_has_the_required_fields(items: list[dict]) -> None:
    """Every item carries exactly the fields the clusterer and the report read."""
    for item in items:
        assert set(item) == FIELDS, item.get("id")
        assert item["lang"] in {"ru", "kk"}, item["id"]
        for field in ("id", "story", "title", "summary", "source", "url"):
            assert item[field].strip(), (item["id"], field)
        assert item["url"].startswith(("http://", "https://")), item["id"]
        if item["published"]:
            date.fromisoformat(item["published"])


def test_ids_are_unique_and_name_their_story(items: list[dict]) -> None:
    """Ids are unique and start with their story id, so a pair file reads plainly."""
    counts = Counter(item["id"] for item in items)
    assert [i for i, n in counts.items() if n > 1] == []
    for item in items:
        assert re.fullmatch(rf"{re.escape(item['story'])}-[a-z]", item["id"]), item["id"]


def test_at_least_thirty_stories_have_several_items(stories: dict[str, list[dict]]) -> None:
    """There are at least 30 multi-item stories of 2 to 6 items each."""
    multi = [items for items in stories.values() if len(items) > 1]
    assert len(multi) >= 30
    assert all(len(items) <= 6 for items in multi)


def test_a_multi_item_story_comes_from_different_outlets_or_editions(
    stories: dict[str, list[dict]],
) -> None:
    """Two items of one story never come from one outlet in one language."""
    for story, members in stories.items():
        keys = [(item["source"], item["lang"]) for item in members]
        assert len(keys) == len(set(keys)), story


def test_no_story_repeats_a_title_from_the_same_outlet(stories: dict[str, list[dict]]) -> None:
    """No exact duplicate title within a story from the same outlet."""
    for story, members in stories.items():
        keys = [(item["source"], item["title"]) for item in members]
        assert len(keys) == len(set(keys)), story


def test_the_set_spans_at_least_ten_outlets(items: list[dict]) -> None:
    """Items come from at least ten outlets."""
    assert len({item["source"] for item in items}) >= 10


def test_both_languages_and_bilingual_stories(stories: dict[str, list[dict]]) -> None:
    """At least eight stories have both a Russian and a Kazakh item."""
    bilingual = [
        s for s, members in stories.items() if {"ru", "kk"} <= {m["lang"] for m in members}
    ]
    assert len(bilingual) >= 8


def test_hard_negatives_pair_items_of_different_stories(items: list[dict]) -> None:
    """At least 40 hard negatives, each two existing items of different stories, with a reason."""
    story_of = {item["id"]: item["story"] for item in items}
    pairs = _read("hard_negatives.jsonl")
    assert len(pairs) >= 40
    for pair in pairs:
        assert pair["a"] in story_of and pair["b"] in story_of, pair
        assert story_of[pair["a"]] != story_of[pair["b"]], pair
        assert pair["why"].strip(), pair
    assert len({frozenset((p["a"], p["b"])) for p in pairs}) == len(pairs)


def test_hard_positives_pair_items_of_one_story(items: list[dict]) -> None:
    """Every hard positive is two existing items of one story, with a reason."""
    story_of = {item["id"]: item["story"] for item in items}
    pairs = _read("hard_positives.jsonl")
    assert pairs
    for pair in pairs:
        assert pair["a"] in story_of and pair["b"] in story_of, pair
        assert pair["a"] != pair["b"], pair
        assert story_of[pair["a"]] == story_of[pair["b"]], pair
        assert pair["why"].strip(), pair
