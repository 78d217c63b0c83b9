"""Storage on real SQLite files and real PostgreSQL: schema, feeds, items stored once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.engine import make_engine
from bot.storage.feeds import DuplicateFeed, FeedRepo
from bot.storage.items import FeedSuccess, ItemRepo, PollWrite, Stored
from bot.storage.migrate import upgrade_to_head
from bot.storage.tables import metadata
from feeds.models import Item, Lang

NOW = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


def item(n: int, *, url: str | None = None, published: datetime = NOW, **kw: object) -> Item:
    values: dict[str, object] = {
        "key": f"k{n}",
        "url": url if url is not None else f"https://news.example.kz/{n}",
        "title": f"Кәсіподақ жаңалығы {n}",
        "summary": "Қысқаша",
        "published": published,
        "lang": Lang.KK,
        "topics": frozenset({"unions"}),
    }
    values.update(kw)
    return Item(**values)  # type: ignore[arg-type]


def ok(now: datetime = NOW) -> FeedSuccess:
    return FeedSuccess(
        etag='"e1"', last_modified=None, title="Qazinform", now=now, next_check_at=now
    )


async def add_feed(repo: FeedRepo, url: str = "https://a.example.kz/rss") -> int:
    return (await repo.add(url=url, title="", site_url=None, lang_hint=None, now=NOW)).id


async def test_migrations_produce_exactly_the_declared_schema(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
        )
    assert diff == []


async def test_upgrading_twice_is_harmless(engine: AsyncEngine) -> None:
    await upgrade_to_head(engine)
    assert await FeedRepo(engine).list() == []


async def test_same_feed_url_cannot_be_added_twice(engine: AsyncEngine) -> None:
    repo = FeedRepo(engine)
    await add_feed(repo)
    with pytest.raises(DuplicateFeed):
        await add_feed(repo)
    assert len(await repo.list()) == 1


async def test_item_is_stored_once_however_often_it_is_polled(engine: AsyncEngine) -> None:
    feeds, items = FeedRepo(engine), ItemRepo(engine)
    fid = await add_feed(feeds)
    assert await items.store_poll(fid, [item(1), item(2)], ok(), source="Q", backfill=DAY) == 2
    assert (
        await items.store_poll(fid, [item(1), item(2), item(3)], ok(), source="Q", backfill=DAY)
        == 1
    )
    assert await items.count() == 3
    assert (await feeds.list())[0].item_count == 3


async def test_same_url_from_two_feeds_is_one_item(engine: AsyncEngine) -> None:
    feeds, items = FeedRepo(engine), ItemRepo(engine)
    a = await add_feed(feeds, "https://a.example.kz/rss")
    b = await add_feed(feeds, "https://b.example.kz/rss")
    shared = "https://news.example.kz/story"
    await items.store_poll(a, [item(1, url=shared)], ok(), source="A", backfill=DAY)
    new = await items.store_poll(b, [item(2, url=shared)], ok(), source="B", backfill=DAY)
    assert new == 0
    assert await items.count() == 1


async def test_polls_stored_together_count_each_feed_and_share_urls(
    engine: AsyncEngine,
) -> None:
    feeds, items = FeedRepo(engine), ItemRepo(engine)
    a = await add_feed(feeds, "https://a.example.kz/rss")
    b = await add_feed(feeds, "https://b.example.kz/rss")
    shared = "https://news.example.kz/story"
    untitled = FeedSuccess(etag=None, last_modified=None, title=None, now=NOW, next_check_at=NOW)
    counts = await items.store_polls(
        [
            PollWrite(a, [item(1, url=shared), item(2)], ok(), "A", DAY),
            PollWrite(b, [item(3, url=shared), item(4), item(2)], untitled, "B", DAY),
        ]
    )
    assert counts == [Stored(2), Stored(1)]
    assert sorted(r.title for r in await items.latest(10)) == [
        "Кәсіподақ жаңалығы 1",
        "Кәсіподақ жаңалығы 2",
        "Кәсіподақ жаңалығы 4",
    ]
    listed = {f.id: f for f in await feeds.list()}
    assert (listed[a].title, listed[a].etag, listed[a].item_count) == ("Qazinform", '"e1"', 2)
    assert (listed[b].title, listed[b].etag, listed[b].item_count) == ("", None, 1)
    assert listed[b].last_success_at == NOW


async def test_duplicates_inside_one_poll_are_stored_once(engine: AsyncEngine) -> None:
    feeds, items = FeedRepo(engine), ItemRepo(engine)
    fid = await add_feed(feeds)
    assert await items.store_poll(fid, [item(1), item(1)], ok(), source="Q", backfill=DAY) == 1


async def test_items_survive_a_reopened_engine(db_url: str) -> None:
    first = make_engine(db_url)
    await upgrade_to_head(first)
    fid = await add_feed(FeedRepo(first))
    await ItemRepo(first).store_poll(fid, [item(1)], ok(), source="Q", backfill=DAY)
    await first.dispose()
    again = make_engine(db_url)
    try:
        await upgrade_to_head(again)
        repo = ItemRepo(again)
        assert await repo.store_poll(fid, [item(1)], ok(), source="Q", backfill=DAY) == 0
        [row] = await repo.latest(10)
        assert row.title == "Кәсіподақ жаңалығы 1"
        assert row.topics == ("unions",)
        assert row.published_at == NOW
        assert row.published_at.tzinfo is not None
    finally:
        await again.dispose()


async def test_old_items_first_seen_now_are_stored_but_not_pushable(engine: AsyncEngine) -> None:
    feeds, items = FeedRepo(engine), ItemRepo(engine)
    fid = await add_feed(feeds)
    old = item(1, published=NOW - timedelta(days=3))
    fresh = item(2, published=NOW - timedelta(hours=2))
    await items.store_poll(fid, [old, fresh], ok(), source="Q", backfill=DAY)
    rows = {r.id: r for r in await items.latest(10)}
    assert sorted(r.pushable for r in rows.values()) == [False, True]


async def test_success_records_validators_and_clears_the_error(engine: AsyncEngine) -> None:
    feeds, items = FeedRepo(engine), ItemRepo(engine)
    fid = await add_feed(feeds)
    later = NOW + timedelta(minutes=5)
    await feeds.record_failure(fid, kind="timeout", detail="read", now=NOW, next_check_at=later)
    await feeds.record_failure(fid, kind="timeout", detail="read", now=NOW, next_check_at=later)
    failing = await feeds.get(fid)
    assert failing is not None
    assert (failing.failure_count, failing.last_error_kind) == (2, "timeout")
    await items.store_poll(fid, [], ok(later), source="Q", backfill=DAY)
    healed = await feeds.get(fid)
    assert healed is not None
    assert (healed.failure_count, healed.last_error_kind, healed.etag) == (0, None, '"e1"')
    assert healed.title == "Qazinform"
    assert healed.last_success_at == later


async def test_due_lists_only_feeds_whose_time_has_come(engine: AsyncEngine) -> None:
    feeds = FeedRepo(engine)
    a = await add_feed(feeds, "https://a.example.kz/rss")
    b = await add_feed(feeds, "https://b.example.kz/rss")
    await feeds.record_failure(
        b, kind="dns", detail="", now=NOW, next_check_at=NOW + timedelta(hours=1)
    )
    assert [f.id for f in await feeds.due(NOW + timedelta(minutes=1))] == [a]


async def test_removing_a_feed_keeps_its_items(engine: AsyncEngine) -> None:
    feeds, items = FeedRepo(engine), ItemRepo(engine)
    fid = await add_feed(feeds)
    await items.store_poll(fid, [item(1)], ok(), source="Q", backfill=DAY)
    assert (await feeds.remove(fid)) is not None
    assert await feeds.remove(fid) is None
    assert await items.count() == 1


async def test_a_site_link_too_long_to_store_is_dropped_and_the_feed_added(
    engine: AsyncEngine,
) -> None:
    repo = FeedRepo(engine)
    long_site = "https://a.example.kz/" + "p" * 3000
    feed = await repo.add(
        url="https://a.example.kz/rss", title="A", site_url=long_site, lang_hint=None, now=NOW
    )
    assert (feed.title, feed.site_url) == ("A", None)
