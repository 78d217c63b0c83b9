"""Which place each private chat configures after /chats: kept across restarts."""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.engine import writing
from bot.storage.place import Place
from bot.storage.tables import chosen_places, subscribers

_C = chosen_places.c


class ChosenRepo:
    """Reads and writes the chosen place of private chats; one short transaction each."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, private_chat_id: int) -> tuple[Place, str] | None:
        """The place this private chat configures and its title, or None for the chat itself."""
        query = (
            select(_C.chat_id, _C.thread_id, subscribers.c.title)
            .join(
                subscribers,
                (subscribers.c.chat_id == _C.chat_id) & (subscribers.c.thread_id == _C.thread_id),
            )
            .where(_C.private_chat_id == private_chat_id)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return (Place(row.chat_id, row.thread_id), row.title) if row else None

    async def set(self, private_chat_id: int, place: Place | None) -> None:
        """Choose a place for the private chat (None: back to the chat itself)."""
        async with writing(self._engine) as conn:
            await conn.execute(delete(chosen_places).where(_C.private_chat_id == private_chat_id))
            if place is not None:
                values = {"private_chat_id": private_chat_id, **place._asdict()}
                await conn.execute(insert(chosen_places).values(values))
