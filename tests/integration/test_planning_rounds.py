"""Planning rounds on SQLite and PostgreSQL: many places chosen from one read of the items.

A round (the digest tick, an instant round) reads the new items once and chooses every
place's digest in memory; a single /digest asks SQL. Both must give a place the same digest,
whatever its languages, topics, keywords, muted sources and cursor.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.feeds import FeedRepo
from bot.storage.items import FeedSuccess, ItemRepo
from bot.storage.outbox import ItemWindow, OutboxRepo, Plan, Snapshot
from bot.storage.sources import MutedRepo
from bot.storage.subscribers import SEEN_BY_PLANS, Place, SubscriberRepo
from bot.storage.tables import outbox, subscribers
from feeds.models import Item, Lang
from tests.integration.test_outbox import BACKFILL, NOW, subscriber

TOPICS = ("politics", "unions", "education", "economy")
WORDS = ("забастовка", "шахтёры", "зарплата", "ереуіл", "мектеп", "strike", "бюджет", "погода")
TERMS = ("забастовка", "ереуіл", "strike", '"шахтёры забастовка"', "-погода", "-бюджет")


async def many_items(engine: AsyncEngine, rng: random.Random) -> list[int]:
    """120 items from three feeds in random languages and topics; returns the feed ids."""
    feeds = FeedRepo(engine)
    feed_ids = []
    for n in range(3):
        feed = await feeds.add(
            url=f"https://news{n}.example.kz/rss", title=f"News {n}", site_url=None,
            lang_hint=None, now=NOW,
        )  # fmt: skip
        feed_ids.append(feed.id)
    for i in range(120):
        words = " ".join(rng.sample(WORDS, 3))
        item = Item(
            key=f"k{i}",
            url=f"https://news.example.kz/{i}",
            title=f"Новость {i}: {words}",
            summary="",
            published=NOW - timedelta(minutes=i),
            lang=rng.choice((Lang.RU, Lang.KK, Lang.EN)),
            topics=frozenset(rng.sample(TOPICS, rng.randint(0, 2))),
        )
        success = FeedSuccess(None, None, None, NOW, NOW + timedelta(minutes=5))
        await ItemRepo(engine).store_poll(
            rng.choice(feed_ids), [item], success, source="News", backfill=BACKFILL
        )
    return feed_ids


async def random_places(
    engine: AsyncEngine, rng: random.Random, feed_ids: list[int], count: int
) -> list[Place]:
    """Places with every kind of filter, some muting a feed, cursors spread over the items."""
    repo, sources = SubscriberRepo(engine), MutedRepo(engine)
    places = []
    for chat in range(1, count + 1):
        langs = rng.choice((None, frozenset({"ru"}), frozenset({"kk", "en"})))
        topics = rng.choice((None, frozenset(), frozenset({"unions"}), frozenset(TOPICS[:2])))
        sub = subscriber(chat, langs=langs, topics=topics)
        keywords = tuple(rng.sample(TERMS, rng.randint(0, 3)))
        cursor = rng.choice((0, 0, 30, 90, 119, 200))
        sub = type(sub)(**{**_fields(sub), "keywords": keywords, "cursor_item_id": cursor})
        await repo.create(sub, NOW)
        if rng.random() < 0.3:
            await sources.toggle(sub.place, rng.choice(feed_ids))
        places.append(sub.place)
    return places


def _fields(sub: object) -> dict[str, object]:
    return {name: getattr(sub, name) for name in sub.__slots__}  # type: ignore[attr-defined]


def assert_same_digests(together: list[Snapshot], alone: list[Snapshot | None]) -> None:
    """Each place's digest from the round is the one its own /digest would plan."""
    for one, other in zip(together, alone, strict=True):
        assert other is not None
        assert [r.id for r in one.items] == [r.id for r in other.items], one.sub
        assert (one.upto, one.more, one.marks) == (other.upto, other.more, other.marks)


async def test_a_round_chooses_for_each_place_what_its_own_digest_would(
    engine: AsyncEngine,
) -> None:
    rng = random.Random(7)
    feed_ids = await many_items(engine, rng)
    places = await random_places(engine, rng, feed_ids, 60)
    box = OutboxRepo(engine)

    for limit in (None, 5):
        together = await box.snapshots(places, limit, ItemWindow())
        alone = [await box.snapshot(place, limit) for place in places]

        assert [s.sub.place for s in together] == places
        assert_same_digests(together, alone)
    chosen = sum(len(s.items) for s in together)
    assert 0 < chosen < 60 * 5  # the filters and cursors leave some places short or empty


