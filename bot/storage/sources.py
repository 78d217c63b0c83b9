"""Muted sources: the feeds whose items a place never receives."""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.engine import writing
from bot.storage.place import Place
from bot.storage.tables import muted_sources

_M = muted_sources.c


def _of(place: Place) -> list[object]:
    return [_M.chat_id == place.chat_id, _M.thread_id == place.thread_id]


class MutedRepo:
    """Reads and writes a place's muted feeds; each method is one short transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def muted(self, place: Place) -> frozenset[int]:
        """The ids of the feeds this place muted."""
        async with self._engine.connect() as conn:
            rows = await conn.execute(select(_M.feed_id).where(*_of(place)))
            return frozenset(r.feed_id for r in rows)

    async def toggle(self, place: Place, feed_id: int) -> bool:
        """Mute the feed, or unmute it if it was muted; True when it is muted afterwards.

        Raises IntegrityError when the place or the feed does not exist (any more).
        """
        async with writing(self._engine) as conn:
            gone = await conn.execute(
                delete(muted_sources).where(*_of(place), _M.feed_id == feed_id)
            )
            if gone.rowcount:
                return False
            values = {"chat_id": place.chat_id, "thread_id": place.thread_id, "feed_id": feed_id}
            await conn.execute(insert(muted_sources).values(values))
            return True

    async def clear(self, place: Place) -> None:
        """Unmute every feed of this place."""
        async with writing(self._engine) as conn:
            await conn.execute(delete(muted_sources).where(*_of(place)))


__all__ = ["IntegrityError", "MutedRepo"]
