"""Keyword alerts end to end: /keywords in the chat, then the item URLs each chat received."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from tests.e2e.conftest import Chat, Habar
from tests.e2e.news import NOTHING_RU, entry
from tests.support.fake_telegram import FakeTelegram
from tests.support.feed_server import FeedServer, rss

STRIKE = "https://ru.example.kz/strike"
WAGE = "https://ru.example.kz/min-wage"
AD = "https://ru.example.kz/ad"
KK_STRIKE = "https://kaz.example.kz/ereuil"
WEATHER = "https://ru.example.kz/weather"
WAGE_SHUFFLED = "https://ru.example.kz/wage-shuffled"
EN_WAGES = "https://en.example.kz/wages"
NEWS = (
    (STRIKE, "Шахтёры Караганды объявили забастовку из-за задержки зарплаты"),
    (WAGE, "Минимальную зарплату в Казахстане повысят с января"),
    (AD, "Реклама: забастовка цен в магазине электроники"),
    (KK_STRIKE, "Маңғыстауда жұмысшылар ереуілге шықты"),
    (WEATHER, "Погода на выходные: в Астане дожди и ветер"),
    (WAGE_SHUFFLED, "Зарплата минимальная, говорят рабочие фабрики"),
    (EN_WAGES, "Kazakh unions demand decent wages"),
)
HEADING_RU = "По вашим ключевым словам"


async def _chat(fake: FakeTelegram, chat_id: int, *commands: str) -> Chat:
    """A user who pressed Start and sent these commands, each answered."""
    chat = Chat(fake, chat_id, language_code="ru")
    await chat.ask("/start")
    for command in commands:
        await chat.ask(command)
    return chat


async def _news(habar: Habar, feed_server: FeedServer) -> None:
    items = [entry(url, title, age=timedelta(minutes=n)) for n, (url, title) in enumerate(NEWS)]
    await habar.app.res.feed_admin.add(feed_server.add("/news.xml", rss(items, title="Vlast")))


async def test_each_chat_gets_the_items_its_keywords_topics_and_exclusions_choose(
    habar: Habar, fake_tg: FakeTelegram, feed_server: FeedServer
) -> None:
    alerts = await _chat(
        fake_tg, 8001, "/topics none", '/keywords add забастовка "минимальная зарплата" -реклама'
    )
    kazakh = await _chat(fake_tg, 8002, "/topics none", "/keywords add ереуіл wage")
    nothing = await _chat(fake_tg, 8003, "/topics none")
    everything_but_ads = await _chat(fake_tg, 8004, "/keywords add -реклама")
    await _news(habar, feed_server)
    topics = await nothing.ask("/topics")
    assert (await nothing.ask("/topics none")).text == (
        "Темы: нет — только оповещения по ключевым словам"
    )
    assert topics.reply_markup is not None

    digest = await alerts.ask("/digest")
    assert sorted(digest.links) == sorted([STRIKE, WAGE])
    assert digest.text.split("\n\n")[1].startswith(f"{HEADING_RU}\n")
    bold = {digest.text[e["offset"] : e["offset"] + e["length"]] for e in digest.entities}
    assert {"забастовку", "Минимальную", "зарплату"} <= bold
    assert sorted((await kazakh.ask("/digest")).links) == sorted([KK_STRIKE, EN_WAGES])
    assert (await nothing.ask("/digest")).text == NOTHING_RU
    everything = {url for url, _ in NEWS} - {AD}
    assert sorted((await everything_but_ads.ask("/digest")).links) == sorted(everything)


async def test_keywords_are_listed_and_bad_input_changes_nothing(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    chat = await _chat(fake_tg, 8101)
    listed = await chat.ask('/keywords add профсоюз "минимальная зарплата" ереуіл -реклама')
    assert listed.text.startswith(
        'Ключевые слова (4):\nпрофсоюз\n"минимальная зарплата"\nереуіл\nреклама (исключение)\n'
    )
    assert "/keywords remove" in listed.text

    refused = await chat.ask('/keywords add "незакрытая кавычка')
    assert "Ничего не изменено" in refused.text and "/keywords add" in refused.text
    refused = await chat.ask("/keywords add " + " ".join(f"слово{i}" for i in range(47)))
    assert refused.text.startswith("Не больше 50 ключевых слов")
    refused = await chat.ask("/keywords remove забастовка")
    assert "забастовка" in refused.text and "Ничего не изменено" in refused.text
    assert (await chat.ask("/keywords")).text.startswith("Ключевые слова (4):\n")
    assert "Ключевые слова: 4 (/keywords)" in (await chat.ask("/settings")).text

    assert (await chat.ask("/keywords remove ереуіл -реклама")).text.startswith(
        'Ключевые слова (2):\nпрофсоюз\n"минимальная зарплата"\n'
    )
    assert (await chat.ask("/keywords clear")).text.startswith("Ключевых слов пока нет.")


async def test_an_instant_chat_gets_a_keyword_match_pushed_after_the_poll(
    start_habar: Callable[..., Awaitable[Habar]], fake_tg: FakeTelegram, feed_server: FeedServer
) -> None:
    habar = await start_habar(poll_interval_seconds=1)
    chat = await _chat(
        fake_tg, 8201, "/topics none", "/keywords add забастовка", "/schedule instant"
    )
    url = feed_server.add("/news.xml", rss([entry(WEATHER, NEWS[4][1])], title="Vlast"))
    await habar.app.res.feed_admin.add(url)
    assert (await chat.ask("/digest")).text == NOTHING_RU

    before = len(chat.sent())
    fresh = [entry(STRIKE, NEWS[0][1]), entry(WEATHER, NEWS[4][1])]
    feed_server.add("/news.xml", rss(fresh, title="Vlast"))
    [pushed] = await fake_tg.wait_sent(chat_id=chat.chat_id, after=before, timeout=15)
    assert pushed.links == [STRIKE]
