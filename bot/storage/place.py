"""A place: the key of every subscription (a chat, or one topic of a forum supergroup)."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import ColumnElement

from bot.storage.tables import subscribers


class Place(NamedTuple):
    """Where digests go: a chat, and the forum topic in it (0: the chat itself)."""

    chat_id: int
    thread_id: int = 0


def as_place(place: Place | int) -> Place:
    """A place; a bare chat id names the chat itself (thread 0)."""
    return place if isinstance(place, Place) else Place(int(place), 0)


def at(place: Place | int) -> list[ColumnElement[bool]]:
    """Conditions selecting this place's row."""
    p = as_place(place)
    return [subscribers.c.chat_id == p.chat_id, subscribers.c.thread_id == p.thread_id]
