"""Settings changed while a digest is being planned, on SQLite and PostgreSQL: nothing twice."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.i18n import GettextLocalizer, make_i18n
from bot.services.digest import Digests
from bot.services.errors import InputError
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


class TwoReadsRepo(SubscriberRepo):
    """The real repository, whose first two reads both return before either tap writes."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.reads = 0
        self.both_read = asyncio.Event()

    async def get(self, chat_id: int) -> Subscriber | None:
        sub = await super().get(chat_id)
        self.reads += 1
        if self.reads >= 2:
            self.both_read.set()
        await self.both_read.wait()
        return sub


class OutracedRepo(SubscriberRepo):
    """The real repository, where another device changes one setting after every read."""

    def __init__(self, engine: AsyncEngine, name: str, values: tuple[object, object]) -> None:
        super().__init__(engine)
        self.name, self.values = name, values
        self.reads = 0

    async def get(self, chat_id: int) -> Subscriber | None:
        sub = await super().get(chat_id)
        self.reads += 1
        await super().update(chat_id, CREATED, **{self.name: self.values[self.reads % 2]})
        return sub


def racing(repo: SubscriberRepo, bot: Any) -> Subscriptions:
    return Subscriptions(
        repo,
        topic_slugs=Taxonomy.load().slugs,
        default_tz="Asia/Almaty",
        backfill=BACKFILL,
        clock=bot.clock,
    )


TAPS: dict[str, tuple[Action, Action]] = {
    "language-buttons": (
        lambda s: s.toggle_language(1, "kk"),
        lambda s: s.toggle_language(1, "en"),
    ),
    "topic-buttons": (
        lambda s: s.toggle_topic(1, "unions"),
        lambda s: s.toggle_topic(1, "education"),
    ),
    "keywords": (
        lambda s: s.change_keywords(1, "add ереуіл"),
        lambda s: s.change_keywords(1, "add жалақы"),
    ),
}


@pytest.mark.parametrize("taps", TAPS, ids=list(TAPS))
async def test_two_taps_racing_on_one_setting_both_count(engine: AsyncEngine, taps: str) -> None:
    bot = make_bot(engine, CREATED)
    await bot.subs.start(1, "ru")

    # Both taps read the setting before either writes: the second is redone on the first's.
    both = racing(TwoReadsRepo(engine), bot)
    await asyncio.gather(*(tap(both) for tap in TAPS[taps]))

    sub = await bot.subs.get(1)
    assert sub is not None
    all_topics = frozenset(Taxonomy.load().slugs)
    assert (sub.langs, sub.topics, set(sub.keywords)) == {  # the keywords in either order
        "language-buttons": (frozenset({"ru"}), None, set()),
        "topic-buttons": (None, all_topics - {"unions", "education"}, set()),
        "keywords": (None, None, {"ереуіл", "жалақы"}),
    }[taps]


OUTRACED: dict[str, tuple[Action, str, tuple[object, object]]] = {
    "language-button": (
        lambda s: s.toggle_language(1, "en"),
        "langs",
        (frozenset({"ru"}), frozenset({"ru", "kk"})),
    ),
    "keywords": (
        lambda s: s.change_keywords(1, "add ереуіл"),
        "keywords",
        (("жалақы",), ("кәсіподақ",)),
    ),
}


@pytest.mark.parametrize("case", OUTRACED, ids=list(OUTRACED))
async def test_a_change_outraced_every_time_is_refused_after_five_tries(
    engine: AsyncEngine, case: str
) -> None:
    bot = make_bot(engine, CREATED)
    await bot.subs.start(1, "ru")
    tap, name, values = OUTRACED[case]
    repo = OutracedRepo(engine, name, values)

    with pytest.raises(InputError) as refused:
        await tap(racing(repo, bot))

    assert refused.value.key == "bad_button"  # the reply: that button is out of date
    assert repo.reads == 5
    sub = await bot.subs.get(1)
    assert sub is not None and getattr(sub, name) == values[1]  # the other device's, untouched
