"""Forum topics: each topic is its own subscription, and its digests go into that topic."""

from __future__ import annotations

from bot.services.places import Place
from tests.e2e.conftest import Habar
from tests.e2e.news import entry, links
from tests.e2e.places import Member
from tests.support.fake_telegram import FakeTelegram, Msg
from tests.support.feed_server import FeedServer, rss

FORUM = -1009876543210
OWNER = 3103
LABOUR, SCHOOL = 11, 12  # message_thread_id of two topics
KK = ["https://kaz.example.kz/1", "https://kaz.example.kz/2"]
RU = ["https://ru.example.kz/4", "https://ru.example.kz/5"]
NEWS = [
    entry(KK[0], "Маңғыстауда жұмысшылар наразылық білдірді"),
    entry(KK[1], "Білім гранты конкурсына өтініш қабылдау басталды"),
    entry(RU[0], "Забастовка в ЗКО: на улицы вышло около 700 рабочих"),
    entry(RU[1], "Учителя Казахстана требуют отменить принудительное членство в профсоюзах"),
]


def in_topic(fake: FakeTelegram, thread: int) -> list[Msg]:
    """What the bot posted into one topic of the forum."""
    return [m for m in fake.sent_to(FORUM) if m.thread_id == thread]


async def two_topics(habar: Habar, fake: FakeTelegram, feeds: FeedServer) -> tuple[Member, Member]:
    """A forum with a Kazakh-only topic and a Russian-only topic, both subscribed."""
    await habar.app.res.feed_admin.add(feeds.add("/news.xml", rss(NEWS)))
    fake.set_member(FORUM, OWNER, "creator")
    labour = Member(fake, FORUM, OWNER, thread_id=LABOUR)
    school = Member(fake, FORUM, OWNER, thread_id=SCHOOL)
    for topic, lang in ((labour, "kk"), (school, "ru")):
        await topic.ask("/start")
        await topic.ask(f"/lang {lang}")
    return labour, school


async def test_two_topics_each_get_exactly_their_items_in_their_own_thread(
    habar: Habar, fake_tg: FakeTelegram, feed_server: FeedServer
) -> None:
    labour, school = await two_topics(habar, fake_tg, feed_server)

    for topic in (labour, school):
        topic.say("/digest")
    await fake_tg.wait_until(lambda: all(links(in_topic(fake_tg, t)) for t in (LABOUR, SCHOOL)))

    assert sorted(links(in_topic(fake_tg, LABOUR))) == KK
    assert sorted(links(in_topic(fake_tg, SCHOOL))) == RU
    assert [m for m in fake_tg.sent_to(FORUM) if m.thread_id is None] == []  # all in topics
    subs = habar.app.res.subs
    assert (await subs.get(Place(FORUM, LABOUR))).langs == frozenset({"kk"})
    assert (await subs.get(Place(FORUM, SCHOOL))).langs == frozenset({"ru"})
    assert await subs.get(Place(FORUM)) is None  # the forum itself never subscribed


async def test_a_closed_topic_stops_after_one_refusal_and_the_other_goes_on(
    habar: Habar, fake_tg: FakeTelegram, feed_server: FeedServer
) -> None:
    labour, school = await two_topics(habar, fake_tg, feed_server)
    for topic in (labour, school):
        await topic.ask("/schedule instant")
    fake_tg.close_topic(FORUM, SCHOOL)
    more = [
        entry(f"https://kaz.example.kz/{n}", f"Маңғыстауда жұмысшылар ереуілі {n}") for n in (7, 8)
    ]
    more += [
        entry(f"https://ru.example.kz/{n}", f"Забастовка шахтёров в Караганде {n}") for n in (7, 8)
    ]
    feed_server.add("/news.xml", rss(NEWS + more))
    await habar.poll()

    await fake_tg.wait_until(lambda: len(links(in_topic(fake_tg, LABOUR))) >= 1)
    await fake_tg.wait_until(lambda: any("TOPIC_CLOSED" in e[2] for e in fake_tg.errors))
    await habar.app.sender.drain()
    sub = await habar.app.res.subs.get(Place(FORUM, SCHOOL))
    assert sub.status == "blocked" and sub.langs == frozenset({"ru"})  # settings kept
    assert sum("TOPIC_CLOSED" in e[2] for e in fake_tg.errors) == 1  # one failure, then silence
    assert (await habar.app.res.subs.get(Place(FORUM, LABOUR))).status == "active"
    assert in_topic(fake_tg, SCHOOL)[-1].links == []  # nothing of the news got there


async def test_the_closed_topic_service_message_stops_that_topic_only(
    habar: Habar, fake_tg: FakeTelegram, feed_server: FeedServer
) -> None:
    await two_topics(habar, fake_tg, feed_server)
    await habar.handled(lambda: fake_tg.close_topic(FORUM, SCHOOL, by=OWNER), 1)

    assert (await habar.app.res.subs.get(Place(FORUM, SCHOOL))).status == "blocked"
    assert (await habar.app.res.subs.get(Place(FORUM, LABOUR))).status == "active"
