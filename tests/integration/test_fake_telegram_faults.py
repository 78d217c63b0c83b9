"""The fake Telegram's injected faults reach aiogram as Telegram's real errors."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
    TelegramServerError,
)

from tests.support.fake_telegram import FakeTelegram

CHAT = 1001


@pytest.fixture(autouse=True)
def subscriber(fake: FakeTelegram) -> None:
    """CHAT is a user who pressed Start before, so the bot may write to them."""
    fake.register_chat(CHAT)


async def test_blocked_user_is_forbidden_until_writing_again(bot: Bot, fake: FakeTelegram) -> None:
    fake.block(CHAT)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(CHAT, "hi")
    fake.message(CHAT, "/start")
    await bot.send_message(CHAT, "welcome back")
    assert [m.text for m in fake.sent] == ["welcome back"] and fake.stats.forbidden == 1


async def test_deactivated_and_unknown_chats_fail_like_telegram(
    bot: Bot, fake: FakeTelegram
) -> None:
    fake.deactivate(1)
    fake.not_found(2)
    with pytest.raises(TelegramForbiddenError, match="user is deactivated"):
        await bot.send_message(1, "hi")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(2, "hi")
    assert fake.sent == []


async def test_storm_answers_429_with_retry_after_then_recovers(
    bot: Bot, fake: FakeTelegram
) -> None:
    fake.storm(2, retry_after=3)
    for _ in range(2):
        with pytest.raises(TelegramRetryAfter) as caught:
            await bot.send_message(CHAT, "x")
        assert caught.value.retry_after == 3
        assert "Too Many Requests: retry after 3" in caught.value.message
    await bot.send_message(CHAT, "x")
    assert (fake.stats.too_many, fake.stats.accepted) == (2, 1)


async def test_global_rate_limit_refuses_the_send_over_the_cap(
    bot: Bot, fake: FakeTelegram
) -> None:
    fake.register_chat(1)
    fake.register_chat(2)
    fake.rate_limit(0.01)  # one message per 100 s: the second one is over the cap
    await bot.send_message(1, "first")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(2, "second")
    assert 90 <= caught.value.retry_after <= 100
    fake.rate_limit(None)
    await bot.send_message(2, "after the cap is lifted")
    assert fake.stats.accepted == 2 and fake.stats.too_many == 1


async def test_per_chat_rate_limit_counts_each_chat_apart(bot: Bot, fake: FakeTelegram) -> None:
    fake.register_chat(1)
    fake.register_chat(2)
    fake.rate_limit(None, per_chat_per_second=0.01)
    await bot.send_message(1, "one")
    await bot.send_message(2, "two")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(1, "one again")
    assert [m.chat_id for m in fake.sent] == [1, 2]


async def test_fail_next_gives_server_errors_then_recovers(bot: Bot, fake: FakeTelegram) -> None:
    fake.fail_next(2, status=502)
    for _ in range(2):
        with pytest.raises(TelegramServerError, match="Bad Gateway"):
            await bot.send_message(CHAT, "x")
    await bot.send_message(CHAT, "x")
    assert (fake.stats.server_errors, fake.stats.accepted) == (2, 1)


async def test_upgraded_group_points_to_its_supergroup(bot: Bot, fake: FakeTelegram) -> None:
    fake.migrate(-4518810793, -1002471352452)
    got = await bot.get_updates()  # the bot sees both chats
    with pytest.raises(TelegramMigrateToChat) as caught:
        await bot.send_message(-4518810793, "digest")
    assert caught.value.migrate_to_chat_id == -1002471352452
    await bot.send_message(-1002471352452, "digest")
    assert got[0].message.migrate_to_chat_id == -1002471352452
    assert got[1].message.migrate_from_chat_id == -4518810793
    assert [m.chat_id for m in fake.sent] == [-1002471352452]
