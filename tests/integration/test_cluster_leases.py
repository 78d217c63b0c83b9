"""Several instances on one database: feed leases, outbox claims and the instance lock.

Each instance is a name passed to the repositories; the clock is passed too, so a lease's
expiry is a moment chosen by the test, not a wait.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.claims import OutboxClaims
from bot.storage.feeds import FeedRepo
from bot.storage.instances import instance_lock
from bot.storage.outbox import OutboxRepo
from bot.storage.tables import feeds, outbox, subscribers

NOW = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)
FEED_LEASE = timedelta(seconds=120)


async def add_feeds(engine: AsyncEngine, n: int) -> None:
    """`n` feeds, all due now."""
    rows = [
        {"url": f"https://f{i}.example.kz/rss", "created_at": NOW, "next_check_at": NOW}
        for i in range(n)
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(feeds), rows)


async def queue(engine: AsyncEngine, per_chat: dict[int, int]) -> None:
    """Active subscribers and `n` queued messages each, interleaved as planning would."""
    subs = [
        {"chat_id": c, "timezone": "Asia/Almaty", "created_at": NOW, "updated_at": NOW}
        for c in per_chat
    ]
    msgs = [
        {"chat_id": c, "text": f"{c}:{k}", "created_at": NOW}
        for k in range(max(per_chat.values()))
        for c, n in per_chat.items()
        if k < n
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(subscribers), subs)
        await conn.execute(insert(outbox), msgs)


async def test_two_instances_leasing_at_once_never_poll_one_feed_twice(
    engine: AsyncEngine,
) -> None:
    await add_feeds(engine, 50)
    repo = FeedRepo(engine)

    rounds = [repo.claim_due(f"i{k % 2}", NOW, FEED_LEASE, 7) for k in range(10)]
    leased = [f.id for batch in await asyncio.gather(*rounds) for f in batch]

    assert sorted(leased) == sorted(set(leased))  # nobody got a feed another one got
    assert len(leased) == 50
    assert await repo.claim_due("i2", NOW, FEED_LEASE, 100) == []


async def test_a_dead_instances_feeds_are_polled_again_once_its_lease_expires(
    engine: AsyncEngine,
) -> None:
    await add_feeds(engine, 3)
    repo = FeedRepo(engine)
    taken = await repo.claim_due("dead", NOW, FEED_LEASE, 10)

    assert len(taken) == 3
    assert (
        await repo.claim_due("alive", NOW + FEED_LEASE - timedelta(seconds=1), FEED_LEASE, 10)
        == []
    )
    again = await repo.claim_due("alive", NOW + FEED_LEASE, FEED_LEASE, 10)
    assert [f.id for f in again] == [f.id for f in taken]
    assert {f.lease_owner for f in again} == {"alive"}


async def test_a_polled_feed_is_free_for_any_instance_when_it_is_next_due(
    engine: AsyncEngine,
) -> None:
    await add_feeds(engine, 1)
    repo = FeedRepo(engine)
    [feed] = await repo.claim_due("a", NOW, FEED_LEASE, 10)
    next_at = NOW + timedelta(seconds=60)  # sooner than the lease would end

    await repo.record_failure(feed.id, kind="timeout", detail="", now=NOW, next_check_at=next_at)

    assert [f.id for f in await repo.claim_due("b", next_at, FEED_LEASE, 10)] == [feed.id]


async def test_a_feed_another_instance_is_leasing_right_now_is_skipped_not_waited_for(
    engine: AsyncEngine,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: there is no row lock to skip")
    await add_feeds(engine, 2)
    repo = FeedRepo(engine)
    async with engine.connect() as other:  # an instance stopped mid-lease, holding the row lock
        first = (await other.execute(select(feeds.c.id).order_by(feeds.c.id).limit(1))).scalar()
        await other.execute(select(feeds).where(feeds.c.id == first).with_for_update())

        got = await asyncio.wait_for(repo.claim_due("b", NOW, FEED_LEASE, 10), 30)

        assert [f.id for f in got] == [first + 1]
        await other.rollback()


async def test_instances_claiming_at_once_never_split_a_chat_and_keep_its_order(
    engine: AsyncEngine,
) -> None:
    await queue(engine, {c: 3 for c in range(100, 140)})
    claims = OutboxClaims(engine)

    batches = await asyncio.gather(
        *(claims.claim(f"i{k % 3}", 10, 0, NOW, LEASE) for k in range(30))
    )
    owner_of: dict[int, set[str]] = {}
    for k, batch in enumerate(batches):
        for m in batch:
            owner_of.setdefault(m.chat_id, set()).add(f"i{k % 3}")
        assert [m.id for m in batch] == sorted(m.id for m in batch)

    assert owner_of and all(len(owners) == 1 for owners in owner_of.values())


async def test_a_chat_held_by_a_live_instance_gets_its_new_messages_through_that_one(
    engine: AsyncEngine,
) -> None:
    await queue(engine, {7: 1, 8: 1})
    claims = OutboxClaims(engine)
    assert [m.chat_id for m in await claims.claim("a", 1, 0, NOW, LEASE)] == [7]
    await queue_more(engine, 7)

    assert [m.chat_id for m in await claims.claim("b", 10, 0, NOW, LEASE)] == [8]
    assert [m.text for m in await claims.claim("a", 10, 0, NOW, LEASE)] == ["7:0", "7:more"]


async def queue_more(engine: AsyncEngine, chat_id: int) -> None:
    """One more message planned for the chat."""
    async with engine.begin() as conn:
        await conn.execute(
            insert(outbox).values(chat_id=chat_id, text=f"{chat_id}:more", created_at=NOW)
        )


async def test_a_killed_instances_chats_move_on_when_its_claims_expire_unless_renewed(
    engine: AsyncEngine,
) -> None:
    await queue(engine, {7: 2, 8: 2})
    claims = OutboxClaims(engine)
    assert len(await claims.claim("alive", 10, 0, NOW, LEASE)) == 4
    assert await claims.renew("alive", NOW + timedelta(seconds=20), LEASE) == 4

    late = NOW + timedelta(seconds=40)
    assert await claims.claim("other", 10, 0, late, LEASE) == []  # renewed: still held
    await OutboxRepo(engine).mark_sent(
        (await claims.claim("alive", 1, 0, late, LEASE))[0].id, late
    )

    after_death = NOW + timedelta(seconds=20) + LEASE  # "alive" was killed after renewing
    taken = await claims.claim("other", 10, 0, after_death, LEASE)
    assert [m.text for m in taken] == ["8:0", "7:1", "8:1"]


async def test_a_clean_stop_gives_its_chats_up_at_once(engine: AsyncEngine) -> None:
    await queue(engine, {7: 1})
    claims = OutboxClaims(engine)
    await claims.claim("stopping", 10, 0, NOW, LEASE)

    await claims.release("stopping")

    assert [m.chat_id for m in await claims.claim("other", 10, 0, NOW, LEASE)] == [7]


async def test_an_instance_alone_on_postgresql_excludes_any_other(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the SQLite file is guarded elsewhere")
    async with (
        instance_lock(engine, shared=True) as first,
        instance_lock(engine, shared=True) as second,
        instance_lock(engine, shared=False) as lone,
    ):
        assert (first, second, lone) == (True, True, False)
    async with (
        instance_lock(engine, shared=False) as lone,
        instance_lock(engine, shared=True) as shared,
    ):
        assert (lone, shared) == (True, False)
    async with engine.connect() as conn:  # every lock was given back
        held = await conn.execute(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        )
        assert held.scalar() == 0
