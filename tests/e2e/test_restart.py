"""Exactly once across polls, restarts, stops mid-digest, kill -9 and SIGTERM."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

import bot.app
from tests.e2e.botprocess import BotProcess
from tests.e2e.conftest import ADMIN, Chat, Habar
from tests.e2e.gated_telegram import GatedTelegram
from tests.e2e.news import NOTHING_EN, digests, links, repeated, strikes
from tests.support.feed_server import FeedServer, rss

StartBot = Callable[[], Awaitable[BotProcess]]


async def _reader(habar: Habar, fake: GatedTelegram, chat_id: int, topics: str = "") -> Chat:
    await habar.app.res.subs.start(chat_id, "en")
    if topics:
        await habar.app.res.subs.set_topics(chat_id, topics)
    return Chat(fake, chat_id, language_code="en")


async def test_no_item_is_delivered_twice_across_polls_feeds_and_a_restart(
    start_habar: Callable[..., Awaitable[Habar]],
    fake_tg: GatedTelegram,
    feed_server: FeedServer,
    db_url: str,
) -> None:
    habar = await start_habar(database_url=db_url)
    first = strikes(5, "https://vlast.kz/news")
    mirror = [first[0], *strikes(1, "https://kaztag.kz/news")]  # one article in both feeds
    await habar.app.res.feed_admin.add(feed_server.add("/vlast.xml", rss(first)))
    await habar.app.res.feed_admin.add(feed_server.add("/kaztag.xml", rss(mirror)))
    chat = await _reader(habar, fake_tg, 7601)
    want = {i["link"] for i in first + mirror}
    assert sorted((await chat.ask("/digest")).links) == sorted(want)

    tagged = [{**i, "link": i["link"] + "?utm_source=telegram&utm_medium=social"} for i in first]
    feed_server.add("/vlast.xml", rss(list(reversed(tagged))))  # same news, reordered, tracked
    assert await habar.poll() == 0
    assert (await chat.ask("/digest")).text == NOTHING_EN

    await habar.stop()
    habar = await start_habar(database_url=db_url)
    assert await habar.poll() == 0
    assert (await chat.ask("/digest")).text == NOTHING_EN
    received = links(chat.sent())
    assert set(received) == want
    assert repeated(received) == []


async def _mid_digest(
    habar: Habar, fake: GatedTelegram, server: FeedServer, chat_id: int
) -> tuple[Chat, list[str]]:
    """A digest of 60 items on its way to a chat, its second part accepted and unanswered."""
    items = strikes(60)
    await habar.app.res.feed_admin.add(server.add("/strikes.xml", rss(items)))
    chat = await _reader(habar, fake, chat_id, topics="unions")
    fake.hold(chat_id, after=1)
    chat.say("/digest")
    await fake.wait_until(lambda: len(fake.held) == 1)
    return chat, [i["link"] for i in items]


async def test_stop_mid_digest_then_restart_delivers_the_rest_and_repeats_nothing(
    start_habar: Callable[..., Awaitable[Habar]], fake_tg: GatedTelegram, feed_server: FeedServer
) -> None:
    habar = await start_habar()
    chat, want = await _mid_digest(habar, fake_tg, feed_server, 7701)
    stopping = asyncio.create_task(habar.stop())
    fake_tg.release(chat.chat_id)  # Telegram answers the part in flight as the bot stops
    await stopping
    assert 0 < len(links(chat.sent())) < len(want)

    await start_habar()
    await fake_tg.wait_until(lambda: len(links(chat.sent())) >= len(want), timeout=20)
    parts = digests(chat.sent())
    assert links(parts) == want
    assert repeated([p.text for p in parts]) == []


async def test_stop_while_a_part_goes_unanswered_repeats_at_most_that_part_after_restart(
    start_habar: Callable[..., Awaitable[Habar]],
    fake_tg: GatedTelegram,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bot.app, "GRACE_SECONDS", 0.5)  # how long a stop waits for Telegram
    habar = await start_habar()
    chat, want = await _mid_digest(habar, fake_tg, feed_server, 7702)
    [in_flight] = fake_tg.held
    await habar.stop()  # the answer never came: the bot cannot know the part arrived
    fake_tg.release(chat.chat_id)

    await start_habar()
    await fake_tg.wait_until(lambda: set(links(chat.sent())) >= set(want), timeout=20)
    parts = digests(chat.sent())
    assert set(repeated([p.text for p in parts])) <= {in_flight.text}
    assert set(repeated(links(parts))) <= set(in_flight.links)
    once = {p.text: p for p in parts}.values()
    assert links(list(once)) == want  # in order, once the repeat is set aside


async def _digest_on_its_way(
    start_bot: StartBot, fake: GatedTelegram, server: FeedServer
) -> tuple[BotProcess, Chat, list[str]]:
    """A bot process sending a 60-item digest, its second part accepted and unanswered."""
    items = strikes(60)
    url = server.add("/strikes.xml", rss(items))
    process = await start_bot()
    admin = Chat(fake, ADMIN, language_code="en")
    assert (await admin.ask(f"/addfeed {url}", timeout=30)).text.startswith("✅ Feed #1 added")
    chat = Chat(fake, 7801, language_code="ru")
    await chat.ask("/start")
    await chat.ask("/topics unions")
    fake.hold(chat.chat_id, after=1)
    chat.say("/digest")
    await fake.wait_until(lambda: len(fake.held) == 1, timeout=20)
    return process, chat, [i["link"] for i in items]


async def test_kill_9_mid_digest_restart_finishes_it_repeating_at_most_the_part_in_flight(
    start_bot: StartBot, fake_tg: GatedTelegram, feed_server: FeedServer
) -> None:
    process, chat, want = await _digest_on_its_way(start_bot, fake_tg, feed_server)
    [in_flight] = fake_tg.held
    process.kill()
    assert await process.exit_code() == -9
    fake_tg.release(chat.chat_id)

    again = await start_bot()
    await fake_tg.wait_until(lambda: set(links(chat.sent())) >= set(want), timeout=30)
    parts = digests(chat.sent())
    assert set(repeated([p.text for p in parts])) <= {in_flight.text}
    assert set(repeated(links(parts))) <= set(in_flight.links)
    again.terminate()
    assert await again.exit_code() == 0


async def test_sigterm_mid_digest_exits_cleanly_and_the_restart_sends_the_rest_once(
    start_bot: StartBot, fake_tg: GatedTelegram, feed_server: FeedServer
) -> None:
    process, chat, want = await _digest_on_its_way(start_bot, fake_tg, feed_server)
    process.terminate()
    await process.wait_log("Polling stopped", 30)
    fake_tg.release(chat.chat_id)  # the part in flight is answered while the bot drains
    assert await process.exit_code() == 0
    assert "Habar stopped" in process.text
    assert 0 < len(links(chat.sent())) < len(want)

    again = await start_bot()
    await fake_tg.wait_until(lambda: len(links(chat.sent())) >= len(want), timeout=30)
    parts = digests(chat.sent())
    assert links(parts) == want
    assert repeated([p.text for p in parts]) == []
    again.terminate()
    assert await again.exit_code() == 0
    assert "Habar stopped" in again.text
