"""The unlabelled topics corpus is well formed, unique, disjoint from other sets, and counted."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data"
CORPUS = DATA / "topics_corpus"
FIELDS = {"id", "lang", "variant", "title", "summary", "source", "url", "provenance", "batch"}
LANGS = {"kk", "ru", "en"}
VARIANTS = {None, "latin", "arabic"}


def _norm(title: str) -> str:
    """Fold a title the way the collector deduplicated: case, ё/е, punctuation, spacing."""
    return " ".join(re.findall(r"\w+", title.casefold().replace("ё", "е")))


def _read(path: Path) -> list[dict]:
    """Read one JSON Lines file."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@pytest.fixture(scope="module")
def items() -> list[dict]:
    """All corpus items."""
    return _read(CORPUS / "items.jsonl")


def assert_well_formed(items: list[dict]) -> None:
    """Every item has exactly the documented fields, text in both, and no topic labels."""
    for item in items:
        assert set(item) == FIELDS, item.get("id")
        assert item["lang"] in LANGS, item["id"]
        assert item["variant"] in VARIANTS, item["id"]
        assert item["variant"] is None or item["lang"] == "kk", item["id"]
        for field in ("id", "title", "summary", "source", "provenance", "batch"):
            assert item[field].strip(), (item["id"], field)
        assert item["title"] == " ".join(item["title"].split()), item["id"]
        assert item["summary"] == " ".join(item["summary"].split()), item["id"]
        assert len(item["summary"]) <= 600, item["id"]
        assert item["url"] == "" or item["url"].startswith(("http://", "https://")), item["id"]


def test_every_item_has_the_fields_and_no_labels(items: list[dict]) -> None:
    """Every item has exactly the documented fields, text in both, and no topic labels yet."""
    assert_well_formed(items)


def test_ids_are_unique_and_carry_the_language(items: list[dict]) -> None:
    """Ids are unique and read tc-<lang>-<number>."""
    assert len({item["id"] for item in items}) == len(items)
    for item in items:
        assert re.fullmatch(rf"tc-{item['lang']}-\d{{4}}", item["id"]), item["id"]


def test_titles_are_unique_within_the_corpus(items: list[dict]) -> None:
    """No two items share a normalised title."""
    counts = Counter(_norm(item["title"]) for item in items)
    assert [title for title, n in counts.items() if n > 1] == []


def test_no_title_repeats_one_from_another_set(items: list[dict]) -> None:
    """The corpus is disjoint, by normalised title, from every other set under tests/data."""
    others = set()
    for path in DATA.rglob("*.jsonl"):
        if CORPUS in path.parents:
            continue
        others |= {_norm(rec["title"]) for rec in _read(path) if "title" in rec}
    assert others, "the other sets were not found"
    assert [item["id"] for item in items if _norm(item["title"]) in others] == []


def test_language_counts_are_the_ones_sources_md_states(items: list[dict]) -> None:
    """The counts line in SOURCES.md matches the file, so the document cannot drift."""
    text = (CORPUS / "SOURCES.md").read_text(encoding="utf-8")
    stated = re.search(r"Counts: kk (\d+) \(latin (\d+), arabic (\d+)\), ru (\d+), en (\d+)", text)
    assert stated, "SOURCES.md has no counts line"
    kk, latin, arabic, ru, en = map(int, stated.groups())
    langs = Counter(item["lang"] for item in items)
    variants = Counter(item["variant"] for item in items)
    assert (langs["kk"], langs["ru"], langs["en"]) == (kk, ru, en)
    assert (variants["latin"], variants["arabic"]) == (latin, arabic)


TOPIC_SLUGS = {
    "politics", "unions", "education", "health", "economy", "social", "youth", "culture",
}  # fmt: skip


def assert_two_passes(rows: Iterable[dict]) -> None:
    """Each row holds two passes, the adjudication exactly where they differ, and the result."""
    for row in rows:
        for name in ("a", "b", "topics"):
            assert set(row[name]) <= TOPIC_SLUGS and len(row[name]) <= 2, row["id"]
        agreed = row["a"] == row["b"]
        assert (row["adjudicated"] is None) == agreed, row["id"]
        assert row["topics"] == (row["a"] if agreed else row["adjudicated"]), row["id"]


def test_every_item_is_labelled_by_two_passes_and_split_once(items: list[dict]) -> None:
    """labels.jsonl holds both passes and the adjudication; the splits partition the items."""
    labour = _read(CORPUS / "items_labour.jsonl")
    labels = {row["id"]: row for row in _read(CORPUS / "labels.jsonl")}
    assert set(labels) == {item["id"] for item in items + labour}
    assert_two_passes(labels.values())
    splits = {n: _read(CORPUS / "labelled" / f"{n}.jsonl") for n in ("train", "dev", "test")}
    ids = [row["id"] for rows in splits.values() for row in rows]
    assert sorted(ids) == sorted(labels)  # each item in exactly one split
    for rows in splits.values():
        for row in rows:
            assert row["topics"] == labels[row["id"]]["topics"], row["id"]
    assert not [r["id"] for r in splits["test"] if r["batch"] == "ministry-dataset"]


LATER_BATCHES = {"extra": "train_extra.jsonl", "check": "check_labour.jsonl"}


@pytest.mark.parametrize("name", sorted(LATER_BATCHES))
def test_a_later_batch_is_new_and_labelled_twice(name: str) -> None:
    """items_<name>.jsonl (the training-only extra batch, the labour check set): well formed,
    unique, disjoint from every other set (the locked test split included), labelled by two
    passes with the adjudication, all of it in its labelled file, counted in its SOURCES."""
    batch = _read(CORPUS / f"items_{name}.jsonl")
    assert_well_formed(batch)
    for item in batch:
        assert re.fullmatch(rf"tx-[a-z]-{item['lang']}-\d{{4}}", item["id"]), item["id"]
    titles = Counter(_norm(item["title"]) for item in batch)
    assert [title for title, n in titles.items() if n > 1] == []
    own = (f"items_{name}.jsonl", LATER_BATCHES[name])
    others = {
        _norm(rec["title"])
        for path in DATA.rglob("*.jsonl")
        if path.name not in own
        for rec in _read(path)
        if "title" in rec
    }
    assert [item["id"] for item in batch if _norm(item["title"]) in others] == []

    labels = {row["id"]: row for row in _read(CORPUS / f"labels_{name}.jsonl")}
    assert set(labels) == {item["id"] for item in batch}
    assert_two_passes(labels.values())
    labelled = _read(CORPUS / "labelled" / LATER_BATCHES[name])
    final = {key: row["topics"] for key, row in labels.items()}
    assert {row["id"]: row["topics"] for row in labelled} == final

    text = (CORPUS / f"SOURCES_{name}.md").read_text(encoding="utf-8")
    stated = re.search(r"Counts: kk (\d+) \(latin (\d+), arabic (\d+)\), ru (\d+), en (\d+)", text)
    assert stated, f"SOURCES_{name}.md has no counts line"
    langs = Counter(item["lang"] for item in batch)
    variants = Counter(item["variant"] for item in batch)
    kk, latin, arabic, ru, en = map(int, stated.groups())
    assert (langs["kk"], langs["ru"], langs["en"], variants["latin"], variants["arabic"]) == (
        kk, ru, en, latin, arabic,
    )  # fmt: skip
