"""The operator's endpoints: /healthz, /readyz and /metrics against the fake Telegram."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import pytest

from bot.app import HabarApp, StartupError
from tests.e2e.conftest import Chat, Habar, make_settings
from tests.e2e.news import digests, links, strikes
from tests.e2e.web import free_port, get, scrape, value
from tests.support.fake_telegram import FakeTelegram
from tests.support.feed_server import FeedServer, rss

StartHabar = Callable[..., Awaitable[Habar]]


async def test_healthz_and_readyz_answer_200_once_the_bot_runs(start_habar: StartHabar) -> None:
    habar = await start_habar(web_port=free_port())
    assert habar.app.web is not None

    assert await get(habar.app.web.url + "/healthz") == (200, {"status": "ok"})
    assert await get(habar.app.web.url + "/readyz") == (200, {"status": "ready"})


async def test_readyz_is_503_naming_what_is_wrong_until_telegram_answered(
    fake_tg: FakeTelegram, sqlite_url: str
) -> None:
    settings = make_settings(fake_tg, database_url=sqlite_url, web_port=free_port())
    async with HabarApp(settings) as app:
        assert app.web is not None
        status, body = await get(app.web.url + "/readyz")
        assert status == 503
        assert set(body["problems"]) == {"telegram", "schedulers"}  # the database answers
        assert "not answered" in body["problems"]["telegram"]
        assert (await get(app.web.url + "/healthz"))[0] == 200

        task = asyncio.create_task(app.serve(handle_signals=False))
        await asyncio.wait_for(app.started.wait(), 30)
        assert await get(app.web.url + "/readyz") == (200, {"status": "ready"})
        await app.stop()
        await task


async def test_a_port_in_use_stops_the_bot_with_one_line_naming_web_port(
    fake_tg: FakeTelegram, sqlite_url: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = make_settings(fake_tg, database_url=sqlite_url, web_port=port)
        with pytest.raises(StartupError, match=f"WEB_PORT: cannot listen on 127.0.0.1:{port}"):
            async with HabarApp(settings):
                pass


async def test_metrics_count_exactly_what_telegram_received(
    start_habar: StartHabar, fake_tg: FakeTelegram, feed_server: FeedServer
) -> None:
    habar = await start_habar(web_port=free_port())
    assert habar.app.web is not None
    items = strikes(40)
    url = feed_server.add("/strikes.xml", rss(items[30:]))
    await habar.app.res.feed_admin.add(url)
    feed_server.add("/strikes.xml", rss(items))
    assert await habar.poll() == 30
    chat = Chat(fake_tg, 7301, language_code="ru")
    await chat.ask("/start")
    fake_tg.storm(1, retry_after=1)  # the digest's first part is refused once, then sent
    before = chat.say("/digest")
    await fake_tg.wait_until(lambda: len(links(chat.sent()[before:])) >= 40, timeout=30)
    await habar.app.inflight.wait_idle(10)
    await habar.app.sender.drain()  # the last part is recorded as sent, nothing else goes

    m = await scrape(habar.app.web.url)
    parts = digests(fake_tg.sent)
    assert value(m, "habar_messages_sent_total", kind="digest") == len(parts) >= 2
    assert value(m, "habar_messages_sent_total", kind="reply") == len(fake_tg.sent) - len(parts)
    assert value(m, "habar_telegram_retry_after_total") == fake_tg.stats.too_many == 1
    assert value(m, "habar_messages_failed_total", reason="retry_after") == 1
    assert value(m, "habar_telegram_paused_seconds_total") == 1
    assert value(m, "habar_polls_total", result="ok") == 1
    assert value(m, "habar_items_stored_total", lang="ru") == 30
    assert value(m, "habar_fetch_duration_seconds_count") == 1
    assert value(m, "habar_digests_planned_total") == 1
    assert value(m, "habar_outbox_pending") == 0
    assert value(m, "habar_outbox_oldest_age_seconds") == 0
    assert value(m, "habar_subscribers", status="active") == 1
    assert value(m, "habar_failing_feeds") == 0
    assert any(name == "habar_instance_info" for name, _ in m)
