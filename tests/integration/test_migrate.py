"""First starts that crash or collide while migrating: the next start still gets the schema."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

from bot.storage.engine import make_engine
from bot.storage.migrate import upgrade_to_head
from bot.storage.tables import metadata

ROOT = Path(__file__).resolve().parents[2]
# A first start that stops for good right after creating its third table, until killed.
CHILD = """
import asyncio, sys, time
from sqlalchemy import event
from bot.storage.engine import make_engine
from bot.storage.migrate import upgrade_to_head

engine = make_engine(sys.argv[1])

@event.listens_for(engine.sync_engine, "after_cursor_execute")
def stall(conn, cursor, statement, *args):
    if "CREATE TABLE subscribers" in statement:
        print("stalled", flush=True)
        time.sleep(600)

asyncio.run(upgrade_to_head(engine))
"""


async def schema_diff(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
        )


async def test_a_first_start_killed_while_migrating_sqlite_does_not_block_the_next(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'habar.db'}"
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, url, cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    assert child.stdout is not None
    assert await asyncio.wait_for(child.stdout.readline(), 60) == b"stalled\n"
    child.kill()  # SIGKILL: no rollback, no cleanup, as a power cut or the OOM killer
    await child.wait()

    engine = make_engine(url)
    try:
        await upgrade_to_head(engine)
        assert await schema_diff(engine) == []
    finally:
        await engine.dispose()


async def _lock_waiters(watcher: AsyncEngine) -> int:
    """Sessions of this database waiting for a lock."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    async with watcher.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


async def test_two_first_starts_at_once_on_postgresql_both_succeed(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite: a second start waits on BEGIN IMMEDIATE (the kill test covers it)")
    first, second, watcher = make_engine(db_url), make_engine(db_url), make_engine(db_url)
    created = asyncio.Event()
    go_on = asyncio.Event()

    @event.listens_for(first.sync_engine, "after_cursor_execute")
    def pause(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "CREATE TABLE feeds" in statement and not go_on.is_set():
            created.set()
            await_only(go_on.wait())  # the migration stops here, its transaction open

    try:
        one = asyncio.create_task(upgrade_to_head(first))
        await created.wait()
        two = asyncio.create_task(upgrade_to_head(second))
        # PostgreSQL signals no event when a session starts waiting: look until it does.
        for _ in range(600):
            if await _lock_waiters(watcher):  # the second start is blocked on the first
                break
            await asyncio.sleep(0.05)
        go_on.set()
        outcomes = await asyncio.wait_for(asyncio.gather(one, two, return_exceptions=True), 60)
        assert outcomes == [None, None]
        assert await schema_diff(second) == []
    finally:
        for engine in (first, second, watcher):
            await engine.dispose()
