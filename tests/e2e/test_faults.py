"""Telegram faults during delivery: a user who blocked the bot, 429 storms, group upgrades."""

from __future__ import annotations

from datetime import timedelta

from tests.e2e.conftest import USER, Chat, Habar
from tests.e2e.news import digests, entry, links, repeated, strikes
from tests.support.fake_telegram import ApiError, FakeTelegram
from tests.support.feed_server import FeedServer, rss

HEADLINES = (
    "Забастовка в ЗКО: на улицы вышло около 700 рабочих",
    "Шахтеры Казахстана требуют повышения заработной платы",
    "В Восточном Казахстане бастуют железнодорожники: они требуют повышения зарплат",
)
URLS = tuple(f"https://ru.example.kz/strike/{n}" for n in range(len(HEADLINES)))


def _news(count: int) -> bytes:
    """A feed with the first `count` headlines, newest first."""
    items = [entry(URLS[n], HEADLINES[n], age=timedelta(minutes=30 - n)) for n in range(count)]
    return rss(list(reversed(items)), title="Vlast")


async def _instant(habar: Habar, fake: FakeTelegram, chat_id: int, ui: str = "ru") -> Chat:
    """A subscriber who gets news pushed as each poll brings it."""
    fake.register_chat(chat_id)  # as if it had sent /start
    await habar.app.res.subs.start(chat_id, ui)
    await habar.app.res.subs.set_schedule(chat_id, "instant")
    return Chat(fake, chat_id, language_code=ui)


async def test_blocked_user_is_marked_inactive_others_still_get_news_and_start_resumes(
    habar: Habar, fake_tg: FakeTelegram, feed_server: FeedServer, admin: Chat
) -> None:
    await habar.app.res.feed_admin.add(feed_server.add("/news.xml", _news(0)))
    blocker = await _instant(habar, fake_tg, 7401)
    await habar.app.res.subs.set_languages(7401, "ru en")
    others = [await _instant(habar, fake_tg, chat_id) for chat_id in (7402, 7403)]
    fake_tg.block(7401)

    feed_server.add("/news.xml", _news(1))
    await habar.poll()
    for chat in others:
        await fake_tg.wait_sent(chat_id=chat.chat_id)
    await fake_tg.wait_until(lambda: fake_tg.stats.forbidden == 1)
    feed_server.add("/news.xml", _news(2))
    await habar.poll()
    for chat in others:
        await fake_tg.wait_sent(chat_id=chat.chat_id, after=1)
    assert fake_tg.stats.forbidden == 1  # the blocked chat was not tried again
    stats = await admin.ask("/stats")
    assert stats.text.splitlines()[0] == "Subscribers: 2 active, 1 inactive"

    back = await blocker.ask("/start")  # writing to the bot again unblocks it
    assert back.text.startswith("С возвращением! Рассылка снова включена")
    assert "Языки: русский, английский" in back.text
    assert "Расписание: сразу, как появляются новости" in back.text
    feed_server.add("/news.xml", _news(3))
    await habar.poll()
    for chat in [blocker, *others]:
        await fake_tg.wait_until(lambda c=chat: URLS[2] in links(c.sent()))
    assert [links(c.sent()) for c in others] == [list(URLS)] * 2
    assert URLS[0] not in links(blocker.sent())  # sent while blocked: gone, not retried
    assert repeated(links(blocker.sent())) == []
    assert (await admin.ask("/stats")).text.splitlines()[0] == "Subscribers: 3 active, 0 inactive"


async def test_429_storm_delays_every_chat_and_loses_or_repeats_nothing(
    habar: Habar, fake_tg: FakeTelegram, feed_server: FeedServer
) -> None:
    items = strikes(30)
    await habar.app.res.feed_admin.add(feed_server.add("/strikes.xml", rss(items[10:])))
    chats = [await _instant(habar, fake_tg, chat_id) for chat_id in range(7501, 7505)]
    for chat in chats:
        await habar.app.res.subs.set_topics(chat.chat_id, "unions")
    fake_tg.storm(3, retry_after=1)
    feed_server.add("/strikes.xml", rss(items))
    await habar.poll()
    want = [i["link"] for i in items]
    for chat in chats:
        await fake_tg.wait_until(lambda c=chat: len(links(c.sent())) >= len(want), timeout=20)

    assert fake_tg.stats.too_many == 3
    for chat in chats:
        texts = [m.text for m in chat.sent()]
        assert len(texts) >= 2
        assert repeated(texts) == []
        assert sorted(links(chat.sent())) == sorted(want)
    pauses = [
        (at, at + 1.0)
        for (_method, code, _text), at in zip(fake_tg.errors, fake_tg.error_at, strict=True)
        if code == 429
    ]
    during = [m for m in fake_tg.sent for start, end in pauses if start < m.at < end]
    assert during == []


