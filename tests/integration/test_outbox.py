"""The outbox on SQLite and PostgreSQL: digests planned atomically, filtered, kept small."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.feeds import FeedRepo
from bot.storage.items import FeedSuccess, ItemRepo, ItemRow
from bot.storage.outbox import OutboxRepo, Plan
from bot.storage.subscribers import Place, Subscriber, SubscriberRepo
from bot.storage.tables import metadata, outbox
from feeds.models import Item, Lang

NOW = datetime(2025, 3, 3, 4, 0, tzinfo=UTC)
BACKFILL = timedelta(hours=24)
FEED_URL = "https://tengrinews.kz/news.rss"


def subscriber(
    chat_id: int,
    *,
    langs: frozenset[str] | None = None,
    topics: frozenset[str] | None = None,
) -> Subscriber:
    return Subscriber(
        chat_id=chat_id,
        ui_lang="ru",
        langs=langs,
        topics=topics,
        schedule="daily",
        times=("09:00",),
        timezone="Asia/Almaty",
        status="active",
        cursor_item_id=0,
        next_digest_at=None,
        created_at=NOW,
    )


def news(
    key: str,
    title: str,
    *,
    lang: Lang = Lang.RU,
    topics: frozenset[str] = frozenset(),
    published: datetime | None = None,
) -> Item:
    return Item(
        key=key,
        url=f"https://tengrinews.kz/news/{key}/",
        title=title,
        summary="",
        published=published or NOW - timedelta(hours=1),
        lang=lang,
        topics=topics,
    )


async def store(engine: AsyncEngine, *batch: Item, now: datetime = NOW) -> None:
    """Store items as a poll of one feed does, first seen at `now`."""
    feeds = FeedRepo(engine)
    feed = await feeds.get_by_url(FEED_URL) or await feeds.add(
        url=FEED_URL, title="Tengrinews", site_url=None, lang_hint="ru", now=now
    )
    success = FeedSuccess(None, None, None, now, now + timedelta(minutes=5))
    await ItemRepo(engine).store_poll(
        feed.id, list(batch), success, source="Tengrinews", backfill=BACKFILL
    )


async def plan(
    box: OutboxRepo,
    place: Place | int,
    planner: Callable[[Subscriber, list[ItemRow]], Plan],
    now: datetime,
    *,
    limit: int | None = None,
) -> int | None:
    """Plan one place with a planner of (subscriber, items), as these tests write them."""
    return await box.plan_snapshot(
        place, lambda snap: planner(snap.sub, snap.items), now, limit=limit
    )


class Planner:
    """Renders one part per item and remembers what each planning saw."""

    def __init__(self) -> None:
        self.seen: list[list[str]] = []

    def __call__(self, sub: Subscriber, rows: list[ItemRow]) -> Plan:
        self.seen.append([r.title for r in rows])
        return Plan([f"<b>{r.title}</b>" for r in rows], NOW + timedelta(days=1))


async def pending_texts(box: OutboxRepo, chat_id: int | None = None) -> list[str]:
    return [p.text for p in await box.pending(10_000) if chat_id in (None, p.chat_id)]


async def table_sizes(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {
            t.name: int((await conn.execute(select(func.count()).select_from(t))).scalar_one())
            for t in metadata.sorted_tables
        }


async def test_planning_again_finds_only_items_stored_since(engine: AsyncEngine) -> None:
    subs, box, planner = SubscriberRepo(engine), OutboxRepo(engine), Planner()
    await subs.create(subscriber(1), NOW)
    await store(engine, news("a", "Первая"), news("b", "Вторая"), news("c", "Третья"))

    assert await plan(box, 1, planner, NOW) == 3
    assert await plan(box, 1, planner, NOW) == 0
    await store(engine, news("d", "Четвёртая"))
    assert await plan(box, 1, planner, NOW) == 1

    assert planner.seen[1] == []
    assert await pending_texts(box) == [
        "<b>Первая</b>",
        "<b>Вторая</b>",
        "<b>Третья</b>",
        "<b>Четвёртая</b>",
    ]
    sub = await subs.get(1)
    assert sub is not None and sub.next_digest_at == NOW + timedelta(days=1)


async def test_concurrent_plans_for_one_chat_queue_its_digest_once(engine: AsyncEngine) -> None:
    subs, box = SubscriberRepo(engine), OutboxRepo(engine)
    await subs.create(subscriber(7), NOW)
    await store(engine, *(news(f"k{i}", f"Новость {i}") for i in range(5)))

    counts = await asyncio.gather(*(plan(box, 7, Planner(), NOW) for _ in range(4)))

    assert [c for c in counts if c] == [5]  # the others found nothing new, or lost the race
    assert all(c in (None, 0, 5) for c in counts)
    assert len(await pending_texts(box, 7)) == 5


async def test_items_published_before_the_backfill_window_are_never_planned(
    engine: AsyncEngine,
) -> None:
    subs, box, planner = SubscriberRepo(engine), OutboxRepo(engine), Planner()
    await subs.create(subscriber(1), NOW)
    old = news("old", "Архивная статья", published=NOW - BACKFILL - timedelta(hours=1))
    await store(engine, old, news("new", "Свежая новость"))

    assert await plan(box, 1, planner, NOW) == 1
    assert await plan(box, 1, planner, NOW + timedelta(hours=1)) == 0

    assert planner.seen == [["Свежая новость"], []]
    assert await pending_texts(box) == ["<b>Свежая новость</b>"]


@pytest.mark.parametrize(
    ("langs", "topics", "expected"),
    [
        (None, None, ["kk sport", "ru sport", "ru economy", "en economy", "kk politics"]),
        (frozenset({"kk"}), None, ["kk sport", "kk politics"]),
        (None, frozenset({"economy"}), ["ru economy", "en economy"]),
        (frozenset({"ru", "en"}), frozenset({"sport", "politics"}), ["ru sport"]),
        (frozenset({"en"}), frozenset({"sport"}), []),
    ],
    ids=["everything", "kazakh", "economy", "ru-en-sport-politics", "nothing-matches"],
)
async def test_language_and_topic_filters_plan_only_matching_items(
    engine: AsyncEngine,
    langs: frozenset[str] | None,
    topics: frozenset[str] | None,
    expected: list[str],
) -> None:
    subs, box, planner = SubscriberRepo(engine), OutboxRepo(engine), Planner()
    await subs.create(subscriber(5, langs=langs, topics=topics), NOW)
    await store(
        engine,
        news("1", "kk sport", lang=Lang.KK, topics=frozenset({"sport"})),
        news("2", "ru sport", lang=Lang.RU, topics=frozenset({"sport", "society"})),
        news("3", "ru economy", lang=Lang.RU, topics=frozenset({"economy"})),
        news("4", "en economy", lang=Lang.EN, topics=frozenset({"economy"})),
        news("5", "kk politics", lang=Lang.KK, topics=frozenset({"politics"})),
    )

    await plan(box, 5, planner, NOW)
    await plan(box, 5, planner, NOW)

    assert sorted(planner.seen[0]) == sorted(expected)
    assert planner.seen[1] == []  # the cursor moved past the items that did not match too


async def test_pending_pages_through_unsent_messages_in_planned_order(engine: AsyncEngine) -> None:
    subs, box = SubscriberRepo(engine), OutboxRepo(engine)
    await store(engine, *(news(f"n{i}", f"Новость {i}") for i in range(3)))
    for chat in (3, 1, 2):
        await subs.create(subscriber(chat), NOW)
        await plan(box, chat, Planner(), NOW)
    first = await box.pending(4)
    await box.mark_sent(first[0].id, NOW)
    await box.mark_failed(first[1].id, "Bad Request: can't parse entities")

    rest = await box.pending(100, after_id=first[-1].id)
    again = await box.pending(100)

    assert [p.chat_id for p in first] == [3, 3, 3, 1]
    assert [p.chat_id for p in rest] == [1, 1, 2, 2, 2]
    assert [p.id for p in again] == [first[2].id, first[3].id] + [p.id for p in rest]
    assert await box.sent_since(NOW - timedelta(minutes=1)) == 1


async def test_a_paused_place_s_queued_messages_wait_until_it_starts_again(
    engine: AsyncEngine,
) -> None:
    """/stop after a digest was queued: nothing more is sent there until /start."""
    subs, box = SubscriberRepo(engine), OutboxRepo(engine)
    await store(engine, news("n1", "Новость"))
    for chat in (1, 2):
        await subs.create(subscriber(chat), NOW)
        await plan(box, chat, Planner(), NOW)
    await subs.update(1, NOW, status="paused")

    assert [p.chat_id for p in await box.pending(100)] == [2]
    await subs.update(1, NOW, status="active")
    assert [p.chat_id for p in await box.pending(100)] == [1, 2]


async def test_purge_forgets_old_sent_and_refused_rows_but_never_unsent_ones(
    engine: AsyncEngine,
) -> None:
    subs, box = SubscriberRepo(engine), OutboxRepo(engine)
    await subs.create(subscriber(1), NOW)
    await store(engine, *(news(f"p{i}", f"Новость {i}") for i in range(4)))
    await plan(box, 1, Planner(), NOW)
    rows = await box.pending(10)
    await box.mark_sent(rows[0].id, NOW)
    await box.mark_failed(rows[1].id, "Bad Request: message is too long")
    await box.mark_sent(rows[2].id, NOW + timedelta(days=3))

    await box.purge(NOW + timedelta(days=4))

    async with engine.connect() as conn:
        left = [r.id for r in await conn.execute(select(outbox.c.id).order_by(outbox.c.id))]
    assert left == [rows[2].id, rows[3].id]
    assert await pending_texts(box) == ["<b>Новость 3</b>"]


async def test_daily_digests_keep_delivery_state_proportional_to_subscribers_and_items(
    engine: AsyncEngine,
) -> None:
    subs, box = SubscriberRepo(engine), OutboxRepo(engine)
    chats = range(1, 9)
    for chat in chats:
        await subs.create(subscriber(chat), NOW)
    sizes = []
    for day in range(6):
        now = NOW + timedelta(days=day)
        fresh = [news(f"d{day}-{i}", f"День {day}", published=now) for i in range(3)]
        await store(engine, *fresh, now=now)
        for chat in chats:
            await plan(box, chat, Planner(), now)
        for message in await box.pending(10_000):
            await box.mark_sent(message.id, now)
        await box.purge(now)
        sizes.append(await table_sizes(engine))

    # Sent rows stay two days: three days of digests at most, however long the bot runs.
    assert [s["outbox"] for s in sizes] == [24, 48, 72, 72, 72, 72]
    assert sizes[-1]["subscribers"] == len(chats)
    assert sizes[-1]["items"] == 18
    assert sum(sizes[-1].values()) < 3 * (len(chats) + 18) + 72


async def test_blocking_a_chat_drops_its_unsent_messages_and_keeps_the_subscriber(
    engine: AsyncEngine,
) -> None:
    subs, box = SubscriberRepo(engine), OutboxRepo(engine)
    await store(engine, *(news(f"b{i}", f"Новость {i}") for i in range(3)))
    for chat in (10, 20):
        await subs.create(subscriber(chat, langs=frozenset({"ru"})), NOW)
        await plan(box, chat, Planner(), NOW)
    first = (await box.pending(1))[0]
    await box.mark_sent(first.id, NOW)

    await subs.mark_blocked(10, NOW)

    blocked = await subs.get(10)
    assert blocked is not None
    assert (blocked.status, blocked.langs) == ("blocked", frozenset({"ru"}))
    assert await pending_texts(box, 10) == []
    assert len(await pending_texts(box, 20)) == 3
    assert await box.sent_since(NOW - timedelta(minutes=1)) == 1  # what was sent still counts
    assert (await table_sizes(engine))["outbox"] == 4


async def test_migrating_a_group_moves_its_subscription_and_pending_messages(
    engine: AsyncEngine,
) -> None:
    subs, box = SubscriberRepo(engine), OutboxRepo(engine)
    await store(engine, *(news(f"m{i}", f"Жаңалық {i}") for i in range(3)))
    await subs.create(subscriber(-100, langs=frozenset({"kk", "ru"})), NOW)
    await plan(box, -100, Planner(), NOW)
    before = await subs.get(-100)

    await subs.migrate(-100, -1001234567890, NOW)

    moved = await subs.get(-1001234567890)
    assert await subs.get(-100) is None
    assert moved is not None and before is not None
    assert (moved.langs, moved.cursor_item_id, moved.status) == (
        frozenset({"kk", "ru"}),
        before.cursor_item_id,
        "active",
    )
    pending = await box.pending(10)
    assert [p.chat_id for p in pending] == [-1001234567890] * 3
    assert [p.text for p in pending] == [f"<b>Жаңалық {i}</b>" for i in range(3)]


@pytest.mark.parametrize(
    ("langs", "expected"),
    [
        (None, ["ru news", "kk news", "en news", "uzbek news"]),
        (frozenset({"ru", "kk", "en"}), ["ru news", "kk news", "en news"]),
        (frozenset({"kk"}), ["kk news"]),
    ],
    ids=["all-languages", "all-three-chosen", "kazakh"],
)
async def test_all_languages_include_other_and_a_language_filter_never_does(
    engine: AsyncEngine, langs: frozenset[str] | None, expected: list[str]
) -> None:
    subs, box, planner = SubscriberRepo(engine), OutboxRepo(engine), Planner()
    await subs.create(subscriber(6, langs=langs), NOW)
    await store(
        engine,
        news("1", "ru news", lang=Lang.RU),
        news("2", "kk news", lang=Lang.KK),
        news("3", "en news", lang=Lang.EN),
        news("4", "uzbek news", lang=Lang.OTHER),
    )

    assert await plan(box, 6, planner, NOW) == len(expected)

    assert planner.seen == [expected]
    taken, more = await box.pending_items(0, langs, None)
    assert ([r.title for r in taken], more) == (expected, 0)


async def test_what_a_preview_takes_follows_the_topic_filter_too(engine: AsyncEngine) -> None:
    box = OutboxRepo(engine)
    await store(
        engine,
        news("1", "ru sport", lang=Lang.RU, topics=frozenset({"sport"})),
        news("2", "ru economy", lang=Lang.RU, topics=frozenset({"economy"})),
    )
    taken, more = await box.pending_items(0, None, frozenset({"economy"}))
    assert ([r.title for r in taken], more) == (["ru economy"], 0)


async def test_a_refusal_is_stored_cut_to_300_characters(engine: AsyncEngine) -> None:
    subs, box = SubscriberRepo(engine), OutboxRepo(engine)
    await subs.create(subscriber(4), NOW)
    await store(engine, news("1", "Новость"))
    await plan(box, 4, Planner(), NOW)
    [message] = await box.pending(10)
    await box.mark_failed(message.id, "Bad Request: " + "x" * 400)
    async with engine.connect() as conn:
        error = (await conn.execute(select(outbox.c.error))).scalar_one()
    assert error == ("Bad Request: " + "x" * 400)[:300]


async def test_a_preview_takes_what_the_digest_limit_lets_through_and_counts_the_rest(
    engine: AsyncEngine,
) -> None:
    box = OutboxRepo(engine)
    await store(engine, *(news(f"l{i}", f"Новость {i}") for i in range(5)))
    taken, more = await box.pending_items(0, None, None, limit=2)
    assert ([r.title for r in taken], more) == (["Новость 0", "Новость 1"], 3)


async def test_purge_in_batches_forgets_the_oldest_rows_first(engine: AsyncEngine) -> None:
    subs, box = SubscriberRepo(engine), OutboxRepo(engine)
    await subs.create(subscriber(1), NOW)
    await store(engine, *(news(f"q{i}", f"Новость {i}") for i in range(5)))
    await plan(box, 1, Planner(), NOW)
    rows = await box.pending(10)
    for row in rows[:4]:
        await box.mark_sent(row.id, NOW)

    assert await box.purge(NOW + timedelta(days=4), limit=3) == 3
    async with engine.connect() as conn:
        left = [r.id for r in await conn.execute(select(outbox.c.id).order_by(outbox.c.id))]
    assert left == [rows[3].id, rows[4].id]  # the newest sent row waits for the next batch
    assert await box.purge(NOW + timedelta(days=4), limit=3) == 1


async def test_rows_exactly_as_old_as_kept_stay_and_a_send_at_the_cutoff_counts(
    engine: AsyncEngine,
) -> None:
    subs, box = SubscriberRepo(engine), OutboxRepo(engine)
    await subs.create(subscriber(1), NOW)
    await store(engine, news("e1", "Новость 1"), news("e2", "Новость 2"))
    await plan(box, 1, Planner(), NOW)
    sent, refused = await box.pending(10)
    await box.mark_sent(sent.id, NOW)
    await box.mark_failed(refused.id, "Bad Request: message is too long")

    assert await box.sent_since(NOW) == 1  # "since" includes the cutoff itself
    assert await box.purge(NOW + timedelta(days=2), keep=timedelta(days=2)) == 0
    assert await box.purge(NOW + timedelta(days=2, microseconds=1)) == 2
