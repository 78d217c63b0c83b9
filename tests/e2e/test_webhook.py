"""Webhook mode against the fake Telegram, which POSTs updates as Telegram does.

The fake's webhook URL is a public https address; `route_webhook` forwards it to the bot's
own server, as the reverse proxy in front of the bot would.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import ClientSession

from bot.app import run
from tests.e2e.conftest import Chat, Habar, make_settings
from tests.e2e.web import free_port, scrape, value
from tests.support import updates
from tests.support.fake_telegram import FakeTelegram
from tests.support.tg_webhook import SECRET_HEADER

URL = "https://habar.example/tg/hook"
SECRET = "s3cret_Value-42"

StartHabar = Callable[..., Awaitable[Habar]]


async def _webhook_bot(start_habar: StartHabar, fake: FakeTelegram, **overrides: object) -> Habar:
    habar = await start_habar(
        webhook_url=URL, webhook_secret=SECRET, web_port=free_port(), **overrides
    )
    assert habar.app.web is not None
    fake.route_webhook(habar.app.web.url)
    return habar


async def test_webhook_mode_sets_the_webhook_and_answers_through_it(
    start_habar: StartHabar, fake_tg: FakeTelegram, user: Chat
) -> None:
    await _webhook_bot(start_habar, fake_tg)

    reply = await user.ask("/start")

    assert reply.text
    assert fake_tg.webhook["url"] == URL
    assert fake_tg.webhook["secret_token"] == SECRET
    assert fake_tg.webhook["max_connections"] == 40
    assert {"message", "callback_query"} <= set(fake_tg.webhook["allowed_updates"])
    assert fake_tg.stats.calls["getUpdates"] == 0
    assert [status for _, status in fake_tg.webhook_posts] == [200]


async def test_a_request_without_the_right_secret_gets_401_and_is_not_handled(
    start_habar: StartHabar, fake_tg: FakeTelegram
) -> None:
    habar = await _webhook_bot(start_habar, fake_tg)
    chat = updates.chat(31337, "private")
    forged = updates.message_update(999, updates.message(1, chat, updates.user(31337), "/start"))
    assert habar.app.web is not None
    target = habar.app.web.url + "/tg/hook"

    async with ClientSession() as session:
        statuses = []
        for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET + "x"}):
            async with session.post(target, json=forged, headers=headers) as response:
                statuses.append(response.status)

    assert statuses == [401, 401, 401]
    assert habar.app.inflight.handled == 0
    assert fake_tg.sent == []
    metrics = await scrape(habar.app.web.url)
    assert value(metrics, "habar_webhook_updates_total", result="unauthorized") == 3
    assert value(metrics, "habar_webhook_updates_total", result="accepted") == 0


async def test_an_update_telegram_sends_again_is_handled_once(
    start_habar: StartHabar, fake_tg: FakeTelegram, user: Chat
) -> None:
    habar = await _webhook_bot(start_habar, fake_tg)
    fake_tg.lose_webhook_answers(1)  # the bot's 200 never reaches Telegram: it sends again

    before = user.say("/start")
    update_id = fake_tg._next_update_id - 1
    await fake_tg.wait_until(
        lambda: len(fake_tg.posts_of(update_id)) == 2 and not fake_tg._updates
    )
    await habar.app.inflight.wait_idle(10)

    assert fake_tg.posts_of(update_id) == [200, 200]
    assert len(user.sent()[before:]) == 1  # one welcome, not two
    assert habar.app.inflight.handled == 1
    assert habar.app.web is not None
    metrics = await scrape(habar.app.web.url)
    assert value(metrics, "habar_webhook_updates_total", result="duplicate") == 1


async def test_stopping_in_webhook_mode_refuses_new_updates_and_keeps_the_webhook(
    start_habar: StartHabar, fake_tg: FakeTelegram, user: Chat
) -> None:
    habar = await _webhook_bot(start_habar, fake_tg)
    await user.ask("/start")
    assert habar.app.webhook is not None

    habar.app.webhook.stop_accepting()  # the first step after SIGTERM
    update_id = fake_tg.message(user.chat_id, "/help")
    await fake_tg.wait_until(lambda: len(fake_tg.posts_of(update_id)) >= 2)
    await habar.stop()

    assert fake_tg.posts_of(update_id)[:2] == [503, 503]  # Telegram keeps it and tries again
    assert habar.app.inflight.handled == 1  # /start only
    assert [u for u, _, _ in fake_tg._updates] == [update_id]
    assert fake_tg.stats.calls["deleteWebhook"] == 0  # other instances still serve it
    assert fake_tg.webhook["url"] == URL


async def test_long_polling_deletes_a_webhook_left_from_webhook_mode(
    start_habar: StartHabar, fake_tg: FakeTelegram, user: Chat
) -> None:
    await fake_tg._set_webhook({"url": URL, "secret_token": SECRET})

    await start_habar()

    assert (await user.ask("/start")).text
    assert fake_tg.webhook["url"] == ""
    assert fake_tg.stats.calls["deleteWebhook"] == 1


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_an_update_sent_again_to_another_instance_is_not_handled_twice(
    start_habar: StartHabar, fake_tg: FakeTelegram, user: Chat, db_url: str
) -> None:
    # Two instances on one PostgreSQL (and, for the lead's cluster mode, one Redis).
    shared = {"database_url": db_url, "redis_url": "redis://127.0.0.1:6379/0"}
    first = await _webhook_bot(start_habar, fake_tg, **shared)
    second = await start_habar(
        webhook_url=URL, webhook_secret=SECRET, web_port=free_port(), **shared
    )
    assert second.app.web is not None
    fake_tg.lose_webhook_answers(1)

    before = len(user.sent())
    update_id = fake_tg.message(user.chat_id, "/start")
    await fake_tg.wait_until(lambda: len(fake_tg.posts_of(update_id)) == 1)
    fake_tg.route_webhook(second.app.web.url)  # Telegram's next attempt reaches the other one
    await fake_tg.wait_until(lambda: len(fake_tg.posts_of(update_id)) == 2)
    await first.app.inflight.wait_idle(10)

    assert fake_tg.posts_of(update_id) == [200, 200]
    assert len(user.sent()[before:]) == 1
    assert (first.app.inflight.handled, second.app.inflight.handled) == (1, 0)


async def test_a_webhook_url_telegram_refuses_stops_the_bot_with_one_line_and_exit_2(
    fake_tg: FakeTelegram, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        fake_tg,
        database_url=sqlite_url,
        webhook_url="https://habar.example:8080/hook",  # not a port Telegram calls
        webhook_secret=SECRET,
        web_port=free_port(),
    )

    assert await run(settings) == 2

    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL]
    assert line.startswith("WEBHOOK_URL: Telegram refused it: Bad Request: bad webhook:")
