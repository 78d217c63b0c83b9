"""Outbox claims: which instance sends a chat's queued messages, until when.

A chat's unsent messages are claimed together by one instance at a time, so they leave in
order. A claim is renewed while its instance lives; a killed instance's claims expire and
another instance takes the chat over. On PostgreSQL claiming is serialised by a transaction
advisory lock (a short UPDATE), so two instances never split one chat; SQLite has one writer.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.engine import writing
from bot.storage.outbox import Pending
from bot.storage.tables import outbox, subscribers

CLAIM_LOCK = 0x4841_4241_5201  # pg_advisory_xact_lock key: "HABAR" + 1, outbox claims


def _unsent() -> tuple[object, ...]:
    return (outbox.c.sent_at.is_(None), outbox.c.error.is_(None))


class OutboxClaims:
    """Claims, renews and gives up chats' queued messages for one instance at a time."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def claim(
        self, owner: str, limit: int, after_id: int, now: datetime, lease: timedelta
    ) -> list[Pending]:
        """Claim (or keep) up to `limit` unsent messages after `after_id`, in planned order.

        Messages of a chat that another live instance holds are left to it.
        """
        held = select(outbox.c.chat_id).where(
            *_unsent(), outbox.c.claimed_by != owner, outbox.c.claimed_until > now
        )
        picked = (
            select(outbox.c.id)
            .join(
                subscribers,
                (subscribers.c.chat_id == outbox.c.chat_id)
                & (subscribers.c.thread_id == outbox.c.thread_id),
            )
            .where(
                *_unsent(),
                outbox.c.id > after_id,
                subscribers.c.status == "active",
                outbox.c.chat_id.not_in(held),
            )
            .order_by(outbox.c.id)
            .limit(limit)
        )
        query = (
            update(outbox)
            .where(outbox.c.id.in_(picked.scalar_subquery()))
            .values(claimed_by=owner, claimed_until=now + lease)
            .returning(
                outbox.c.id, outbox.c.chat_id, outbox.c.text, outbox.c.attempts, outbox.c.thread_id
            )
        )
        async with writing(self._engine) as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CLAIM_LOCK})
            rows = (await conn.execute(query)).all()
        return sorted(
            (Pending(r.id, r.chat_id, r.text, r.attempts, r.thread_id) for r in rows), key=_id
        )

    async def renew(self, owner: str, now: datetime, lease: timedelta) -> int:
        """Extend this instance's claims on unsent messages; how many it still holds."""
        query = (
            update(outbox)
            .where(*_unsent(), outbox.c.claimed_by == owner)
            .values(claimed_until=now + lease)
        )
        async with writing(self._engine) as conn:
            return (await conn.execute(query)).rowcount

    async def release(self, owner: str | None = None) -> None:
        """Give up the claims of `owner` (None: of every instance, when this one is alone)."""
        query = update(outbox).where(*_unsent(), outbox.c.claimed_by.is_not(None))
        if owner is not None:
            query = query.where(outbox.c.claimed_by == owner)
        async with writing(self._engine) as conn:
            await conn.execute(query.values(claimed_by=None, claimed_until=None))


def _id(message: Pending) -> int:
    return message.id