async def test_group_upgraded_to_supergroup_gets_its_news_under_the_new_id(
    habar: Habar, fake_tg: FakeTelegram, feed_server: FeedServer
) -> None:
    await habar.app.res.feed_admin.add(feed_server.add("/news.xml", _news(0)))
    group = Chat(fake_tg, -4101, user_id=USER, language_code="en", chat_type="group")
    fake_tg.set_member(-4101, USER, "administrator")
    await group.ask("/start")
    await group.ask("/schedule instant")
    await habar.handled(lambda: fake_tg.migrate(-4101, -1004101, user_id=USER), updates=2)
    feed_server.add("/news.xml", _news(1))
    await habar.poll()

    supergroup = Chat(fake_tg, -1004101, user_id=USER, language_code="en", chat_type="supergroup")
    [pushed] = await fake_tg.wait_sent(chat_id=supergroup.chat_id)
    assert pushed.links == [URLS[0]]
    assert digests(group.sent()) == []
    settings = await supergroup.ask("/settings")
    assert "Schedule: instantly, as news arrives" in settings.text


async def test_group_upgrade_learned_only_when_sending_moves_the_digest_to_the_new_id(
    habar: Habar, fake_tg: FakeTelegram, feed_server: FeedServer
) -> None:
    await habar.app.res.feed_admin.add(feed_server.add("/news.xml", _news(0)))
    await _instant(habar, fake_tg, -4201, ui="en")
    fake_tg.register_chat(-1004201)  # the upgraded group: the bot is a member of it
    # Telegram's answer to a send into the old group; the service message never reached us.
    fake_tg.faults.chats[-4201] = ApiError(
        400,
        "Bad Request: group chat was upgraded to a supergroup chat",
        {"migrate_to_chat_id": -1004201},
    )
    feed_server.add("/news.xml", _news(2))
    await habar.poll()

    supergroup = Chat(fake_tg, -1004201, user_id=USER, language_code="en", chat_type="supergroup")
    await fake_tg.wait_until(lambda: len(links(supergroup.sent())) == 2)
    assert links(supergroup.sent()) == [URLS[1], URLS[0]]
    assert [e[1] for e in fake_tg.errors] == [400]  # one refused send, then the new chat
    settings = await supergroup.ask("/settings")
    assert "Schedule: instantly, as news arrives" in settings.text


async def test_group_upgraded_into_an_already_subscribed_supergroup_gets_each_item_once(
    habar: Habar, fake_tg: FakeTelegram, feed_server: FeedServer
) -> None:
    await habar.app.res.feed_admin.add(feed_server.add("/news.xml", _news(0)))
    await _instant(habar, fake_tg, -4301, ui="en")
    supergroup = await _instant(habar, fake_tg, -1004301, ui="en")  # /start sent there too
    fake_tg.faults.chats[-4301] = ApiError(
        400,
        "Bad Request: group chat was upgraded to a supergroup chat",
        {"migrate_to_chat_id": -1004301},
    )
    feed_server.add("/news.xml", _news(1))
    await habar.poll()
    await fake_tg.wait_until(lambda: URLS[0] in links(supergroup.sent()))
    feed_server.add("/news.xml", _news(2))
    await habar.poll()
    await fake_tg.wait_until(lambda: URLS[1] in links(supergroup.sent()))
    await habar.app.sender.drain()  # the part just answered is recorded as sent

    queued = [p for p in await habar.app.res.outbox.pending(100) if p.chat_id == -1004301]
    assert queued == []  # nothing more on its way
    assert links(supergroup.sent()) == [URLS[0], URLS[1]]