async def test_a_place_far_behind_the_round_is_read_on_its_own(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A round keeps only the newest ROUND_WINDOW ids in memory; older cursors still work."""
    rng = random.Random(8)
    feed_ids = await many_items(engine, rng)
    places = await random_places(engine, rng, feed_ids, 10)
    box = OutboxRepo(engine)
    monkeypatch.setattr("bot.storage.outbox.ROUND_WINDOW", 50)

    window = ItemWindow()
    together = await box.snapshots(places, 5, window)
    alone = [await box.snapshot(place, 5) for place in places]

    assert 0 < len(window) <= 50  # never the items before the window's floor (120 - 50)
    assert_same_digests(together, alone)

    # A batch of places that are all behind the window: each is read on its own.
    behind = [p for p, s in zip(places, together, strict=True) if s.sub.cursor_item_id < 70]
    assert behind
    assert_same_digests(
        await box.snapshots(behind, 5, ItemWindow()),
        [await box.snapshot(place, 5) for place in behind],
    )


async def test_a_round_queues_every_place_in_one_go_and_skips_a_changed_one(
    engine: AsyncEngine,
) -> None:
    rng = random.Random(9)
    feed_ids = await many_items(engine, rng)
    places = await random_places(engine, rng, feed_ids, 20)
    box = OutboxRepo(engine)
    snaps = await box.snapshots(places, 5, ItemWindow())
    # The first place changes its languages after the round read it.
    await SubscriberRepo(engine).update(places[0], NOW, langs=frozenset({"en"}))

    # Even places get an extra digest (instant, /digest): cursor moved, schedule kept; the
    # others a scheduled one, rescheduled to an hour on.
    later = NOW + timedelta(hours=1)
    plans = [
        (s, Plan([f"d{s.sub.chat_id}"], None, keep_schedule=True) if i % 2 == 0 else
         Plan([f"d{s.sub.chat_id}"], later))
        for i, s in enumerate(snaps)
    ]  # fmt: skip
    stale = await box.commit_all(plans, NOW)

    assert [s.sub.place for s in stale] == [places[0]]
    async with engine.connect() as conn:
        texts = [r.text for r in await conn.execute(select(outbox.c.text).order_by(outbox.c.id))]
        rows = (await conn.execute(select(subscribers))).all()
        cursors = {r.chat_id: r.cursor_item_id for r in rows}
        schedules = {r.chat_id: r.next_digest_at for r in rows}
        assert (await conn.execute(select(func.count()).select_from(outbox))).scalar_one() == 19
    assert texts == [f"d{p.chat_id}" for p in places[1:]]
    assert cursors[places[0].chat_id] == snaps[0].sub.cursor_item_id  # untouched
    for i, snap in enumerate(snaps[1:], start=1):
        assert cursors[snap.sub.chat_id] == max(snap.upto, snap.sub.cursor_item_id)
        scheduled = schedules[snap.sub.chat_id]
        scheduled = scheduled and scheduled.replace(tzinfo=later.tzinfo)
        assert scheduled == (snap.sub.next_digest_at if i % 2 == 0 else later), i


def test_a_plan_checks_every_setting_it_read_before_moving_the_cursor() -> None:
    """A setting added to subscribers but not to SEEN_BY_PLANS could change mid-plan unseen."""
    assert set(SEEN_BY_PLANS) == set(subscriber(1).columns()) - {"next_digest_at"}


async def test_a_round_with_no_changed_place_writes_its_batch_in_a_few_statements(
    engine: AsyncEngine,
) -> None:
    """Ten thousand places must not cost ten thousand UPDATEs where the driver can count the
    rows an executemany changed (SQLite): one per kind of plan, then the messages."""
    rng = random.Random(10)
    feed_ids = await many_items(engine, rng)
    places = await random_places(engine, rng, feed_ids, 20)
    box = OutboxRepo(engine)
    snaps = await box.snapshots(places, 5, ItemWindow())
    later = NOW + timedelta(hours=1)
    plans = [
        (s, Plan(["x"], None, keep_schedule=True) if i % 2 else Plan(["x"], later))
        for i, s in enumerate(snaps)
    ]
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        assert await box.commit_all(plans, NOW) == []
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)

    updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
    if engine.dialect.supports_sane_multi_rowcount:
        assert len(updates) == 2  # the extra digests, then the scheduled ones
    else:
        assert len(updates) == len(plans)
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(outbox))).scalar_one() == 20


async def test_a_window_read_again_for_a_later_batch_fills_both_gaps(engine: AsyncEngine) -> None:
    """A round's second batch may reach further back (a lower cursor) and further on (items
    stored meanwhile) than the first: the window reads what it lacks on both sides, never an
    item stored as not pushable (news published long before it was first seen)."""
    rng = random.Random(11)
    feed_ids = await many_items(engine, rng)
    repo, box, window = SubscriberRepo(engine), OutboxRepo(engine), ItemWindow()
    ahead = subscriber(1)
    ahead = type(ahead)(**{**_fields(ahead), "cursor_item_id": 90})
    await repo.create(ahead, NOW)
    first = await box.snapshots([ahead.place], None, window)
    assert [r.id for r in first[0].items] == list(range(91, 121))

    old = NOW - timedelta(days=3)  # beyond the backfill: stored, never pushed
    fresh = [(f"new{i}", NOW) for i in range(5)] + [(f"old{i}", old) for i in range(3)]
    for key, published in fresh:
        item = Item(
            key=key, url=f"https://news.example.kz/{key}", title=f"Новость {key}", summary="",
            published=published, lang=Lang.RU, topics=frozenset({"unions"}),
        )  # fmt: skip
        success = FeedSuccess(None, None, None, NOW, NOW + timedelta(minutes=5))
        await ItemRepo(engine).store_poll(
            feed_ids[0], [item], success, source="News", backfill=BACKFILL
        )
    behind = subscriber(2)
    behind = type(behind)(**{**_fields(behind), "cursor_item_id": 30})
    await repo.create(behind, NOW)

    second = await box.snapshots([behind.place, ahead.place], None, window)

    alone = [await box.snapshot(behind.place), await box.snapshot(ahead.place)]
    assert_same_digests(second, alone)
    assert [r.id for r in second[0].items] == [*range(31, 121), *range(121, 126)]
    assert len(window) == 125 - 30


async def test_a_round_handles_topics_and_sources_absent_from_its_items(
    engine: AsyncEngine,
) -> None:
    """A topic no new item has, a muted feed that brought nothing, and a digest filled exactly
    to its limit with newer items left that the place does not read."""
    rng = random.Random(12)
    await many_items(engine, rng)
    quiet = await FeedRepo(engine).add(
        url="https://quiet.example.kz/rss", title="Quiet", site_url=None, lang_hint=None, now=NOW
    )
    repo, box = SubscriberRepo(engine), OutboxRepo(engine)
    await repo.create(subscriber(1, topics=frozenset({"health"})), NOW)  # no item is health
    await repo.create(subscriber(2), NOW)
    await MutedRepo(engine).toggle(Place(2), quiet.id)
    russian = await box.snapshot(Place(2))
    assert russian is not None
    wanted = [r.id for r in russian.items if r.lang == "ru"][-5:]  # exactly the limit of five,
    limited = subscriber(3, langs=frozenset({"ru"}))  # with items in other languages after
    await repo.create(type(limited)(**{**_fields(limited), "cursor_item_id": wanted[0] - 1}), NOW)
    places = [Place(1), Place(2), Place(3)]

    together = await box.snapshots(places, 5, ItemWindow())

    alone = [await box.snapshot(place, 5) for place in places]
    assert_same_digests(together, alone)
    assert together[0].items == [] and len(together[1].items) == 5
    assert [r.id for r in together[2].items] == wanted
    assert (together[2].more, together[2].upto) == (0, 120)  # read up to the newest item
    assert wanted[-1] < 120


async def test_a_source_muted_in_one_forum_topic_stays_muted_there_only(
    engine: AsyncEngine,
) -> None:
    rng = random.Random(13)
    feed_ids = await many_items(engine, rng)
    repo, box = SubscriberRepo(engine), OutboxRepo(engine)
    forum = -1001234567890
    for thread in (7, 8):
        topic = subscriber(forum)
        await repo.create(type(topic)(**{**_fields(topic), "thread_id": thread}), NOW)
    await MutedRepo(engine).toggle(Place(forum, 7), feed_ids[0])
    places = [Place(forum, 7), Place(forum, 8)]

    together = await box.snapshots(places, None, ItemWindow())

    assert_same_digests(together, [await box.snapshot(place) for place in places])
    muting, other = ({r.feed_id for r in snap.items} for snap in together)
    assert feed_ids[0] not in muting and feed_ids[0] in other
