"""Fixtures shared by the tests that talk to the fake Telegram Bot API over HTTP."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.engine import make_engine
from bot.storage.migrate import upgrade_to_head
from tests.support.fake_telegram import FakeTelegram


def make_bot(fake: FakeTelegram) -> Bot:
    """aiogram's real Bot client pointed at the fake."""
    return Bot(fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.url)))


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """A fresh fake Telegram for one test."""
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    """A Bot talking to the fake; its session is closed afterwards."""
    client = make_bot(fake)
    yield client
    await client.session.close()


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated SQLite file, for the tests that need one backend only."""
    eng = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'habar.db'}")
    await upgrade_to_head(eng)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """An operator's shell for CLI runs: a SQLite file, private feeds allowed."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'habar.db'}",
        "ALLOW_PRIVATE_FEEDS": "true",
    }
