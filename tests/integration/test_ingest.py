"""Polling real feeds over HTTP into a real database: stored once, classified, resilient."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from bot.app import Resources, open_resources
from bot.config import load_settings
from bot.poller import Poller
from bot.services.errors import FeedAdminError
from bot.services.ingest import PollOutcome
from bot.storage.feeds import FeedRow
from tests.support.feed_server import FeedServer, rss
from tests.support.topics_file import write_sport_topics

NOW = datetime.now(UTC)


def story(n: int, **kw: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "title": f"Кәсіподақ мүшелері жалақыны көтеруді талап етті {n}",
        "link": f"https://kasipodak.example.kz/news/{n}?utm_source=rss&utm_medium=feed",
        "guid": f"https://kasipodak.example.kz/news/{n}",
        "description": "<p>Қазақстан кәсіподақтар федерациясы жұмысшылардың жалақысы туралы "
        "мәлімдеме жасады.</p><p>Читайте также: другие новости</p>",
        "pubDate": NOW - timedelta(minutes=n),
    }
    entry.update(kw)
    return entry


@pytest.fixture
async def res(db_url: str) -> AsyncIterator[Resources]:
    settings = load_settings(database_url=db_url, allow_private_feeds=True)
    with ThreadPoolExecutor(2) as pool:
        async with open_resources(settings, executor=pool) as resources:
            yield resources


async def add_feed(res: Resources, url: str) -> FeedRow:
    """Add a feed straight to storage, without the check `feed add` makes by fetching it."""
    return await res.feeds.add(url=url, title="", site_url=None, lang_hint=None, now=NOW)


async def poll_all(res: Resources) -> dict[int, PollOutcome]:
    return {o.feed_id: o for o in await res.poller.run_once(await res.feeds.list())}


async def test_items_are_stored_once_across_polls_and_restarts(
    db_url: str, feed_server: FeedServer
) -> None:
    url = feed_server.add("/kk.xml", rss([story(1), story(2)], title="Kasipodak"))
    settings = load_settings(database_url=db_url, allow_private_feeds=True)
    with ThreadPoolExecutor(2) as pool:
        async with open_resources(settings, executor=pool) as res:
            added = await res.feed_admin.add(url)
            assert (added.items, added.feed.title) == (2, "Kasipodak")
            assert [o.new_items for o in (await poll_all(res)).values()] == [0]
            feed_server.add("/kk.xml", rss([story(1), story(2), story(3)], title="Kasipodak"))
            assert [o.new_items for o in (await poll_all(res)).values()] == [1]
        async with open_resources(settings, executor=pool) as res:
            feed_server.add("/kk.xml", rss([story(3), story(2), story(1)], title="Kasipodak"))
            assert [o.new_items for o in (await poll_all(res)).values()] == [0]
            assert await res.items.count() == 3


async def test_stored_items_are_clean_and_classified(
    res: Resources, feed_server: FeedServer
) -> None:
    await res.feed_admin.add(feed_server.add("/kk.xml", rss([story(1)])))
    [item] = await res.items.latest(5)
    assert item.url == "https://kasipodak.example.kz/news/1"
    assert item.lang == "kk"
    assert "unions" in item.topics
    assert "<p>" not in item.summary
    assert "Читайте также" not in item.summary
    assert item.published_at.tzinfo is not None


async def test_unchanged_feed_costs_a_304_and_no_parse(
    res: Resources, feed_server: FeedServer
) -> None:
    await res.feed_admin.add(feed_server.add("/kk.xml", rss([story(1)])))
    [outcome] = (await poll_all(res)).values()
    assert outcome.status == "not_modified"
    assert feed_server.last_headers["/kk.xml"].get("If-None-Match")


async def test_same_story_from_two_feeds_is_one_item(
    res: Resources, feed_server: FeedServer
) -> None:
    shared = {"link": "https://kasipodak.example.kz/news/1?utm_campaign=x", "guid": None}
    await res.feed_admin.add(feed_server.add("/a.xml", rss([story(1, **shared)])))
    other = story(1, **shared, title="Кәсіподақтар жалақы туралы мәлімдеме жасады")
    added = await res.feed_admin.add(feed_server.add("/b.xml", rss([other])))
    assert added.items == 0
    assert await res.items.count() == 1


async def test_failing_feed_backs_off_then_recovers(
    res: Resources, feed_server: FeedServer
) -> None:
    url = feed_server.add("/flaky.xml", rss([story(1)]))
    feed = (await res.feed_admin.add(url)).feed
    feed_server.add("/flaky.xml", b"oops", status=503)
    delays = []
    for _ in range(3):
        [outcome] = (await poll_all(res)).values()
        assert outcome.status == "http_status"
        stored = await res.feeds.get(feed.id)
        assert stored is not None
        delays.append(stored.next_check_at - stored.last_polled_at)  # type: ignore[operator]
    assert stored.failure_count == 3
    assert delays[0] < delays[1] < delays[2]
    feed_server.add("/flaky.xml", rss([story(1), story(2)]))
    [outcome] = (await poll_all(res)).values()
    healed = await res.feeds.get(feed.id)
    assert healed is not None
    assert (outcome.status, outcome.new_items) == ("ok", 1)
    assert (healed.failure_count, healed.last_error_kind) == (0, None)


async def test_broken_feeds_get_a_status_and_never_stop_the_others(
    res: Resources, feed_server: FeedServer
) -> None:
    good = (await res.feed_admin.add(feed_server.add("/good.xml", rss([story(1)])))).feed
    html = (await res.feed_admin.add(feed_server.add("/page.xml", rss([story(2)])))).feed
    feed_server.add(
        "/page.xml", b"<html><body><p>Not a feed</p></body></html>", content_type="text/html"
    )
    feed_server.add("/good.xml", rss([story(1), story(3)]))
    outcomes = await poll_all(res)
    assert outcomes[good.id].new_items == 1
    assert outcomes[html.id].status == "not_a_feed"
    listed = {f.id: f for f in await res.feed_admin.list()}
    assert listed[html.id].last_error_kind == "not_a_feed"
    assert listed[good.id].last_error_kind is None


async def test_slow_feed_does_not_delay_the_others(
    res: Resources, feed_server: FeedServer
) -> None:
    slow = (await res.feed_admin.add(feed_server.add("/slow.xml", rss([story(1)])))).feed
    fast = (await res.feed_admin.add(feed_server.add("/fast.xml", rss([story(2)])))).feed
    feed_server.slow("/slow.xml", delay=60)
    feed_server.add("/fast.xml", rss([story(2), story(3)]))
    done: asyncio.Queue[PollOutcome] = asyncio.Queue()

    async def record(outcome: PollOutcome) -> None:
        await done.put(outcome)

    poller = Poller(res.ingest, on_outcome=record)
    poller.submit(await res.feeds.list())
    first = await asyncio.wait_for(done.get(), 30)
    assert (first.feed_id, first.new_items) == (fast.id, 1)
    assert poller.running == 1  # the slow feed is still being fetched
    assert poller.submit([slow]) == 0  # and is never polled twice at once
    await poller.drain(0)
    assert poller.running == 0


async def test_items_published_long_before_first_seen_are_not_pushable(
    res: Resources, feed_server: FeedServer
) -> None:
    old = story(1, pubDate=NOW - timedelta(days=5))
    await res.feed_admin.add(feed_server.add("/old.xml", rss([old, story(2)])))
    assert sorted(i.pushable for i in await res.items.latest(5)) == [False, True]


async def test_many_feeds_finishing_together_are_all_stored(
    res: Resources, feed_server: FeedServer
) -> None:
    # More feeds than one transaction takes, polled at once: every item lands once.
    for n in range(40):
        await add_feed(res, feed_server.add(f"/f{n}.xml", rss([story(2 * n), story(2 * n + 1)])))
    outcomes = await poll_all(res)
    assert sorted({o.new_items for o in outcomes.values()}) == [2]
    assert len(outcomes) == 40
    assert await res.items.count() == 80
    assert [o.new_items for o in (await poll_all(res)).values()] == [0] * 40


async def test_a_poll_the_database_refuses_does_not_lose_the_others(
    res: Resources, feed_server: FeedServer
) -> None:
    kept = await add_feed(res, feed_server.add("/kept.xml", rss([story(1)])))
    gone = await add_feed(res, feed_server.add("/gone.xml", rss([story(2)])))
    fetched = [await res.ingest.fetch(kept), await res.ingest.fetch(gone)]
    await res.feeds.remove(gone.id)  # removed while its poll was under way
    kept_outcome, refused = await asyncio.gather(
        res.ingest.record(kept, fetched[0]),
        res.ingest.record(gone, fetched[1]),
        return_exceptions=True,
    )
    assert isinstance(refused, PollOutcome) and refused.status == "storage"
    assert isinstance(kept_outcome, PollOutcome)
    assert kept_outcome.new_items == 1
    assert [i.url for i in await res.items.latest(5)] == ["https://kasipodak.example.kz/news/1"]


async def test_a_topics_file_topic_is_given_to_the_items_a_poll_stores(
    db_url: str, feed_server: FeedServer, tmp_path: Path
) -> None:
    custom = write_sport_topics(tmp_path)
    match = {"title": "Astana football club wins the league", "description": "A football final."}
    url = feed_server.add("/sport.xml", rss([story(1, **match)], title="Sport KZ"))
    settings = load_settings(
        database_url=db_url, allow_private_feeds=True, topics_file=str(custom)
    )
    with ThreadPoolExecutor(2) as pool:
        async with open_resources(settings, executor=pool) as res:
            await add_feed(res, url)
            await poll_all(res)
            [item] = await res.items.latest(5)
    assert "sport" in item.topics


async def test_a_fast_feed_is_stored_without_waiting_for_a_slow_one(
    res: Resources, feed_server: FeedServer
) -> None:
    slow = await add_feed(res, feed_server.slow("/slow.xml", 6.0, rss([story(1)])))
    fast = await add_feed(res, feed_server.add("/fast.xml", rss([story(2)])))
    slow_poll = asyncio.create_task(res.ingest.poll_feed(slow))
    # Its news waits a moment for company, never for the slow feed's whole fetch.
    outcome = await asyncio.wait_for(res.ingest.poll_feed(fast), 4.0)
    assert outcome.new_items == 1
    assert not slow_poll.done()
    assert (await slow_poll).new_items == 1


async def test_polls_that_finish_together_are_stored_in_a_few_transactions(
    res: Resources, feed_server: FeedServer
) -> None:
    for n in range(20):
        await add_feed(res, feed_server.add(f"/f{n}.xml", rss([story(n)])))
    commits = 0

    def count(_conn: object) -> None:
        nonlocal commits
        commits += 1

    event.listen(res.engine.sync_engine, "commit", count)
    try:
        outcomes = await poll_all(res)
    finally:
        event.remove(res.engine.sync_engine, "commit", count)
    assert sorted(o.new_items for o in outcomes.values()) == [1] * 20
    assert commits <= 5, f"20 polls took {commits} transactions"


async def test_a_feed_listing_hundreds_of_fresh_items_stores_only_the_newest(
    res: Resources, feed_server: FeedServer
) -> None:
    flood = [story(n) for n in range(1, 501)]  # story n was published n minutes ago
    await add_feed(res, feed_server.add("/flood.xml", rss(flood)))

    [outcome] = (await poll_all(res)).values()

    assert (outcome.status, outcome.new_items) == ("ok", 200)  # MAX_ITEMS_PER_POLL's default
    stored = {i.url for i in await res.items.latest(1000)}
    assert stored == {f"https://kasipodak.example.kz/news/{n}" for n in range(1, 201)}


async def test_an_item_with_a_link_too_long_to_store_is_skipped_and_the_rest_stored(
    res: Resources, feed_server: FeedServer
) -> None:
    huge = story(2, link="https://kasipodak.example.kz/news/" + "x" * 3000, guid=None)
    feed = await add_feed(res, feed_server.add("/long.xml", rss([story(1), huge, story(3)])))

    [outcome] = (await poll_all(res)).values()

    assert (outcome.status, outcome.new_items, outcome.skipped) == ("ok", 2, 1)
    assert sorted(i.url for i in await res.items.latest(5)) == [
        "https://kasipodak.example.kz/news/1",
        "https://kasipodak.example.kz/news/3",
    ]
    stored = await res.feeds.get(feed.id)
    assert stored is not None and (stored.failure_count, stored.last_error_kind) == (0, None)


async def test_validators_too_long_to_store_are_dropped_and_the_feed_fetched_in_full(
    res: Resources, feed_server: FeedServer
) -> None:
    etag, modified = '"' + "e" * 598 + '"', "Tue, 03 Mar 2026 10:00:00 GMT " + "x" * 100
    url = feed_server.add("/etag.xml", rss([story(1)]), etag=etag, last_modified=modified)
    feed = await add_feed(res, url)

    [outcome] = (await poll_all(res)).values()
    [again] = (await poll_all(res)).values()

    assert (outcome.status, outcome.new_items, again.status) == ("ok", 1, "ok")
    stored = await res.feeds.get(feed.id)
    assert stored is not None and (stored.etag, stored.last_modified) == (None, None)
    sent = feed_server.last_headers["/etag.xml"]
    assert "If-None-Match" not in sent and "If-Modified-Since" not in sent


async def test_a_poll_the_database_refuses_is_the_feeds_failure_and_backs_off(
    res: Resources, feed_server: FeedServer
) -> None:
    # A constraint only this test has: no two items may share a title.
    async with res.engine.begin() as conn:
        await conn.execute(text("CREATE UNIQUE INDEX test_one_title ON items (title)"))
    taken = story(1)
    await add_feed(res, feed_server.add("/first.xml", rss([taken])))
    await poll_all(res)
    clash = story(2, title=taken["title"])
    feed = await add_feed(res, feed_server.add("/clash.xml", rss([clash, story(3)])))

    delays = []
    for _ in range(2):
        outcome = (await poll_all(res))[feed.id]
        assert outcome.status == "storage"
        stored = await res.feeds.get(feed.id)
        assert stored is not None and stored.last_polled_at is not None
        delays.append(stored.next_check_at - stored.last_polled_at)

    listed = {f.id: f for f in await res.feed_admin.list()}[feed.id]
    assert (listed.last_error_kind, listed.failure_count, listed.item_count) == ("storage", 2, 0)
    assert listed.last_error_detail and "unique" in listed.last_error_detail.lower()
    assert timedelta(seconds=300) < delays[0] < delays[1]


async def test_a_feed_being_added_is_not_due_for_another_instance(
    res: Resources, feed_server: FeedServer
) -> None:
    """/addfeed stores the feed, then its first items: no poll tick may take it in between."""
    seen_due: list[list[int]] = []
    store_poll = res.items.store_poll

    async def looking(*args: Any, **kwargs: Any) -> int:
        seen_due.append([f.id for f in await res.feeds.due(datetime.now(UTC))])
        return await store_poll(*args, **kwargs)

    res.items.store_poll = looking  # type: ignore[method-assign]
    added = await res.feed_admin.add(feed_server.add("/new.xml", rss([story(1)])))

    assert added.items == 1
    assert seen_due == [[]]  # stored, but not due while its first items were being stored
    assert await res.feeds.due(datetime.now(UTC)) == []


async def test_a_feed_address_too_long_to_store_is_refused_with_its_reason(
    res: Resources, feed_server: FeedServer
) -> None:
    """PostgreSQL refuses a 2,049-character address: /addfeed says why, before fetching."""
    url = feed_server.add("/long.xml", rss([story(1)])) + "?q=" + "x" * 2100
    with pytest.raises(FeedAdminError) as refused:
        await res.feed_admin.add(url)

    assert refused.value.reason == "url_too_long"
    assert len(refused.value.detail) < 100
    assert feed_server.hits["/long.xml"] == 0
    assert await res.feed_admin.list() == []
