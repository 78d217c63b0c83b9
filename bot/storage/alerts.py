"""Keyword alerts in planning: which pending items a place's keywords add or take away."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.storage.items import ItemRow
from feeds.keywords import ItemIndex

Marks = dict[int, tuple[str, ...]]  # item id -> title words a keyword matched


def pick(
    rows: Sequence[ItemRow],
    topics: frozenset[str] | None,
    keywords: Iterable[str],
    index: ItemIndex,
) -> tuple[list[ItemRow], Marks]:
    """Rows whose topics are chosen or that an include term finds, less those excluded.

    Rows are already filtered by language. `index` keeps the items' stems between places,
    so a round indexes each new item once. Returns the rows (in order) and their marks.
    """
    for row in rows:
        if row.id not in index:
            index.add(row.id, row.title, row.summary, kazakh=row.lang == "kk")
    found = index.select(keywords)
    kept = [
        row
        for row in rows
        if row.id not in found.excluded
        and (row.id in found.included or topics is None or not topics.isdisjoint(row.topics))
    ]
    return kept, {row.id: found.included[row.id] for row in kept if row.id in found.included}
