"""Digests as subscribers receive them: filters, long digests, instant pushes, backfill."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from bot.services.ingest import Ingest
from bot.services.subscriptions import Subscriptions
from bot.storage.engine import make_engine
from bot.storage.feeds import FeedRepo
from bot.storage.items import ItemRepo
from bot.storage.migrate import upgrade_to_head
from bot.storage.subscribers import SubscriberRepo
from feeds.fetch import Fetcher, FetchLimits, make_session
from feeds.topics import Taxonomy
from tests.e2e.conftest import Chat, Habar
from tests.e2e.news import (
    NOTHING_EN,
    NOTHING_KK,
    NOTHING_RU,
    digests,
    entry,
    links,
    repeated,
    strikes,
)
from tests.support.fake_telegram import FakeTelegram
from tests.support.feed_server import FeedServer, rss

# (URL, headline, language, topics): the labels `python -m bot classify` gives them.
NEWS = (
    ("https://kaz.example.kz/1", "Маңғыстауда жұмысшылар наразылық білдірді", "kk", {"unions"}),
    (
        "https://kaz.example.kz/2",
        "Білім гранты конкурсына өтініш қабылдау басталды",
        "kk",
        {"education"},
    ),
    ("https://kaz.example.kz/3", "Павлодар облысында жол апатынан 5 адам қаза тапты", "kk", set()),
    (
        "https://ru.example.kz/4",
        "Забастовка в ЗКО: на улицы вышло около 700 рабочих",
        "ru",
        {"unions"},
    ),
    (
        "https://ru.example.kz/5",
        "Учителя Казахстана требуют отменить принудительное членство в профсоюзах",
        "ru",
        {"education", "unions"},
    ),
    (
        "https://ru.example.kz/6",
        "Токаев предложил изменить процедуру принятия законов в Казахстане",
        "ru",
        {"politics"},
    ),
    ("https://ru.example.kz/7", "Два младенца скончались от кори в Казахстане", "ru", {"health"}),
    ("https://en.example.kz/8", "Kazakh unions demand decent wages", "en", {"unions"}),
    ("https://en.example.kz/9", "Measles situation stabilizes in Kazakhstan", "en", {"health"}),
)


def _matching(langs: set[str] | None, topics: set[str] | None) -> set[str]:
    return {
        url
        for url, _title, lang, labels in NEWS
        if (langs is None or lang in langs) and (topics is None or labels & topics)
    }


async def _subscribed(
    habar: Habar, fake: FakeTelegram, chat_id: int, ui: str, langs: str = "", topics: str = ""
) -> Chat:
    """A chat subscribed with these filters (the commands themselves are test_preferences')."""
    subs = habar.app.res.subs
    fake.register_chat(chat_id)  # as if the user had sent /start
    await subs.start(chat_id, ui)
    if langs:
        await subs.set_languages(chat_id, langs)
    if topics:
        await subs.set_topics(chat_id, topics)
    return Chat(fake, chat_id, language_code=ui)


async def test_each_subscriber_gets_exactly_the_items_matching_their_languages_and_topics(
    habar: Habar, fake_tg: FakeTelegram, feed_server: FeedServer
) -> None:
    kk_url = feed_server.add("/kk.xml", rss([], title="Kazinform"))
    mixed_url = feed_server.add("/mixed.xml", rss([], title="Vlast"))
    await habar.app.res.feed_admin.add(kk_url)
    await habar.app.res.feed_admin.add(mixed_url)
    readers = {
        await _subscribed(habar, fake_tg, 7001, "kk", langs="kk"): _matching({"kk"}, None),
        await _subscribed(habar, fake_tg, 7002, "ru", "ru", "unions"): _matching(
            {"ru"}, {"unions"}
        ),
        await _subscribed(habar, fake_tg, 7003, "en"): _matching(None, None),
        await _subscribed(habar, fake_tg, 7004, "ru", "kk ru", "unions education"): _matching(
            {"kk", "ru"}, {"unions", "education"}
        ),
    }
    items = [
        entry(url, title, age=timedelta(minutes=n)) for n, (url, title, *_) in enumerate(NEWS)
    ]
    feed_server.add("/kk.xml", rss(items[:3], title="Kazinform"))
    feed_server.add("/mixed.xml", rss(items[3:], title="Vlast"))
    assert await habar.poll() == len(NEWS)

    got = await asyncio.gather(*(chat.ask("/digest") for chat in readers))
    for (chat, expected), digest in zip(readers.items(), got, strict=True):
        assert sorted(digest.links) == sorted(expected), chat.chat_id
    assert len(got[2].links) == len(NEWS)  # everything, the two-topic item once
    again = await asyncio.gather(*(chat.ask("/digest") for chat in readers))
    assert [m.text for m in again] == [NOTHING_KK, NOTHING_RU, NOTHING_EN, NOTHING_RU]


async def test_a_digest_of_sixty_items_arrives_whole_in_valid_parts_in_order(
    habar: Habar, fake_tg: FakeTelegram, feed_server: FeedServer
) -> None:
    items = strikes(60)
    await habar.app.res.feed_admin.add(feed_server.add("/strikes.xml", rss(items)))
    chat = await _subscribed(habar, fake_tg, 7101, "ru", topics="unions")
    before = chat.say("/digest")
    await fake_tg.wait_until(lambda: len(links(chat.sent()[before:])) >= 60, timeout=20)

    parts = chat.sent()[before:]
    assert len(parts) >= 3
    assert links(parts) == [i["link"] for i in items]  # newest first, each once, part by part
    assert all(p.entities_dropped == 0 for p in parts)
    assert all(p.link_preview_disabled for p in parts)
    assert re.match(r"Дайджест: 60 новостей · \d{1,2} [а-я]+\n\nПрофсоюзы\n", parts[0].text)
    assert all(p.text.startswith("Профсоюзы (продолжение)\n") for p in parts[1:])
    assert [e for e in fake_tg.errors if e[0] == "sendMessage"] == []


async def test_instant_subscriber_gets_a_new_item_pushed_by_the_next_poll(
    start_habar: Callable[..., Awaitable[Habar]], fake_tg: FakeTelegram, feed_server: FeedServer
) -> None:
    habar = await start_habar(poll_interval_seconds=1)
    old = entry("https://ru.example.kz/4", NEWS[3][1])
    url = feed_server.add("/news.xml", rss([old]))
    await habar.app.res.feed_admin.add(url)
    chat = await _subscribed(habar, fake_tg, 7201, "en")
    assert (await chat.ask("/digest")).links == [old["link"]]
    reply = await chat.ask("/schedule instant")
    assert reply.text == "Schedule: instantly, as news arrives"

    new = entry("https://en.example.kz/8", NEWS[7][1], age=timedelta(minutes=2))
    before = len(chat.sent())
    feed_server.add("/news.xml", rss([new, old]))
    [pushed] = await fake_tg.wait_sent(chat_id=chat.chat_id, after=before, timeout=15)
    assert pushed.links == [new["link"]]
    assert pushed.text.startswith("Digest: 1 item")


async def _seen_long_ago(database_url: str, feed_url: str, when: datetime, chat_id: int) -> None:
    """What a bot running at `when` would have done: poll the feed, and a chat subscribed."""
    engine = make_engine(database_url)
    limits = FetchLimits()
    session = make_session(limits, allow_private=True)
    try:
        await upgrade_to_head(engine)
        feeds = FeedRepo(engine)
        ingest = Ingest(
            fetcher=Fetcher(session, limits),
            feeds=feeds,
            items=ItemRepo(engine),
            executor=None,
            interval=timedelta(minutes=5),
            backfill=timedelta(hours=24),
            clock=lambda: when,
        )
        feed = await feeds.add(url=feed_url, title="", site_url=None, lang_hint=None, now=when)
        assert (await ingest.poll_feed(feed)).new_items == 2
        subs = Subscriptions(
            SubscriberRepo(engine),
            topic_slugs=Taxonomy.load().slugs,
            default_tz="Asia/Almaty",
            backfill=timedelta(hours=24),
            clock=lambda: when,
        )
        await subs.start(chat_id, "en")
    finally:
        await session.close()
        await engine.dispose()


async def test_backfill_old_news_is_never_pushed_and_a_new_subscriber_starts_from_a_day_ago(
    start_habar: Callable[..., Awaitable[Habar]],
    fake_tg: FakeTelegram,
    feed_server: FeedServer,
    sqlite_url: str,
) -> None:
    three_days_ago = datetime.now(UTC) - timedelta(days=3)
    seen_then = [
        entry(url, title, age=timedelta(days=3, hours=n + 1))
        for n, (url, title, *_) in enumerate(NEWS[:2])
    ]
    url = feed_server.add("/news.xml", rss(seen_then))
    await _seen_long_ago(sqlite_url, url, three_days_ago, chat_id=7301)
    fake_tg.register_chat(7301)  # that subscriber pressed Start three days ago

    habar = await start_habar(backfill_hours=24)
    fresh = entry(NEWS[3][0], NEWS[3][1], age=timedelta(hours=1))
    stale = entry(NEWS[4][0], NEWS[4][1], age=timedelta(days=5))  # first seen only now
    feed_server.add("/news.xml", rss([fresh, *seen_then, stale]))
    assert await habar.poll() == 2

    newcomer = Chat(fake_tg, 7302, language_code="en")
    await newcomer.ask("/start")
    assert (await newcomer.ask("/digest")).links == [fresh["link"]]

    # The subscriber of three days ago missed the old items and gets them; the stale one never.
    veteran = Chat(fake_tg, 7301, language_code="en")
    wanted = {fresh["link"], *(e["link"] for e in seen_then)}
    veteran.say("/digest")
    await fake_tg.wait_until(lambda: set(links(veteran.sent())) >= wanted)
    received = links(digests(veteran.sent()))
    assert set(received) == wanted
    assert repeated(received) == []


async def test_instant_subscriber_gets_the_news_of_a_feed_the_admin_just_added(
    start_habar: Callable[..., Awaitable[Habar]],
    fake_tg: FakeTelegram,
    feed_server: FeedServer,
    admin: Chat,
) -> None:
    habar = await start_habar(digest_tick=1.0)
    chat = await _subscribed(habar, fake_tg, 7401, "en")
    await habar.app.res.subs.set_schedule(7401, "instant")
    news = [entry(url, title) for url, title, *_ in NEWS[3:5]]
    url = feed_server.add("/vlast.xml", rss(news, title="Vlast"))
    assert (await admin.ask(f"/addfeed {url}", timeout=30)).text.startswith("✅ Feed #1 added")
    [pushed] = await fake_tg.wait_sent(chat_id=chat.chat_id, timeout=15)
    assert sorted(pushed.links) == sorted(i["link"] for i in news)
