"""Keyword alerts in planning: the index of item stems, and the SQL condition for a place
planned on its own.

An item reaches a place when its language is chosen and (a chosen topic or an include term
matches) and no exclusion matches. Terms are matched in Python on an index of item stems
(feeds.keywords.ItemIndex) that each round fills once, with the items no place read yet,
before the snapshot takes its lock. A planning round then chooses in memory
(bot.storage.outbox.ItemWindow); a place planned on its own (/digest, or far behind the round)
puts the ids found into its query, so SQL picks, orders and counts its digest.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, bindparam, exists, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.tables import item_topics, items
from feeds.keywords import ItemIndex, Selection

Marks = dict[int, tuple[str, ...]]  # item id -> title words a keyword matched


_EVER = 2**62  # above every item id


async def _add_rows(conn: AsyncConnection, index: ItemIndex, *where: ColumnElement[bool]) -> None:
    """Index the pushable items that match `where`."""
    query = (
        select(items.c.id, items.c.title, items.c.summary, items.c.lang)
        .where(items.c.pushable, *where)
        .order_by(items.c.id)
    )
    for row in await conn.execute(query):
        index.add(row.id, row.title, row.summary, kazakh=row.lang == "kk")


async def prefetch(conn: AsyncConnection, index: ItemIndex, after: int) -> None:
    """Index the items after `after` the index lacks, before any lock is taken.

    Indexing is the slow part of a round, so it happens here; nothing counts as read yet,
    because on PostgreSQL a smaller id may still commit: `read_into` settles that under the lock.
    """
    for low, high in index.gaps(after, _EVER):
        await _add_rows(conn, index, items.c.id > low, items.c.id <= high)


async def read_into(conn: AsyncConnection, index: ItemIndex, after: int, upto: int) -> None:
    """Make sure the items in (after, upto] are indexed: only those `prefetch` missed are read."""
    for low, high in index.gaps(after, upto):
        span = (items.c.id > low, items.c.id <= high, items.c.pushable)
        ids = [row.id for row in await conn.execute(select(items.c.id).where(*span))]
        missing = [item_id for item_id in ids if item_id not in index]
        if missing:
            await _add_rows(conn, index, _among(missing))
        index.cover(low, high)


def _ids(found: frozenset[int], after: int, upto: int) -> list[int]:
    return sorted(i for i in found if after < i <= upto)


def _among(ids: list[int]) -> ColumnElement[bool]:
    # Ids are written into the SQL as numbers: no limit on bound parameters, however many.
    return items.c.id.in_(bindparam(None, ids, expanding=True, literal_execute=True))


def alert_clause(
    topics: frozenset[str] | None, found: Selection, after: int, upto: int
) -> ColumnElement[bool]:
    """Chosen topics or an include match, and no exclusion, for items in (after, upto]."""
    if topics is None:
        chosen: ColumnElement[bool] = true()
    elif topics:
        chosen = exists().where(
            and_(item_topics.c.item_id == items.c.id, item_topics.c.topic.in_(sorted(topics)))
        )
    else:
        chosen = false()
    included = _ids(found.included, after, upto)
    if included and topics is not None:
        chosen = or_(chosen, _among(included))
    excluded = _ids(found.excluded, after, upto)
    return and_(chosen, ~_among(excluded)) if excluded else chosen
