"""What delivery promises when Telegram or the network misbehave, and when the bot stops."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

import bot.app
from bot.ratelimit import PER_CHAT_INTERVAL
from bot.storage.engine import make_engine
from bot.storage.subscribers import Subscriber, SubscriberRepo
from bot.telegram_limits import TOKEN_REJECTED
from tests.e2e.conftest import Chat, Habar, make_settings
from tests.e2e.gated_telegram import GatedTelegram
from tests.e2e.news import strikes
from tests.support.feed_server import FeedServer, rss

SLOW_DOWN = "Слишком много команд подряд. Подождите несколько секунд и попробуйте снова."


async def test_a_send_that_timed_out_after_telegram_accepted_it_is_sent_again_and_counted(
    habar: Habar, fake_tg: GatedTelegram, feed_server: FeedServer, admin: Chat
) -> None:
    await habar.app.res.feed_admin.add(feed_server.add("/strikes.xml", rss(strikes(3))))
    readers = (7701, 7702)
    for reader in readers:
        await habar.app.res.subs.start(reader, "en")
        fake_tg.register_chat(reader)  # the subscriber pressed Start before
        fake_tg.hold(reader, count=1)  # Telegram accepts the first send; its answer never comes
    habar.app.sender.send_timeout = 1

    for reader in readers:
        await habar.app.res.digests.plan(reader)
    for reader in readers:
        first, again = await fake_tg.wait_sent(chat_id=reader, count=2, timeout=15)
        assert again.html == first.html  # the one repeat the README allows

    stats = await admin.ask("/stats")
    assert stats.text.splitlines()[-1] == "Sent again after a network timeout, since start: 2"


async def test_shutdown_waits_for_a_digest_tick_in_the_middle_of_planning(
    start_habar: Callable[..., Awaitable[Habar]],
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    habar = await start_habar(digest_tick=0.2)
    past = datetime.now(UTC) - timedelta(minutes=1)
    due = Subscriber(7801, "en", None, None, "daily", ("09:00",), "UTC", "active", 0, past, past)
    await habar.app.res.subscribers.create(due, past)
    digests = habar.app.res.digests
    plan_due, entered, release = digests.plan_due, asyncio.Event(), asyncio.Event()
    finished: list[bool] = []

    async def held() -> int:
        entered.set()
        await release.wait()
        planned = await plan_due()
        finished.append(stopping.done())
        return planned

    monkeypatch.setattr(digests, "plan_due", held)
    await asyncio.wait_for(entered.wait(), 10)
    stopping = asyncio.create_task(habar.stop())
    done, _pending = await asyncio.wait({stopping}, timeout=1.0)
    assert not done  # the shutdown waits for the tick
    release.set()
    await stopping

    assert finished == [False]  # the plan completed while the app (and its engine) was open
    engine = make_engine(sqlite_url)
    try:
        planned = await SubscriberRepo(engine).get(7801)
    finally:
        await engine.dispose()
    assert planned is not None and planned.next_digest_at is not None
    assert planned.next_digest_at > datetime.now(UTC)  # its plan was written
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_token_telegram_rejects_while_running_stops_the_bot_with_exit_code_2(
    fake_tg: GatedTelegram, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    running = asyncio.create_task(bot.app.run(make_settings(fake_tg, database_url=sqlite_url)))
    await fake_tg.wait_until(lambda: fake_tg.pollers > 0, timeout=30)
    fake_tg.token = "123:REVOKED"  # the owner revoked the token in @BotFather
    Chat(fake_tg, 7901).say("/help")  # wakes the long poll; everything after it is refused

    assert await asyncio.wait_for(running, 20) == 2
    said = [r.getMessage() for r in caplog.records if "BOT_TOKEN" in r.getMessage()]
    assert said == [TOKEN_REJECTED]


async def test_replies_to_one_chat_keep_a_second_apart(
    habar: Habar, fake_tg: GatedTelegram, user: Chat
) -> None:
    before = user.say("/help")
    user.say("/settings")
    first, second = await fake_tg.wait_sent(chat_id=user.chat_id, after=before, count=2)
    assert second.at - first.at >= PER_CHAT_INTERVAL


async def test_a_user_sending_15_commands_at_once_is_asked_to_wait_and_others_are_served(
    habar: Habar, fake_tg: GatedTelegram, user: Chat
) -> None:
    other = Chat(fake_tg, 2003, language_code="en")

    def burst() -> None:
        for _ in range(15):
            user.say("/help")
        other.say("/help")

    await habar.handled(burst, updates=16, timeout=60)

    texts = [m.text for m in user.sent()]
    assert texts.count(SLOW_DOWN) == 1
    assert len(texts) == 11  # ten answered, one asked to wait, four ignored
    [answer] = other.sent()
    assert answer.text.startswith("Commands:\n/start")
    assert answer.at < user.sent()[-1].at  # not kept waiting behind the burst
