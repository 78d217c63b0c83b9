"""Shared fixtures: a migrated database on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.engine import make_engine
from bot.storage.migrate import upgrade_to_head
from tests.support.feed_server import FeedServer

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
# A Redis database of its own (9), emptied for each test that uses it.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


def _pg_reachable() -> str | None:
    async def probe() -> None:
        engine = make_engine(PG_URL)
        try:
            async with engine.connect() as conn:
                await conn.execute(text("select 1"))
        finally:
            await engine.dispose()

    try:
        asyncio.run(probe())
    except Exception as exc:  # any failure means "not reachable", with the reason kept
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def pg_available() -> bool:
    """Whether PostgreSQL is up; in CI its absence fails the run instead of skipping."""
    problem = _pg_reachable()
    if problem is None:
        return True
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL expected at {PG_URL} in CI but unreachable: {problem}")
    return False


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, pg_available: bool
) -> AsyncIterator[str]:
    """A URL of an empty database: a fresh SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'habar.db'}"
        return
    if not pg_available:
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    name = f"habar_t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated engine on each backend."""
    eng = make_engine(db_url)
    await upgrade_to_head(eng)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    """A local feed server on 127.0.0.1."""
    async with FeedServer() as server:
        yield server


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """An empty Redis database; skipped if Redis is down, failed in CI."""
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        await client.flushdb()
    except Exception as exc:
        await client.aclose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis expected at {REDIS_URL} in CI but unreachable: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    try:
        yield REDIS_URL
    finally:
        await client.flushdb()
        await client.aclose()
