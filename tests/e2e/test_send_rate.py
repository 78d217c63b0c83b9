"""SEND_RATE_PER_SECOND holds for everything the bot sends, so Telegram never has to say 429."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.e2e.conftest import Chat, Habar
from tests.support.fake_telegram import FakeTelegram


async def test_replies_to_many_chats_at_once_keep_to_the_send_rate(
    start_habar: Callable[..., Awaitable[Habar]], fake_tg: FakeTelegram
) -> None:
    await start_habar(send_rate_per_second=3)
    fake_tg.rate_limit(3)  # Telegram's global limit, set as low as the bot's setting
    chats = [Chat(fake_tg, 7100 + n, language_code="en") for n in range(12)]
    for chat in chats:
        chat.say("/help")

    for chat in chats:
        await fake_tg.wait_sent(chat_id=chat.chat_id, count=1, timeout=20)

    assert fake_tg.stats.too_many == 0
    assert all(len(chat.sent()) == 1 for chat in chats)
