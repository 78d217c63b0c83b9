"""Fixtures shared by the tests that talk to the fake Telegram Bot API over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

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
