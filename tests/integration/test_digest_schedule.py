"""Scheduled digests on SQLite and PostgreSQL with a clock we move: when each one is planned."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.i18n import GettextLocalizer, make_i18n
from bot.services.digest import Digests
from bot.services.subscriptions import Subscriptions
from bot.storage.feeds import FeedRepo
from bot.storage.items import FeedSuccess, ItemRepo
from bot.storage.outbox import OutboxRepo
from bot.storage.subscribers import SubscriberRepo
from bot.storage.tables import items, outbox
from feeds.models import Item, Lang
from feeds.topics import Taxonomy

CREATED = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # 15:00 in Almaty (UTC+5)
NINE_IN_ALMATY = datetime(2026, 3, 11, 4, 0, tzinfo=UTC)
BACKFILL = timedelta(hours=24)
FEED_URL = "https://kaz.inform.kz/rss.xml"
SECOND = timedelta(seconds=1)


@dataclass
class Clock:
    """The time every service sees; tests move it."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Bot:
    """The services a running bot plans digests with, on one clock."""

    clock: Clock
    subs: Subscriptions
    digests: Digests
    engine: AsyncEngine

    async def tick(self, at: datetime) -> int:
        """The digest tick at `at`: how many digests it planned."""
        self.clock.now = at
        return await self.digests.plan_due()

    async def queued(self, chat_id: int) -> list[str]:
        """The digest parts waiting to be sent to this chat."""
        return [
            p.text for p in await OutboxRepo(self.engine).pending(1000) if p.chat_id == chat_id
        ]

    async def store(self, key: str, title: str) -> None:
        """A poll at the current time brings one item, published an hour before."""
        now = self.clock.now
        feeds = FeedRepo(self.engine)
        feed = await feeds.get_by_url(FEED_URL) or await feeds.add(
            url=FEED_URL, title="Kazinform", site_url=None, lang_hint="kk", now=now
        )
        item = Item(
            key=key,
            url=f"https://kaz.inform.kz/news/{key}",
            title=title,
            summary="",
            published=now - timedelta(hours=1),
            lang=Lang.KK,
            topics=frozenset({"unions"}),
        )
        success = FeedSuccess(None, None, None, now, now + timedelta(minutes=5))
        await ItemRepo(self.engine).store_poll(
            feed.id, [item], success, source="Kazinform", backfill=BACKFILL
        )


def make_bot(engine: AsyncEngine, now: datetime) -> Bot:
    """Subscriptions and Digests wired as bot.app wires them, on a clock set to `now`."""
    clock = Clock(now)
    taxonomy = Taxonomy.load()
    subscribers = SubscriberRepo(engine)
    subs = Subscriptions(
        subscribers,
        topic_slugs=taxonomy.slugs,
        default_tz="Asia/Almaty",
        backfill=BACKFILL,
        clock=clock,
    )
    digests = Digests(
        subscribers=subscribers,
        outbox=OutboxRepo(engine),
        topic_order=taxonomy.slugs,
        localizer=GettextLocalizer(make_i18n(), taxonomy),
        backfill=BACKFILL,
        clock=clock,
    )
    return Bot(clock, subs, digests, engine)


async def test_daily_nine_in_almaty_is_planned_at_four_utc_and_not_before(
    engine: AsyncEngine,
) -> None:
    bot = make_bot(engine, CREATED)
    sub, _new = await bot.subs.start(1, "ru")
    assert sub.schedule == "daily" and sub.times == ("09:00",)
    await bot.store("a", "Маңғыстауда жұмысшылар наразылық білдірді")

    assert await bot.tick(NINE_IN_ALMATY - SECOND) == 0
    assert await bot.queued(1) == []
    assert await bot.tick(NINE_IN_ALMATY) == 1
    [digest] = await bot.queued(1)
    assert "Маңғыстауда жұмысшылар наразылық білдірді" in digest
    assert await bot.tick(NINE_IN_ALMATY + timedelta(minutes=1)) == 0
    planned = await bot.subs.get(1)
    assert planned is not None and planned.next_digest_at == NINE_IN_ALMATY + timedelta(days=1)


async def test_two_daily_times_plan_at_each_of_them(engine: AsyncEngine) -> None:
    bot = make_bot(engine, CREATED)
    await bot.subs.start(1, "ru")
    await bot.subs.set_schedule(1, "daily 9:00 18:00")
    evening = CREATED + timedelta(hours=3)  # 18:00 in Almaty
    await bot.store("a", "Жаңаөзендік мұнайшылар тағы да ереуілдетуде")
    assert await bot.tick(evening - SECOND) == 0
    assert await bot.tick(evening) == 1
    await bot.store("b", "Маңғыстауда жұмысшылар наразылық білдірді")
    assert await bot.tick(NINE_IN_ALMATY - SECOND) == 0
    assert await bot.tick(NINE_IN_ALMATY) == 1
    assert len(await bot.queued(1)) == 2


