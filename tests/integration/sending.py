"""Helpers for the tests of the real Sender: queue digests, run a Sender, read the outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.delivery import RateLimiter, Sender, TelegramLimits
from bot.storage.outbox import OutboxRepo, Plan
from bot.storage.subscribers import Subscriber, SubscriberRepo
from bot.storage.tables import outbox as outbox_table
from tests.integration.test_outbox import plan
from tests.support.fake_telegram import FakeTelegram


def parts(chat_id: int, n: int) -> list[str]:
    """The HTML parts of an n-part digest for one chat, each one different."""
    return [
        f"<b>Дайджест {chat_id}</b>\nчасть {i} из {n}: <i>новости</i>" for i in range(1, n + 1)
    ]


async def queue(engine: AsyncEngine, chat_id: int, texts: list[str]) -> None:
    """Subscribe the chat if needed and queue a digest of these parts through the repos."""
    now = datetime.now(UTC)
    subs = SubscriberRepo(engine)
    if await subs.get(chat_id) is None:
        zone = "Asia/Almaty"
        sub = Subscriber(
            chat_id, "ru", None, None, "daily", ("09:00",), zone, "active", 0, None, now
        )
        await subs.create(sub, now)
    assert await plan(OutboxRepo(engine), chat_id, lambda _s, _r: Plan(texts, None), now) == 0


@asynccontextmanager
async def sending(
    engine: AsyncEngine,
    fake: FakeTelegram,
    rate: float = 200.0,
    *,
    outbox: OutboxRepo | None = None,
    token: str | None = None,
    on_token_rejected: Callable[[], None] | None = None,
    **options: Any,
) -> AsyncIterator[Sender]:
    """A started Sender on its own Bot client, drained and closed on the way out."""
    api = TelegramAPIServer.from_base(fake.url)
    bot = Bot(token or fake.token, session=AiohttpSession(api=api))
    limits = TelegramLimits(RateLimiter(rate))
    if on_token_rejected is not None:
        limits.on_token_rejected = on_token_rejected
    bot.session.middleware(limits)
    box = outbox or OutboxRepo(engine)
    sender = Sender(bot, outbox=box, subscribers=SubscriberRepo(engine), **options)
    async with engine.connect() as conn:  # subscribers from before: they pressed Start then
        for chat_id in (await conn.execute(select(outbox_table.c.chat_id).distinct())).scalars():
            fake.register_chat(chat_id)
    sender.start()
    try:
        yield sender
    finally:
        await sender.drain(5.0)
        await bot.session.close()


async def rows(engine: AsyncEngine) -> list[tuple[int, str, bool, str | None, int]]:
    """(chat, text, sent, error, attempts) of every outbox row, in planned order."""
    query = select(outbox_table).order_by(outbox_table.c.id)
    async with engine.connect() as conn:
        return [
            (r.chat_id, r.text, r.sent_at is not None, r.error, r.attempts)
            for r in await conn.execute(query)
        ]


def received(fake: FakeTelegram, chat_id: int) -> list[str]:
    """The HTML of every message the fake accepted for one chat, in order."""
    return [m.html for m in fake.sent_to(chat_id)]
