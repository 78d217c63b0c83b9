"""Subscription settings on SQLite and PostgreSQL, through the service the handlers call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services.errors import InputError
from bot.services.subscriptions import Subscriptions
from bot.storage.subscribers import SubscriberRepo
from feeds.topics import Taxonomy


@dataclass
class Clock:
    now: datetime = datetime(2026, 1, 10, 3, 10, tzinfo=UTC)  # 08:10 in Almaty

    def __call__(self) -> datetime:
        return self.now


def service(engine: AsyncEngine, clock: Clock | None = None) -> Subscriptions:
    return Subscriptions(
        SubscriberRepo(engine),
        topic_slugs=Taxonomy.load().slugs,
        default_tz="Asia/Almaty",
        backfill=timedelta(hours=24),
        clock=clock or Clock(),
    )


async def test_stop_pauses_and_start_resumes_with_the_settings_kept(engine: AsyncEngine) -> None:
    subs = service(engine)
    await subs.start(1, "kk")
    await subs.set_languages(1, "kk")
    await subs.stop(1)
    paused = await subs.get(1)
    assert paused is not None and paused.status == "paused"
    resumed, new = await subs.start(1, "ru")
    assert (new, resumed.status, resumed.langs, resumed.ui_lang) == (
        False,
        "active",
        frozenset({"kk"}),
        "kk",
    )


async def test_a_place_started_without_a_kind_is_a_private_chat_no_one_else_lists(
    engine: AsyncEngine,
) -> None:
    """Only groups, topics and channels are shared places (what /chats offers)."""
    subs, repo = service(engine), SubscriberRepo(engine)
    sub, new = await subs.start(1, "kk")
    await subs.start(-100, "kk", kind="supergroup", title="Kasipodak")

    assert new and (sub.kind, sub.title) == ("private", "")
    assert [(s.chat_id, s.title) for s in await repo.shared_places()] == [(-100, "Kasipodak")]


async def test_topic_taps_add_up(engine: AsyncEngine) -> None:
    subs = service(engine)
    first, second, *rest = subs.topic_slugs
    await subs.start(2, "ru")
    await subs.toggle_topic(2, first)
    after = await subs.toggle_topic(2, second)
    assert after.topics == frozenset(rest)


async def test_an_unknown_interface_language_is_refused_by_name(engine: AsyncEngine) -> None:
    subs = service(engine)
    await subs.start(3, "ru")
    with pytest.raises(InputError) as caught:
        await subs.set_ui_lang(3, "de")
    assert caught.value.key == "bad_ui_lang"
    assert caught.value.params == {"valid": "ru kk en"}
    sub = await subs.get(3)
    assert sub is not None and sub.ui_lang == "ru"


async def test_an_unknown_telegram_language_gets_the_russian_interface(
    engine: AsyncEngine,
) -> None:
    sub, new = await service(engine).start(4, "de")
    assert (new, sub.ui_lang) == (True, "ru")


async def test_a_resumed_subscription_is_next_due_on_its_own_schedule_from_now(
    engine: AsyncEngine,
) -> None:
    clock = Clock()
    subs = service(engine, clock)
    for chat_id, schedule in ((5, "hourly"), (6, "daily 18:00")):
        await subs.start(chat_id, "ru")
        await subs.set_schedule(chat_id, schedule)
        await subs.stop(chat_id)
    clock.now += timedelta(days=2, hours=1)  # 09:10 in Almaty, two days later
    hourly, _ = await subs.start(5, "ru")
    evening, _ = await subs.start(6, "ru")
    assert hourly.next_digest_at == datetime(2026, 1, 12, 5, 0, tzinfo=UTC)  # 10:00 there
    assert evening.next_digest_at == datetime(2026, 1, 12, 13, 0, tzinfo=UTC)  # 18:00 there
