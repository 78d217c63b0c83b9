"""kill -9 while digests to several chats are on their way: the next start sends the rest.

A real crash: the bot is a child process killed with SIGKILL, so no `finally`, no drain and
no shutdown hook runs (cancelling tasks in-process would run all of them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.e2e.botprocess import BotProcess
from tests.e2e.conftest import ADMIN, Chat
from tests.e2e.gated_telegram import GatedTelegram
from tests.e2e.news import digests, links, repeated, strikes
from tests.support.feed_server import FeedServer, rss

StartBot = Callable[[], Awaitable[BotProcess]]
READERS = (7901, 7902, 7903)


async def test_kill_9_while_sending_to_several_chats_repeats_at_most_each_part_in_flight(
    start_bot: StartBot, fake_tg: GatedTelegram, feed_server: FeedServer
) -> None:
    items = strikes(60)
    url = feed_server.add("/strikes.xml", rss(items))
    process = await start_bot()
    admin = Chat(fake_tg, ADMIN, language_code="en")
    assert (await admin.ask(f"/addfeed {url}", timeout=30)).text.startswith("✅ Feed #1 added")
    chats = [Chat(fake_tg, chat_id, language_code="ru") for chat_id in READERS]
    for chat in chats:
        await chat.ask("/start")  # each reader writes first, as Telegram requires
        await chat.ask("/topics unions")
        fake_tg.hold(chat.chat_id, after=1)  # its second part is accepted, never answered
    for chat in chats:
        chat.say("/digest")
    await fake_tg.wait_until(lambda: len(fake_tg.held) == len(chats), timeout=30)
    in_flight = {m.chat_id: m for m in fake_tg.held}

    process.kill()
    assert await process.exit_code() == -9
    for chat in chats:
        assert 0 < len(links(chat.sent())) < len(items)  # each digest was cut short
        fake_tg.release(chat.chat_id)

    again = await start_bot()
    want = {i["link"] for i in items}
    await fake_tg.wait_until(
        lambda: all(set(links(chat.sent())) >= want for chat in chats), timeout=40
    )
    for chat in chats:
        parts = digests(chat.sent())
        assert set(repeated([p.text for p in parts])) <= {in_flight[chat.chat_id].text}
        once = list({p.text: p for p in parts}.values())
        assert links(once) == [i["link"] for i in items]  # in order once the repeat is aside
    again.terminate()
    assert await again.exit_code() == 0
