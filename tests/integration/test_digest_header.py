"""A digest's header names the day in the subscriber's interface language and time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.test_digest_schedule import make_bot

LATE_EVENING_UTC = datetime(2026, 3, 4, 20, 0, tzinfo=UTC)  # already 01:00 on 5 March in Astana


@pytest.mark.parametrize(
    ("ui_lang", "header"),
    [
        ("kk", "<b>Дайджест: 1 жаңалық · 5 наурыз</b>"),
        ("ru", "<b>Дайджест: 1 новость · 5 марта</b>"),
        ("en", "<b>Digest: 1 item · 5 March</b>"),
    ],
)
async def test_header_carries_the_subscribers_local_day(
    engine: AsyncEngine, ui_lang: str, header: str
) -> None:
    bot = make_bot(engine, LATE_EVENING_UTC)
    await bot.subs.start(1, ui_lang)
    await bot.store("a", "Маңғыстауда жұмысшылар наразылық білдірді")
    assert await bot.digests.plan(1) == 1
    [digest] = await bot.queued(1)
    assert digest.splitlines()[0] == header
