"""Apply Alembic migrations to head: at start, and from tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

HERE = Path(__file__).resolve().parent
MIGRATION_LOCK = 0x4861626172  # "Habar": the advisory lock key every migrating process takes


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config bound to our migration tree (and to a live connection, if given)."""
    cfg = Config(str(HERE / "alembic.ini"))
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Bring the database schema up to the newest migration, all of it or nothing.

    SQLite: the sqlite3 driver sends no BEGIN before DDL, so each CREATE would commit on its
    own and a crash would leave half a schema; an explicit BEGIN IMMEDIATE makes the upgrade
    one transaction, and also makes a second process wait for it. PostgreSQL: DDL is
    transactional, and an advisory lock makes a second process wait instead of racing to
    create the same tables; it then finds the schema at head and does nothing.
    """
    async with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "head"))
