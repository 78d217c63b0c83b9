"""Subscription settings on SQLite and PostgreSQL, through the service the handlers call."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services.errors import InputError
from bot.services.subscriptions import Subscriptions
from bot.storage.subscribers import SubscriberRepo
from feeds.topics import Taxonomy


def service(engine: AsyncEngine) -> Subscriptions:
    return Subscriptions(
        SubscriberRepo(engine),
        topic_slugs=Taxonomy.load().slugs,
        default_tz="Asia/Almaty",
        backfill=timedelta(hours=24),
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
