"""Places in storage, on SQLite and PostgreSQL: the migration, topics, mutes and their ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.chosen import ChosenRepo
from bot.storage.engine import make_engine
from bot.storage.feeds import FeedRepo
from bot.storage.migrate import alembic_config, upgrade_to_head
from bot.storage.outbox import OutboxRepo
from bot.storage.sources import MutedRepo
from bot.storage.subscribers import Place, Subscriber, SubscriberRepo
from bot.storage.tables import outbox

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
FORUM = -1002000000000


def sub(place: Place, kind: str = "topic") -> Subscriber:
    """An active daily subscriber of this place with every language and topic."""
    return Subscriber(
        place.chat_id,
        "en",
        None,
        None,
        "instant",
        (),
        "UTC",
        "active",
        0,
        None,
        NOW,
        thread_id=place.thread_id,
        kind=kind,
    )


async def test_every_subscriber_of_the_old_schema_becomes_the_place_of_its_chat(
    db_url: str,
) -> None:
    engine = make_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda s: command.upgrade(alembic_config(s), "0001"))
            for chat_id in (42, -100500):
                await conn.execute(
                    text(
                        "INSERT INTO subscribers (chat_id, langs, topics, schedule, times, "
                        "timezone, status, cursor_item_id, created_at, updated_at) VALUES "
                        "(:c, 'ru', '*', 'daily', '09:00', 'UTC', 'active', 7, :t, :t)"
                    ),
                    {"c": chat_id, "t": NOW.replace(tzinfo=None)},
                )
            await conn.execute(
                text("INSERT INTO outbox (chat_id, text, created_at) VALUES (42, 'x', :t)"),
                {"t": NOW.replace(tzinfo=None)},
            )
        await upgrade_to_head(engine)
        repo = SubscriberRepo(engine)
        person, group = await repo.get(Place(42)), await repo.get(Place(-100500))
        assert person.thread_id == 0 and person.kind == "private" and person.cursor_item_id == 7
        assert group.kind == "group" and group.langs == frozenset({"ru"})
        [queued] = await OutboxRepo(engine).pending(10)
        assert (queued.chat_id, queued.thread_id) == (42, 0)
    finally:
        await engine.dispose()


async def test_two_topics_of_one_forum_are_two_subscriptions(engine: AsyncEngine) -> None:
    repo = SubscriberRepo(engine)
    await repo.create(sub(Place(FORUM, 11)), NOW)
    await repo.create(sub(Place(FORUM, 12)), NOW)
    await repo.update(Place(FORUM, 11), NOW, langs=frozenset({"kk"}))

    assert (await repo.get(Place(FORUM, 11))).langs == frozenset({"kk"})
    assert (await repo.get(Place(FORUM, 12))).langs is None
    assert await repo.get(Place(FORUM)) is None
    behind = await repo.instant_behind(10, Place(-(2**63), -1), 1)
    assert behind == [Place(FORUM, 11)]
    assert await repo.instant_behind(10, behind[-1], 10) == [Place(FORUM, 12)]


async def test_a_closed_topic_stops_alone_and_a_removal_stops_the_whole_chat(
    engine: AsyncEngine,
) -> None:
    repo = SubscriberRepo(engine)
    for thread in (11, 12):
        await repo.create(sub(Place(FORUM, thread)), NOW)
    async with engine.begin() as conn:
        await conn.execute(
            insert(outbox),
            [{"chat_id": FORUM, "thread_id": t, "text": "x", "created_at": NOW} for t in (11, 12)],
        )

    await repo.mark_blocked(FORUM, NOW, thread_id=12)
    assert (await repo.get(Place(FORUM, 12))).status == "blocked"
    assert (await repo.get(Place(FORUM, 11))).status == "active"
    assert [p.thread_id for p in await OutboxRepo(engine).pending(10)] == [11]

    await repo.mark_blocked(FORUM, NOW)
    assert (await repo.get(Place(FORUM, 11))).status == "blocked"


async def test_mutes_go_with_a_deleted_feed_and_follow_a_migrated_group(
    engine: AsyncEngine,
) -> None:
    repo, muted, feeds = SubscriberRepo(engine), MutedRepo(engine), FeedRepo(engine)
    a = await feeds.add(
        url="https://a.example.kz/", title="A", site_url=None, lang_hint=None, now=NOW
    )
    b = await feeds.add(
        url="https://b.example.kz/", title="B", site_url=None, lang_hint=None, now=NOW
    )
    group = Place(-4001)
    await repo.create(sub(group, kind="group"), NOW)
    assert await muted.toggle(group, a.id) is True
    assert await muted.toggle(group, b.id) is True
    assert await muted.toggle(group, b.id) is False  # unmuted again

    await feeds.remove(a.id)
    assert await muted.muted(group) == frozenset()
    await muted.toggle(group, b.id)
    await repo.migrate(-4001, -1004001, NOW + timedelta(minutes=1))
    assert await muted.muted(Place(-1004001)) == frozenset({b.id})
    async with engine.connect() as conn:
        kinds = (await conn.execute(select(text("kind")).select_from(text("subscribers")))).all()
    assert [k[0] for k in kinds] == ["supergroup"]


async def test_a_chosen_place_goes_when_its_subscription_does(engine: AsyncEngine) -> None:
    repo, chosen = SubscriberRepo(engine), ChosenRepo(engine)
    await repo.create(sub(Place(-4001), kind="group"), NOW)
    await chosen.set(77, Place(-4001))
    assert await chosen.get(77) == (Place(-4001), "")
    await repo.migrate(-4001, -1004001, NOW)
    assert await chosen.get(77) == (Place(-1004001), "")
    await chosen.set(77, None)
    assert await chosen.get(77) is None