async def test_hourly_plans_on_the_hour_with_only_the_news_since_the_last_one(
    engine: AsyncEngine,
) -> None:
    bot = make_bot(engine, CREATED + timedelta(minutes=20))
    await bot.subs.start(1, "en")
    await bot.subs.set_schedule(1, "hourly")
    await bot.store("a", "Жаңаөзендік мұнайшылар тағы да ереуілдетуде")
    eleven = CREATED + timedelta(hours=1)

    assert await bot.tick(eleven - SECOND) == 0
    assert await bot.tick(eleven) == 1
    await bot.store("b", "Маңғыстауда жұмысшылар наразылық білдірді")
    assert await bot.tick(eleven + timedelta(minutes=30)) == 0
    assert await bot.tick(eleven + timedelta(hours=1)) == 1
    first, second = await bot.queued(1)
    assert "ереуілдетуде" in first and "наразылық" not in first
    assert "наразылық" in second and "ереуілдетуде" not in second


async def test_digest_due_while_the_bot_was_down_is_planned_once_on_the_next_tick(
    engine: AsyncEngine,
) -> None:
    bot = make_bot(engine, CREATED)
    await bot.subs.start(1, "ru")
    await bot.store("a", "Жаңаөзендік мұнайшылар тағы да ереуілдетуде")
    await bot.store("b", "Маңғыстауда жұмысшылар наразылық білдірді")
    back_up = NINE_IN_ALMATY + timedelta(days=3, hours=6)  # three 09:00s were missed

    assert await bot.tick(back_up) == 1
    assert await bot.tick(back_up + SECOND) == 0
    [digest] = await bot.queued(1)
    assert "ереуілдетуде" in digest and "наразылық" in digest
    sub = await bot.subs.get(1)
    assert sub is not None and sub.next_digest_at == NINE_IN_ALMATY + timedelta(days=4)


async def test_stopped_and_blocked_subscribers_are_skipped_and_resuming_keeps_the_news(
    engine: AsyncEngine,
) -> None:
    bot = make_bot(engine, CREATED)
    for chat_id in (1, 2, 3):
        await bot.subs.start(chat_id, "ru")
    await bot.subs.stop(2)
    await SubscriberRepo(engine).mark_blocked(3, CREATED)
    await bot.store("a", "Маңғыстауда жұмысшылар наразылық білдірді")

    assert await bot.tick(NINE_IN_ALMATY) == 1
    assert len(await bot.queued(1)) == 1
    async with engine.connect() as conn:
        others = (await conn.execute(select(outbox).where(outbox.c.chat_id.in_([2, 3])))).all()
    assert others == []

    bot.clock.now = NINE_IN_ALMATY + timedelta(hours=1)
    await bot.subs.start(2, "ru")  # /start again
    assert await bot.tick(NINE_IN_ALMATY + timedelta(days=1)) == 2
    [digest] = await bot.queued(2)
    assert "Маңғыстауда жұмысшылар наразылық білдірді" in digest


async def test_item_committed_after_a_later_one_by_a_concurrent_poll_is_still_delivered(
    engine: AsyncEngine,
) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite runs one writer at a time: ids are committed in order")
    bot = make_bot(engine, CREATED)
    await bot.subs.start(1, "ru")
    await bot.store("seed", "Жаңаөзендік мұнайшылар тағы да ереуілдетуде")
    await bot.digests.plan(1)
    slow = await engine.connect()
    try:
        async with slow.begin():  # a poll still writing: its item id is taken, not committed
            await slow.execute(insert(items).values(**_row("slow", "Забастовка в ЗКО")))
            await bot.store("fast", "Шахтеры Казахстана требуют повышения заработной платы")
            planning = asyncio.create_task(bot.digests.plan(1))
            await asyncio.wait({planning}, timeout=0.5)  # done now, or waiting for the poll
        await planning
    finally:
        await slow.close()
    await bot.digests.plan(1)
    queued = "\n".join(await bot.queued(1))
    assert queued.count("Забастовка в ЗКО") == 1
    assert queued.count("Шахтеры Казахстана") == 1


def _row(key: str, title: str) -> dict[str, object]:
    return {
        "key": key,
        "url": f"https://vlast.kz/news/{key}",
        "source": "Vlast",
        "title": title,
        "lang": "ru",
        "topics": "unions",
        "published_at": CREATED - timedelta(hours=1),
        "first_seen_at": CREATED,
        "pushable": True,
    }


async def test_a_resumed_subscriber_gets_no_news_older_than_the_backfill_window(
    engine: AsyncEngine,
) -> None:
    bot = make_bot(engine, CREATED)
    await bot.subs.start(1, "ru")
    await bot.subs.stop(1)
    await bot.store("paused", "Кәсіподақ жиналысы өтті")  # seen while the chat was paused
    bot.clock.now = CREATED + timedelta(days=3)
    await bot.store("fresh", "Шахтерлер жалақыны көтеруді талап етті")

    _sub, new = await bot.subs.start(1, "ru")  # resumed, 3 days later
    assert not new

    assert await bot.tick(NINE_IN_ALMATY + timedelta(days=3)) == 1
    [digest] = await bot.queued(1)
    assert "Шахтерлер жалақыны көтеруді талап етті" in digest
    assert "Кәсіподақ жиналысы өтті" not in digest
