"""Who else runs on this PostgreSQL database: a session advisory lock held for a lifetime.

An instance that works alone (no REDIS_URL) holds the lock exclusively; instances that share
the work through Redis hold it shared. So a lone instance and any other one exclude each other,
and the lock goes with the session when a process dies, even by kill -9.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

INSTANCE_LOCK = 0x4841_4241_5202  # "HABAR" + 2: held by every running instance


@asynccontextmanager
async def instance_lock(engine: AsyncEngine, *, shared: bool) -> AsyncIterator[bool]:
    """Hold the instance lock while the block runs; yields False if another instance excludes
    this one (always True on SQLite, which has no such lock)."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    kind = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
    async with engine.connect() as conn:
        got = bool((await conn.execute(text(f"SELECT {kind}(:k)"), {"k": INSTANCE_LOCK})).scalar())
        await conn.commit()
        yield got
        # The session lock ends with the session, but closing returns the connection to the
        # pool: unlock first. A connection already lost took its lock with it.
        if got:
            unlock = "pg_advisory_unlock_shared" if shared else "pg_advisory_unlock"
            try:
                await conn.execute(text(f"SELECT {unlock}(:k)"), {"k": INSTANCE_LOCK})
                await conn.commit()
            except Exception:
                await conn.invalidate()
