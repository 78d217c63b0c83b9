"""Settings changed while a digest is being planned, on SQLite and PostgreSQL: nothing twice."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.i18n import GettextLocalizer, make_i18n
from bot.services.digest import Digests
from bot.services.subscriptions import Subscriber, Subscriptions
from bot.storage.outbox import OutboxRepo, Snapshot
from bot.storage.subscribers import SubscriberRepo
from bot.storage.tables import outbox
from feeds.topics import Taxonomy
from tests.integration.test_digest_schedule import BACKFILL, CREATED, NINE_IN_ALMATY, make_bot

TITLES = ("Кәсіподақ жиналысы", "Шахтерлер ереуілі", "Жалақы келісімі")
Action = Callable[[Subscriptions], Awaitable[Subscriber]]


class PausingRepo(SubscriberRepo):
    """The real repository, stopping after each read until the test lets it go on."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.read = asyncio.Event()
        self.go_on = asyncio.Event()

    async def get(self, chat_id: int) -> Subscriber | None:
        sub = await super().get(chat_id)
        self.read.set()
        await self.go_on.wait()
        return sub


class PausingOutbox(OutboxRepo):
    """The real outbox, stopping once between reading a digest and queuing it."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.read = asyncio.Event()
        self.go_on = asyncio.Event()

    async def snapshot(self, chat_id: int, limit: int | None = None) -> Snapshot | None:
        snap = await super().snapshot(chat_id, limit)
        if not self.read.is_set():
            self.read.set()
            await self.go_on.wait()
        return snap


async def planned_texts(engine: AsyncEngine, chat_id: int) -> list[str]:
    """Every message queued for the chat, sent or not, whatever its status."""
    async with engine.connect() as conn:
        rows = await conn.execute(select(outbox.c.text).where(outbox.c.chat_id == chat_id))
        return [r.text for r in rows]


async def _resume(subs: Subscriptions) -> Subscriber:
    sub, _new = await subs.start(1, "ru")
    return sub


ACTIONS: dict[str, Action] = {
    "lang": lambda s: s.set_languages(1, "kk ru"),
    "lang-button": lambda s: s.toggle_language(1, "en"),
    "topics": lambda s: s.set_topics(1, "unions"),
    "topic-button": lambda s: s.toggle_topic(1, "education"),
    "interface": lambda s: s.set_ui_lang(1, "kk"),
    "stop": lambda s: s.stop(1),
    "start": lambda s: _resume(s),
    "schedule": lambda s: s.set_schedule(1, "daily 09:00"),
}


@pytest.mark.parametrize("action", ACTIONS, ids=list(ACTIONS))
async def test_a_settings_change_racing_the_digest_never_sends_it_again(
    engine: AsyncEngine, action: str
) -> None:
    bot = make_bot(engine, CREATED)
    await bot.subs.start(1, "ru")
    for n, title in enumerate(TITLES):
        await bot.store(f"r{n}", title)
    repo = PausingRepo(engine)
    racing = Subscriptions(
        repo,
        topic_slugs=Taxonomy.load().slugs,
        default_tz="Asia/Almaty",
        backfill=BACKFILL,
        clock=bot.clock,
    )
    bot.clock.now = NINE_IN_ALMATY

    # The user's tap reads the subscription; the digest tick plans before the tap writes.
    handler = asyncio.create_task(ACTIONS[action](racing))
    read = asyncio.create_task(repo.read.wait())
    await asyncio.wait([handler, read], return_when=asyncio.FIRST_COMPLETED)
    await bot.tick(NINE_IN_ALMATY)  # /stop, which reads nothing, is done before it
    repo.go_on.set()
    await handler
    read.cancel()

    # The next tick and a /digest find nothing new: each item was planned exactly once.
    await bot.tick(NINE_IN_ALMATY + timedelta(minutes=1))
    await bot.digests.plan(1)
    texts = "\n".join(await planned_texts(engine, 1))
    assert [texts.count(t) for t in TITLES] == [1, 1, 1]
    sub = await bot.subs.get(1)
    assert sub is not None
    if action not in ("schedule", "start", "stop"):  # set the time, or no tick planned
        assert sub.next_digest_at == NINE_IN_ALMATY + timedelta(days=1)


async def test_languages_changed_while_a_digest_renders_are_the_ones_it_follows(
    engine: AsyncEngine,
) -> None:
    bot = make_bot(engine, CREATED)
    await bot.subs.start(1, "ru")
    for n, title in enumerate(TITLES):
        await bot.store(f"r{n}", title)  # all Kazakh
    box = PausingOutbox(engine)
    taxonomy = Taxonomy.load()
    digests = Digests(
        subscribers=SubscriberRepo(engine),
        outbox=box,
        topic_order=taxonomy.slugs,
        localizer=GettextLocalizer(make_i18n(), taxonomy),
        backfill=BACKFILL,
        clock=bot.clock,
    )

    planning = asyncio.create_task(digests.plan(1))
    await box.read.wait()
    await bot.subs.set_languages(1, "ru")
    box.go_on.set()

    assert await planning == 0  # planned again with Russian only: nothing matches
    assert await planned_texts(engine, 1) == []
    sub = await bot.subs.get(1)
    assert sub is not None and sub.langs == frozenset({"ru"})
